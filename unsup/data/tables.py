"""The user's own listing table: CSV, Excel or JSON upload -> a clean, standard table.

:func:`read_table` parses the bytes (detecting UTF-8, UTF-8 with BOM, UTF-16 and Thai
cp874/TIS-620), :func:`guess_columns` proposes a column for each role, and :func:`clean` applies
the user's mapping: rows with empty text, unparseable or out-of-range coordinates, or bad dates are
counted, listed and skipped. Every problem the user can cause raises :class:`TableError` with a
message that says what to do; nothing else escapes.

The standard table has columns ``id, text`` and, when mapped, ``lat, lon, type, developer, date``
(plus ``row``, the 1-based row number in the file, for messages).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MAX_BYTES = 80 * 1024 * 1024
MAX_ROWS = 200_000
ROLES = ("text", "lat", "lon", "type", "developer", "date", "id")
REQUIRED = ("text",)
MAP_REQUIRED = ("lat", "lon")

_HINTS = {  # role -> name fragments (lowercase), strongest first
    "text": ["description", "desc", "text", "detail", "content", "body", "รายละเอียด", "ข้อความ",
             "คำอธิบาย", "ประกาศ", "remark", "title", "name"],
    "lat": ["latitude", "lat", "ละติจูด", "ลติจูด", "y"],
    "lon": ["longitude", "lng", "lon", "long", "ลองจิจูด", "ลองติจูด", "x"],
    "type": ["property_type", "propertytype", "type", "category", "ประเภท", "ชนิด", "kind"],
    "developer": ["developer", "owner", "agent", "company", "brand", "ผู้พัฒนา", "เจ้าของ",
                  "บริษัท", "โครงการ", "project"],
    "date": ["date", "posted", "created", "listed", "time", "วันที่", "เวลา", "ปี"],
    "id": ["id", "listing_id", "code", "รหัส"],
}


class TableError(ValueError):
    """An upload or mapping the page cannot use; the message says what to do."""


@dataclass
class Table:
    """A parsed upload: the raw frame, and how it was read."""

    df: pd.DataFrame
    encoding: str | None
    kind: str  # csv | excel | json
    notes: list[str] = field(default_factory=list)


@dataclass
class Cleaned:
    """The standard table, and the rows that were skipped and why."""

    df: pd.DataFrame
    skipped: pd.DataFrame  # columns row, reason, value
    n_input: int
    has_map: bool
    has_date: bool

    def counts(self) -> dict[str, int]:
        return self.skipped["reason"].value_counts().to_dict() if len(self.skipped) else {}

    def summary(self) -> str:
        s = f"{len(self.df):,} of {self.n_input:,} rows usable"
        c = self.counts()
        if c:
            s += "; skipped: " + ", ".join(f"{v:,} {k}" for k, v in c.items())
        return s


# -- reading -----------------------------------------------------------------------------------
def decode_text(data: bytes) -> tuple[str, str]:
    """Bytes -> (text, encoding): UTF-8 (with or without BOM), UTF-16 with BOM, else Thai cp874
    (a superset of TIS-620). Raises TableError for anything else (e.g. a binary file)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:4096]:
        raise TableError("This file looks binary, not text. Upload a CSV, an Excel workbook "
                         "(.xlsx) or a JSON file.")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp874")
    except UnicodeDecodeError:
        raise TableError("The file's text encoding is not UTF-8 or Thai TIS-620/cp874. Save it "
                         "again as 'CSV UTF-8' and upload it again.") from None
    return text, "cp874 (TIS-620)"


def read_table(data: bytes, name: str = "upload.csv") -> Table:
    """Parse an uploaded CSV / TSV, Excel (.xlsx) or JSON (records, {"data": [...]} or JSON
    lines) file."""
    if not data:
        raise TableError(f"{name} is empty (0 bytes).")
    if len(data) > MAX_BYTES:
        raise TableError(f"{name} is {len(data) / 1e6:.0f} MB; the limit is "
                         f"{MAX_BYTES / 1e6:.0f} MB. Split it or keep the needed columns only.")
    low = name.lower()
    if low.endswith((".xlsx", ".xlsm")) or data[:2] == b"PK":
        return _read_excel(data, name)
    if low.endswith(".xls") or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise TableError(f"{name} is an old Excel 97-2003 (.xls) workbook, which cannot be read "
                         "here. Save it as .xlsx or CSV UTF-8 and upload it again.")
    text, enc = decode_text(data)
    stripped = text.lstrip()
    if low.endswith((".json", ".jsonl", ".ndjson")) or stripped[:1] in ("[", "{"):
        return Table(_read_json(stripped, name), enc, "json")
    return Table(_read_csv(text, name), enc, "csv")


