"""Figures of the GAN page. Pure functions: arrays in, plotly figures or PIL images out (no
torch, no models, no checkpoints).

- :func:`lab_figure`: the 2-D lab's canvas, layer by layer as GAN Lab draws it: the
  discriminator's heat-map, real and generated points, the generator's transport of its input
  grid and the gradient arrows on generated points;
- :func:`mode_bars`: high-quality samples per mode, captured modes coloured;
- :func:`digit_histogram`: the class histogram of generated digits;
- :func:`click_layer_points`: the invisible grid the "clicked points" canvas selects from.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from unsup.viz.plots import LAYOUT, PALETTE

REAL_COLOR = "#2E7D32"
FAKE_COLOR = "#7B1FA2"
LAYERS = ("heat-map", "real", "generated", "manifold", "gradients")
"""Layers of the lab canvas (each switchable)."""
LAYER_HELP = {
    "heat-map": "the discriminator's verdict at every point of the plane",
    "real": "training points (green)",
    "generated": "generator samples G(z) for a fixed set of z (purple)",
    "manifold": "the generator's image of a square grid of its input plane z",
    "gradients": "−∂L_G/∂x̂: where the generator's loss pushes each generated point",
}


def _lines(polylines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, m, 2) polylines -> x, y arrays with a NaN between lines (one trace for all; plotly
    breaks a line at a missing value). Arrays, not lists: plotly sends them as typed arrays
    instead of copying and validating every number, which made a redraw several times slower."""
    p = np.asarray(polylines, dtype=float)
    if p.ndim != 3 or not p.size:
        return np.zeros(0), np.zeros(0)
    gap = np.full((p.shape[0], 1), np.nan)
    return (np.concatenate([p[:, :, 0], gap], 1).ravel(),
            np.concatenate([p[:, :, 1], gap], 1).ravel())


def arrow_segments(points, vectors, length: float) -> np.ndarray:
    """Segments (n, 2, 2) from each point along its vector, the longest ``length`` long (the
    others in proportion), so the arrows stay readable whatever the gradient scale."""
    p = np.asarray(points, dtype=float).reshape(-1, 2)
    v = np.asarray(vectors, dtype=float).reshape(-1, 2)
    v = np.where(np.isfinite(v), v, 0.0)
    norm = np.linalg.norm(v, axis=1)
    top = float(norm.max()) if len(norm) else 0.0
    scale = length / top if top > 0 else 0.0
    return np.stack([p, p + v * scale], axis=1)


def lab_figure(*, extent: tuple[float, float, float, float], real=None, fake=None, heat=None,
               heat_label: str = "D(x)", heat_range: tuple[float, float] | None = None,
               manifold=None, arrows=None, means=None, sigma: float | None = None,
               title: str = "", height: int = 520, clickable=None) -> go.Figure:
    """The lab canvas.

    Parameters
    ----------
    extent : (x0, x1, y0, y1)
        The plane shown.
    real, fake : (n, 2) arrays, optional
        Real and generated points.
    heat : (g, g) array, optional
        The discriminator's verdict on a g x g grid over ``extent`` (row = y, column = x).
    heat_label, heat_range
        Colour-bar title and fixed range (None: the values' own range).
    manifold : (k, m, 2) array, optional
        Polylines: the generator's image of the lines of a grid of its input plane.
    arrows : (n, 2, 2) array, optional
        Segments from each generated point along its gradient (:func:`arrow_segments`).
    means, sigma : optional
        Mode centres, drawn as 3σ circles (the high-quality radius).
    clickable : (k, 2) array, optional
        An invisible grid of points a click can select (to place points on the canvas).
    """
    x0, x1, y0, y1 = extent
    fig = go.Figure()
    if heat is not None:
        h = np.asarray(heat, dtype=float)
        g = h.shape[0]
        zmin, zmax = heat_range if heat_range else (float(np.nanmin(h)), float(np.nanmax(h)))
        if not zmax > zmin:
            zmax = zmin + 1e-6
        fig.add_trace(go.Heatmap(
            z=h, x=np.linspace(x0, x1, h.shape[1]), y=np.linspace(y0, y1, g), zmin=zmin,
            zmax=zmax, colorscale="RdBu", reversescale=False, opacity=0.75, name="D",
            colorbar=dict(title=dict(text=heat_label, side="right"), thickness=12, len=0.8),
            hovertemplate="x %{x:.2f}, y %{y:.2f}<br>" + heat_label + " %{z:.3g}<extra></extra>"))
    if manifold is not None and len(manifold):
        xs, ys = _lines(manifold)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="G(input grid)",
                                   line=dict(color="rgba(90,90,90,0.55)", width=1),
                                   hoverinfo="skip"))
    shapes = []
    if means is not None and sigma:
        r = 3.0 * float(sigma)
        shapes = [dict(type="circle", x0=mx - r, x1=mx + r, y0=my - r, y1=my + r,
                       line=dict(color="rgba(0,0,0,0.35)", width=1, dash="dot"))
                  for mx, my in np.asarray(means, dtype=float)]
    if real is not None and len(real):
        r = np.asarray(real, dtype=float)
        fig.add_trace(go.Scatter(x=r[:, 0], y=r[:, 1], mode="markers", name="real",
                                   marker=dict(color=REAL_COLOR, size=4, opacity=0.6)))
    if fake is not None and len(fake):
        f = np.asarray(fake, dtype=float)
        fig.add_trace(go.Scatter(x=f[:, 0], y=f[:, 1], mode="markers", name="generated",
                                   marker=dict(color=FAKE_COLOR, size=4, opacity=0.7)))
    if arrows is not None and len(arrows):
        xs, ys = _lines(arrows)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="G's gradient",
                                   line=dict(color="#E65100", width=1.5), hoverinfo="skip"))
        tips = np.asarray(arrows, dtype=float)[:, 1]
        fig.add_trace(go.Scatter(x=tips[:, 0], y=tips[:, 1], mode="markers",
                                   showlegend=False, hoverinfo="skip",
                                   marker=dict(color="#E65100", size=3)))
    if clickable is not None and len(clickable):
        c = np.asarray(clickable, dtype=float)
        fig.add_trace(go.Scatter(x=c[:, 0], y=c[:, 1], mode="markers", name="click to add",
                                 showlegend=False, marker=dict(size=9, color="rgba(0,0,0,0.01)"),
                                 hovertemplate="add (%{x:.2f}, %{y:.2f})<extra></extra>"))
    fig.update_layout(title=title, height=height, shapes=shapes,
                      dragmode=False if clickable is None else None,  # Streamlit: pan, clicks select
                      legend=dict(orientation="h", y=-0.08), **LAYOUT)
    fig.update_xaxes(range=[x0, x1], showgrid=False, zeroline=False)
    fig.update_yaxes(range=[y0, y1], showgrid=False, zeroline=False, scaleanchor="x",
                     scaleratio=1)
    return fig


