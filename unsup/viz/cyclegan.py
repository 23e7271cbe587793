"""Figures of the CycleGAN page. Pure functions: arrays in, PIL images or plotly figures out (no
torch, no models, no checkpoints).

- :func:`residual`: the per-pixel change between two images, as a grey image;
- :func:`image_rows`: rows of images tiled into one picture;
- :func:`labelled_grid`: the same with a caption under every image and a name before every row;
- :func:`timelapse_image`: each fixed source image, then its translation at every recorded step;
- :func:`label_kept_bars`: label kept both ways, model by model, against the target.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont

from unsup.viz.images import to_uint8
from unsup.viz.plots import LAYOUT, PALETTE

RESIDUAL_GAIN = 2.0
"""Residual images show min(1, 2 x mean over channels |y - x|): white = changed by half the
value range or more, black = unchanged."""


def residual(x, y, gain: float = RESIDUAL_GAIN) -> np.ndarray:
    """(h, w) in [0, 1]: ``gain`` x the mean absolute difference over channels of two images
    (c, h, w) in [0, 1], clipped to 1."""
    x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
    if x.shape != y.shape:
        raise ValueError(f"images differ in shape: {x.shape} vs {y.shape}")
    d = np.abs(y - x)
    d = d.mean(0) if d.ndim == 3 else d
    return np.clip(gain * d, 0.0, 1.0).astype(np.float32)


def _rgb(img) -> np.ndarray:
    a = to_uint8(img)
    return np.repeat(a[..., None], 3, -1) if a.ndim == 2 else a


def image_rows(rows, pad: int = 1, pad_value: float = 0.25, scale: int = 1) -> Image.Image:
    """Tile ``rows`` (each a sequence of images (c, h, w) or (h, w) in [0, 1], all of one size)
    into one RGB picture, one row per entry; shorter rows are left blank at the end."""
    rows = [[_rgb(im) for im in r] for r in rows]
    rows = [r for r in rows if r]
    if not rows:
        return Image.new("RGB", (1, 1))
    h, w = rows[0][0].shape[:2]
    n = max(len(r) for r in rows)
    canvas = np.full((len(rows) * (h + pad) + pad, n * (w + pad) + pad, 3),
                     int(pad_value * 255), np.uint8)
    for i, r in enumerate(rows):
        for j, a in enumerate(r):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            canvas[y:y + h, x:x + w] = a
    img = Image.fromarray(canvas)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    return img


def labelled_grid(rows, labels=None, row_labels=None, scale: int = 3, pad: int = 4,
                  font_size: int = 13) -> Image.Image:
    """Rows of images enlarged ``scale`` times (crisp pixels), a caption under each image
    (``labels``: one list per row, or one list for every row) and a name before each row."""
    tiles = [[Image.fromarray(_rgb(im)) for im in r] for r in rows]
    if not tiles or not tiles[0]:
        return Image.new("RGB", (1, 1), "white")
    w0, h0 = tiles[0][0].size
    w, h = w0 * scale, h0 * scale
    font = ImageFont.load_default(size=font_size)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    left = 0
    if row_labels:
        left = int(max(probe.textlength(str(t), font=font) for t in row_labels)) + 2 * pad
    cap = font_size + 6
    n = max(len(r) for r in tiles)
    canvas = Image.new("RGB", (left + n * (w + pad) + pad, len(tiles) * (h + cap + pad) + pad),
                       "white")
    draw = ImageDraw.Draw(canvas)
    for i, r in enumerate(tiles):
        y = pad + i * (h + cap + pad)
        if row_labels:
            draw.text((pad, y + h // 2 - font_size // 2), str(row_labels[i]), fill=(40, 40, 40),
                      font=font)
        row_caps = None
        if labels:
            row_caps = labels[i] if isinstance(labels[0], (list, tuple)) else labels
        for j, t in enumerate(r):
            x = left + pad + j * (w + pad)
            canvas.paste(t.resize((w, h), Image.Resampling.NEAREST), (x, y))
            if row_caps and j < len(row_caps):
                draw.text((x + 1, y + h + 2), str(row_caps[j]), fill=(60, 60, 60), font=font)
    return canvas


def timelapse_image(steps, frames, sources, scale: int = 2, every_label: int = 5,
                    pad: int = 2) -> Image.Image:
    """How the translations of fixed images formed: one row per source image — the source, then
    its translation at each recorded step — with the step above every ``every_label``-th column.

    ``steps``: (f,) recorded steps; ``frames``: (f, k, c, h, w) translations of the k
    ``sources`` (k, c, h, w), all in [0, 1].
    """
    frames = np.asarray(frames, np.float32)
    sources = np.asarray(sources, np.float32)
    if frames.ndim != 5 or len(frames) != len(steps) or frames.shape[1] != len(sources):
        raise ValueError(f"frames must be (steps, sources, c, h, w) for {len(steps)} steps and "
                         f"{len(sources)} sources; got {frames.shape}")
    rows = [[sources[i]] + [frames[t, i] for t in range(len(steps))] for i in range(len(sources))]
    body = image_rows(rows, pad=pad, pad_value=1.0, scale=scale)
    h_img = sources.shape[-1] * scale
    cell = h_img + pad * scale
    font = ImageFont.load_default(size=12)
    head = 16
    canvas = Image.new("RGB", (body.width, body.height + head), "white")
    canvas.paste(body, (0, head))
    draw = ImageDraw.Draw(canvas)
    draw.text((pad * scale, 1), "source", fill=(60, 60, 60), font=font)
    for t, s in enumerate(steps):
        if t % every_label == 0 or t == len(steps) - 1:
            draw.text((pad * scale + (t + 1) * cell, 1), f"{int(s):,}", fill=(60, 60, 60),
                      font=font)
    return canvas


def label_kept_bars(rows, target: float, title: str = "") -> go.Figure:
    """Label kept (in %) both ways for each row ``(name, a_to_b, b_to_a)`` (a value may be None:
    not measured), with a dashed line at ``target`` (a share in [0, 1])."""
    names = [_wrap(r[0]) for r in rows]
    fig = go.Figure()
    for k, (label, color) in enumerate((("A → B", PALETTE[0]), ("B → A", PALETTE[1]))):
        vals = [None if r[k + 1] is None else 100.0 * float(r[k + 1]) for r in rows]
        fig.add_trace(go.Bar(name=label, x=names, y=vals, marker_color=color,
                             text=[None if v is None else f"{v:.1f}%" for v in vals],
                             textposition="outside",
                             hovertemplate="%{x}: %{y:.1f}%<extra>" + label + "</extra>"))
    fig.add_hline(y=100.0 * target, line=dict(color="#555", dash="dash"),
                  annotation_text=f"target {target:.0%}", annotation_position="bottom right")
    # room for the bars' labels above 100% and for the wrapped names and the axis title
    fig.update_layout(barmode="group", height=460,
                      yaxis=dict(range=[0, 112], automargin=True,
                                 title=dict(text="label kept, %", standoff=8)),
                      xaxis=dict(automargin=True, tickangle=0),
                      title=title or "Label kept under the target domain's classifier "
                                     "(higher is better)",
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
                      **{**LAYOUT, "margin": dict(l=60, r=10, t=70, b=10)})
    return fig


def _wrap(text: str, width: int = 16) -> str:
    """``text`` broken into lines of about ``width`` characters for an axis label (``<br>``)."""
    lines, line = [], ""
    for word in str(text).split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "<br>".join(lines + [line])
