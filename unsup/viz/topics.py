"""Figures of the topic-map page: pure functions of arrays and tables -> plotly figures, pydeck
decks, HTML snippets and the small tables behind them. No streamlit here."""

from __future__ import annotations

import functools
import html

import numpy as np
import pandas as pd

PALETTE = [  # 20 distinct colours (Tableau 10 + its light partners, reordered for contrast)
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7",
    "#9c755f", "#499894", "#86bcb6", "#d37295", "#8cd17d", "#a0cbe8", "#f1ce63", "#fabfd2",
    "#79706e", "#d4a6c8", "#b6992d", "#bab0ac",
]
FONT = "Sarabun, Noto Sans Thai, Leelawadee UI, Tahoma, sans-serif"


def topic_colors(k: int) -> list[str]:
    return [PALETTE[i % len(PALETTE)] for i in range(k)]


def hex_to_rgb(h: str) -> list[int]:
    h = h.lstrip("#")
    return [int(h[i:i + 2], 16) for i in (0, 2, 4)]


def _layout(fig, height: int = 360, **kw):
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), font_family=FONT,
                      **kw)
    return fig


# -- the topic list -------------------------------------------------------------------------------
def intertopic_map(xy: np.ndarray, prevalence: np.ndarray, labels: list[str],
                   top_words: list[list[str]], focus: int | None = None):
    """Topics as circles at their 2-D positions (Jensen-Shannon MDS, from
    :func:`unsup.metrics.topics.intertopic_positions`); area = prevalence."""
    import plotly.graph_objects as go

    K = len(xy)
    prev = np.asarray(prevalence, float)
    colors = topic_colors(K)
    size = 12 + 80 * np.sqrt(prev / max(prev.max(), 1e-9))
    line = [4 if k == focus else 1 for k in range(K)]
    op = [1.0 if focus is None or k == focus else 0.45 for k in range(K)]
    hover = [f"<b>{k}: {html.escape(labels[k])}</b><br>share {prev[k]:.1%}<br>"
             + html.escape(", ".join(top_words[k])) for k in range(K)]
    fig = go.Figure(go.Scatter(
        x=xy[:, 0], y=xy[:, 1], mode="markers+text", text=[str(k) for k in range(K)],
        customdata=np.arange(K), hovertext=hover, hoverinfo="text",
        marker=dict(size=size, color=colors, opacity=op, sizemode="diameter",
                    line=dict(width=line, color="#222")),
        textfont=dict(size=13, color="#111")))
    fig.update_xaxes(title="PC1", zeroline=True, showticklabels=False)
    fig.update_yaxes(title="PC2", zeroline=True, showticklabels=False, scaleanchor="x")
    return _layout(fig, 380, title="Intertopic distance map (Jensen–Shannon, MDS)",
                   showlegend=False)


