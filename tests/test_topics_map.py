"""The topic page's listing map (issue 11, parts 2 and 3; issue 10, part 15): every map mode is a
deck that deck.gl's JSON converter can draw, the offline basemap lies under the points, the view
opens fitted to the data, and tooltips show text escaped exactly once."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from unsup.data import basemap as bm
from unsup.data.listings import generate
from unsup.viz import topics as tv

MODES = ("scatter", "hexagon", "heatmap")

# Props deck.gl 9 knows, per layer type (deck.gl's API reference); a prop outside these is a
# typo or a pydeck name that never reached camelCase, and deck.gl ignores it silently.
COMMON = {"@@type", "id", "data", "visible", "opacity", "pickable", "autoHighlight",
          "highlightColor", "parameters", "coordinateSystem", "coordinateOrigin"}
KNOWN = {
    "ScatterplotLayer": {"radiusUnits", "radiusScale", "lineWidthUnits", "lineWidthScale",
                         "stroked", "filled", "radiusMinPixels", "radiusMaxPixels",
                         "lineWidthMinPixels", "lineWidthMaxPixels", "billboard",
                         "antialiasing", "getPosition", "getRadius", "getFillColor",
                         "getLineColor", "getLineWidth"},
    "HexagonLayer": {"radius", "coverage", "elevationScale", "extruded", "colorRange",
                     "elevationRange", "upperPercentile", "lowerPercentile",
                     "elevationUpperPercentile", "elevationLowerPercentile", "colorScaleType",
                     "material", "colorAggregation", "elevationAggregation", "colorDomain",
                     "elevationDomain", "elevationScaleType", "gpuAggregation", "getPosition",
                     "getColorWeight", "getElevationWeight", "getColorValue",
                     "getElevationValue"},
    "HeatmapLayer": {"radiusPixels", "colorRange", "intensity", "threshold", "colorDomain",
                     "aggregation", "weightsTextureSize", "debounceTimeout", "getPosition",
                     "getWeight"},
    "BitmapLayer": {"image", "bounds", "desaturate", "transparentColor", "tintColor",
                    "textureParameters"},
    "GeoJsonLayer": {"filled", "stroked", "extruded", "wireframe", "pointType",
                     "lineWidthUnits", "lineWidthScale", "lineWidthMinPixels",
                     "lineWidthMaxPixels", "lineJointRounded", "lineCapRounded",
                     "lineMiterLimit", "elevationScale", "material", "getFillColor",
                     "getLineColor", "getLineWidth", "getElevation"},
}
# What each accessor must return: (kind, length) — "num" a number, "vec" a list of numbers.
ACCESSOR_SHAPE = {"getPosition": ("vec", (2, 3)), "getFillColor": ("color", (3, 4)),
                  "getLineColor": ("color", (3, 4)), "getRadius": ("num", None),
                  "getWeight": ("num", None), "getLineWidth": ("num", None),
                  "getElevation": ("num", None)}
REQUIRED = {"ScatterplotLayer": {"getPosition", "getFillColor"},
            "HexagonLayer": {"getPosition"}, "HeatmapLayer": {"getPosition", "getWeight"},
            "GeoJsonLayer": {"getFillColor", "getLineColor"}, "BitmapLayer": {"image", "bounds"}}


@pytest.fixture(scope="module")
def listings():
    L = generate(1500, seed=3, lang="th")
    pts = tv.point_table(L.df, L.truth.doc_theme, L.truth.labels)
    return L, pts


def _spec(pts, mode, **kw) -> dict:
    weight = np.linspace(0, 1, len(pts)) if mode == "heatmap" else None
    return json.loads(tv.listing_deck(pts, 10, mode, weight=weight, **kw).to_json())


def _evaluate(expr: str, row: dict):
    """Evaluate one of the deck's accessor expressions on a data row, the way deck.gl's JSON
    converter does for the forms used here: ``[a, b, ...]`` or a dotted field path."""
    expr = expr.strip()
    if expr.startswith("[") and expr.endswith("]"):
        return [_evaluate(part, row) for part in expr[1:-1].split(",")]
    assert re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", expr), f"unexpected form {expr!r}"
    value = row
    for name in expr.split("."):
        assert isinstance(value, dict) and name in value, f"{expr!r}: no field {name!r} in row"
        value = value[name]
    return value


def _check_value(prop: str, value) -> None:
    kind, length = ACCESSOR_SHAPE.get(prop, ("any", None))
    if kind == "num":
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (prop, value)
    elif kind in ("vec", "color"):
        assert isinstance(value, list) and len(value) in length, (prop, value)
        assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        if kind == "color":
            assert all(0 <= v <= 255 for v in value), (prop, value)


def _rows(layer: dict) -> list[dict]:
    data = layer["data"]
    return data["features"] if isinstance(data, dict) else data


@pytest.mark.parametrize("mode", MODES)
def test_every_accessor_is_an_expression_over_real_fields_or_a_constant(listings, mode):
    _, pts = listings
    spec = _spec(pts, mode)
    assert spec["layers"], mode
    for layer in spec["layers"]:
        kind = layer["@@type"]
        assert set(layer) <= COMMON | KNOWN[kind], (kind, set(layer) - COMMON - KNOWN[kind])
        assert REQUIRED[kind] <= set(layer), (kind, REQUIRED[kind] - set(layer))
        if kind == "BitmapLayer":  # a picture: no data rows, no accessors
            assert not any(isinstance(v, str) and v.startswith("@@=") for v in layer.values())
            continue
        rows = _rows(layer)
        assert rows, (kind, "no data")
        for prop, value in layer.items():
            is_expr = isinstance(value, str) and value.startswith("@@=")
            if not prop.startswith("get"):
                # deck.gl's converter turns any "@@=" string into a function; only accessors
                # may be functions (this caught aggregation="@@=SUM" on the heatmap)
                assert not is_expr, (kind, prop, value)
                continue
            if is_expr:
                assert not value.startswith("@@=@@"), value
                for row in rows[:: max(1, len(rows) // 50)]:
                    _check_value(prop, _evaluate(value[3:], row))
            else:  # a constant of the accessor's type
                _check_value(prop, value)


def test_enum_props_are_plain_strings(listings):
    _, pts = listings
    heat = tv.listings_layer(_spec(pts, "heatmap"))
    assert heat["aggregation"] == "SUM"


def test_each_mode_has_its_own_layer_id(listings):
    """deck.gl matches layers between renders by id and hands the old layer's state to the new
    one: a HexagonLayer given a ScatterplotLayer's state looks for ``getRadius`` and draws
    nothing (the browser said ``accessor "getRadius" is not a function``)."""
    _, pts = listings
    ids = {}
    for mode in MODES:
        spec = _spec(pts, mode)
        layer_ids = [layer["id"] for layer in spec["layers"]]
        assert len(layer_ids) == len(set(layer_ids))
        ids[mode] = tv.listings_layer(spec)["id"]
        assert tv.listings_layer(spec)["@@type"] == {
            "scatter": "ScatterplotLayer", "hexagon": "HexagonLayer",
            "heatmap": "HeatmapLayer"}[mode]
    assert len(set(ids.values())) == len(MODES)


def test_basemap_lies_under_the_listings_and_can_be_left_out(listings):
    _, pts = listings
    for mode in MODES:
        spec = _spec(pts, mode)
        types = [layer["@@type"] for layer in spec["layers"]]
        assert types[0] == "BitmapLayer" and spec["layers"][0]["id"] == tv.BASEMAP_ID
        assert spec["layers"][-1]["id"] == tv.LISTINGS_ID + mode  # drawn last: on top
        west, south, east, north = spec["layers"][0]["bounds"]  # the picture covers the points
        assert west <= pts["lon"].min() and east >= pts["lon"].max()
        assert south <= pts["lat"].min() and north >= pts["lat"].max()
        assert spec["layers"][0]["image"].startswith("data:image/png;base64,")
        assert "mapStyle" not in spec  # Streamlit's own tile map stays (shows when online)
        bare = _spec(pts, mode, basemap=False)
        assert [layer["id"] for layer in bare["layers"]] == [tv.LISTINGS_ID + mode]
    spec = _spec(pts, "scatter")
    assert tv.deck_points(json.dumps(spec)) == tv.listings_layer(spec)["data"]
    assert len(tv.deck_points(json.dumps(spec))) == len(pts)


def _pixels(lat0, lat1, lon0, lon1, zoom):
    """Width and height (pixels) of a lat/lon box in deck.gl's Web Mercator view."""
    world = 512 * 2 ** zoom
    return (world * (lon1 - lon0) / 360,
            world * (tv._mercator_y(lat1) - tv._mercator_y(lat0)))


