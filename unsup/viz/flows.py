"""Pictures of normalizing flows: arrays in, figures out.

- :func:`log_density_levels`: a density lattice as log-density clipped to a fixed depth below
  its peak (a flow's density on the ring spans tens of nats; linear colour shows one spike);
- :func:`density_image`: that as a picture (viridis), for previews and the home card;
- :func:`flow_figure`: the page's canvas: the exact log-density as a heat-map, samples, the
  true points, and the base lattice carried through the flow up to a chosen transform.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from PIL import Image

VIRIDIS = ["#440154", "#482878", "#3e4a89", "#31688e", "#26828e", "#1f9e89", "#35b779",
           "#6ece58", "#b5de2b", "#fde725"]
"""Matplotlib's viridis at ten stops (perceptually uniform, readable in grey)."""
DEPTH = 10.0
"""Nats below the peak that the colour scale spans (lower densities share the darkest colour)."""
SAMPLE_COLOR = "#E65100"
REAL_COLOR = "#2E7D32"


def log_density_levels(density: np.ndarray, depth: float = DEPTH) -> tuple[np.ndarray, float]:
    """(log-density clipped to [peak − depth, peak], the peak)."""
    with np.errstate(divide="ignore"):
        lp = np.log(np.asarray(density, dtype=float))
    lp = np.nan_to_num(lp, nan=-np.inf, neginf=-np.inf)
    peak = float(np.max(lp[np.isfinite(lp)])) if np.isfinite(lp).any() else 0.0
    return np.clip(lp, peak - depth, peak), peak


def _colormap(v: np.ndarray) -> np.ndarray:
    stops = np.asarray([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in VIRIDIS], float)
    t = np.clip(np.nan_to_num(v, nan=0.0), 0.0, 1.0) * (len(stops) - 1)
    i = np.minimum(t.astype(int), len(stops) - 2)
    f = (t - i)[..., None]
    return (stops[i] * (1 - f) + stops[i + 1] * f).round().astype(np.uint8)


def density_image(density: np.ndarray, size: int = 256) -> Image.Image:
    """A density lattice (rows = y, from the bottom) as a square viridis picture of its
    log-density (:func:`log_density_levels`)."""
    lp, peak = log_density_levels(density)
    rgb = _colormap((lp - (peak - DEPTH)) / DEPTH)[::-1]  # row 0 of a picture is the top
    return Image.fromarray(rgb, "RGB").resize((size, size), Image.Resampling.BILINEAR)


def _polylines(stage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, m, 2) polylines → x and y with a gap (None) between lines, for one Scatter trace."""
    k, m, _ = stage.shape
    pad = np.full((k, 1, 2), np.nan)
    flat = np.concatenate([stage, pad], 1).reshape(-1, 2)
    return flat[:, 0], flat[:, 1]


def flow_figure(*, extent: tuple[float, float, float, float], density: np.ndarray | None = None,
                samples: np.ndarray | None = None, real: np.ndarray | None = None,
                lattice: np.ndarray | None = None, means=None, sigma: float | None = None,
                title: str = "", height: int = 520) -> go.Figure:
    """The flow's canvas: ``density`` (g x g over ``extent``) as log-density, ``samples`` and
    ``real`` points, ``lattice`` the base grid's lines (k, m, 2) at some stage of the flow,
    and the modes' 3σ circles."""
    x0, x1, y0, y1 = extent
    fig = go.Figure()
    if density is not None:
        lp, peak = log_density_levels(density)
        fig.add_trace(go.Heatmap(
            z=lp, x=np.linspace(x0, x1, lp.shape[1]), y=np.linspace(y0, y1, lp.shape[0]),
            zmin=peak - DEPTH, zmax=peak, colorscale=[[i / 9, c] for i, c in enumerate(VIRIDIS)],
            name="log p(x)", colorbar=dict(title=dict(text="log p(x), nats", side="right"),
                                           thickness=12, len=0.8),
            hovertemplate="x %{x:.2f}, y %{y:.2f}<br>log p(x) %{z:.2f} nats<extra></extra>"))
    if lattice is not None:
        xs, ys = _polylines(np.asarray(lattice, float))
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="base grid, carried",
                                 line=dict(color="rgba(255,255,255,0.55)", width=1),
                                 hoverinfo="skip"))
    if real is not None and len(real):
        r = np.asarray(real, float)
        fig.add_trace(go.Scatter(x=r[:, 0], y=r[:, 1], mode="markers", name="true points",
                                 marker=dict(color=REAL_COLOR, size=3, opacity=0.5)))
    if samples is not None and len(samples):
        s = np.asarray(samples, float)
        fig.add_trace(go.Scatter(x=s[:, 0], y=s[:, 1], mode="markers", name="flow samples",
                                 marker=dict(color=SAMPLE_COLOR, size=3, opacity=0.7)))
    shapes = []
    if means is not None and sigma:
        r = 3.0 * float(sigma)
        shapes = [dict(type="circle", x0=mx - r, x1=mx + r, y0=my - r, y1=my + r,
                       line=dict(color="rgba(255,255,255,0.6)", width=1, dash="dot"))
                  for mx, my in np.asarray(means, float)]
    fig.update_layout(title=title, height=height, shapes=shapes, dragmode=False,
                      legend=dict(orientation="h", y=-0.08),
                      margin=dict(l=10, r=10, t=40, b=10))
    fig.update_xaxes(range=[x0, x1], showgrid=False, zeroline=False)
    fig.update_yaxes(range=[y0, y1], showgrid=False, zeroline=False, scaleanchor="x",
                     scaleratio=1)
    return fig


