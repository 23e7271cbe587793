"""Images as PIL: tensors/arrays to pictures, grids and strips. Pure functions."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def to_uint8(img) -> np.ndarray:
    """(c, h, w) or (h, w) or (h, w, c) float in [0, 1] (tensor or array) -> (h, w[, 3]) uint8."""
    a = img.detach().cpu().numpy() if hasattr(img, "detach") else np.asarray(img)
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = a.transpose(1, 2, 0)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    return (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)


def to_pil(img, scale: int = 1) -> Image.Image:
    """One image, optionally enlarged ``scale`` times with nearest-neighbour (crisp pixels)."""
    pil = Image.fromarray(to_uint8(img))
    if scale > 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.Resampling.NEAREST)
    return pil


def grid(images, ncols: int, pad: int = 1, scale: int = 1, pad_value: float = 0.25) -> Image.Image:
    """Tile images (n, c, h, w) or a list of (h, w) into a grid with ``ncols`` columns."""
    arrs = [to_uint8(im) for im in images]
    if not arrs:
        return Image.new("L", (1, 1))
    h, w = arrs[0].shape[:2]
    color = arrs[0].ndim == 3
    n = len(arrs)
    nrows = (n + ncols - 1) // ncols
    shape = (nrows * (h + pad) + pad, ncols * (w + pad) + pad) + ((3,) if color else ())
    canvas = np.full(shape, int(pad_value * 255), dtype=np.uint8)
    for i, a in enumerate(arrs):
        r, c = divmod(i, ncols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        canvas[y:y + h, x:x + w] = a if (a.ndim == 3) == color else (
            np.repeat(a[..., None], 3, -1) if color else a.mean(-1).astype(np.uint8))
    pil = Image.fromarray(canvas)
    if scale > 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.Resampling.NEAREST)
    return pil


def labelled_row(images, labels: list[str], scale: int = 4, pad: int = 2) -> Image.Image:
    """Images side by side with a caption under each (for original / reconstruction strips)."""
    tiles = [to_pil(im, scale).convert("RGB") for im in images]
    w = max(t.width for t in tiles)
    h = max(t.height for t in tiles)
    canvas = Image.new("RGB", (len(tiles) * (w + pad) + pad, h + 22 + 2 * pad), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=14)
    for i, (t, label) in enumerate(zip(tiles, labels)):
        x = pad + i * (w + pad)
        canvas.paste(t, (x, pad))
        draw.text((x + 2, h + pad + 3), label, fill=(60, 60, 60), font=font)
    return canvas


def strip(images, height: int = 72, pad: int = 2, max_width: int = 900,
          per_row: int | None = None) -> Image.Image:
    """Preview images side by side, each scaled to ``height`` pixels (crisp), wrapped onto more
    rows when wider than ``max_width`` or after ``per_row`` images: one compact strip however
    many previews a job sends."""
    tiles = []
    for im in images:
        p = to_pil(im).convert("RGB")
        scale = height / p.height
        tiles.append(p.resize((max(1, round(p.width * scale)), height),
                              Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.LANCZOS))
    if not tiles:
        return Image.new("RGB", (1, 1), "white")
    rows, row, width = [], [], 0
    for t in tiles:
        if row and (width + t.width + pad > max_width or (per_row and len(row) >= per_row)):
            rows.append(row)
            row, width = [], 0
        row.append(t)
        width += t.width + pad
    rows.append(row)
    w = max(sum(t.width + pad for t in r) for r in rows) + pad
    canvas = Image.new("RGB", (w, len(rows) * (height + pad) + pad), (64, 64, 64))
    for r, tiles_r in enumerate(rows):
        x = pad
        for t in tiles_r:
            canvas.paste(t, (x, pad + r * (height + pad)))
            x += t.width + pad
    return canvas


def animated_gif(frames: list[Image.Image], seconds_per_frame: float = 0.25,
                 hold_last: float = 1.5) -> bytes:
    """Frames (PIL images of one size) as a looping animated GIF; the last frame is held
    ``hold_last`` seconds so the end of a timelapse can be seen."""
    import io

    if not frames:
        raise ValueError("an animation needs at least one frame")
    ms = max(20, int(round(seconds_per_frame * 1000)))
    durations = [ms] * (len(frames) - 1) + [max(ms, int(round(hold_last * 1000)))]
    buf = io.BytesIO()
    first, *rest = [f.convert("P", palette=Image.Palette.ADAPTIVE) if f.mode != "L" else f
                    for f in frames]
    first.save(buf, format="GIF", save_all=True, append_images=rest, duration=durations,
               loop=0, optimize=False, disposal=1)
    return buf.getvalue()
