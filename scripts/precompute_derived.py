"""Precompute the derived data the pages show for the shipped models, into
``checkpoints/derived/<table>.json`` (see :mod:`unsup.derived`), so a section opens on them
instead of computing them on the page's thread. Weights and cards are not touched.

    .venv/bin/python scripts/precompute_derived.py frontier     # GAN page, AE frontier
    .venv/bin/python scripts/precompute_derived.py clustering   # Clustering page, MNIST table
    .venv/bin/python scripts/precompute_derived.py basemap      # Topic maps, the basemap picture
    .venv/bin/python scripts/precompute_derived.py glow         # Flows page, Glow's directions and
                                                                # out-of-distribution bits/dim

Rerun it after a shipped checkpoint's weights change: the stored rows are keyed by the SHA-256
of the weights (not of the card, so re-measuring a card keeps them), so stale rows are simply not
found (and the page offers to measure in the background); it computes only what is missing.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from unsup import checkpoints, derived  # noqa: E402


def frontier_models() -> list[tuple[str, Path]]:
    out = []
    for e in checkpoints.list_models():
        if e.source != "shipped":
            continue
        cfg = e.card.get("config") or {}
        if e.kind == "conv_vae" and cfg.get("variational", True) and cfg.get("image_size",
                                                                              28) == 28:
            out.append(("VAE", e.path))
        elif e.kind in ("dcgan", "pggan"):
            out.append(("GAN", e.path))
        elif e.kind == "vaegan":
            out.append(("VAE-GAN", e.path))
    return out


def frontier() -> None:
    from unsup.recipes import frontier as F

    todo = [(role, p) for role, p in frontier_models()
            if derived.shipped_table(F.TABLE).get(F.row_key(role, p)) is None]
    print(f"frontier: {len(todo)} rows to compute", flush=True)
    F.work(todo, shipped=True)(lambda f, m, losses=None: print(f"  {f:.0%} {m}", flush=True),
                               lambda: False)


def basemap() -> None:
    """The topic map's offline basemap picture (unsup.viz.topics.basemap_png)."""
    from unsup.fileio import atomic_write_bytes, atomic_write_json
    from unsup.viz import topics as tv

    name = tv.basemap_file_name()
    png, bounds = tv.draw_basemap()
    atomic_write_bytes(derived.SHIPPED_DERIVED_DIR / f"{name}.png", png)
    atomic_write_json(derived.SHIPPED_DERIVED_DIR / f"{name}.json", bounds)
    print(f"basemap: {name}.png, {len(png):,} bytes", flush=True)


def clustering() -> None:
    from unsup.recipes import clustering_table as T

    cells = T.default_cells(shipped_only=True)
    todo = [c for c in cells if derived.shipped_table(T.TABLE).get(T.cell_key(c)) is None]
    print(f"clustering: {len(todo)} cells to compute", flush=True)
    T.work(todo, shipped=True)(lambda f, m, losses=None: print(f"  {f:.0%} {m}", flush=True),
                               lambda: False)


def glow() -> None:
    from unsup.recipes import glow_analysis as A

    todo = [e.path for e in checkpoints.list_models("glow") if e.source == "shipped"
            and derived.shipped_table(A.TABLE).get(A.key_of(e.path)) is None]
    print(f"glow: {len(todo)} models to analyse", flush=True)
    for path in todo:
        A.work(path, shipped=True)(lambda f, m, losses=None: print(f"  {f:.0%} {m}", flush=True),
                                   lambda: False)
    # drop the analyses of weights no longer shipped (a retrained Glow has a new key)
    from unsup.fileio import atomic_write_json

    keep = {A.key_of(e.path) for e in checkpoints.list_models("glow") if e.source == "shipped"}
    table = dict(derived.shipped_table(A.TABLE))
    if set(table) - keep:
        atomic_write_json(derived.SHIPPED_DERIVED_DIR / f"{A.TABLE}.json",
                          {k: v for k, v in sorted(table.items()) if k in keep})


if __name__ == "__main__":
    t0 = time.perf_counter()
    for what in sys.argv[1:] or ["frontier", "clustering", "basemap", "glow"]:
        {"frontier": frontier, "clustering": clustering, "basemap": basemap,
         "glow": glow}[what]()
    print(f"done in {time.perf_counter() - t0:.0f} s")
