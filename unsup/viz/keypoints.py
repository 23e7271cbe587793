"""Figures of the keypoint page: images with their keypoints, each keypoint in its own colour.

Pure functions: numpy arrays in, PIL images and plotly figures out (no torch, no models).
Images are (n, c, s, s) or (c, s, s) floats in [0, 1] (c = 1 or 3); points are normalised
(x, y) in [-1, 1], y downwards, pixel column j of an s-pixel image centred at (2j + 1) / s - 1
(the convention of :mod:`unsup.data.faces` and :mod:`unsup.models.keypoints`).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw

from unsup.viz.images import to_uint8
from unsup.viz.plots import LAYOUT, _png_uri

COLOURS = ["#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0",
           "#f032e6", "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8",
           "#800000", "#aaffc3", "#808000", "#ffd8b1", "#000075", "#808080"]
"""Keypoint k is always drawn in ``COLOURS[k % 20]`` (20 distinct colours, Trubetskoy's list):
the same colour on the same part across images is what makes the discovery visible."""
COLOUR_NAMES = ["red", "green", "yellow", "blue", "orange", "purple", "cyan", "magenta",
                "lime", "pink", "teal", "lavender", "brown", "beige", "maroon", "mint",
                "olive", "apricot", "navy", "grey"]


def colour(k: int) -> str:
    return COLOURS[k % len(COLOURS)]


def keypoint_label(k: int) -> str:
    """"#3 (blue)": how the page names keypoint k (0-based k, 1-based label)."""
    return f"#{k + 1} ({COLOUR_NAMES[k % len(COLOUR_NAMES)]})"


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))


def to_pixels(points, size: int, scale: float = 1.0) -> np.ndarray:
    """Normalised points (..., 2) -> pixel coordinates (..., 2) of an image of ``size`` pixels
    shown ``scale`` times larger (the centre of pixel j is j + 0.5 on that canvas / scale)."""
    p = np.asarray(points, dtype=np.float64)
    return (p + 1) * size / 2 * scale


def rgb_uint8(image) -> np.ndarray:
    """(c, s, s) or (s, s) float in [0, 1] -> (s, s, 3) uint8."""
    a = to_uint8(image)
    return np.repeat(a[..., None], 3, -1) if a.ndim == 2 else a


def overlay(image, points, *, scale: int = 4, radius: float = 3.5, ghosts=None,
            highlight: int | None = None) -> Image.Image:
    """One image (c, s, s) enlarged ``scale`` times with its keypoints (K, 2) as filled dots in
    their colours; ``ghosts`` (K, 2): where they are expected (rings of the same colours);
    ``highlight``: a keypoint drawn larger (the one being moved)."""
    img = Image.fromarray(rgb_uint8(image))
    s = img.width
    img = img.resize((s * scale, s * scale), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(img)
    r = radius
    if ghosts is not None:
        for k, (x, y) in enumerate(to_pixels(ghosts, s, scale)):
            draw.ellipse((x - r - 1.5, y - r - 1.5, x + r + 1.5, y + r + 1.5),
                         outline=_rgb(colour(k)), width=2)
    for k, (x, y) in enumerate(to_pixels(points, s, scale)):
        rk = r * 1.8 if highlight == k else r
        draw.ellipse((x - rk, y - rk, x + rk, y + rk), fill=_rgb(colour(k)),
                     outline=(0, 0, 0), width=1)
    return img


def overlay_grid(images, points, ncols: int = 8, scale: int = 3, pad: int = 4) -> Image.Image:
    """Images (n, c, s, s) with their keypoints (n, K, 2), tiled ``ncols`` wide."""
    tiles = [overlay(im, p, scale=scale, radius=max(2.0, 1.2 * scale)) for im, p in
             zip(images, points)]
    if not tiles:
        return Image.new("RGB", (1, 1), "white")
    w = tiles[0].width
    rows = (len(tiles) + ncols - 1) // ncols
    cols = min(ncols, len(tiles))
    canvas = Image.new("RGB", (cols * (w + pad) + pad, rows * (w + pad) + pad), (64, 64, 64))
    for i, t in enumerate(tiles):
        r, c = divmod(i, ncols)
        canvas.paste(t, (pad + c * (w + pad), pad + r * (w + pad)))
    return canvas


def tile_images(images, ncols: int, pad: int = 2) -> tuple[np.ndarray, int, int]:
    """Tile (n, c, s, s) images -> ((H, W, 3) uint8 canvas, tile side s, pad)."""
    arrs = [rgb_uint8(im) for im in images]
    s = arrs[0].shape[0]
    rows = (len(arrs) + ncols - 1) // ncols
    cols = min(ncols, len(arrs))
    canvas = np.full((rows * (s + pad) + pad, cols * (s + pad) + pad, 3), 64, np.uint8)
    for i, a in enumerate(arrs):
        r, c = divmod(i, ncols)
        canvas[pad + r * (s + pad):pad + r * (s + pad) + s,
               pad + c * (s + pad):pad + c * (s + pad) + s] = a
    return canvas, s, pad


def tiles_figure(images, points=None, *, ncols: int = 8, ghosts=None, labels=None,
                 title: str = "", height: int | None = None, point_names=None,
                 ghost_name: str = "expected", marker_size: int = 9,
                 highlight: int | None = None) -> go.Figure:
    """A plotly figure of tiled images (n, c, s, s) with keypoints (n, K, 2) on top.

    One scatter trace per keypoint (named ``point_names[k]``, default "#k+1 (colour)"), holding
    that keypoint in every tile, in its own colour; ``ghosts`` (n, K, 2), when given, add one
    trace of rings (where each point is expected, e.g. the original's keypoints carried through
    a warp). ``points`` may hold NaN rows for tiles without points. ``labels`` (n,) go under
    the tiles. Hover gives the tile and the keypoint.
    """
    images = list(images)
    n = len(images)
    canvas, s, pad = tile_images(images, ncols)
    fig = go.Figure(go.Image(source=_png_uri(Image.fromarray(canvas)), hoverinfo="skip"))
    idx = np.arange(n)
    ox = pad + (idx % ncols) * (s + pad)  # tile origins (pixels of the canvas)
    oy = pad + (idx // ncols) * (s + pad)

    def xy(p):
        px = to_pixels(p, s) - 0.5  # go.Image puts pixel j's centre at j
        return px[..., 0] + ox[:, None], px[..., 1] + oy[:, None]  # (n, K)

    if ghosts is not None:
        gx, gy = xy(np.asarray(ghosts, dtype=float))
        kk = np.arange(gx.shape[1])
        fig.add_trace(go.Scatter(
            x=gx.ravel(), y=gy.ravel(), mode="markers", name=ghost_name,
            marker=dict(size=marker_size + 5, color="rgba(0,0,0,0)",
                        line=dict(width=2, color=[colour(k) for _ in range(n) for k in kk])),
            hovertemplate="%{text}<extra></extra>",
            text=[f"tile {i + 1}, {ghost_name} {keypoint_label(k)}" for i in range(n)
                  for k in kk]))
    if points is not None:
        px, py = xy(np.asarray(points, dtype=float))
        for k in range(px.shape[1]):
            name = point_names[k] if point_names is not None else keypoint_label(k)
            big = highlight == k
            fig.add_trace(go.Scatter(
                x=px[:, k], y=py[:, k], mode="markers", name=name,
                marker=dict(size=marker_size * (1.6 if big else 1), color=colour(k),
                            line=dict(width=1, color="black")),
                hovertemplate=f"tile %{{customdata}} · {name}<extra></extra>",
                customdata=idx + 1))
    if labels is not None:
        for i, text in enumerate(labels):
            fig.add_annotation(x=ox[i] + s / 2, y=oy[i] + s + 0.5, text=str(text),
                               showarrow=False, yanchor="top", font=dict(size=11))
    w = canvas.shape[1]
    h = canvas.shape[0] + (14 if labels is not None else 0)
    fig.update_xaxes(visible=False, range=[-0.5, w - 0.5])
    fig.update_yaxes(visible=False, range=[h - 0.5, -0.5], scaleanchor="x")
    # tall enough for the tiles at about 900 px of width, plus the title and the legend; a
    # short row (fewer images than ncols) keeps the tile size of a full one, not blown up
    full = max(w, ncols * (s + pad) + pad)
    auto = int(np.clip(110 + 900 * h / full, 220, 1000))
    fig.update_layout(title=title, height=height or auto,
                      legend=dict(orientation="h", y=-0.02, font=dict(size=11)),
                      **{**LAYOUT, "margin": dict(l=0, r=0, t=40 if title else 10, b=0)})
    return fig


def change_map(a, b) -> np.ndarray:
    """Where two images (c, s, s) differ: the mean absolute difference over channels, scaled
    so the largest change is 1, as an (s, s, 3) float image (dark = unchanged, yellow = most)."""
    d = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    d = d.mean(0) if d.ndim == 3 else d
    d = d / d.max() if d.max() > 0 else d
    return np.stack([d, 0.85 * d, 0.15 * d], 0).astype(np.float32)  # (3, s, s)


def heatmap_tiles(heatmaps, size: int | None = None) -> np.ndarray:
    """Heat-maps (K, h, w) (each a probability map) -> (K, 3, size, size) float images, each
    tinted in its keypoint's colour and scaled so its own peak is full brightness."""
    hm = np.asarray(heatmaps, dtype=np.float64)
    k, h, w = hm.shape
    size = size or h
    peak = hm.reshape(k, -1).max(1)[:, None, None]
    norm = hm / np.where(peak > 0, peak, 1)
    if size != h:
        rep = max(1, size // h)
        norm = norm.repeat(rep, 1).repeat(rep, 2)
    cols = np.array([_rgb(colour(i)) for i in range(k)], dtype=np.float64)[:, :, None, None] / 255
    return (norm[:, None] * cols).astype(np.float32)


def metrics_bars(rows: list[tuple[str, float]], title: str, unit: str) -> go.Figure:
    """Horizontal bars of (label, value) rows, e.g. the landmark error beside the baselines."""
    labels = [r[0] for r in rows]
    values = [float(r[1]) for r in rows]
    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h", marker_color=[
        COLOURS[3] if i == 0 else "#bbbbbb" for i in range(len(rows))],
        text=[f"{v:.1f}{unit}" for v in values], textposition="outside",
        hovertemplate="%{y}: %{x:.2f}" + unit + "<extra></extra>"))
    fig.update_layout(title=title, height=90 + 40 * len(rows), xaxis_title=unit.strip() or None,
                      yaxis=dict(autorange="reversed"), **LAYOUT)
    return fig