def click_layer_points(extent: tuple[float, float, float, float], n: int = 41) -> np.ndarray:
    """An n x n grid of points over ``extent`` (n², 2): the click targets of the canvas."""
    x0, x1, y0, y1 = extent
    xx, yy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def mode_bars(counts, captured, min_count: int, title: str = "") -> go.Figure:
    """High-quality samples per mode (bars), captured modes (≥ ``min_count``) coloured."""
    c = np.asarray(counts, dtype=int)
    cap = np.asarray(captured, dtype=bool)
    colors = [PALETTE[2] if k else "#cccccc" for k in cap]
    fig = go.Figure(go.Bar(x=[f"{i + 1}" for i in range(len(c))], y=c, marker_color=colors,
                           hovertemplate="mode %{x}: %{y} samples<extra></extra>"))
    fig.add_hline(y=min_count, line=dict(color="#555", dash="dash"),
                  annotation_text=f"{min_count} = captured", annotation_position="top left",
                  annotation=dict(bgcolor="rgba(255,255,255,0.9)", font=dict(color="#333")))
    # the line's meaning also in the title: the annotation can sit on a tall bar
    fig.update_layout(title=dict(text=title or f"dashed line: {min_count} samples = captured",
                                 font=dict(size=13)),
                      height=260, xaxis_title="mode", yaxis_title="high-quality samples",
                      **{**LAYOUT, "margin": dict(l=10, r=10, t=40, b=10)})
    fig.update_yaxes(automargin=True)
    return fig


def digit_histogram(shares, n: int, title: str = "", floor: float | None = None) -> go.Figure:
    """Share of ``n`` generated samples the classifier reads as each digit; ``floor``: a
    dashed line (e.g. 4%) below which a digit counts as under-represented."""
    s = np.asarray(shares, dtype=float)
    colors = [PALETTE[0] if floor is None or v >= floor else PALETTE[3] for v in s]
    fig = go.Figure(go.Bar(x=[str(i) for i in range(len(s))], y=s * 100, marker_color=colors,
                           hovertemplate="digit %{x}: %{y:.1f}%<extra></extra>"))
    fig.add_hline(y=100.0 / len(s), line=dict(color="#555", dash="dot"),
                  annotation_text="uniform", annotation_position="right")
    if floor is not None:
        fig.add_hline(y=floor * 100, line=dict(color=PALETTE[3], dash="dash"),
                      annotation_text=f"{floor:.0%}", annotation_position="right")
    fig.update_layout(title=title or f"Digits of {n:,} samples, read by the digit classifier",
                      height=280, xaxis_title="digit", yaxis_title="% of samples",
                      **{**LAYOUT, "margin": dict(l=10, r=70, t=40, b=10)})  # room for the
    #                                                              lines' labels, right of the plot
    return fig


def speed_text(steps_per_s: float | None, frames_per_s: float | None) -> str:
    """The lab's speed readout."""
    a = "–" if not steps_per_s else f"{steps_per_s:,.0f}"
    b = "–" if not frames_per_s else f"{frames_per_s:.1f}"
    return f"{a} training steps/s · {b} redraws/s"


