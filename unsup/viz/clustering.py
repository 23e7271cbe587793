"""Figures of the clustering page: the 2-D toy (decision regions, GMM ellipses, soft-assignment
shading), K-means step by step (plotly frames), the DP mixture's weights and the CRP's tables,
the NMI/ARI table and chart, eigen-images and PCA reconstructions, and the latent atlas (with a
picture of each image in its hover label). Pure functions: arrays in, figures and PIL images
out — nothing here loads a model or calls one.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from PIL import Image, ImageDraw

from unsup.viz.images import to_uint8

LAYOUT = dict(margin=dict(l=10, r=10, t=50, b=10), font=dict(size=13))
PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2",
           "#FF9DA6", "#9D755D", "#BAB0AC", "#1F77B4", "#D62728", "#2CA02C", "#9467BD",
           "#8C564B", "#E377C2", "#7F7F7F", "#BCBD22", "#17BECF", "#393B79", "#637939",
           "#8C6D31", "#843C39", "#7B4173"]
"""Cluster / class colours (the first ten as the other pages'); wraps after 24."""
HOVER_FONT = dict(family="DejaVu Sans Mono, Menlo, Consolas, monospace", size=11)


def color(i: int) -> str:
    return PALETTE[int(i) % len(PALETTE)]


def _rgb(hex_color: str) -> np.ndarray:
    h = hex_color.lstrip("#")
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def palette_rgb(k: int) -> np.ndarray:
    """(k, 3) colours 0..255 of clusters 0..k-1."""
    return np.stack([_rgb(color(i)) for i in range(k)])


def png_uri(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def blend(resp: np.ndarray) -> np.ndarray:
    """Soft-assignment colours: each row of responsibilities (m, k) mixes the cluster colours
    in proportion; returns (m, 3) 0..255. A sure point has its cluster's colour, a point torn
    between two clusters a mix of both."""
    resp = np.asarray(resp, dtype=np.float64)
    return resp @ palette_rgb(resp.shape[1])


# -- the 2-D toy ------------------------------------------------------------------------------
def ellipse_xy(mean: np.ndarray, cov: np.ndarray, n_std: float = 2.0, m: int = 64) -> np.ndarray:
    """Points (m, 2) on the ellipse {x : (x-μ)ᵀ Σ⁻¹ (x-μ) = n_std²} of a 2-D Gaussian."""
    vals, vecs = np.linalg.eigh(np.asarray(cov, dtype=np.float64)[:2, :2])
    t = np.linspace(0, 2 * np.pi, m)
    circle = np.stack([np.cos(t), np.sin(t)], 1)
    return np.asarray(mean)[:2] + n_std * (circle * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def regions_image(probs: np.ndarray, shade: bool = True) -> Image.Image:
    """Decision regions as a picture: ``probs`` (gh, gw, k) responsibilities on a grid whose row
    0 is the bottom. Each cell takes its clusters' colours mixed by responsibility (``shade``)
    or the colour of its most likely cluster, lightened towards white."""
    gh, gw, k = probs.shape
    flat = probs.reshape(-1, k)
    if not shade:
        flat = np.eye(k)[flat.argmax(1)]
    rgb = blend(flat).reshape(gh, gw, 3)
    rgb = 255 - 0.35 * (255 - rgb)  # light, so the points stay readable
    return Image.fromarray(np.flipud(rgb).astype(np.uint8))  # PIL row 0 is the top


def toy_figure(X: np.ndarray, resp: np.ndarray, centers: np.ndarray, probs: np.ndarray,
               extent: tuple[float, float, float, float], *, covariances: np.ndarray | None = None,
               shade: bool = True, title: str = "", true_labels: np.ndarray | None = None
               ) -> go.Figure:
    """Points coloured by their (soft) assignment over the decision regions, with each
    cluster's centre (✕) and, for a mixture, its 1σ and 2σ ellipses.

    ``probs`` (gh, gw, k) are the responsibilities on a grid spanning ``extent`` = (x0, x1, y0,
    y1), row 0 at y0. ``true_labels`` (optional) are shown in the hover text.
    """
    X = np.asarray(X, dtype=np.float64)
    k = resp.shape[1]
    x0, x1, y0, y1 = extent
    fig = go.Figure()
    fig.add_layout_image(source=png_uri(regions_image(probs, shade)), xref="x", yref="y",
                         x=x0, y=y1, sizex=x1 - x0, sizey=y1 - y0, sizing="stretch",
                         layer="below", opacity=1.0, name="regions")
    pcol = blend(resp)
    hard = resp.argmax(1)
    sure = resp.max(1)
    hover = [f"cluster {c} (p = {p:.2f})" + ("" if true_labels is None else
                                             f" · drawn from group {int(t)}")
             for c, p, t in zip(hard, sure, true_labels if true_labels is not None else hard)]
    fig.add_trace(go.Scatter(
        x=X[:, 0], y=X[:, 1], mode="markers", name="points", hovertext=hover,
        hoverinfo="text", showlegend=False,
        marker=dict(size=7, color=[f"rgb({r:.0f},{g:.0f},{b:.0f})" for r, g, b in pcol],
                    line=dict(width=0.6, color="#333"))))
    if covariances is not None:
        for j in range(k):
            for n_std, dash in ((1.0, "solid"), (2.0, "dot")):
                e = ellipse_xy(centers[j], covariances[j], n_std)
                fig.add_trace(go.Scatter(x=e[:, 0], y=e[:, 1], mode="lines", hoverinfo="skip",
                                         line=dict(color=color(j), width=2, dash=dash),
                                         name=f"cluster {j} ({n_std:g}σ)", legendgroup=str(j),
                                         showlegend=n_std == 1.0))
    fig.add_trace(go.Scatter(x=centers[:, 0], y=centers[:, 1], mode="markers", name="centres",
                             hovertext=[f"centre of cluster {j}" for j in range(k)],
                             hoverinfo="text",
                             marker=dict(symbol="x", size=14, color=[color(j) for j in range(k)],
                                         line=dict(width=2, color="#111"))))
    fig.update_xaxes(range=[x0, x1], showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(range=[y0, y1], showgrid=False, zeroline=False, scaleanchor="x",
                     constrain="domain")
    fig.update_layout(title=title, height=480, legend=dict(orientation="h", y=-0.08), **LAYOUT)
    return fig


def kmeans_animation(X: np.ndarray, steps: list[tuple[np.ndarray, np.ndarray]],
                     inertias: list[float], extent: tuple[float, float, float, float]
                     ) -> go.Figure:
    """K-means step by step: one plotly frame per step (points coloured by their cluster, the
    centres and the path each centre has travelled), a slider and a play button. Frame t's
    title gives the objective Σ‖x − μ_c(x)‖² (lower is better), which never increases."""
    X = np.asarray(X, dtype=np.float64)
    k = len(steps[0][0])

    def traces(t: int) -> list[go.Scatter]:
        centers, labels = steps[t]
        path_x, path_y = [], []
        for j in range(k):
            path_x += [float(steps[s][0][j, 0]) for s in range(t + 1)] + [None]
            path_y += [float(steps[s][0][j, 1]) for s in range(t + 1)] + [None]
        return [
            go.Scatter(x=X[:, 0], y=X[:, 1], mode="markers", name="points", showlegend=False,
                       hoverinfo="skip", marker=dict(size=6, color=[color(c) for c in labels],
                                                     line=dict(width=0.4, color="#333"))),
            go.Scatter(x=path_x, y=path_y, mode="lines", name="centre paths",
                       line=dict(color="#222", width=1.5, dash="dot"), hoverinfo="skip"),
            go.Scatter(x=centers[:, 0], y=centers[:, 1], mode="markers", name="centres",
                       marker=dict(symbol="x", size=15, color=[color(j) for j in range(k)],
                                   line=dict(width=2, color="#111")), hoverinfo="skip"),
        ]

    def label(t: int) -> str:
        return "start" if t == 0 else str(t)

    def heading(t: int) -> str:
        what = ("start: nearest-centre assignment" if t == 0 else
                f"step {t}: centres to their points' mean, then reassign")
        return f"{what} · Σ‖x − μ‖² = {inertias[t]:,.1f} (lower is better)"

    frames = [go.Frame(data=traces(t), name=label(t), layout=dict(title=heading(t)))
              for t in range(len(steps))]
    fig = go.Figure(data=traces(0), frames=frames)
    x0, x1, y0, y1 = extent
    fig.update_xaxes(range=[x0, x1], showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(range=[y0, y1], showgrid=False, zeroline=False, scaleanchor="x",
                     constrain="domain")
    fig.update_layout(
        title=heading(0), height=520, showlegend=False, **LAYOUT,
        updatemenus=[dict(type="buttons", x=0, y=-0.08, xanchor="left", direction="right",
                          buttons=[dict(label="▶ Play", method="animate",
                                        args=[None, dict(frame=dict(duration=700, redraw=True),
                                                         fromcurrent=True,
                                                         transition=dict(duration=250))]),
                                   dict(label="❚❚", method="animate",
                                        args=[[None], dict(mode="immediate",
                                                           frame=dict(duration=0))])])],
        sliders=[dict(active=0, x=0.12, len=0.88, y=-0.04, currentvalue=dict(prefix="step: "),
                      steps=[dict(label=label(t), method="animate",
                                  args=[[label(t)], dict(mode="immediate",
                                                         frame=dict(duration=0, redraw=True))])
                             for t in range(len(steps))])])
    return fig


def dp_weights_bar(weights: np.ndarray, min_weight: float, true_k: int | None = None
                   ) -> go.Figure:
    """The DP mixture's component weights, largest first, with the line above which a
    component counts as a cluster."""
    w = np.sort(np.asarray(weights, dtype=np.float64))[::-1]
    kept = int((w >= min_weight).sum())
    fig = go.Figure(go.Bar(x=[str(i + 1) for i in range(len(w))], y=w,
                           marker_color=[color(0) if v >= min_weight else "#cccccc" for v in w],
                           hovertemplate="component %{x}: weight %{y:.3f}<extra></extra>"))
    fig.add_hline(y=min_weight, line_dash="dot", line_color="#888",
                  annotation_text=f"{min_weight:.0%}: counts as a cluster")
    sub = f"it keeps {kept} of {len(w)}" + ("" if true_k is None else f"; the data have {true_k}")
    fig.update_layout(title=f"DP mixture: weight of each component ({sub})", height=280,
                      xaxis_title="component (largest first)", yaxis_title="weight", **LAYOUT)
    return fig


def crp_bar(seats: np.ndarray, alpha: float, expected: float) -> go.Figure:
    """Customers per table after a run of the Chinese restaurant process."""
    sizes = np.bincount(np.asarray(seats))
    fig = go.Figure(go.Bar(x=[str(i + 1) for i in range(len(sizes))], y=sizes,
                           marker_color=color(1),
                           hovertemplate="table %{x}: %{y} customers<extra></extra>"))
    fig.update_layout(title=f"CRP with α = {alpha:g}: {len(seats)} customers at {len(sizes)} "
                            f"tables (expected {expected:.1f})", height=260,
                      xaxis_title="table (in the order they were opened)",
                      yaxis_title="customers", **LAYOUT)
    return fig


# -- the MNIST table ---------------------------------------------------------------------------
SCORE_LABELS = {"nmi": "NMI", "ari": "ARI"}


def score_table(rows: list[dict], metric: str = "nmi") -> pd.DataFrame:
    """Wide table: one row per representation, one column per method (``metric``, 3 decimals;
    empty where left out), plus the dimensions and the K the DP mixture kept."""
    reps = list(dict.fromkeys(r["representation"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    out = []
    for rep in reps:
        mine = {r["method"]: r for r in rows if r["representation"] == rep}
        first = next(iter(mine.values()))
        line = {"representation": rep, "dims": first["dims"]}
        for m in methods:
            v = mine.get(m, {}).get(metric)
            line[m] = None if v is None else round(float(v), 3)
        dp = next((r for r in mine.values() if r["method_key"] == "dp"), None)
        if dp is not None:
            line["DP mixture's K"] = dp["k"]
        out.append(line)
    return pd.DataFrame(out)


def wrap(text: str, width: int = 18) -> str:
    """``text`` broken into lines of about ``width`` characters (plotly ``<br>``)."""
    lines, line = [], ""
    for word in str(text).split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "<br>".join(lines + [line])


def scores_chart(rows: list[dict], metric: str = "nmi") -> go.Figure:
    """Grouped bars: ``metric`` of each method (colour) on each representation (x)."""
    reps = list(dict.fromkeys(r["representation"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig = go.Figure()
    for i, m in enumerate(methods):
        ys = []
        for rep in reps:
            r = next((r for r in rows if r["representation"] == rep and r["method"] == m), None)
            ys.append(None if r is None or r[metric] is None else float(r[metric]))
        fig.add_trace(go.Bar(x=[wrap(r) for r in reps], y=ys, name=m, marker_color=color(i),
                             hovertemplate=f"{m} · %{{x}}: {SCORE_LABELS[metric]} "
                                           "%{y:.3f}<extra></extra>"))
    fig.update_layout(barmode="group", height=420,
                      title=f"{SCORE_LABELS[metric]} with the true digit labels "
                            "(1 = the clusters are the digits; higher is better)",
                      yaxis=dict(range=[0, 1], title=SCORE_LABELS[metric]),
                      xaxis=dict(tickangle=0),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom"),
                      **{**LAYOUT, "margin": dict(l=10, r=10, t=90, b=10)})
    return fig


# -- eigen-images --------------------------------------------------------------------------------
def signed_image(v: np.ndarray) -> np.ndarray:
    """A signed pattern (h, w) as RGB (h, w, 3) 0..255: red positive, blue negative, white 0
    (scaled by its largest |value|)."""
    v = np.asarray(v, dtype=np.float64)
    v = v / (np.abs(v).max() + 1e-12)
    pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    r = 255 * (1 - neg * 0.8)
    g = 255 * (1 - 0.8 * (pos + neg))
    b = 255 * (1 - pos * 0.8)
    return np.stack([r, g, b], -1).astype(np.uint8)


def tiles_figure(tiles: list[np.ndarray], titles: list[str], ncols: int, scale: int = 4,
                 title: str = "", pad: int = 2, label_px: int = 16) -> go.Figure:
    """Images (each (h, w) grey in [0, 1] or (h, w, 3) uint8) in a grid, one title under each
    (in a ``label_px`` band), as a plotly figure (one PNG, the titles as annotations)."""
    n = len(tiles)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    rgb = [t if (t.ndim == 3 and t.dtype == np.uint8) else
           np.repeat(to_uint8(t)[..., None], 3, -1) for t in tiles]
    h, w = rgb[0].shape[:2]
    ph, pw = h * scale + pad + label_px, w * scale + pad
    canvas = Image.new("RGB", (ncols * pw + pad, nrows * ph + pad), (255, 255, 255))
    for i, t in enumerate(rgb):
        r, c = divmod(i, ncols)
        img = Image.fromarray(t).resize((w * scale, h * scale), Image.Resampling.NEAREST)
        canvas.paste(img, (pad + c * pw, pad + r * ph))
    fig = go.Figure(go.Image(source=png_uri(canvas), hoverinfo="skip"))
    for i, text in enumerate(titles):
        r, c = divmod(i, ncols)
        fig.add_annotation(x=pad + c * pw + w * scale / 2, y=pad + r * ph + h * scale,
                           text=text, showarrow=False, yanchor="top", yshift=-1,
                           font=dict(size=11, color="#333"), bgcolor="rgba(255,255,255,0.8)")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title, height=int(nrows * ph + 70),
                      width=int(ncols * pw + 40), **{**LAYOUT, "margin": dict(l=5, r=5, t=40,
                                                                               b=5)})
    return fig


def eigen_figure(mean: np.ndarray, components: np.ndarray, variance_ratio: np.ndarray,
                 shape: tuple[int, int], n: int = 16) -> go.Figure:
    """The mean image and the first ``n`` eigen-images (principal components as images: red
    adds ink, blue removes it), each titled with the share of the variance it carries."""
    tiles = [np.repeat(to_uint8(mean.reshape(shape))[..., None], 3, -1)]
    titles = ["mean"]
    for j in range(min(n, len(components))):
        tiles.append(signed_image(components[j].reshape(shape)))
        titles.append(f"#{j + 1} · {variance_ratio[j]:.1%}")
    scale = max(2, 100 // max(shape))
    return tiles_figure(tiles, titles, ncols=9, scale=scale,
                        title="The mean and the eigen-images (share of the variance each "
                              "carries)")


def reconstructions_figure(originals: np.ndarray, recon: dict[int, np.ndarray],
                           shape: tuple[int, int]) -> go.Figure:
    """Rows: held-out images, then each rebuilt from its first k eigen-images (one row per k)."""
    n = len(originals)
    tiles, titles = [], []
    for x in originals:
        tiles.append(np.clip(x.reshape(shape), 0, 1))
        titles.append("original")
    for k, rows in recon.items():
        for x in rows:
            tiles.append(np.clip(x.reshape(shape), 0, 1))
            titles.append(f"k = {k}")
    return tiles_figure(tiles, titles, ncols=n, scale=max(2, 84 // max(shape)),
                        title="Held-out images rebuilt from the first k eigen-images")


def variance_figure(explained: np.ndarray, ks: list[int], errors: list[float],
                    chosen: int | None = None) -> go.Figure:
    """Cumulative share of the variance the first k components keep (higher keeps more), and
    the held-out reconstruction error (mean squared error per pixel, lower is better)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=np.arange(1, len(explained) + 1), y=explained, mode="lines",
                             name="variance kept (training images)", line=dict(color=color(0))),
                  secondary_y=False)
    fig.add_trace(go.Scatter(x=ks, y=errors, mode="lines+markers",
                             name="reconstruction error (held-out, MSE / pixel)",
                             line=dict(color=color(1))), secondary_y=True)
    if chosen is not None:
        fig.add_vline(x=chosen, line_dash="dot", line_color="#888")
    fig.update_xaxes(title="k (components)", type="log")
    fig.update_yaxes(title="share of variance kept ↑", range=[0, 1], secondary_y=False)
    fig.update_yaxes(title="MSE per pixel ↓", secondary_y=True, rangemode="tozero")
    fig.update_layout(height=320, title="How many eigen-images are enough?",
                      legend=dict(orientation="h", y=-0.3), **LAYOUT)
    return fig


# -- the atlas -------------------------------------------------------------------------------------
HALF = {(0, 0): "\u00a0", (1, 0): "▀", (0, 1): "▄", (1, 1): "█"}


def hover_art(images: np.ndarray, side: int = 14, threshold: float = 0.35) -> list[str]:
    """Each image (n, [c,] s, s) as text for a hover label: shrunk to ``side`` x ``side`` by
    area averaging, inked where the mean is above ``threshold``, two pixel rows per text line
    with half-block characters (▀ ▄ █), so the picture shows in any plotly hover box."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 4:
        x = x.mean(1)
    n, s = x.shape[0], x.shape[-1]
    f = max(1, s // side)
    s2 = (s // f) * f
    small = x[:, :s2, :s2].reshape(n, s2 // f, f, s2 // f, f).mean((2, 4)) > threshold
    if small.shape[1] % 2:
        small = np.concatenate([small, np.zeros_like(small[:, :1])], 1)
    out = []
    for img in small:
        lines = ["".join(HALF[(int(img[r, c]), int(img[r + 1, c]))] for c in range(img.shape[1]))
                 for r in range(0, img.shape[1], 2)]
        out.append("<br>".join(lines))
    return out


def tile_uris(images: np.ndarray) -> list[str]:
    """Each image (n, [c,] s, s) as a small PNG data URI, ink opaque and background transparent
    (for drawing the pictures themselves on the map)."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 4:
        x = x.mean(1)
    out = []
    for img in x:
        a = (np.clip(img, 0, 1) * 255).astype(np.uint8)
        rgba = np.stack([np.full_like(a, 20), np.full_like(a, 20), np.full_like(a, 20), a], -1)
        out.append(png_uri(Image.fromarray(rgba, "RGBA")))
    return out


def atlas_figure(coords: np.ndarray, groups: np.ndarray, group_names: list[str], *,
                 hover: list[str], title: str, continuous: np.ndarray | None = None,
                 continuous_name: str = "", tiles: list[str] | None = None,
                 marks: list[dict] | None = None, selected: list[int] | None = None,
                 axis_names: tuple[str, str] = ("", "")) -> go.Figure:
    """The atlas: one marker per image at ``coords`` (n, 2).

    Coloured by ``groups`` (n,) ints named by ``group_names`` (a legend entry each: click to
    hide), or by the numbers ``continuous`` (n,) on a colour scale. Every marker's customdata is
    its index in the data (selections come back with it); its hover label is ``hover[i]``
    (e.g. :func:`hover_art` of its image). ``tiles``: data URIs of the images, drawn on the map
    at each point. ``marks``: extra points [{"x", "y", "name", "symbol"}] (a placed new image,
    a decoded location). ``selected``: indices drawn with a black ring.
    """
    coords = np.asarray(coords, dtype=np.float64)
    fig = go.Figure()
    idx = np.arange(len(coords))
    if continuous is not None:
        fig.add_trace(go.Scattergl(
            x=coords[:, 0], y=coords[:, 1], mode="markers", customdata=idx, name=continuous_name,
            hovertext=hover, hovertemplate="%{hovertext}<extra>#%{customdata}</extra>",
            marker=dict(size=6, color=continuous, colorscale="Viridis", showscale=True,
                        colorbar=dict(title=continuous_name, thickness=12))))
    else:
        groups = np.asarray(groups)
        for g in np.unique(groups):
            m = groups == g
            fig.add_trace(go.Scattergl(
                x=coords[m, 0], y=coords[m, 1], mode="markers", customdata=idx[m],
                name=group_names[int(g)] if 0 <= int(g) < len(group_names) else str(g),
                hovertext=[hover[i] for i in idx[m]],
                hovertemplate="%{hovertext}<extra>%{fullData.name} · #%{customdata}</extra>",
                marker=dict(size=6, color=color(int(g)), opacity=0.85)))
    if selected:
        sel = np.asarray(selected, dtype=int)
        fig.add_trace(go.Scatter(x=coords[sel, 0], y=coords[sel, 1], mode="markers",
                                 name="picked", hoverinfo="skip",
                                 marker=dict(size=14, color="rgba(0,0,0,0)",
                                             line=dict(width=2.5, color="#111"))))
    for mk in marks or []:
        fig.add_trace(go.Scatter(x=[mk["x"]], y=[mk["y"]], mode="markers+text",
                                 name=mk["name"], text=[mk["name"]], textposition="top center",
                                 hoverinfo="name",
                                 marker=dict(symbol=mk.get("symbol", "star"), size=18,
                                             color=mk.get("color", "#111"),
                                             line=dict(width=1.5, color="white"))))
    if tiles is not None:  # one layout update: adding 500 images one by one takes ~14 s
        span = np.ptp(coords, axis=0).max() if len(coords) else 1.0
        size = float(span) / 28
        fig.update_layout(images=[
            dict(source=src, xref="x", yref="y", x=float(x) - size / 2, y=float(y) + size / 2,
                 sizex=size, sizey=size, sizing="contain", layer="above")
            for (x, y), src in zip(coords, tiles)])
    fig.update_layout(title=title, height=620, hovermode="closest",
                      hoverlabel=dict(font=HOVER_FONT, bgcolor="white"),
                      legend=dict(itemsizing="constant"), **LAYOUT)
    fig.update_xaxes(title=axis_names[0], zeroline=False, showticklabels=bool(axis_names[0]),
                     constrain="domain")
    fig.update_yaxes(title=axis_names[1], zeroline=False, showticklabels=bool(axis_names[1]),
                     scaleanchor="x", constrain="domain")
    return fig


def atlas_thumbnail(coords: np.ndarray, labels: np.ndarray, size=(320, 200)) -> Image.Image:
    """A small picture of an atlas (for the home page): one dot per image, coloured by label."""
    w, h = size
    # the other cards' look: an off-white card with the map on a tinted, rounded panel
    img = Image.new("RGB", size, (250, 250, 247))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((4, 4, w - 5, h - 5), radius=8, fill=(238, 243, 248))
    c = np.asarray(coords, dtype=np.float64)
    lo, hi = c.min(0), c.max(0)
    scale = min((w - 28) / max(hi[0] - lo[0], 1e-9), (h - 28) / max(hi[1] - lo[1], 1e-9))
    off = (np.array([w, h]) - (hi - lo) * scale) / 2
    for (x, y), lab in zip(c, labels):
        px = off[0] + (x - lo[0]) * scale
        py = h - (off[1] + (y - lo[1]) * scale)
        draw.ellipse([px - 2.5, py - 2.5, px + 2.5, py + 2.5], fill=color(int(lab)))
    return img
