"""Issue 10, uploads: no row lost or misread without a word, nested ZIPs, swapped coordinates,
and the upload limits the server and the page state.

Each test here reproduces one failure found by the reliability trials (parts 8-13 and 16)."""

import io
import json
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from unsup.data import tables, uploads
from unsup.data.tables import TableError, clean, guess_columns, read_table
from unsup.data.uploads import read_uploads

ROOT = Path(__file__).resolve().parents[1]
OVER = "rows over the limit of 200,000 were not read"


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode("utf-8")


def _listings(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = ["condo", "sea", "view", "pool", "garden", "quiet", "near", "mall", "train", "park"]
    return pd.DataFrame({
        "description": [" ".join(rng.choice(words, 6)) + f" no {i}" for i in range(n)],
        "lat": np.round(rng.uniform(12.5, 14.5, n), 5),
        "lon": np.round(rng.uniform(100.2, 101.5, n), 5),
    })


def _accounted(c) -> int:
    """Usable rows plus every counted skip: must equal the rows in the file."""
    return len(c.df) + sum(c.counts().values())


# -- 8. silent row loss in CSV ---------------------------------------------------------------
def test_a_one_megabyte_cell_is_read_not_dropped():
    df = _listings(200)
    long_text = ("lorem ipsum dolor sit amet " * 40_000)[:1_048_576]
    df.loc[57, "description"] = long_text
    t = read_table(_csv(df), "long.csv")
    assert len(t.df) == 200
    c = clean(t.df, guess_columns(t.df))
    assert len(c.df) == 200 and c.n_input == 200 and not c.counts()
    assert c.df["text"].str.len().max() == len(long_text.strip())
    assert any("131,072" in n for n in t.notes)  # the long cell is stated, not hidden


def test_rows_over_the_limit_are_counted_under_a_named_reason():
    n = 300_000
    body = "\n".join(f"listing number {i} near the sea,13.{i % 1000:03d},100.5" for i in range(n))
    t = read_table(("description,lat,lon\n" + body + "\n").encode(), "big.csv")
    c = clean(t.df, guess_columns(t.df))
    assert len(c.df) == 200_000 and c.n_input == n
    assert c.counts() == {OVER: 100_000}
    assert "100,000 rows over the limit of 200,000 were not read" in c.summary()
    assert _accounted(c) == n
    assert len(c.skipped) >= 1  # the page's "Skipped rows" view shows the block
    assert c.df["text"].iloc[-1] == "listing number 199999 near the sea"


def test_rows_over_the_limit_of_an_excel_or_json_table_are_counted_too():
    df = _listings(30)
    c = clean(df, {"text": "description", "lat": "lat", "lon": "lon"}, max_rows=20)
    assert len(c.df) == 20 and c.n_input == 30
    assert c.counts() == {"rows over the limit of 20 were not read": 10}


def test_a_row_with_extra_fields_is_counted_with_its_row_number():
    text = ("description,lat,lon\n"
            "quiet condo near the park,13.7,100.5\n"
            "big house, garden and pool,13.8,100.6\n"  # unquoted comma: one field too many
            "sea view apartment,12.9,100.9\n")
    t = read_table(text.encode(), "x.csv")
    c = clean(t.df, guess_columns(t.df))
    assert len(c.df) == 2 and c.n_input == 3 and _accounted(c) == 3
    assert c.counts() == {"more fields than the header": 1}
    row = c.skipped.iloc[0]
    assert row["row"] == 2 and "big house" in row["value"]
    assert c.df["text"].tolist() == ["quiet condo near the park", "sea view apartment"]


def test_trailing_separators_neither_drop_nor_shift_rows():
    text = "description,lat\nhello world,13\nbye now,14,\nthird one,15,\n"
    t = read_table(text.encode(), "x.csv")
    assert list(t.df.columns) == ["description", "lat"]
    assert t.df["description"].tolist() == ["hello world", "bye now", "third one"]


def test_an_unclosed_quote_is_named_not_swallowed_silently():
    text = ('description,lat,lon\n'
            'quiet condo,13.7,100.5\n'
            '"house with garden,13.8,100.6\n'  # the quote never closes
            'sea view,12.9,100.9\n'
            'mall nearby,13.1,100.7\n')
    t = read_table(text.encode(), "x.csv")
    c = clean(t.df, guess_columns(t.df))
    assert len(c.df) == 1 and "unclosed quote" in c.counts()
    assert any("row 2" in n and "quote" in n for n in t.notes)


def test_every_row_of_a_messy_file_is_accounted_for():
    lines = ["description,lat,lon"]
    for i in range(50):
        lines.append(f"listing {i} by the river,13.{i:02d},100.5")
        if i % 10 == 3:
            lines.append(f"extra, field {i},13.0,100.0")  # too many fields
        if i % 10 == 6:
            lines.append(",13.0,100.0")  # empty text
        if i % 10 == 8:
            lines.append(f"no coordinates {i},,")
    t = read_table(("\n".join(lines) + "\n").encode(), "x.csv")
    c = clean(t.df, guess_columns(t.df))
    assert c.n_input == len(lines) - 1 == 65
    assert _accounted(c) == 65 and len(c.df) == 50
    assert c.counts() == {"more fields than the header": 5, "empty text": 5,
                          "missing or unparseable coordinates": 5}
    # row numbers count data rows of the file, including the skipped ones
    assert c.skipped["row"].tolist() == sorted(c.skipped["row"].tolist())
    assert c.skipped["row"].iloc[0] == 5


def test_rows_dropped_while_reading_are_counted_on_the_pages_path():
    """The page caches the Table (pickled), renames the columns to str, then cleans ``df``."""
    import pickle

    text = ("description,lat,lon\nquiet condo,13.7,100.5\nhouse, garden,13.8,100.6\n"
            "sea view,12.9,100.9\n")
    t = pickle.loads(pickle.dumps(read_table(text.encode(), "x.csv")))
    df = t.df
    df.columns = [str(c) for c in df.columns]
    c = clean(df, guess_columns(df))
    assert c.counts() == {"more fields than the header": 1} and c.n_input == 3
    assert "2 of 3 rows usable" in c.summary() and len(c.skipped) == 1
    assert clean(t, guess_columns(df)).counts() == c.counts()  # the Table itself works too


# -- 9. wrong mappings accepted without a word -----------------------------------------------
def test_a_numeric_column_is_never_guessed_as_the_text():
    df = pd.DataFrame({"price": ["2500000", "3100000", "990000", "4200000"],
                       "area": ["35", "48", "27", "60"],
                       "lat": ["13.7", "13.8", "13.9", "14.0"],
                       "lon": ["100.5", "100.6", "100.7", "100.8"]})
    t = read_table(_csv(df), "numbers.csv")
    g = guess_columns(t.df)
    assert g["text"] is None
    assert any("text" in n.lower() for n in g.notes)
    with pytest.raises(TableError, match="text"):
        clean(t.df, g)


def test_a_chosen_text_column_without_letters_is_refused_by_name():
    df = pd.DataFrame({"price": ["2500000", "3100000"], "lat": [13.7, 13.8], "lon": [100.5, 100.6]})
    with pytest.raises(TableError, match="price"):
        clean(df, {"text": "price", "lat": "lat", "lon": "lon"})


def test_text_is_found_by_content_not_by_length():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({
        "ref": [str(rng.integers(10**17, 10**18)) + str(rng.integers(10**17, 10**18))
                for _ in range(40)],  # 36-digit codes: long, but no words
        "ข้อมูล": [f"บ้านเดี่ยว ใกล้ตลาด สวย {i}" for i in range(40)],
        "lat": 13.7, "lon": 100.5})
    t = read_table(_csv(df), "x.csv")
    g = guess_columns(t.df)
    assert g["text"] == "ข้อมูล"
    assert any("ข้อมูล" in n for n in g.notes)  # the guess from contents is said


def test_a_text_named_column_holding_numbers_is_not_used():
    df = pd.DataFrame({"description": ["101", "102", "103", "104"],  # a code, named like text
                       "remark": ["sea view condo", "garden house", "city loft", "river villa"],
                       "lat": 13.7, "lon": 100.5})
    g = guess_columns(df)
    assert g["text"] == "remark"
    assert any("'description'" in n and "not mapped" in n for n in g.notes)


def _xlsx_with_title_row() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Listings"
    ws["A1"] = "Property listings export, March 2024"
    ws.merge_cells("A1:D1")
    ws.append([])
    ws.append(["latitude", "longitude", "description", "type"])
    rows = [(13.75, 100.50, "condo near the sky train, pool and gym", "condo"),
            (12.93, 100.88, "sea view house with a garden", "house"),
            (18.79, 98.98, "quiet townhouse near the old city", "townhouse")]
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_excel_finds_the_header_under_a_merged_title_row_and_says_so():
    t = read_table(_xlsx_with_title_row(), "report.xlsx")
    assert list(t.df.columns) == ["latitude", "longitude", "description", "type"]
    assert len(t.df) == 3
    assert any("row 3" in n for n in t.notes)
    g = guess_columns(t.df)
    assert (g["text"], g["lat"], g["lon"]) == ("description", "latitude", "longitude")
    c = clean(t.df, g)
    assert len(c.df) == 3 and c.df["lat"].iloc[2] == pytest.approx(18.79)


# -- 10. JSON with unequal lists ----------------------------------------------------------------
def test_json_columns_of_unequal_length_get_a_clear_message():
    obj = {"text": ["a house", "a condo", "a villa"], "lat": [13.7, 13.8], "lon": [100.5] * 3}
    with pytest.raises(TableError, match=r"text: 3.*lat: 2|lat: 2.*text: 3"):
        read_table(json.dumps(obj).encode(), "cols.json")


# -- 12. ZIP inside a ZIP -------------------------------------------------------------------------
def _png() -> bytes:
    a = np.zeros((30, 30), np.uint8)
    a[5:25, 12:18] = 255
    buf = io.BytesIO()
    Image.fromarray(a, "L").save(buf, format="PNG")
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_a_zip_inside_a_zip_is_read_one_level_deep():
    inner = _zip({"a.png": _png(), "sub/b.png": _png()})
    r = read_uploads([("outer.zip", _zip({"inner.zip": inner, "c.png": _png()}))], size=28)
    assert len(r.images) == 3 and not r.problems, r.problems
    assert "outer.zip/inner.zip/sub/b.png" in r.names


def test_deeper_nesting_is_named_and_skipped():
    deep = _zip({"deep.png": _png()})
    inner = _zip({"deeper.zip": deep, "a.png": _png()})
    r = read_uploads([("outer.zip", _zip({"inner.zip": inner}))], size=28)
    assert len(r.images) == 1
    assert len(r.problems) == 1 and "deeper.zip" in r.problems[0]
    assert "one level" in r.problems[0]


def test_inner_archives_keep_the_path_and_bomb_guards(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    inner = _zip({"../evil.png": _png(), "ok.png": _png()})
    r = read_uploads([("outer.zip", _zip({"inner.zip": inner}))], size=28)
    assert len(r.images) == 1 and any("leaves the archive" in p for p in r.problems)
    assert not list(tmp_path.iterdir())

    monkeypatch.setattr(uploads, "MAX_ZIP_TOTAL", 2_000_000)
    bomb = _zip({"huge.png": b"\x00" * 30_000_000})
    r = read_uploads([("outer.zip", _zip({"bomb.zip": bomb, "ok.png": _png()}))], size=28)
    assert len(r.images) <= 1 and any("ZIP bomb" in p for p in r.problems)


def test_images_past_the_image_limit_are_counted(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_IMAGES", 2)
    r = read_uploads([("a.zip", _zip({f"{i}.png": _png() for i in range(5)}))], size=28)
    assert len(r.images) == 2 and r.problems == ["3 images over the limit of 2 were not read."]


def test_inner_members_count_towards_the_member_limit(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_ZIP_MEMBERS", 5)
    inner = _zip({f"{i}.png": _png() for i in range(8)})
    r = read_uploads([("outer.zip", _zip({"inner.zip": inner, "x.png": _png()}))], size=28)
    assert len(r.images) <= 5 and any("limit" in p and "inner.zip" in p for p in r.problems)


# -- 13. swapped latitude and longitude ---------------------------------------------------------
def test_swapped_coordinates_are_recognised_and_the_swap_applies():
    df = _listings(40).rename(columns={"lat": "lon", "lon": "lat"})  # lat holds ~100, lon ~13
    g = guess_columns(df)
    with pytest.raises(TableError) as err:
        clean(df, g)
    assert err.value.swap_suggested and "swap" in str(err.value).lower()
    c = clean(df, g, swap_latlon=True)
    assert len(c.df) == 40 and c.swapped and not c.swap_suggested
    assert c.df["lat"].between(12.5, 14.5).all() and c.df["lon"].between(100.2, 101.5).all()


def test_a_partly_out_of_range_swap_is_suggested_on_the_result():
    thai = _listings(30)
    india = pd.DataFrame({"description": [f"flat in town {i}" for i in range(10)],
                          "lat": 20.0, "lon": 85.0})  # in range either way round
    df = pd.concat([thai, india], ignore_index=True).rename(columns={"lat": "lon", "lon": "lat"})
    c = clean(df, guess_columns(df))
    assert len(c.df) == 10 and c.swap_suggested
    assert "30 of 40" in c.swap_message and c.swap_message in c.notes
    c2 = clean(df, guess_columns(df), swap_latlon=True)
    assert len(c2.df) == 40 and not c2.counts()


def test_one_bad_row_does_not_suggest_a_swap():
    df = _listings(40)
    df.loc[3, "lat"] = 123.0
    c = clean(df, guess_columns(df))
    assert len(c.df) == 39 and not c.swap_suggested and c.swap_message is None


# -- 11 and 16. limits stated and matched by the server; no tracebacks for visitors --------------
def _config() -> dict:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text("utf-8"))


def test_streamlit_upload_limit_matches_the_apps_largest_limit():
    from unsup.checkpoints import MAX_CHECKPOINT_BYTES
    from unsup.models.topics import MAX_MODEL_BYTES

    mb = _config()["server"]["maxUploadSize"] * 1024 * 1024  # Streamlit's MB are 2**20 bytes
    largest = max(tables.MAX_BYTES, uploads.MAX_FILE_BYTES, uploads.MAX_ZIP_BYTES,
                  MAX_CHECKPOINT_BYTES, MAX_MODEL_BYTES)
    assert largest <= mb <= largest + 1024 * 1024
    assert tables.UPLOAD_MB * 1024 * 1024 == tables.MAX_BYTES
    assert uploads.UPLOAD_MB * 1024 * 1024 == max(uploads.MAX_FILE_BYTES, uploads.MAX_ZIP_BYTES)


def test_visitors_see_no_error_details_and_old_settings_stay():
    cfg = _config()
    assert cfg["client"]["showErrorDetails"] in ("none", "type")
    assert cfg["client"]["toolbarMode"] == "viewer"
    assert cfg["browser"]["gatherUsageStats"] is False and cfg["server"]["headless"] is True


def test_each_limit_has_one_line_for_the_uploader():
    assert "80 MB" in tables.LIMIT_TEXT and "200,000 rows" in tables.LIMIT_TEXT
    assert tables.UPLOAD_MB == 80
    assert "25 MB" in uploads.LIMIT_TEXT and "300 MB" in uploads.LIMIT_TEXT
    assert uploads.UPLOAD_MB == 300 and "\n" not in tables.LIMIT_TEXT + uploads.LIMIT_TEXT


def test_the_size_refusal_states_the_same_limit_as_the_uploader(monkeypatch):
    with pytest.raises(TableError, match=r"limit is 80 MB"):
        read_table(b"a" * (tables.MAX_BYTES + 1), "huge.csv")
    monkeypatch.setattr(uploads, "MAX_ZIP_BYTES", 2 * 1024 * 1024)
    r = read_uploads([("big.zip", _zip({"a.png": _png(), "b.bin": np.random.default_rng(0)
                                        .bytes(3 * 1024 * 1024)}))], size=28)
    assert not r.images and "big.zip" in r.problems[0] and "limit of 2 MB" in r.problems[0]
