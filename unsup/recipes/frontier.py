"""The autoencoder frontier's numbers, stored per model (see :mod:`unsup.derived`).

Each row of the GAN page's frontier table (Fréchet distance and sharpness of 4,500 prior samples,
reconstruction L1 and sharpness of the held-out digits) depends on one model only, so it is
computed once per model file, once per noise seed of the GAN evaluation (:data:`SEEDS`: each
number is the mean over the seeds, each seed's value under ``per_seed``), (:func:`unsup.recipes.gan.frontier` with that model alone) and kept:
for the shipped models in ``checkpoints/derived/frontier.json``
(``python scripts/precompute_derived.py frontier``), for any other model by a background job
(:func:`work`) in the user's cache. The page reads them; it never samples 4,500 digits itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unsup import checkpoints, derived
from unsup.recipes import gan as R

TABLE = "frontier"
ROLES = ("VAE", "GAN", "VAE-GAN")
N_SAMPLES = 4_500
REAL = "real test digits"


SEEDS = tuple(int(s) for s in R.EVAL_SEEDS)
"""The noise seeds of a row (the GAN cards' evaluation seeds)."""
KEYS = ("fd", "sharpness", "recon_l1", "recon_sharpness")


def row_key(role: str, path: str | Path) -> str:
    return derived.key("frontier-row", role, derived.file_sha(path), N_SAMPLES, SEEDS)


REAL_KEY = derived.key("frontier-real", "mnist", N_SAMPLES)


def stored(picks: dict[str, Path | None]) -> tuple[dict[str, Any], list[tuple[str, Path]]]:
    """(the stored rows of the picked models, keyed by role, plus the real-digit row when
    stored; the (role, path) pairs whose rows are not stored yet)."""
    rows: dict[str, Any] = {}
    missing: list[tuple[str, Path]] = []
    for role in ROLES:
        path = picks.get(role)
        if path is None:
            continue
        row = derived.get(TABLE, row_key(role, path))
        if row is None:
            missing.append((role, Path(path)))
        else:
            rows[role] = row
    real = derived.get(TABLE, REAL_KEY)
    if real is not None:
        rows[REAL] = real
    return rows, missing


def compute(role: str, path: str | Path, should_stop=lambda: False
            ) -> tuple[dict[str, Any], dict[str, float]]:
    """(the row of the model at ``path`` in ``role``, the real-digit row), computed now: each
    number the mean over :data:`SEEDS`, each seed's values in ``per_seed``."""
    from unsup.metrics import seeds as S

    model = checkpoints.load(path)
    args = {r: (model if r == role else None) for r in ROLES}
    runs, real = [], None
    for seed in SEEDS:
        if should_stop():
            raise InterruptedError
        out = R.frontier(args["VAE"], args["GAN"], args["VAE-GAN"], n=N_SAMPLES, seed=seed)
        runs.append(out[role])
        real = out[REAL]
    return S.combine(runs, SEEDS, [k for k in KEYS if k in runs[0]]), real


def work(missing: list[tuple[str, Path]], *, shipped: bool = False):
    """A background job computing and storing the rows ``missing`` (see :func:`stored`)."""

    def run(progress, should_stop):
        for i, (role, path) in enumerate(missing):
            if should_stop():
                raise InterruptedError
            progress(i / len(missing), f"sampling {N_SAMPLES:,} digits x {len(SEEDS)} noise "
                                       f"seeds from the {role} "
                                       f"({i + 1} of {len(missing)})")
            row, real = compute(role, path, should_stop)
            derived.put(TABLE, row_key(role, path), row, shipped=shipped,
                        about={"role": role, "file": Path(path).name})
            derived.put(TABLE, REAL_KEY, real, shipped=shipped, about={"real": "mnist"})
        progress(1.0, "done")
        return {"rows": len(missing)}

    return run


def strips(models: dict[str, Any], seed: int, n: int = 8) -> tuple[list, list]:
    """What the frontier section shows for the picked models (role -> loaded model, None for
    none): ([(label, images)] of ``n`` held-out test digits and each encoder's reconstructions
    of them, [(label, images)] of ``n`` samples of each model), images as (h, w) arrays in
    [0, 1]; ``seed`` picks the digits and the noise."""
    import numpy as np
    import torch

    x_test = R.test_images("mnist")
    idx = torch.from_numpy(np.random.default_rng(int(seed)).choice(len(x_test), n,
                                                                    replace=False))
    shown = x_test[idx]
    recon = [("test digits", list(shown[:, 0].numpy()))]
    sampled = []
    for role in ROLES:
        m = models.get(role)
        if m is None:
            continue
        with torch.no_grad():
            if hasattr(m, "reconstruct") and role != "GAN":
                recon.append((f"{role} reconstructions",
                              list(m.reconstruct(shown).clamp(0, 1)[:, 0].cpu().numpy())))
            s = m.sample(n, seed=int(seed)) if role == "VAE" else R.samples(m, n, seed=int(seed))
        sampled.append((f"{role} samples", list(s.clamp(0, 1)[:, 0].cpu().numpy())))
    return recon, sampled