@pytest.mark.parametrize("box", [(13.6, 13.9, 100.45, 100.7),  # Bangkok
                                 (7.0, 19.0, 98.0, 103.0),  # the whole built-in corpus
                                 (12.85, 12.95, 100.86, 100.9)])  # a few streets of Pattaya
def test_view_is_fitted_to_the_points_extent(box):
    lat0, lat1, lon0, lon1 = box
    rng = np.random.default_rng(0)
    lat = np.r_[lat0, lat1, rng.uniform(lat0, lat1, 300)]
    lon = np.r_[lon0, lon1, rng.uniform(lon0, lon1, 300)]
    v = tv.fit_view(lat, lon)
    assert lat0 < v["latitude"] < lat1 and lon0 < v["longitude"] < lon1
    qlat, qlon = np.percentile(lat, [0.5, 99.5]), np.percentile(lon, [0.5, 99.5])
    w, h = _pixels(*qlat, *qlon, v["zoom"])
    assert w <= tv.MAP_WIDTH_PX and h <= tv.MAP_HEIGHT_PX  # all of it in view
    w2, h2 = _pixels(*qlat, *qlon, v["zoom"] + 0.5)
    assert w2 > tv.MAP_WIDTH_PX or h2 > tv.MAP_HEIGHT_PX  # and not zoomed out further