def relevance_bars(words: list[str], total: np.ndarray, within: np.ndarray, k: int,
                   n_topics: int, lam: float):
    """Top words of topic k by relevance: the topic's count of each word beside the corpus
    count (LDAvis's bar chart); arrays from :func:`unsup.metrics.topics.relevance_counts`."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_bar(y=words, x=total, orientation="h", name="whole corpus", marker_color="#d0d7de")
    fig.add_bar(y=words, x=within, orientation="h", name=f"topic {k}",
                marker_color=topic_colors(n_topics)[k])
    return _layout(fig, 380, barmode="overlay", title=f"Topic {k}: top words at λ = {lam:.2f}",
                   legend=dict(orientation="h", y=-0.12), xaxis_title="word count")


# -- listings on the map ----------------------------------------------------------------------
MAX_SCATTER = 60_000  # dots drawn at most (an even sample of the filtered listings beyond)
MAX_TOOLTIP_TEXT = 12_000  # text excerpts in tooltips only up to this many dots
MAP_WIDTH_PX, MAP_HEIGHT_PX = 700, 540  # the map's size assumed when fitting the view
LISTINGS_ID = "listings-"  # + mode: the listings layer's id (see listing_deck)
BASEMAP_ID = "basemap"
# Basemap colours (RGBA): translucent land, so an online tile map underneath still shows.
BASEMAP_STYLE = {  # kind -> (fill, line, line width in pixels)
    "province": ([236, 229, 206, 170], [150, 146, 135, 200], 0.6),
    "neighbour": ([222, 222, 218, 140], [0, 0, 0, 0], 0.0),
    "coast": ([0, 0, 0, 0], [84, 130, 176, 230], 1.1),
    "border": ([0, 0, 0, 0], [96, 96, 96, 230], 1.4),
}


def point_table(df: pd.DataFrame, theta: np.ndarray, labels: list[str],
                excerpt: int = 80) -> pd.DataFrame:
    """Per listing: dominant topic, its share, a text excerpt and the top-3 shares (for the
    map's tooltip).

    Text is kept as plain text, not HTML-escaped: Streamlit's deck chart escapes every value it
    puts into the tooltip's HTML template (``{excerpt}`` and the rest), so escaping here too
    would show ``&amp;`` for ``&``.
    """
    n = len(theta)
    dom = theta.argmax(1) if n else np.zeros(0, int)
    top3 = np.argsort(-theta, 1)[:, :3]
    share = theta[np.arange(n), dom] if n else np.zeros(0)
    lab = np.array(labels, dtype=object)
    t3 = np.full(n, "", dtype=object)
    for j in range(min(3, theta.shape[1])):
        col = top3[:, j]
        pct = np.char.mod("%d%%", np.round(100 * theta[np.arange(n), col]).astype(int))
        t3 = t3 + (" · " if j else "") + lab[col] + " " + pct.astype(object)
    text = df["text"].astype(str)
    ex = text.str.slice(0, excerpt).where(text.str.len() <= excerpt,
                                          text.str.slice(0, excerpt) + "…")
    return pd.DataFrame({
        "lat": df["lat"].to_numpy(float), "lon": df["lon"].to_numpy(float), "topic": dom,
        "share": share.astype(float).round(2), "label": lab[dom] if n else [],
        "type": df["type"].astype(str).to_numpy() if "type" in df else "",
        "excerpt": ex.to_numpy(), "top3": t3,
    })


def _mercator_y(lat):
    """Web Mercator's y of a latitude, as a fraction of the world's height (0 at the
    equator)."""
    phi = np.radians(np.clip(lat, -85.05, 85.05))
    return np.log(np.tan(np.pi / 4 + phi / 2)) / (2 * np.pi)


def fit_view(lat, lon, width: int = MAP_WIDTH_PX, height: int = MAP_HEIGHT_PX,
             margin: float = 0.08) -> dict:
    """The view (centre and zoom) that fits the points' extent into a ``width`` x ``height``
    pixel map with ``margin`` of it spare on each side.

    The extent is the points' bounding box (from the 0.5th to the 99.5th percentile when there
    are 200 points or more, so one stray coordinate does not zoom out to the whole world). In
    deck.gl's Web Mercator view the world is 512 * 2**zoom pixels wide, so the zoom is the
    largest that fits both the box's width and its Mercator height.
    """
    lat = np.asarray(lat, float)
    lon = np.asarray(lon, float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    lat, lon = lat[ok], lon[ok]
    if not len(lat):
        return {"latitude": 13.0, "longitude": 100.9, "zoom": 5.0}
    q = (0.5, 99.5) if len(lat) >= 200 else (0, 100)
    lat0, lat1 = np.percentile(lat, q)
    lon0, lon1 = np.percentile(lon, q)
    y0, y1 = _mercator_y(lat0), _mercator_y(lat1)
    dx = max((lon1 - lon0) / 360.0, 0.004 / 360)  # at least ~400 m across
    dy = max(y1 - y0, 0.004 / 360)
    usable = 1 - 2 * margin
    zoom = np.log2(min(width * usable / (512 * dx), height * usable / (512 * dy)))
    ym = (y0 + y1) / 2
    lat_c = np.degrees(2 * np.arctan(np.exp(ym * 2 * np.pi)) - np.pi / 2)
    return {"latitude": round(float(lat_c), 5), "longitude": round(float((lon0 + lon1) / 2), 5),
            "zoom": round(float(np.clip(zoom, 2, 16)), 2)}


def _extent_km(view: dict, width: int = MAP_WIDTH_PX) -> float:
    """Ground distance (km) across the fitted map's width."""
    return 40_075.0 * np.cos(np.radians(view["latitude"])) * width / (512 * 2 ** view["zoom"])


BASEMAP_PX = 2048
"""Width of the basemap picture (its height follows the Mercator aspect)."""


