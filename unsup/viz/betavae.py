"""Figures of the β-VAE page: traversal grids (and their GIF), KL bars, the latent x factor
mutual-information heatmap and the β sweep. Pure functions of arrays (the traversal itself is
decoded by unsup.recipes.betavae.traversal)."""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from unsup.data.dsprites import FACTOR_LABELS
from unsup.viz import plots
from unsup.viz.images import grid as image_grid

MI_FLOOR = 0.2
"""A latent is labelled with a factor only when it carries at least this share of the factor's
entropy (normalised MI); below it, "no factor" (a label at MI 0.06 would claim too much)."""

ACTIVE_KL = 0.2
"""A latent whose mean KL is below this many nats is shown as inactive (well-trained models
have about 0.01 there and 1-5 nats on the latents they use)."""

LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10))


# -- traversals ----------------------------------------------------------------------------------
def traversal_image(grid: np.ndarray, scale: int = 1) -> Image.Image:
    """The traversal (rows, steps, s, s) as one PIL image with thin grey separators."""
    rows, steps = grid.shape[:2]
    return image_grid(grid.reshape(rows * steps, *grid.shape[2:]), steps, pad=2, scale=scale)


def traversal_figure(grid: np.ndarray, row_labels: list[str], span: float = 3.0) -> go.Figure:
    """Plotly figure of the traversal with a label per row and the z values on top."""
    rows, steps, s = grid.shape[0], grid.shape[1], grid.shape[-1]
    pil = traversal_image(grid)
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    pitch = s + 2
    # a PNG source, not a pixel array: plotly validates arrays element by element (~100 ms)
    fig = go.Figure(go.Image(source=uri, hoverinfo="skip"))
    fig.update_xaxes(tickvals=[2 + pitch * i + s / 2 for i in range(steps)],
                     ticktext=[f"{v:+.1f}" for v in np.linspace(-span, span, steps)],
                     side="top", showgrid=False)
    fig.update_yaxes(tickvals=[2 + pitch * r + s / 2 for r in range(rows)], ticktext=row_labels,
                     showgrid=False)
    fig.update_layout(height=60 + 62 * rows, width=140 + 62 * steps, **LAYOUT)
    return fig


def traversal_gif(grid: np.ndarray, scale: int = 2, ms: int = 120) -> bytes:
    """Animated GIF: frame t shows every row's image at step t side by side, going -span ->
    +span -> -span."""
    rows, steps = grid.shape[:2]
    frames = []
    for t in list(range(steps)) + list(range(steps - 2, 0, -1)):
        strip = image_grid(grid[:, t], rows, pad=2, scale=scale).convert("P")
        frames.append(strip)
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=ms,
                   loop=0)
    return buf.getvalue()


# -- per-latent statistics -----------------------------------------------------------------------
def latent_labels(kl_per_dim, mi_matrix=None, factor_labels=FACTOR_LABELS,
                  active: float = ACTIVE_KL, floor: float = MI_FLOOR) -> list[str]:
    """"z3 · position x" per latent: the factor it shares most (normalised) information with;
    "inactive" when its KL is below ``active`` nats, "no factor" when no normalised MI reaches
    ``floor``."""
    kl = np.asarray(kl_per_dim, dtype=float)
    out = []
    for j in range(len(kl)):
        if kl[j] < active:
            out.append(f"z{j} · inactive")
        elif mi_matrix is not None:
            row = np.asarray(mi_matrix)[j]
            best = factor_labels[int(np.argmax(row))] if row.max() >= floor else "no factor"
            out.append(f"z{j} · {best}")
        else:
            out.append(f"z{j}")
    return out


def kl_order(kl_per_dim) -> list[int]:
    """Latent indices by decreasing KL."""
    return [int(i) for i in np.argsort(-np.asarray(kl_per_dim, dtype=float), kind="stable")]


def kl_bar(kl_per_dim, labels: list[str] | None = None) -> go.Figure:
    """KL(q(z_j|x) || N(0,1)) per latent (held-out mean), sorted; inactive latents grey."""
    return plots.kl_bars(kl_per_dim, threshold=ACTIVE_KL, labels=labels, height=300,
                         title="KL per latent (held-out images, nats)")


def mi_heatmap(mi_matrix, kl_per_dim, factor_labels=FACTOR_LABELS) -> go.Figure:
    """Normalised mutual information I(z_j; v_k) / H(v_k), rows = latents by decreasing KL,
    each labelled with the factor it captures best."""
    m = np.asarray(mi_matrix, dtype=float)
    order = kl_order(kl_per_dim)
    labels = latent_labels(kl_per_dim, m, factor_labels)
    fig = go.Figure(go.Heatmap(
        z=m[order], x=list(factor_labels), y=[labels[j] for j in order], zmin=0, zmax=1,
        colorscale="Blues", text=np.round(m[order], 2), texttemplate="%{text}",
        hovertemplate="%{y} / %{x}: %{z:.2f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title="Mutual information latent × factor (÷ factor entropy)",
                      height=90 + 32 * len(order), **LAYOUT)
    return fig


def _label_positions(rows: list[dict]) -> list[str]:
    """Above the point, or below it where the neighbour to its left (by reconstruction error)
    sits within 0.03 MIG and 3 nats and was labelled above: close points do not overprint."""
    pos = ["top center"] * len(rows)
    order = sorted(range(len(rows)), key=lambda i: rows[i]["recon"])
    for prev, i in zip(order, order[1:]):
        close = (abs(rows[i]["mig"] - rows[prev]["mig"]) < 0.03
                 and abs(rows[i]["recon"] - rows[prev]["recon"]) < 3.0)
        if close and pos[prev] == "top center":
            pos[i] = "bottom center"
    return pos


def sweep_figure(rows: list[dict]) -> go.Figure:
    """The β sweep: reconstruction error (nats/image) against MIG, one point per model."""
    fig = go.Figure(go.Scatter(
        x=[r["recon"] for r in rows], y=[r["mig"] for r in rows], mode="markers+text",
        text=[r["name"] for r in rows], textposition=_label_positions(rows),
        marker=dict(size=12, color=[r.get("beta", 1.0) for r in rows], colorscale="Viridis",
                    showscale=True, colorbar=dict(title="β")),
        hovertemplate="%{text}<br>recon %{x:.1f} nats · MIG %{y:.3f}<extra></extra>"))
    fig.update_layout(title="β sweep: reconstruction error vs MIG", height=360,
                      xaxis_title="reconstruction error −log p(x|z) (nats / image)",
                      yaxis_title="MIG", **LAYOUT)
    return fig