def test_view_ignores_a_stray_coordinate_and_zooms_in_on_a_city():
    rng = np.random.default_rng(1)
    lat = np.r_[rng.normal(13.74, 0.03, 999), 0.0]  # one listing with a typo at (0, 0)
    lon = np.r_[rng.normal(100.55, 0.03, 999), 0.0]
    v = tv.fit_view(lat, lon)
    assert v["zoom"] >= 10 and abs(v["latitude"] - 13.74) < 0.05
    whole = tv.fit_view([7.0, 19.0], [98.0, 103.0])
    assert 4 <= whole["zoom"] <= 6.5


def test_deck_view_follows_the_filtered_points(listings):
    L, pts = listings
    bkk = pts[L.df["area"].str.contains("Bangkok").to_numpy()]
    v_all = _spec(pts, "scatter")["initialViewState"]
    v_bkk = _spec(bkk, "scatter")["initialViewState"]
    assert v_bkk["zoom"] > v_all["zoom"] + 3
    assert abs(v_bkk["latitude"] - 13.74) < 0.1


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def _streamlit_bundle() -> str:
    import streamlit

    js = Path(streamlit.__file__).parent / "static" / "static" / "js"
    files = sorted(js.glob("DeckGlJsonChart*.js"))
    assert files, "Streamlit's deck chart bundle not found"
    return files[0].read_text(encoding="utf-8", errors="replace")


def _streamlit_tooltip(template: str, row: dict) -> str:
    """Streamlit 1.67's deck chart tooltip: each ``{field}`` of an ``html`` template replaced by
    the row's value, HTML-escaped (& < > " ')."""
    table = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
    for match in re.findall(r"{(.*?)}", template):
        if match in row:
            value = re.sub(r"[&<>\"']", lambda m: table[m.group(0)], str(row[match]))
            template = template.replace("{" + match + "}", value, 1)
    return template


def test_streamlit_escapes_tooltip_values_itself():
    """The premise of single escaping: the installed Streamlit escapes interpolated values."""
    js = _streamlit_bundle()
    assert "replaceAll(/[&<>\"']/g" in js and "&#x27;" in js