def _read_excel(data: bytes, name: str) -> Table:
    try:
        sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, engine="openpyxl")
    except Exception as exc:
        raise TableError(f"{name} could not be read as an Excel workbook ({type(exc).__name__}). "
                         "Is it damaged or password-protected? Try saving it as CSV UTF-8."
                         ) from None
    sheets = {k: v for k, v in sheets.items() if len(v.columns) and len(v)}
    if not sheets:
        raise TableError(f"{name} has no sheet with data.")
    first = next(iter(sheets))
    notes = [] if len(sheets) == 1 else [f"Read the first sheet with data, '{first}' "
                                         f"({len(sheets)} sheets in the workbook)."]
    return Table(sheets[first], None, "excel", notes)


def _read_json(text: str, name: str) -> pd.DataFrame:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        try:  # JSON lines
            obj = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise TableError(f"{name} is not valid JSON (line {exc.lineno}: {exc.msg}).") from None
    if isinstance(obj, dict):
        lists = [v for v in obj.values() if isinstance(v, list)]
        if "data" in obj and isinstance(obj["data"], list):
            obj = obj["data"]
        elif len(lists) == 1:
            obj = lists[0]
        elif obj and all(isinstance(v, list) for v in obj.values()):
            obj = pd.DataFrame(obj).to_dict("records")
        else:
            raise TableError(f"{name}: expected a list of records like "
                             '[{"text": "...", "lat": 13.7, "lon": 100.5}, ...].')
    if not isinstance(obj, list) or not obj or not all(isinstance(r, dict) for r in obj):
        raise TableError(f"{name}: expected a non-empty list of records like "
                         '[{"text": "...", "lat": 13.7, "lon": 100.5}, ...].')
    return pd.json_normalize(obj)


def _read_csv(text: str, name: str) -> pd.DataFrame:
    sample = text[:20000]
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        sep = ","
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                         on_bad_lines="skip", engine="python")
    except Exception as exc:
        raise TableError(f"{name} could not be read as CSV ({exc}).") from None
    if df.shape[1] < 1 or (df.shape[1] == 1 and len(df) == 0):
        raise TableError(f"{name} has no columns or no rows.")
    df.columns = [str(c).strip() for c in df.columns]
    return df.replace({"": np.nan})


# -- mapping -------------------------------------------------------------------------------------
def _norm(s: str) -> str:
    return re.sub(r"[\s_\-\.]+", "_", str(s).strip().lower())


def guess_columns(df: pd.DataFrame) -> dict[str, str | None]:
    """A column for each role (or None), from names first, then contents."""
    cols = list(df.columns)
    norm = {c: _norm(c) for c in cols}
    out: dict[str, str | None] = {}
    used: set[str] = set()
    for role in ROLES:
        best = None
        for hint in _HINTS[role]:
            for c in cols:
                if c in used:
                    continue
                n = norm[c]
                exact = n == hint
                partial = len(hint) > 2 and hint in n
                if exact or partial:
                    best = c
                    break
            if best:
                break
        out[role] = best
        if best:
            used.add(best)
    if out["text"] is None:  # the longest text-like column
        lengths = {c: df[c].dropna().astype(str).str.len().mean() for c in cols if c not in used
                   and not pd.api.types.is_numeric_dtype(df[c])}
        lengths = {c: v for c, v in lengths.items() if v == v}
        if lengths:
            out["text"] = max(lengths, key=lengths.get)
    return out


def _to_float(s: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s):
        return pd.to_numeric(s, errors="coerce").astype(float)
    t = s.astype(str).str.strip().str.replace("\u00b0", "", regex=False)
    t = t.where(~t.str.fullmatch(r"-?\d+,\d+"), t.str.replace(",", ".", regex=False))
    return pd.to_numeric(t, errors="coerce").astype(float)


