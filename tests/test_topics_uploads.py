"""Every bad upload of the topic page gets a clear message, and good rows survive bad ones."""

import io
import json

import pandas as pd
import pytest

from unsup.data.tables import TableError, clean, guess_columns, read_table

GOOD = [
    {"รายละเอียด": "คอนโดวิวทะเล ใกล้ชายหาด", "lat": 12.93, "lng": 100.88, "ประเภท": "คอนโด",
     "developer": "A", "date": "2023-05-01"},
    {"รายละเอียด": "บ้านเดี่ยว ท่ามกลางธรรมชาติ", "lat": 14.5, "lng": 101.4, "ประเภท": "บ้าน",
     "developer": "B", "date": "2022-01-15"},
]


def _csv(rows, encoding="utf-8"):
    return pd.DataFrame(rows).to_csv(index=False).encode(encoding)


def _mapping(df):
    return guess_columns(df)


def test_guesses_map_thai_and_english_headers():
    t = read_table(_csv(GOOD), "x.csv")
    g = guess_columns(t.df)
    assert (g["text"], g["lat"], g["lon"], g["type"], g["developer"], g["date"]) == (
        "รายละเอียด", "lat", "lng", "ประเภท", "developer", "date")


@pytest.mark.parametrize("encoding,label", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"),
                                            ("cp874", "cp874"), ("tis-620", "cp874")])
def test_encodings_are_detected(encoding, label):
    t = read_table(_csv(GOOD, encoding), "x.csv")
    assert t.encoding.startswith(label)
    assert t.df.iloc[0, 0] == "คอนโดวิวทะเล ใกล้ชายหาด"


def test_excel_and_json_uploads():
    buf = io.BytesIO()
    pd.DataFrame(GOOD).to_excel(buf, index=False)
    assert len(read_table(buf.getvalue(), "x.xlsx").df) == 2
    assert len(read_table(json.dumps(GOOD, ensure_ascii=False).encode(), "x.json").df) == 2
    lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in GOOD).encode()
    assert len(read_table(lines, "x.jsonl").df) == 2
    assert len(read_table(json.dumps({"data": GOOD}).encode(), "x.json").df) == 2


@pytest.mark.parametrize("data,name,match", [
    (b"", "empty.csv", "empty"),
    (b"\x00\x01\x02\x03binary", "x.csv", "binary"),
    (b"text\n\xdb\xdc\xfc\xfd\xfe\n", "x.csv", "encoding"),
    (b"[{\"text\": \"a\"", "x.json", "not valid JSON"),
    (b"{\"a\": 1}", "x.json", "list of records"),
    (b"PK\x03\x04garbage", "x.xlsx", "Excel"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old", "x.xls", "xlsx"),
])
def test_unreadable_files_get_a_clear_message(data, name, match):
    with pytest.raises(TableError, match=match):
        read_table(data, name)


def test_missing_text_column_and_half_coordinates():
    df = read_table(_csv(GOOD), "x.csv").df
    m = _mapping(df)
    with pytest.raises(TableError, match="text"):
        clean(df, {**m, "text": None})
    with pytest.raises(TableError, match="latitude and longitude"):
        clean(df, {**m, "lon": None})
    with pytest.raises(TableError, match="not in the file"):
        clean(df, {**m, "type": "nope"})


def test_bad_rows_are_counted_listed_and_skipped():
    rows = GOOD + [
        {**GOOD[0], "รายละเอียด": ""},  # empty text
        {**GOOD[0], "lat": "abc"},  # unparseable
        {**GOOD[0], "lat": 123.0},  # out of range
        {**GOOD[0], "lat": 0, "lng": 0},  # the null island
        {**GOOD[0], "date": "not a date"},  # bad date
    ]
    df = read_table(_csv(rows), "x.csv").df
    c = clean(df, _mapping(df))
    assert len(c.df) == 2 and c.n_input == 7
    assert c.counts() == {"empty text": 1, "missing or unparseable coordinates": 1,
                          "out-of-range coordinates": 2, "bad or missing date": 1}
    assert c.skipped["row"].tolist() == [3, 4, 5, 6, 7]
    assert "2 of 7 rows usable" in c.summary()


def test_no_usable_rows_gets_a_clear_message():
    rows = [{**GOOD[0], "lat": "x"}, {**GOOD[1], "รายละเอียด": "  "}]
    df = read_table(_csv(rows), "x.csv").df
    with pytest.raises(TableError, match="No usable rows"):
        clean(df, _mapping(df))
    with pytest.raises(TableError, match="no rows"):
        clean(read_table(b"text,lat,lon\n", "x.csv").df, {"text": "text", "lat": "lat",
                                                          "lon": "lon"})


def test_thai_buddhist_years_and_comma_decimals():
    rows = [{"text": "บ้าน สวน", "lat": "13,75", "lon": "100,5", "date": "15/03/2567"}]
    df = read_table(_csv(rows), "x.csv").df
    df = pd.DataFrame(rows)
    c = clean(df, {"text": "text", "lat": "lat", "lon": "lon", "date": "date"})
    assert c.df["lat"].iloc[0] == 13.75 and c.df["date"].iloc[0].year == 2024
