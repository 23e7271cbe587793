"""The user's own listing table: CSV, Excel or JSON upload -> a clean, standard table.

:func:`read_table` parses the bytes (detecting UTF-8, UTF-8 with BOM, UTF-16 and Thai
cp874/TIS-620), :func:`guess_columns` proposes a column for each role, and :func:`clean` applies
the user's mapping. Every problem the user can cause raises :class:`TableError` with a message
that says what to do; nothing else escapes.

Nothing is dropped without a word. Every data row of the file ends up either in the clean table or
in ``Cleaned.skipped`` under a named reason, so that ``len(df) + sum(counts()) == n_input``:

- while reading a CSV: a row with more fields than the header (an unquoted separator), a row whose
  quote is never closed, and the rows past :data:`MAX_ROWS` (one entry standing for all of them);
  cells of any length are read whole (the csv module's 131,072-character limit is raised) and the
  long ones are mentioned in ``Table.notes``; blank lines are not rows;
- while cleaning: empty text, unparseable or out-of-range coordinates, bad dates, and rows over
  ``max_rows``.

The standard table has columns ``id, text`` and, when mapped, ``lat, lon, type, developer, date``
(plus ``row``, the 1-based data row number in the file, for messages). An Excel sheet whose first
rows are a (merged) title gets its real header row found; :func:`guess_columns` maps a text column
only if it holds words, and says in ``notes`` when it had to guess. Latitude and longitude given the
wrong way round are recognised (``swap_suggested``) and swapped on request (``swap_latlon=True``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MB = 1024 * 1024  # a megabyte as Streamlit counts it for server.maxUploadSize (2**20 bytes)
UPLOAD_MB = 80  # the largest table file, in MB: the page passes it to its uploader
MAX_BYTES = UPLOAD_MB * MB
MAX_ROWS = 200_000
CSV_FIELD_LIMIT = 131_072  # the csv module's default; longer cells are read whole and noted
ROLES = ("text", "lat", "lon", "type", "developer", "date", "id")
REQUIRED = ("text",)

# skip reasons (the keys of Cleaned.counts())
EXTRA_FIELDS = "more fields than the header"
UNCLOSED_QUOTE = "unclosed quote"
EMPTY_TEXT = "empty text"
BAD_COORDS = "missing or unparseable coordinates"
OUT_OF_RANGE = "out-of-range coordinates"
BAD_DATE = "bad or missing date"

# a text column holds words: at least this share of its non-blank characters are letters
# (any script; Thai vowel and tone marks count), and this share of its values are distinct
TEXT_MIN_LETTERS = 0.5
TEXT_MIN_DISTINCT = 0.3
# a swap of latitude and longitude is suggested when at least this share of the rows is out of
# range as mapped, and at most this share would be with the two columns swapped
SWAP_MIN_BAD = 0.2
SWAP_MAX_BAD_AFTER = 0.05

_READ = "unsup_read"  # df.attrs key: what reading dropped, so clean(df) can count it

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


def _mb(n: int) -> str:
    v = n / MB
    return f"{v:.0f}" if abs(v - round(v)) < 0.05 else f"{v:.1f}"


def limit_text() -> str:
    """One line for the uploader: what files and how much the page reads."""
    return f"CSV, Excel (.xlsx) or JSON up to {_mb(MAX_BYTES)} MB and {MAX_ROWS:,} rows"


LIMIT_TEXT = limit_text()


def over_limit_reason(limit: int) -> str:
    """The skip reason of the rows past the row limit."""
    return f"rows over the limit of {limit:,} were not read"


class TableError(ValueError):
    """An upload or mapping the page cannot use; the message says what to do.

    ``swap_suggested`` is True when no row was usable as mapped but swapping latitude and
    longitude would make them usable: offer ``clean(..., swap_latlon=True)``."""

    def __init__(self, message: str, *, swap_suggested: bool = False):
        super().__init__(message)
        self.swap_suggested = swap_suggested


def _no_skips() -> pd.DataFrame:
    return pd.DataFrame({"row": pd.Series([], dtype=np.int64),
                         "reason": pd.Series([], dtype=object),
                         "value": pd.Series([], dtype=object)})


@dataclass
class Table:
    """A parsed upload: the raw frame, how it was read, and the rows reading could not use.

    ``df.index`` holds 0-based data row numbers of the file (gaps where rows were skipped);
    ``skipped`` lists the rows dropped while reading (columns row, reason, value); ``n_unread``
    counts the rows past :data:`MAX_ROWS`, which were counted but not read. The same facts ride
    along in ``df.attrs`` so that :func:`clean` counts them when given only ``df``."""

    df: pd.DataFrame
    encoding: str | None
    kind: str  # csv | excel | json
    notes: list[str] = field(default_factory=list)
    skipped: pd.DataFrame = field(default_factory=_no_skips)
    n_unread: int = 0
    read_limit: int = MAX_ROWS

    def __post_init__(self):
        self.df.attrs[_READ] = {"skipped": self.skipped, "n_unread": self.n_unread,
                                "limit": self.read_limit, "n_df": len(self.df)}

    @property
    def n_rows(self) -> int:
        """Data rows in the file: read, skipped while reading, and past the limit."""
        return len(self.df) + len(self.skipped) + self.n_unread


@dataclass
class Cleaned:
    """The standard table, and the rows that were skipped and why.

    ``skipped`` lists skipped rows (row, reason, value); an entry whose reason is in ``blocks``
    stands for ``blocks[reason]`` rows (the rows past the row limit). ``notes`` are sentences for
    the page (a swap suggestion, a doubtful text column)."""

    df: pd.DataFrame
    skipped: pd.DataFrame  # columns row, reason, value
    n_input: int
    has_map: bool
    has_date: bool
    blocks: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    swap_suggested: bool = False  # latitude and longitude look swapped: offer swap_latlon=True
    swap_message: str | None = None  # why, in a sentence for the page (also in notes)
    swapped: bool = False  # clean(..., swap_latlon=True) was applied

    def counts(self) -> dict[str, int]:
        c = self.skipped["reason"].value_counts().to_dict() if len(self.skipped) else {}
        c.update(self.blocks)
        return {str(k): int(v) for k, v in c.items()}

    @property
    def n_skipped(self) -> int:
        return sum(self.counts().values())

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
    """Parse an uploaded CSV / TSV, Excel (.xlsx) or JSON (records, {"data": [...]}, an object of
    equal-length column lists, or JSON lines) file."""
    if not data:
        raise TableError(f"{name} is empty (0 bytes).")
    if len(data) > MAX_BYTES:
        raise TableError(f"{name} is {_mb(len(data))} MB; the limit is {_mb(MAX_BYTES)} MB. "
                         "Split it or keep the needed columns only.")
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
    return _read_csv(text, name, enc)


def _column_names(header: list) -> list[str]:
    """Header cells -> unique column names, as pandas names them ('Unnamed: 3', 'a.1')."""
    names: list[str] = []
    seen: set[str] = set()
    for i, h in enumerate(header):
        n = "" if h is None or pd.isna(h) else str(h).strip()
        if isinstance(h, float) and n and h.is_integer():
            n = str(int(h))
        n = n or f"Unnamed: {i}"
        base, k = n, 0
        while n in seen:
            k += 1
            n = f"{base}.{k}"
        seen.add(n)
        names.append(n)
    return names


def _is_label(v) -> bool:
    """A header-like cell: a non-empty string that is not a number."""
    if not isinstance(v, str) or not v.strip():
        return False
    try:
        float(v.strip().replace(",", ""))
    except ValueError:
        return True
    return False


def _header_row(raw: pd.DataFrame) -> int:
    """Position (in ``raw``, whose all-empty rows are gone) of the row that names the columns: the
    first of the top rows whose cells are mostly filled with distinct labels. A merged title cell
    fills one cell of a wide row, so it is passed over. Falls back to the first row."""
    top = raw.iloc[:30]
    filled = top.notna().sum(axis=1).to_numpy()
    widest = int(filled.max()) if len(filled) else 0
    need = max(1, math.ceil(0.6 * widest))
    for pos in range(len(top)):
        vals = [v for v in top.iloc[pos].tolist() if not pd.isna(v)]
        if len(vals) < need:
            continue
        labels = [str(v).strip() for v in vals if _is_label(v)]
        if len(labels) >= 0.8 * len(vals) and len(set(labels)) == len(labels):
            return pos
    return 0


def _read_excel(data: bytes, name: str) -> Table:
    try:
        raws = pd.read_excel(io.BytesIO(data), sheet_name=None, header=None, engine="openpyxl")
    except Exception as exc:
        raise TableError(f"{name} could not be read as an Excel workbook ({type(exc).__name__}). "
                         "Is it damaged or password-protected? Try saving it as CSV UTF-8."
                         ) from None
    sheets = {}
    for sheet, raw in raws.items():
        raw = raw.dropna(how="all").dropna(axis=1, how="all")  # blank rows are not rows
        if len(raw) >= 2:  # column names and at least one row
            sheets[sheet] = raw
    if not sheets:
        raise TableError(f"{name} has no sheet with data (a row of column names and at least "
                         "one row under it).")
    first = next(iter(sheets))
    raw = sheets[first]
    notes = [] if len(sheets) == 1 else [f"Read the first sheet with data, '{first}' "
                                         f"({len(sheets)} sheets in the workbook)."]
    pos = _header_row(raw)
    h = int(raw.index[pos])  # 0-based row of the sheet
    if h > 0:
        above = [str(v).strip() for v in raw.iloc[:pos].to_numpy().ravel()
                 if isinstance(v, str) and v.strip()]
        title = f" ('{above[0][:60]}')" if above else ""
        notes.append(f"Sheet '{first}': the column names were taken from row {h + 1}; the rows "
                     f"above it look like a title, not column names{title}. If that is wrong, "
                     "put the column names in the first row and upload again.")
    df = raw.iloc[pos + 1:].copy()
    df.columns = _column_names(raw.iloc[pos].tolist())
    df.index = (df.index - h - 1).astype(np.int64)  # data rows under the header, 0-based
    df = df.infer_objects()
    return Table(df, None, "excel", notes)


def _read_json(text: str, name: str) -> pd.DataFrame:
    example = '[{"text": "...", "lat": 13.7, "lon": 100.5}, ...]'
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
            lengths = {str(k): len(v) for k, v in obj.items()}
            if len(set(lengths.values())) > 1:
                shown = ", ".join(f"{k}: {n:,}" for k, n in list(lengths.items())[:12])
                raise TableError(f"{name}: the column lists have different lengths ({shown}). "
                                 "Each list must hold one value per row; fix the file, or save "
                                 f"it as a list of records like {example}.")
            obj = [dict(zip(obj, vals)) for vals in zip(*obj.values())]
        else:
            raise TableError(f"{name}: expected a list of records like {example}.")
    if not isinstance(obj, list) or not obj or not all(isinstance(r, dict) for r in obj):
        raise TableError(f"{name}: expected a non-empty list of records like {example}.")
    try:
        return pd.json_normalize(obj)
    except Exception as exc:  # a shape json_normalize cannot flatten
        raise TableError(f"{name}: the records could not be made into a table "
                         f"({type(exc).__name__}: {exc}). Use flat records like {example}."
                         ) from None


def _read_csv(text: str, name: str, enc: str | None) -> Table:
    """Read a CSV with the csv module, accounting for every row: the first non-blank line names
    the columns; a shorter row is padded, a row with more (non-empty) fields than the header is
    skipped and listed, and so is a row whose quote never closes (it would swallow the rest of the
    file); rows past MAX_ROWS are counted, not read."""
    try:
        sep = csv.Sniffer().sniff(text[:20000], delimiters=",;\t|").delimiter
    except csv.Error:
        sep = ","
    if csv.field_size_limit() <= len(text):  # a cell may be as long as the file: read it whole
        csv.field_size_limit(max(MAX_BYTES, len(text)) + 1)
    buf: list[str] = []

    def lines():
        for line in io.StringIO(text, newline=""):
            buf.append(line)
            yield line

    reader = csv.reader(lines(), delimiter=sep)
    header: list[str] | None = None
    records: list[list[str]] = []
    numbers: list[int] = []  # data row number of each record
    wide: dict[int, str] = {}  # index in records -> "lines a-b: raw text" of a wider record
    n_rows = n_unread = line_no = 0
    last: tuple[int, list[str], int] | None = None  # (row, raw lines, first line) of the last
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise TableError(f"{name}: line {line_no + len(buf)} could not be read as CSV ({exc})."
                             " Save the file again as CSV UTF-8 and upload it again.") from None
        first, raw = line_no + 1, list(buf)
        line_no += len(buf)
        buf.clear()
        if not rec or (len(rec) == 1 and not rec[0].strip()):
            continue  # a blank line is not a row
        if header is None:
            header = rec
            last = (0, raw, first)
            continue
        n_rows += 1
        last = (n_rows, raw, first)
        if n_rows > MAX_ROWS:
            n_unread += 1
            continue
        while len(rec) > len(header) and not rec[-1].strip():
            rec.pop()  # trailing separators carry nothing
        if len(rec) > len(header):
            span = f"line {first}" if len(raw) == 1 else f"lines {first}-{line_no}"
            wide[len(records)] = f"{span}: " + "".join(raw)[:80].strip()
        records.append(rec)
        numbers.append(n_rows)
    if header is None:
        raise TableError(f"{name} has no columns or no rows.")
    notes: list[str] = []
    skipped: list[tuple[int, str, str]] = []
    drop: set[int] = set()
    # a quote opened in the last record and never closed swallowed everything after it
    if last is not None and '"' in "".join(last[1]):
        try:
            list(csv.reader(io.StringIO("".join(last[1]), newline=""), delimiter=sep,
                            strict=True))
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                row, raw, first = last
                if row == 0:
                    raise TableError(f"{name}: a quote (\") in the header line is never closed, "
                                     "so the whole file reads as one cell. Fix the quote and "
                                     "upload again.") from None
                n_lines = len(raw)
                notes.append(f"The quote (\") opened in row {row:,} (line {first:,}) is never "
                             f"closed, so the {n_lines:,} line(s) from there to the end of the "
                             "file read as one row; that row was skipped. Close the quote (or "
                             "double it: \"\") and upload again.")
                if row <= MAX_ROWS:
                    drop.add(len(records) - 1)
                    skipped.append((row, UNCLOSED_QUOTE,
                                    f"lines {first}-{first + n_lines - 1}: "
                                    + "".join(raw)[:60].strip()))
    width = len(header)
    if records and not drop:
        counts = Counter(len(r) for r in records[:1000])
        if counts.get(width + 1, 0) >= 0.9 * min(len(records), 1000):
            # every row has one field more than the header: an unnamed first (index) column
            header = [""] + header
            width += 1
            wide = {i: v for i, v in wide.items() if len(records[i]) > width}
            notes.append("The header has one name fewer than the rows; the first column was "
                         "read as 'Unnamed: 0'.")
    wide = {i: v for i, v in wide.items() if i not in drop}
    for i, v in wide.items():
        drop.add(i)
        skipped.append((numbers[i], EXTRA_FIELDS, v))
    if wide:
        notes.append(f"{len(wide):,} row(s) have more fields than the header (first: row "
                     f"{numbers[min(wide)]:,}) and were skipped: put text that contains the "
                     f"separator '{sep}' in quotes.")
    keep = [i for i in range(len(records)) if i not in drop]
    names = _column_names(header)
    cols: list[list] = [[] for _ in names]
    longest = (0, 0, "")
    n_long = 0
    for i in keep:
        rec = records[i]
        for j, col in enumerate(cols):
            v = rec[j] if j < len(rec) else ""
            if len(v) > CSV_FIELD_LIMIT:
                n_long += 1
                if len(v) > longest[0]:
                    longest = (len(v), numbers[i], names[j])
            col.append(v if v != "" else None)
    df = pd.DataFrame({n: pd.Series(c, dtype="str") for n, c in zip(names, cols)})
    df.index = pd.Index([numbers[i] - 1 for i in keep], dtype=np.int64)
    if n_long:
        notes.append(f"{n_long:,} cell(s) are longer than {CSV_FIELD_LIMIT:,} characters; they "
                     f"were read in full (the longest, {longest[0]:,} characters, is in row "
                     f"{longest[1]:,}, column '{longest[2]}').")
    if n_unread:
        notes.append(f"{n_unread:,} {over_limit_reason(MAX_ROWS)} (rows {MAX_ROWS + 1:,} to "
                     f"{n_rows:,}); split the file to use them.")
    sk = pd.DataFrame(skipped, columns=["row", "reason", "value"]) if skipped else _no_skips()
    sk = sk.sort_values("row", kind="stable").reset_index(drop=True)
    return Table(df, enc, "csv", notes, sk, n_unread, MAX_ROWS)


# -- mapping -------------------------------------------------------------------------------------
def _norm(s: str) -> str:
    return re.sub(r"[\s_\-\.]+", "_", str(s).strip().lower())


class Guess(dict):
    """role -> column (or None), plus ``notes``: sentences saying where a guess was made or a
    name-based match was turned down, for the page to show next to the mapping."""

    def __init__(self, *args, notes: list[str] | None = None, **kw):
        super().__init__(*args, **kw)
        self.notes = list(notes or [])


def _sample(s: pd.Series, n: int = 300) -> list[str]:
    v = s.dropna()
    if len(v) > n:
        v = v.iloc[np.linspace(0, len(v) - 1, n).astype(int)]
    return [str(x) for x in v.tolist() if str(x).strip()]


def letter_share(s: pd.Series) -> float:
    """Share of the non-blank characters (of a sample of values) that are letters of any script;
    combining marks count as letters (Thai vowel and tone marks are marks)."""
    chars = [c for v in _sample(s) for c in v[:120] if not c.isspace()]
    if not chars:
        return 0.0
    return sum(c.isalpha() or unicodedata.category(c)[0] == "M" for c in chars) / len(chars)


def is_text_like(s: pd.Series) -> bool:
    """Words, not numbers, codes, coordinates or a handful of categories: mostly letters and
    many distinct values."""
    vals = _sample(s, 1000)
    if not vals or pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
        return False
    return (letter_share(s) >= TEXT_MIN_LETTERS
            and len(set(vals)) / len(vals) >= TEXT_MIN_DISTINCT)


def _numeric_share(s: pd.Series) -> float:
    v = s.dropna()
    if not len(v):
        return 0.0
    return float(_to_float(v.iloc[:2000]).notna().mean())


def _example(s: pd.Series) -> str:
    v = _sample(s, 1)
    return f", e.g. '{v[0][:30]}'" if v else ""


def guess_columns(df: pd.DataFrame) -> Guess:
    """A column for each role (or None), from names first, then contents. The text column must
    hold words (:func:`is_text_like`) and latitude/longitude mostly numbers; a name match that
    fails this is turned down and said in ``notes``, as is a text column found by contents only,
    or none found."""
    cols = list(df.columns)
    norm = {c: _norm(c) for c in cols}
    out = Guess()
    used: set = set()
    checks = {"text": is_text_like, "lat": lambda s: _numeric_share(s) >= 0.5,
              "lon": lambda s: _numeric_share(s) >= 0.5}
    what = {"text": "holds no words (few letters or few different values)",
            "lat": "holds mostly non-numbers", "lon": "holds mostly non-numbers"}
    turned_down: set = set()
    for role in ROLES:
        best = None
        for hint in _HINTS[role]:
            for c in cols:
                if c in used or (role, c) in turned_down:
                    continue
                n = norm[c]
                if n == hint or (len(hint) > 2 and hint in n):
                    if role in checks and not checks[role](df[c]):
                        turned_down.add((role, c))
                        out.notes.append(f"Column '{c}' is named like the {role} column but "
                                         f"{what[role]}{_example(df[c])}; it was not mapped.")
                        continue
                    best = c
                    break
            if best is not None:
                break
        out[role] = best
        if best is not None:
            used.add(best)
    if out["text"] is None:  # the longest column that holds words
        lengths = {c: df[c].dropna().astype(str).str.len().mean() for c in cols
                   if c not in used and is_text_like(df[c])}
        lengths = {c: v for c, v in lengths.items() if v == v}
        if lengths:
            out["text"] = max(lengths, key=lengths.get)
            out.notes.append(f"No column is named like the listing text; '{out['text']}' was "
                             "chosen from its contents (mostly letters, many different values). "
                             "Check the Text choice.")
        else:
            out.notes.append("No column looks like listing text (words: mostly letters, many "
                             "different values). Numbers, codes, dates and coordinates are not "
                             "text; choose the text column yourself, or add one to the file.")
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


def _row_numbers(df: pd.DataFrame) -> np.ndarray:
    """1-based data row numbers: from the index when it holds them (as read_table sets it),
    else the positions."""
    idx = df.index
    if (len(idx) and pd.api.types.is_integer_dtype(idx) and idx.is_unique
            and int(idx.min()) >= 0):
        return idx.to_numpy(dtype=np.int64) + 1
    return np.arange(1, len(df) + 1, dtype=np.int64)


def _out_of_range(lat: pd.Series, lon: pd.Series) -> pd.Series:
    return (lat.abs() > 90) | (lon.abs() > 180) | ((lat == 0) & (lon == 0))


def clean(df: pd.DataFrame | Table, mapping: dict[str, str | None], max_rows: int = MAX_ROWS,
          *, swap_latlon: bool = False) -> Cleaned:
    """Apply a column mapping; skip (and list) unusable rows.

    ``df`` is ``Table.df`` (or the Table): the rows dropped while reading are counted too. With
    ``swap_latlon`` the mapped latitude and longitude columns are used the other way round;
    without it, a mapping whose latitudes are out of range but would be in range swapped sets
    ``Cleaned.swap_suggested`` and ``swap_message``. Raises TableError when a required column is
    missing, the text column holds no letters, or no row is usable (with ``swap_suggested`` set
    when the swap would make rows usable)."""
    read = None
    if isinstance(df, Table):
        df = df.df
    info = df.attrs.get(_READ)
    if isinstance(info, dict) and info.get("n_df") == len(df):
        read = info
    mapping = {r: (c if c not in ("", None, "—") else None) for r, c in mapping.items()}
    missing = [r for r in REQUIRED if not mapping.get(r)]
    if missing:
        raise TableError("Choose the column that holds the listing text (required: words, not "
                         "numbers or codes). Columns in the file: "
                         f"{', '.join(map(str, df.columns[:20]))}.")
    bad = [c for c in mapping.values() if c is not None and c not in df.columns]
    if bad:
        raise TableError(f"Column(s) {', '.join(map(str, bad))} are not in the file.")
    if (mapping.get("lat") is None) != (mapping.get("lon") is None):
        raise TableError("Map both latitude and longitude, or neither (then there is no map).")
    read_sk = read["skipped"] if read is not None else _no_skips()
    n_unread = int(read["n_unread"]) if read is not None else 0
    limit = min(max_rows, int(read["limit"])) if n_unread else max_rows
    n_input = len(df) + len(read_sk) + n_unread
    if n_input == 0:
        raise TableError("The file has a header but no rows.")
    rows = _row_numbers(df)
    over = int((rows > limit).sum()) + int((read_sk["row"] > limit).sum()) + n_unread
    last_row = max([int(rows.max()) if len(rows) else 0,
                    int(read_sk["row"].max()) if len(read_sk) else 0, n_input])
    read_sk = read_sk[read_sk["row"] <= limit]
    df, rows = df[rows <= limit], rows[rows <= limit]
    out = pd.DataFrame({"row": rows}, index=df.index)
    text = df[mapping["text"]]
    out["text"] = text.where(text.notna(), "").astype(str).str.strip()
    notes: list[str] = []
    filled = out["text"].str.len() > 0
    if filled.any():
        worded = out["text"][filled].str.contains(r"[^\W\d_]", regex=True)
        if not worded.any():
            raise TableError(f"Column '{mapping['text']}' holds no words (no letters in any of "
                             f"its {int(filled.sum()):,} values{_example(text)}): choose the "
                             "column with the listing text.")
        if worded.mean() < 0.5:
            notes.append(f"Only {worded.mean():.0%} of the values in '{mapping['text']}' contain "
                         "letters: is it the column with the listing text?")
    reasons = pd.Series("", index=df.index, dtype=object)
    values = pd.Series("", index=df.index, dtype=object)

    def flag(mask: pd.Series, reason: str, val: pd.Series):
        new = mask & (reasons == "")
        reasons[new] = reason
        values[new] = val[new].astype(str).str.slice(0, 60)

    flag(out["text"].str.len() == 0, EMPTY_TEXT, out["text"])
    has_map = mapping.get("lat") is not None
    swap_suggested, swap_message = False, None
    if has_map:
        lat_col, lon_col = mapping["lat"], mapping["lon"]
        if swap_latlon:
            lat_col, lon_col = lon_col, lat_col
            notes.append(f"Latitude and longitude were swapped as asked: '{lat_col}' is read as "
                         f"latitude and '{lon_col}' as longitude.")
        lat, lon = _to_float(df[lat_col]), _to_float(df[lon_col])
        raw = df[mapping["lat"]].astype(str) + ", " + df[mapping["lon"]].astype(str)
        both = lat.notna() & lon.notna()
        n_both = int(both.sum())
        if not swap_latlon and n_both:
            n_bad = int((_out_of_range(lat, lon) & both).sum())
            n_bad_swapped = int((_out_of_range(lon, lat) & both).sum())
            if (n_bad >= SWAP_MIN_BAD * n_both and n_bad_swapped <= SWAP_MAX_BAD_AFTER * n_both
                    and n_bad_swapped < n_bad):
                swap_suggested = True
                swap_message = (f"Latitude and longitude look swapped: {n_bad:,} of {n_both:,} "
                                f"rows are out of range with '{lat_col}' as latitude and "
                                f"'{lon_col}' as longitude, and {n_both - n_bad_swapped:,} would "
                                "be in range the other way round. Swap the two columns to use "
                                "these rows.")
                notes.append(swap_message)
        flag(~both, BAD_COORDS, raw)
        flag(_out_of_range(lat, lon), OUT_OF_RANGE, raw)
        out["lat"], out["lon"] = lat, lon
    has_date = mapping.get("date") is not None
    if has_date:
        d = _to_dates(df[mapping["date"]])
        flag(d.isna(), BAD_DATE, df[mapping["date"]])
        out["date"] = d
    for role in ("type", "developer"):
        if mapping.get(role):
            s = df[mapping[role]]
            out[role] = s.where(s.notna(), "(unknown)").astype(str).str.strip().replace(
                "", "(unknown)")
    out["id"] = (df[mapping["id"]].astype(str) if mapping.get("id")
                 else pd.Series([f"R{i}" for i in out["row"]], index=df.index))
    keep = reasons == ""
    parts = [read_sk[["row", "reason", "value"]],
             pd.DataFrame({"row": out["row"][~keep], "reason": reasons[~keep],
                           "value": values[~keep]})]
    blocks = {}
    if over:
        reason = over_limit_reason(limit)
        blocks[reason] = over
        parts.append(pd.DataFrame({"row": [limit + 1], "reason": [reason],
                                   "value": [f"rows {limit + 1:,} to {last_row:,} "
                                             f"({over:,} rows)"]}))
    parts = [p for p in parts if len(p)]
    skipped = (pd.concat(parts, ignore_index=True) if parts else _no_skips())
    skipped["row"] = skipped["row"].astype(np.int64)
    skipped = skipped.sort_values("row", kind="stable").reset_index(drop=True)
    good = out[keep].reset_index(drop=True)
    result = Cleaned(good, skipped, n_input, has_map, has_date, blocks, notes, swap_suggested,
                     swap_message, bool(swap_latlon and has_map))
    if good.empty:
        c = result.counts()
        msg = ("No usable rows: " + ", ".join(f"{v:,} with {k}" for k, v in c.items()) + ".")
        if swap_suggested:
            raise TableError(f"{msg} {swap_message}", swap_suggested=True)
        raise TableError(msg + " Check the column mapping (is the text column right? are "
                         "latitude and longitude in decimal degrees?).")
    return result