def test_tooltip_text_is_escaped_once():
    text = "Tom & Jerry's <b>pool</b> \"view\""
    df = pd.DataFrame({"text": [text], "lat": [13.7], "lon": [100.5], "type": ["Condo & Co"]})
    theta = np.array([[0.7, 0.3]])
    pts = tv.point_table(df, theta, ["Sea & sand", "<Nature>"])
    assert pts["excerpt"][0] == text  # plain text: no &amp; before the chart escapes it
    deck = tv.listing_deck(pts, 2, "scatter")
    row = tv.listings_layer(json.loads(deck.to_json()))["data"][0]
    template = deck._tooltip["html"]  # what st.pydeck_chart sends as the tooltip
    assert "{excerpt}" in template
    shown = _streamlit_tooltip(template, row)
    parser = _Text()
    parser.feed(shown)
    visible = "".join(parser.parts)
    for original in (text, "Condo & Co", "Sea & sand", "<Nature>"):
        assert original in visible, (original, visible)
    assert "&amp;" not in visible and "&#x27;" not in visible
    assert "<b>pool</b>" not in shown  # the listing's own markup is shown, not run
    assert html.escape(text) in shown


# -- the shipped basemap --------------------------------------------------------------------
def test_basemap_is_one_picture_of_the_land_drawn_once():
    """Issue 21, part 14: the map drew its basemap as a GeoJSON layer whose polygons the browser
    tessellated (and whose sublayers' shaders it compiled) on the page's thread after every
    open; it is now one PNG in Web Mercator, drawn once and kept on disk."""
    import base64
    import io

    from PIL import Image

    png, (west, south, east, north) = tv.basemap_png()
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
    h, w = img.shape[:2]

    def pixel(lat, lon):
        x = int((lon - west) / (east - west) * w)
        y = int((tv._mercator_y(north) - tv._mercator_y(lat))
                / (tv._mercator_y(north) - tv._mercator_y(south)) * h)
        return img[y, x]

    assert pixel(15.0, 101.0)[3] > 0  # central Thailand: a province, drawn
    assert pixel(11.0, 95.0)[3] == 0  # the Andaman Sea: transparent
    layer = json.loads(tv.basemap_layer_json())
    assert base64.b64decode(layer["image"].split(",", 1)[1]) == png
    assert len(tv.basemap_layer_json()) < 300_000  # the GeoJSON layer was 740,000 characters


def test_basemap_file_is_small_and_complete():
    size = bm.PATH.stat().st_size
    assert size < 2_000_000
    provinces = bm.features("province")
    assert len(provinces) == 77  # Thailand's 76 changwat and Bangkok
    names = {f["properties"]["name"] for f in provinces}
    assert {"Bangkok", "Chiang Mai", "Phuket", "Surat Thani", "Chon Buri"} <= names
    assert all(re.search("[\u0E00-\u0E7F]", f["properties"]["name_th"]) for f in provinces)
    readme = (bm.PATH.parent / "README.md").read_text(encoding="utf-8")
    assert "Natural Earth" in readme and "public domain" in readme.lower()


def test_basemap_tells_land_from_sea():
    land = {"Bangkok": (13.75, 100.5), "Chiang Mai": (18.79, 98.98),
            "Khon Kaen": (16.43, 102.83), "Phuket": (7.95, 98.35), "Ko Samui": (9.5, 100.0),
            "Vientiane (Laos)": (17.97, 102.6)}
    sea = {"Gulf of Thailand": (11.0, 101.0), "Andaman Sea": (8.0, 97.5),
           "off Pattaya": (12.93, 100.75), "South China Sea": (9.0, 105.5)}
    lat, lon = np.array(list(land.values()) + list(sea.values())).T
    got = bm.on_land(lat, lon)
    assert got.tolist() == [True] * len(land) + [False] * len(sea)


def test_coast_distance_is_small_on_the_shore_and_large_inland():
    d = bm.distance_to_coast_km([12.93, 18.79, 13.75], [100.88, 98.98, 100.5])
    assert d[0] < 1.5  # Pattaya beach road
    assert d[1] > 150  # Chiang Mai
    assert 10 < d[2] < 40  # central Bangkok, ~25 km from the gulf