def live_frame(density: np.ndarray, samples: np.ndarray | None,
               extent: tuple[float, float, float, float], size: int = 440) -> Image.Image:
    """The live canvas as a picture (a browser swaps it in a few ms): the log-density
    (:func:`density_image`) with the samples as orange dots."""
    from PIL import ImageDraw

    img = density_image(density, size)
    if samples is not None and len(samples):
        x0, x1, y0, y1 = extent
        s = np.asarray(samples, float)
        px = (s[:, 0] - x0) / (x1 - x0) * (size - 1)
        py = (1 - (s[:, 1] - y0) / (y1 - y0)) * (size - 1)
        draw = ImageDraw.Draw(img)
        colour = tuple(int(SAMPLE_COLOR[i:i + 2], 16) for i in (1, 3, 5))
        for x, y in zip(px, py):
            if 0 <= x < size and 0 <= y < size:
                draw.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), fill=colour)
    return img


def probe_figure(steps, ll, ll_true: float, height: int = 260):
    """The live run's held-out log-likelihood against its steps, with the true density's."""
    fig = go.Figure(go.Scatter(x=list(steps), y=list(ll), mode="lines", name="the flow",
                               line=dict(color=SAMPLE_COLOR)))
    fig.add_hline(y=ll_true, line=dict(color=REAL_COLOR, dash="dash"),
                  annotation_text="true density", annotation_position="bottom right")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10),
                      title="held-out log p(x), nats a point (higher is better)",
                      xaxis_title="step", showlegend=False)
    return fig


SET_COLORS = ("#1f77b4", "#ff7f0e", "#7f7f7f", "#2ca02c", "#d62728")


def bpd_histogram(sets: dict[str, list], markers: dict[str, float] | None = None,
                  height: int = 330):
    """Overlaid histograms of bits/dim per set (label -> values; None = outside the model's
    domain, left out), with vertical lines for single images (label -> value)."""
    fig = go.Figure()
    for i, (label, vals) in enumerate(sets.items()):
        v = [float(x) for x in vals if x is not None and np.isfinite(x)]
        if not v:
            continue
        fig.add_trace(go.Histogram(x=v, name=f"{label} ({len(v):,})", opacity=0.6, nbinsx=40,
                                   marker_color=SET_COLORS[i % len(SET_COLORS)]))
    for j, (label, value) in enumerate((markers or {}).items()):
        if value is None or not np.isfinite(value):
            continue
        color = SET_COLORS[(len(sets) + j) % len(SET_COLORS)]
        dash = ("dash", "dot", "dashdot")[j % 3]
        fig.add_vline(x=float(value), line=dict(color=color, dash=dash, width=2))
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=f"{label}: {value:.2f}",
                                 line=dict(color=color, dash=dash, width=2)))
    fig.update_layout(barmode="overlay", height=height, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis_title="bits per dimension (lower = the model finds it more likely)",
                      yaxis_title="images", legend=dict(orientation="h", y=-0.3),
                      title="Exact bits/dim under the Glow, per image")
    return fig