def _to_dates(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        return pd.to_datetime(s, errors="coerce")
    t = s.astype(str).str.strip()
    out = pd.to_datetime(t, errors="coerce", format="ISO8601")
    miss = out.isna() & s.notna()
    if miss.any():
        out[miss] = pd.to_datetime(t[miss], errors="coerce", dayfirst=True, format="mixed")
    years = out.dt.year
    be = years > 2400  # Thai Buddhist-era years (e.g. 2567 = 2024)
    if be.any():
        out[be] = out[be] - pd.DateOffset(years=543)
    return out


def clean(df: pd.DataFrame, mapping: dict[str, str | None], max_rows: int = MAX_ROWS) -> Cleaned:
    """Apply a column mapping; skip (and list) unusable rows. Raises TableError when a required
    column is missing or no row is usable."""
    mapping = {r: (c if c not in ("", None, "—") else None) for r, c in mapping.items()}
    missing = [r for r in REQUIRED if not mapping.get(r)]
    if missing:
        raise TableError("Choose the column that holds the listing text (required). "
                         f"Columns in the file: {', '.join(map(str, df.columns[:20]))}.")
    bad = [c for c in mapping.values() if c is not None and c not in df.columns]
    if bad:
        raise TableError(f"Column(s) {', '.join(map(str, bad))} are not in the file.")
    if (mapping.get("lat") is None) != (mapping.get("lon") is None):
        raise TableError("Map both latitude and longitude, or neither (then there is no map).")
    n_input = len(df)
    if n_input == 0:
        raise TableError("The file has a header but no rows.")
    if n_input > max_rows:
        df = df.iloc[:max_rows]
    out = pd.DataFrame({"row": np.arange(1, len(df) + 1)}, index=df.index)
    text = df[mapping["text"]]
    out["text"] = text.where(text.notna(), "").astype(str).str.strip()
    reasons = pd.Series("", index=df.index, dtype=object)
    values = pd.Series("", index=df.index, dtype=object)

    def flag(mask: pd.Series, reason: str, val: pd.Series):
        new = mask & (reasons == "")
        reasons[new] = reason
        values[new] = val[new].astype(str).str.slice(0, 60)

    flag(out["text"].str.len() == 0, "empty text", out["text"])
    has_map = mapping.get("lat") is not None
    if has_map:
        lat, lon = _to_float(df[mapping["lat"]]), _to_float(df[mapping["lon"]])
        raw = df[mapping["lat"]].astype(str) + ", " + df[mapping["lon"]].astype(str)
        flag(lat.isna() | lon.isna(), "missing or unparseable coordinates", raw)
        flag((lat.abs() > 90) | (lon.abs() > 180) | ((lat == 0) & (lon == 0)),
             "out-of-range coordinates", raw)
        out["lat"], out["lon"] = lat, lon
    has_date = mapping.get("date") is not None
    if has_date:
        d = _to_dates(df[mapping["date"]])
        flag(d.isna(), "bad or missing date", df[mapping["date"]])
        out["date"] = d
    for role in ("type", "developer"):
        if mapping.get(role):
            s = df[mapping[role]]
            out[role] = s.where(s.notna(), "(unknown)").astype(str).str.strip().replace(
                "", "(unknown)")
    out["id"] = (df[mapping["id"]].astype(str) if mapping.get("id")
                 else pd.Series([f"R{i}" for i in out["row"]], index=df.index))
    keep = reasons == ""
    skipped = pd.DataFrame({"row": out["row"][~keep], "reason": reasons[~keep],
                            "value": values[~keep]}).reset_index(drop=True)
    good = out[keep].reset_index(drop=True)
    if good.empty:
        c = skipped["reason"].value_counts().to_dict()
        raise TableError("No usable rows: " + ", ".join(f"{v:,} with {k}" for k, v in c.items())
                         + ". Check the column mapping (is the text column right? are latitude "
                         "and longitude in decimal degrees?).")
    return Cleaned(good, skipped, n_input, has_map, has_date)
