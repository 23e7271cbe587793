"""Plotly figures shared by the pages. Pure functions: data in, ``go.Figure`` out."""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image

PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2",
           "#FF9DA6", "#9D755D", "#BAB0AC"]
LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10),
              font=dict(size=13))


def _png_uri(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def loss_curves(history: list[dict], keys: list[str] | None = None, title: str = "Training loss",
                y_title: str = "nats / image (lower is better)") -> go.Figure:
    """Lines of each logged loss against the step (with markers while there are few points, so
    the very first point already shows)."""
    fig = go.Figure()
    if history:
        steps = [h["step"] for h in history]
        keys = [k for k in (keys or [k for k in history[-1] if k != "step"])
                if any(k in h for h in history)]
        for i, k in enumerate(keys):
            fig.add_trace(go.Scatter(x=steps, y=[h.get(k) for h in history], name=k,
                                     mode="lines+markers" if len(history) < 30 else "lines",
                                     line=dict(color=PALETTE[i % len(PALETTE)])))
    else:
        fig.add_annotation(text="the first point appears after the first logged steps",
                           showarrow=False, font=dict(color="#888"))
    fig.update_layout(title=title, xaxis_title="step", yaxis_title=y_title, height=280,
                      legend=dict(orientation="h", y=-0.3), **LAYOUT)
    return fig


def kl_bars(kl_per_dim: np.ndarray, order=None, threshold: float = 0.01,
            activity: np.ndarray | None = None, labels: list[str] | None = None,
            title: str = "KL per dimension (test set, nats)", height: int = 260) -> go.Figure:
    """KL per latent dimension (nats), sorted by decreasing KL unless ``order`` is given;
    dimensions whose ``activity`` (default: the KL itself) is at most ``threshold`` are greyed."""
    kl = np.asarray(kl_per_dim, dtype=float)
    order = np.argsort(-kl, kind="stable") if order is None else order
    act = activity if activity is not None else kl
    labels = labels or [f"z{i}" for i in range(len(kl))]
    colors = [PALETTE[0] if act[i] > threshold else "#cccccc" for i in order]
    fig = go.Figure(go.Bar(x=[labels[i] for i in order], y=kl[order], marker_color=colors,
                           hovertemplate="%{x}: %{y:.2f} nats<extra></extra>"))
    fig.update_layout(title=title, height=height, yaxis_title="nats", **LAYOUT)
    return fig


def manifold_figure(manifold: Image.Image, extent: float, codes: np.ndarray | None = None,
                    labels: np.ndarray | None = None, marker: tuple[float, float] | None = None
                    ) -> go.Figure:
    """The decoded 2-D manifold as a background image, test codes scattered on top by label.

    ``extent``: the image spans [-extent, extent] on both axes (in z units).
    """
    fig = go.Figure()
    fig.add_layout_image(dict(source=_png_uri(manifold), xref="x", yref="y", x=-extent,
                              y=extent, sizex=2 * extent, sizey=2 * extent, sizing="stretch",
                              layer="below", opacity=0.85))
    if codes is not None:
        for d in range(10):
            m = labels == d
            fig.add_trace(go.Scattergl(
                x=codes[m, 0], y=codes[m, 1], mode="markers", name=str(d),
                marker=dict(size=6, color=PALETTE[d], line=dict(width=0.5, color="white")),
                hovertemplate=f"digit {d}<br>z=(%{{x:.2f}}, %{{y:.2f}})<extra></extra>"))
    if marker is not None:
        fig.add_trace(go.Scatter(x=[marker[0]], y=[marker[1]], mode="markers", name="sliders",
                                 marker=dict(size=16, symbol="x", color="#E45756",
                                             line=dict(width=2, color="white"))))
    fig.update_xaxes(range=[-extent, extent], title="z₀", showgrid=False, zeroline=False)
    fig.update_yaxes(range=[-extent, extent], title="z₁", showgrid=False, zeroline=False,
                     scaleanchor="x")
    fig.update_layout(height=560, legend=dict(title="test digit"), **LAYOUT)
    return fig


METRIC_HELP = {
    "test_neg_elbo_nats": "Negative evidence lower bound on held-out digits: reconstruction + KL, "
                          "in nats per image. An upper bound on −log p(x); lower is better "
                          "(the shipped 16-D VAE: 84.5).",
    "test_recon_nats": "−E_q log p(x|z): how many nats it costs to describe a digit given its "
                       "code. Lower is better (0 = perfect reconstruction).",
    "test_kl_nats": "KL(q(z|x) ‖ p(z)), nats per image: how far codes are pushed from the prior, "
                    "the information the code carries. Neither direction is better on its own.",
    "test_iwae_nll_nats": "Importance-weighted bound on −log p(x) (Burda et al. 2016, k samples): "
                          "tighter than −ELBO and never above it. Lower is better.",
    "active_units": "Latents whose code varies over the held-out digits (variance of E_q[z] > "
                    "0.01; Burda et al. 2016). Range 0 to the code size; unused ones are inactive.",
}
"""What each of the VAE page's numbers measures and which way is better (shown as tooltips)."""


def metric_table_rows(metrics: dict) -> list[tuple[str, str, str]]:
    """(label, value, help) for the VAE page's numbers."""
    names = [("test_neg_elbo_nats", "−ELBO (nats)"), ("test_recon_nats", "reconstruction (nats)"),
             ("test_kl_nats", "KL (nats)"), ("test_iwae_nll_nats", "IWAE bound on −log p(x)"),
             ("active_units", "active units")]
    return [(label, f"{metrics[k]:.2f}" if isinstance(metrics[k], float) else str(metrics[k]),
             METRIC_HELP[k]) for k, label in names if k in metrics]


def perception_distortion(rows: list[dict], height: int = 360) -> go.Figure:
    """The perception-distortion plane (Blau & Michaeli 2018): each method's held-out PSNR
    (distortion, x, better to the right) against its Fréchet distance to the real images
    (realism, y, log scale, better down). ``rows``: dicts with "method", "psnr", "fd" (> 0)."""
    fig = go.Figure()
    colors = ["#9e9e9e", "#1f77b4", "#d62728", "#2ca02c"]
    places = ["top right", "top center", "bottom center", "top left"]
    for i, r in enumerate(rows):
        fig.add_trace(go.Scatter(
            x=[r["psnr"]], y=[r["fd"]], mode="markers+text",
            text=[str(r["method"]).split(" (")[0]], textposition=places[i % len(places)],
            marker=dict(size=14, color=colors[i % len(colors)]), name=str(r["method"]),
            hovertemplate=f"{r['method']}<br>PSNR %{{x:.2f}} dB<br>Fréchet distance %{{y:.4g}}"
                          "<extra></extra>"))
    x = [r["psnr"] for r in rows]
    pad = 0.08 * (max(x) - min(x) or 1.0)
    fig.update_layout(title="Perception–distortion: better is right (PSNR) and down (realism)",
                      xaxis_title="PSNR on held-out images, dB (higher: closer pixel by pixel)",
                      yaxis_title="Fréchet distance (log; lower: more real)",
                      height=height, showlegend=False, **LAYOUT)
    fig.update_xaxes(range=[min(x) - pad, max(x) + pad])
    fig.update_yaxes(type="log")
    return fig
