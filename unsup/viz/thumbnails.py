"""Home-page thumbnails (``module:function`` in unsup.ui.registry), each returning a PIL image of
about 320x200. Each function is self-contained and imports what it needs inside itself."""

from __future__ import annotations

from PIL import Image


def topics() -> Image.Image:
    """The topic-map page: built-in listings around Bangkok, Pattaya, Hua Hin and Khao Yai as
    dots coloured by dominant topic (from the shipped model), beside the topics' shares."""
    import numpy as np
    from PIL import ImageDraw

    from unsup import paths
    from unsup.data.listings import generate
    from unsup.viz.topics import hex_to_rgb, topic_colors

    W, H = 320, 200
    img = Image.new("RGB", (W, H), (250, 250, 247))
    draw = ImageDraw.Draw(img)
    path = paths.SHIPPED_DIR / "topics-th-5000.npz"
    if not path.exists():
        draw.text((12, 90), "Topic maps: train topics-th-5000", fill=(90, 90, 90))
        return img
    with np.load(path, allow_pickle=False) as z:
        theta = np.asarray(z["doc_topic"], np.float32)
    df = generate(len(theta), seed=0, lang="th").df
    dom = theta.argmax(1)
    colors = [tuple(hex_to_rgb(c)) for c in topic_colors(theta.shape[1])]
    # left: the Gulf of Thailand's north (Bangkok, Pattaya, Hua Hin, Khao Yai), equirectangular
    x0, x1, y0, y1 = 6, 194, 6, H - 6
    lon0, lon1, lat0, lat1 = 99.45, 102.25, 12.35, 15.0
    lon, lat = df["lon"].to_numpy(), df["lat"].to_numpy()
    inside = (lon > lon0) & (lon < lon1) & (lat > lat0) & (lat < lat1)
    px = x0 + (lon - lon0) / (lon1 - lon0) * (x1 - x0)
    py = y1 - (lat - lat0) / (lat1 - lat0) * (y1 - y0)
    draw.rounded_rectangle((x0 - 4, y0 - 4, x1 + 4, y1 + 4), radius=8, fill=(238, 243, 248))
    rng = np.random.default_rng(0)
    jitter = rng.normal(0, 2.0, (len(px), 2))
    for i in np.flatnonzero(inside)[np.argsort(theta[inside].max(1))]:
        x, y = px[i] + jitter[i, 0], py[i] + jitter[i, 1]
        draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=colors[dom[i]])
    # right: topic shares as bars
    share = theta.mean(0)
    order = np.argsort(-share)
    bx0, bx1 = 206, W - 8
    bh = (H - 20) / len(order)
    for j, k in enumerate(order):
        y = 10 + j * bh
        w = (bx1 - bx0) * share[k] / share.max()
        draw.rounded_rectangle((bx0, y + 2, bx0 + w, y + bh - 2), radius=3, fill=colors[k])
    return img