@functools.lru_cache(maxsize=1)
def basemap_png() -> tuple[bytes, list[float]]:
    """:func:`draw_basemap`, read from disk when drawn before (the shipped
    ``checkpoints/derived/``, made by ``scripts/precompute_derived.py basemap``, or the user's
    cache): drawing takes seconds, so a server restart does not pay it again."""
    import json

    from unsup import derived

    name = basemap_file_name()
    for folder in (derived.SHIPPED_DERIVED_DIR, derived.user_path("basemap", "x").parent):
        try:
            png = (folder / f"{name}.png").read_bytes()
            bounds = json.loads((folder / f"{name}.json").read_text("utf-8"))
            return png, bounds
        except (OSError, ValueError):
            continue
    png, bounds = draw_basemap()
    folder = derived.user_path("basemap", "x").parent
    try:
        from unsup.fileio import atomic_write_bytes, atomic_write_json

        atomic_write_bytes(folder / f"{name}.png", png)
        atomic_write_json(folder / f"{name}.json", bounds)
    except OSError:
        pass  # a read-only cache: draw it again next time
    return png, bounds


def basemap_file_name() -> str:
    """The file stem the basemap picture is stored under (for scripts/precompute_derived.py)."""
    import hashlib
    import json

    from unsup.data.basemap import PATH

    return "basemap-" + hashlib.sha256(PATH.read_bytes() + json.dumps(
        [BASEMAP_STYLE, BASEMAP_PX, 1]).encode()).hexdigest()[:16]


def draw_basemap() -> tuple[bytes, list[float]]:
    """The offline basemap (provinces, neighbours' land, coasts, borders) drawn once into a
    PNG in Web Mercator, and its bounds [west, south, east, north] in degrees.

    A picture rather than a GeoJSON layer: deck.gl tessellates every polygon of a GeoJsonLayer
    and compiles a shader for each of its fill, outline and line sublayers on the browser's page
    thread; in a Chromium without a GPU (software WebGL) that kept the map busy for many seconds
    after every open. A bitmap is one textured rectangle."""
    import io

    from PIL import Image, ImageDraw

    from unsup.data.basemap import geojson

    feats = geojson()["features"]
    xs, ys = [], []

    def walk(c):
        if isinstance(c[0], (int, float)):
            xs.append(c[0])
            ys.append(c[1])
        else:
            for x in c:
                walk(x)

    for f in feats:
        walk(f["geometry"]["coordinates"])
    west, east, south, north = min(xs), max(xs), min(ys), max(ys)
    my0, my1 = float(_mercator_y(south)), float(_mercator_y(north))
    width = BASEMAP_PX
    height = int(round(width * (my1 - my0) / ((east - west) / 360.0)))
    sx = width / (east - west)
    sy = height / (my1 - my0)

    def px(ring):
        r = np.asarray(ring, float)
        return list(zip((r[:, 0] - west) * sx, (my1 - _mercator_y(r[:, 1])) * sy))

    img = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    scale = 2.0  # line widths: the picture is about twice the map's width on screen
    for kind in ("neighbour", "province", "coast", "border"):
        fill, line, lw = BASEMAP_STYLE[kind]
        layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        for f in feats:
            if f["properties"]["kind"] != kind:
                continue
            g = f["geometry"]
            if g["type"] in ("Polygon", "MultiPolygon"):
                polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
                for poly in polys:
                    if fill[3]:
                        draw.polygon(px(poly[0]), fill=tuple(fill))
                        for hole in poly[1:]:
                            draw.polygon(px(hole), fill=(0, 0, 0, 0))
                    if line[3] and lw:
                        for ring in poly:
                            draw.line(px(ring), fill=tuple(line), width=max(1, round(lw * scale)))
            else:
                lines = [g["coordinates"]] if g["type"] == "LineString" else g["coordinates"]
                for ln in lines:
                    draw.line(px(ln), fill=tuple(line), width=max(1, round(lw * scale)))
        img = Image.alpha_composite(img, layer)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue(), [round(west, 4), round(south, 4), round(east, 4), round(north, 4)]


@functools.lru_cache(maxsize=1)
def basemap_layer_json() -> str:
    """The offline basemap as one deck.gl BitmapLayer (see :func:`basemap_png`), serialized
    once (it is the same in every map)."""
    import base64
    import json

    png, bounds = basemap_png()
    layer = {"@@type": "BitmapLayer", "id": BASEMAP_ID, "bounds": bounds, "pickable": False,
             "image": "data:image/png;base64," + base64.b64encode(png).decode("ascii")}
    return json.dumps(layer, separators=(",", ":"))