# -- the live frame: a picture, for playing ------------------------------------------------------
RDBU = ["#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7", "#d1e5f0", "#92c5de",
        "#4393c3", "#2166ac", "#053061"]
"""ColorBrewer's RdBu (red = low, blue = high), as plotly's "RdBu" heat-map draws it."""


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _colormap(v: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> (…, 3) uint8 RGB along :data:`RDBU`."""
    stops = np.asarray([_rgb(c) for c in RDBU], dtype=float)
    t = np.clip(np.nan_to_num(v, nan=0.5), 0.0, 1.0) * (len(stops) - 1)
    i = np.minimum(t.astype(int), len(stops) - 2)
    f = (t - i)[..., None]
    return (stops[i] * (1 - f) + stops[i + 1] * f).round().astype(np.uint8)


def lab_frame(*, extent: tuple[float, float, float, float], real=None, fake=None, heat=None,
              heat_label: str = "D(x)", heat_range: tuple[float, float] | None = None,
              manifold=None, arrows=None, means=None, sigma: float | None = None,
              size: int = 460):
    """The lab canvas as a picture (PIL RGB image), the layers of :func:`lab_figure` drawn the
    same way (heat-map at 75% over white, 3σ circles, grey manifold lines, green real and
    purple generated points, orange gradient arrows) with a colour bar on the right.

    What the page shows while the lab plays: a browser swaps a picture in a few ms, where
    re-rendering the interactive figure took it ~250 ms a frame (software rendering), which
    capped the redraws at ~3 a second. The lines and points are drawn at twice the size and
    scaled down (smooth edges); ~10 ms a frame.
    """
    from PIL import Image, ImageDraw, ImageFont

    k = 2  # supersampling
    s = size * k
    bar_w, pad = (70 * k if heat is not None else 0), 6 * k
    x0, x1, y0, y1 = extent
    img = Image.new("RGB", (s + bar_w, s), "white")
    if heat is not None:
        h = np.asarray(heat, dtype=float)
        lo, hi = heat_range if heat_range else (float(np.nanmin(h)), float(np.nanmax(h)))
        hi = hi if hi > lo else lo + 1e-6
        rgb = _colormap((h - lo) / (hi - lo))[::-1]  # row 0 is the bottom of the plane
        rgb = (0.75 * rgb + 0.25 * 255).round().astype(np.uint8)
        smooth = Image.fromarray(rgb, "RGB").resize((size, size), Image.BILINEAR)
        img.paste(smooth.resize((s, s), Image.NEAREST), (0, 0))  # cheap; smoothed already
    draw = ImageDraw.Draw(img)

    def px(p: np.ndarray) -> np.ndarray:  # plane -> pixel coordinates
        p = np.asarray(p, dtype=float).reshape(-1, 2)
        return np.stack([(p[:, 0] - x0) / (x1 - x0) * s, (y1 - p[:, 1]) / (y1 - y0) * s], 1)

    if means is not None and sigma:
        r = 3.0 * float(sigma) / (x1 - x0) * s
        for cx, cy in px(means):
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(90, 90, 90), width=k)
    if manifold is not None and len(manifold):
        for line in np.asarray(manifold, dtype=float):
            pts = px(line)
            ok = np.isfinite(pts).all(1)
            if ok.sum() >= 2:
                draw.line([tuple(q) for q in pts[ok]], fill=(120, 120, 120), width=k)
    for pts, colour in ((real, REAL_COLOR), (fake, FAKE_COLOR)):
        if pts is not None and len(pts):
            rr = 2.2 * k
            for cx, cy in px(pts):
                if np.isfinite(cx) and np.isfinite(cy):
                    draw.ellipse([cx - rr, cy - rr, cx + rr, cy + rr], fill=_rgb(colour))
    if arrows is not None and len(arrows):
        orange = _rgb("#E65100")
        for seg in np.asarray(arrows, dtype=float):
            (ax, ay), (bx, by) = px(seg)
            if np.isfinite([ax, ay, bx, by]).all():
                draw.line([(ax, ay), (bx, by)], fill=orange, width=int(1.5 * k))
                draw.ellipse([bx - 1.5 * k, by - 1.5 * k, bx + 1.5 * k, by + 1.5 * k],
                             fill=orange)
    draw.rectangle([0, 0, s - 1, s - 1], outline=(180, 180, 180), width=k)
    if heat is not None:  # the colour bar: high at the top
        top, bottom, left = int(0.1 * s), int(0.9 * s), s + pad
        ramp = _colormap(np.linspace(1, 0, bottom - top))[:, None, :]
        ramp = (0.75 * ramp + 0.25 * 255).round().astype(np.uint8)
        img.paste(Image.fromarray(np.repeat(ramp, 12 * k, 1), "RGB"), (left, top))
        font = ImageFont.load_default(size=11 * k)
        for y, v in ((top, hi), (bottom, lo)):
            draw.text((left + 14 * k, y), f"{v:.3g}", fill=(60, 60, 60), font=font,
                      anchor="lm")
    return img.reduce(k)  # a box filter: smooth edges, ~1 ms
