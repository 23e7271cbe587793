"""The Clustering page's MNIST table, one stored cell at a time (see :mod:`unsup.derived`).

A cell is one clustering method on one representation (raw pixels, PCA, a trained encoder's
codes) of one split, at one K: :func:`unsup.recipes.clustering.clustering_table` with that
method alone. Cells are fixed by their inputs (fixed seeds), so each is computed once and kept:
the page's default K and PCA k, both splits, for the shipped encoders in ``checkpoints/derived/
clustering-table.json`` (``python scripts/precompute_derived.py clustering``), any other cell by
a background job (:func:`work`) in the user's cache. The page reads cells; it fits nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from unsup import derived
from unsup.metrics import clustering as C
from unsup.recipes import clustering as R

TABLE = "clustering-table"
DEFAULT_SPLIT, DEFAULT_K, DEFAULT_PCA_K = "test", 10, 16
"""The table's opening settings (the page's widget defaults)."""


@dataclass(frozen=True)
class Cell:
    rep: str  # "pixels", "pca" or "model"
    split: str
    pca_k: int
    method: str
    k: int
    path: str = ""  # the encoder's weights file (rep == "model")


def cell_key(c: Cell) -> str:
    return derived.key("mnist-table-cell", c.rep, derived.file_sha(c.path) if c.path else "",
                       c.split, c.pca_k if c.rep == "pca" else 0, c.method, c.k)


def cells(split: str, k: int, pca_k: int, model_paths: list[str]) -> list[Cell]:
    reps = [("pixels", ""), ("pca", "")] + [("model", str(p)) for p in model_paths]
    return [Cell(r, split, int(pca_k), m, int(k), p) for r, p in reps for m in C.METHODS]


def default_cells(shipped_only: bool = True) -> list[Cell]:
    paths = [str(e.path) for e in R.encoder_entries()
             if R.is_mnist_encoder(e) and (e.source == "shipped" or not shipped_only)]
    return [c for split in R.SPLITS for c in cells(split, DEFAULT_K, DEFAULT_PCA_K, paths)]


def lookup(cs: list[Cell]) -> tuple[list[dict | None], list[Cell]]:
    """(the stored row of each cell or None, the cells not stored yet)."""
    rows = [derived.get(TABLE, cell_key(c)) for c in cs]
    return rows, [c for c, r in zip(cs, rows) if r is None]


def _representation(c: Cell):
    if c.rep == "pixels":
        return R.pixel_rep(c.split)
    if c.rep == "pca":
        return R.pca_rep(c.split, c.pca_k)
    from unsup import checkpoints

    entry = next((e for e in R.encoder_entries() if str(e.path) == c.path), None)
    if entry is None:
        raise checkpoints.CheckpointError(f"{Path(c.path).name} is no longer listed.")
    from unsup import families

    return R.code_rep(entry, families.of_kind(entry.kind).load_model(entry.path), c.split)


def work(todo: list[Cell], *, shipped: bool = False):
    """A background job that computes the cells ``todo`` and stores them (each as soon as it
    is done, so a stopped job keeps what it finished)."""

    def run(progress, should_stop):
        reps: dict[tuple, object] = {}
        for i, c in enumerate(todo):
            if should_stop():
                raise InterruptedError
            rk = (c.rep, c.path, c.split, c.pca_k if c.rep == "pca" else 0)
            if rk not in reps:
                progress(i / len(todo), f"encoding the {c.split} digits ({c.rep})")
                reps[rk] = _representation(c)
            rep = reps[rk]
            progress(i / len(todo), f"{C.METHODS[c.method]} on {rep.label} "
                                    f"({i + 1} of {len(todo)})")
            _, y = R.mnist(c.split)
            row = R.clustering_table([rep], y, k=c.k, methods=(c.method,))[0]
            derived.put(TABLE, cell_key(c), row, shipped=shipped, about=asdict(c))
        progress(1.0, "done")
        return {"cells": len(todo)}

    return run