def listing_deck(points: pd.DataFrame, n_topics: int, mode: str = "scatter",
                 weight: np.ndarray | None = None, focus: int | None = None,
                 basemap: bool = True):
    """A pydeck map of listings, as a deck whose JSON is built directly (pydeck's own
    serializer takes seconds for 100,000 points).

    mode "scatter": a dot per listing coloured by dominant topic, opacity by its share (at most
    ``MAX_SCATTER`` dots: an even sample beyond; tooltips carry a text excerpt up to
    ``MAX_TOOLTIP_TEXT`` dots); "hexagon": listing counts in hexagonal bins drawn as columns
    (bin size and column height scaled to the data's extent); "heatmap": density weighted by
    ``weight`` (e.g. the focus topic's share).

    Layers, bottom to top: Streamlit's own tile map (``map_style=None``; it loads only when the
    machine is online, else the background stays blank), the shipped offline basemap
    (``basemap=True``: Thailand's provinces, its neighbours' land, coasts and borders, filled
    translucent so the tiles show through when they load) and the listings. The view opens
    fitted to the listings' extent (:func:`fit_view`).

    Every data accessor (``get*``) is a deck.gl JSON expression (``"@@=..."``) over the data
    rows' fields or a constant; no other prop is an expression (deck.gl would turn it into a
    function). The listings layer's id names the mode: deck.gl keeps a layer's state between
    renders by id, and a HexagonLayer handed the state of a ScatterplotLayer with the same id
    looks for its accessors (``getRadius is not a function``) and draws nothing.
    """
    import json

    import pydeck as pdk

    if mode not in ("scatter", "hexagon", "heatmap"):
        raise ValueError(f"unknown map mode {mode!r}: use scatter, hexagon or heatmap")
    colors = np.array([hex_to_rgb(c) for c in topic_colors(n_topics)], dtype=np.int64)
    view = fit_view(points["lat"], points["lon"])
    view_state = pdk.ViewState(pitch=0, **view)
    extent = _extent_km(view)
    layer_id = LISTINGS_ID + mode
    tooltip = None
    if mode == "hexagon":
        data = points[["lon", "lat"]].round(4)
        radius = int(np.clip(extent * 1000 / 150, 300, 5_000))  # ~150 bins across the map
        layer = pdk.Layer("HexagonLayer", id=layer_id, data=[], get_position=["lon", "lat"],
                          radius=radius, coverage=0.9, extruded=True, pickable=True,
                          # the tallest column (elevationRange's 1,000 m) ~ a quarter of the map
                          elevation_scale=round(max(1.0, extent / 4), 2),
                          elevation_range=[0, 1000],
                          color_range=[[255, 255, 204], [199, 233, 180], [127, 205, 187],
                                       [65, 182, 196], [44, 127, 184], [37, 52, 148]])
        view_state.pitch = 40
        tooltip = {"html": "<b>{count}</b> listings", "style": {"fontSize": "12px"}}
    elif mode == "heatmap":
        w = np.ones(len(points)) if weight is None else np.asarray(weight, float)
        data = pd.DataFrame({"lon": points["lon"].round(4), "lat": points["lat"].round(4),
                             "w": np.round(w, 3)})
        # aggregation is an enum, not an accessor: quoted so pydeck keeps it a plain string
        layer = pdk.Layer("HeatmapLayer", id=layer_id, data=[], get_position=["lon", "lat"],
                          get_weight="w", radius_pixels=30, aggregation='"SUM"')
    else:
        pts = points
        if len(pts) > MAX_SCATTER:
            pts = pts.iloc[np.linspace(0, len(pts) - 1, MAX_SCATTER).astype(int)]
        rgb = colors[pts["topic"].to_numpy()] if len(pts) else np.zeros((0, 3), np.int64)
        alpha = (60 + 195 * pts["share"].to_numpy()).astype(np.int64)
        if focus is not None:
            alpha = np.where(pts["topic"].to_numpy() == focus, 255, alpha // 4)
        cols = ["lon", "lat", "label", "share", "type"]
        rich = len(pts) <= MAX_TOOLTIP_TEXT
        if rich:
            cols += ["excerpt", "top3"]
        data = pts[cols].copy()
        data["lon"], data["lat"] = data["lon"].round(5), data["lat"].round(5)
        data["r"], data["g"], data["b"], data["a"] = rgb[:, 0], rgb[:, 1], rgb[:, 2], alpha
        layer = pdk.Layer("ScatterplotLayer", id=layer_id, data=[],
                          get_position=["lon", "lat"], get_fill_color="[r, g, b, a]",
                          get_radius=40,
                          radius_min_pixels=2.5, radius_max_pixels=9, pickable=True,
                          auto_highlight=True, stroked=False)
        html_t = "<b>{label}</b> ({share})<br/><i>{type}</i>"
        if rich:
            html_t += "<br/>{excerpt}<br/><small>{top3}</small>"
        tooltip = {"html": html_t, "style": {"fontSize": "12px", "maxWidth": "320px"}}
    deck = pdk.Deck(layers=[layer], initial_view_state=view_state, tooltip=tooltip,
                    map_style=None)
    spec = json.loads(deck.to_json())
    spec["layers"][0]["data"] = "@@DATA@@"
    if basemap:
        spec["layers"].insert(0, "@@BASEMAP@@")
    text = json.dumps(spec, ensure_ascii=False, separators=(",", ":"))
    rows = data.to_json(orient="records", force_ascii=False, double_precision=5)
    text = text.replace('"@@DATA@@"', rows, 1)
    if basemap:
        text = text.replace('"@@BASEMAP@@"', basemap_layer_json(), 1)
    return JsonDeck(text, tooltip)


def listings_layer(spec: dict) -> dict:
    """The listings layer of a deck spec (a parsed ``listing_deck`` JSON)."""
    return next(layer for layer in spec["layers"] if str(layer.get("id", "")).startswith(
        LISTINGS_ID))


def deck_points(spec_json: str) -> list[dict]:
    """The data rows of a deck's listings layer (used by tests and the bench)."""
    import json

    return listings_layer(json.loads(spec_json))["data"]


def _json_deck_class():
    import pydeck as pdk

    class _JsonDeck(pdk.Deck):
        """A pydeck Deck whose JSON is given (st.pydeck_chart calls ``to_json``)."""

        def __init__(self, spec: str, tooltip):
            super().__init__(layers=[], tooltip=tooltip if tooltip is not None else True,
                             map_style=None)
            self._spec = spec

        def to_json(self):  # noqa: D401
            return self._spec

    return _JsonDeck


def JsonDeck(spec: str, tooltip):  # noqa: N802 - a factory that reads like a class
    return _json_deck_class()(spec, tooltip)


def _zoom(points: pd.DataFrame) -> float:
    """The fitted zoom of :func:`fit_view` for a table with lat and lon columns."""
    return fit_view(points["lat"], points["lon"])["zoom"]


def _esc(text: object) -> str:
    """HTML-escaped, on one line: a blank line would end the HTML block and let markdown in."""
    return html.escape(" ".join(str(text).split()))


def legend_html(labels: list[str], selected: list[int] | None = None) -> str:
    colors = topic_colors(len(labels))
    items = []
    for k, lab in enumerate(labels):
        if selected is not None and k not in selected:
            continue
        items.append(f'<span style="white-space:nowrap;margin-right:12px">'
                     f'<span style="display:inline-block;width:11px;height:11px;border-radius:6px;'
                     f'background:{colors[k]};margin-right:4px"></span>{k}: '
                     f'{_esc(lab)}</span>')
    return "<div style='font-size:0.85rem;line-height:1.7'>" + " ".join(items) + "</div>"


# -- trends and niches ------------------------------------------------------------------------
def trend_chart(table: pd.DataFrame, labels: list[str], focus: int | None = None,
                shown: list[int] | None = None):
    import plotly.graph_objects as go

    colors = topic_colors(len(labels))
    fig = go.Figure()
    for k in (shown if shown is not None else range(len(labels))):
        fig.add_scatter(x=table.index, y=table[k], name=f"{k}: {labels[k]}", mode="lines",
                        stackgroup="one", line=dict(width=0.5 if focus not in (None, k) else 2,
                                                    color=colors[k]),
                        opacity=1.0 if focus in (None, k) else 0.4)
    fig.update_yaxes(title="mean topic share", tickformat=".0%")
    return _layout(fig, 380, title="Advertising trends: topic share over time",
                   legend=dict(font_size=11), hovermode="x unified")


def niche_heatmap(lift: pd.DataFrame, labels: list[str], focus: int | None = None):
    import plotly.graph_objects as go

    z = np.log2(np.maximum(lift.to_numpy(float), 1e-3))
    cols = [f"{k}: {labels[k]}" for k in lift.columns]
    fig = go.Figure(go.Heatmap(
        z=z, x=cols, y=list(lift.index), colorscale="RdBu_r", zmid=0, zmin=-3, zmax=3,
        customdata=lift.to_numpy(float),
        hovertemplate="%{y}<br>%{x}<br>%{customdata:.2f}× the corpus share<extra></extra>",
        colorbar=dict(title="log₂ lift")))
    if focus is not None:
        fig.add_vrect(x0=focus - 0.5, x1=focus + 0.5, line_width=2, line_color="#222")
    fig.update_xaxes(tickangle=-35)
    return _layout(fig, 90 + 26 * len(lift), title="Developer niches: topic share relative to "
                   "the whole corpus")


# -- one document -----------------------------------------------------------------------------
def document_html(tokens: list[str], topics: list[int], labels: list[str], lang: str = "th"
                  ) -> str:
    """Each word highlighted in its topic's colour (grey: stopword or not in the vocabulary),
    the lecture's "topic proportions and assignments" figure."""
    colors = topic_colors(len(labels))
    sep = "" if lang == "th" else " "
    parts = []
    for tok, z in zip(tokens, topics):
        t = _esc(tok)
        if z < 0:
            parts.append(f'<span style="color:#8a8f98">{t}</span>')
        else:
            parts.append(f'<span title="topic {z}: {_esc(labels[z])}" style="background:'
                         f'{colors[z]}33;border-bottom:3px solid {colors[z]};padding:0 1px;'
                         f'border-radius:3px">{t}</span>')
    body = ("&#8203;" + sep).join(parts) if sep == "" else sep.join(parts)
    return f"<div style='font-size:1.1rem;line-height:2.1;font-family:{FONT}'>{body}</div>"


def proportion_bar(theta: np.ndarray, labels: list[str], title: str = "Topic proportions"):
    """theta as one horizontal stacked bar."""
    import plotly.graph_objects as go

    colors = topic_colors(len(labels))
    fig = go.Figure()
    for k in np.argsort(-theta):
        if theta[k] < 0.005:
            continue
        fig.add_bar(x=[theta[k]], y=[""], orientation="h", name=f"{k}: {labels[k]}",
                    marker_color=colors[k], text=f"{k}" if theta[k] > 0.05 else "",
                    hovertemplate=f"{k}: {html.escape(labels[k])} %{{x:.1%}}<extra></extra>")
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    return _layout(fig, 150, barmode="stack", title=title, showlegend=True,
                   legend=dict(orientation="h", y=-0.6, font_size=11))


# -- choosing K, and pLSA beside LDA -------------------------------------------------------------
def sweep_chart(rows: list[dict], hdp_k: int | None = None):
    """Coherence (C_V, NPMI) of LDA and held-out perplexity of LDA and pLSA against K."""
    from plotly.subplots import make_subplots

    df = pd.DataFrame(rows)
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        "Coherence of LDA topics (higher is better)", "Perplexity (lower is better)"))
    lda = df[df["method"] == "lda"].sort_values("k")
    fig.add_scatter(x=lda["k"], y=lda["c_v"], name="C_V", mode="lines+markers", row=1, col=1,
                    line_color="#4e79a7")
    fig.add_scatter(x=lda["k"], y=lda["npmi"], name="NPMI", mode="lines+markers", row=1, col=1,
                    line_color="#59a14f")
    for method, color in (("lda", "#4e79a7"), ("plsa", "#e15759")):
        d = df[df["method"] == method].sort_values("k")
        if d.empty:
            continue
        fig.add_scatter(x=d["k"], y=d["perplexity_heldout"], name=f"{method.upper()} held-out",
                        mode="lines+markers", line_color=color, row=1, col=2)
        fig.add_scatter(x=d["k"], y=d["perplexity_train"], name=f"{method.upper()} training",
                        mode="lines", line=dict(color=color, dash="dot"), row=1, col=2)
    if hdp_k:
        for c in (1, 2):
            fig.add_vline(x=hdp_k, line_dash="dash", line_color="#888", row=1, col=c)
        fig.add_annotation(x=hdp_k, y=1.0, yref="paper", text=f"HDP: K≈{hdp_k}",
                           showarrow=False, xanchor="left", row=1, col=1)
    fig.update_xaxes(title="K")
    return _layout(fig, 360, legend=dict(orientation="h", y=-0.25))
