"""What the flows page shows about a Glow beyond its card (issue 23, part 2): attribute
directions in its latent space and the likelihood it gives to images that are not digits.

**Attribute directions** (the Glow paper's face manipulation, on digits, without labels). Two
attributes are measured from the pixels of each training digit (:func:`attributes`):

- *thickness*: the stroke's width in pixels, 2 · ink area / ink perimeter (a stroke of length
  L and width w has area ≈ L·w and perimeter ≈ 2L); ink = pixels ≥ 0.5;
- *slant*: the shear of the ink, μ₁₁ / μ₀₂ of its intensity-weighted second moments with y
  pointing up (> 0: the top leans right; x changes this much per unit of height).

The direction of an attribute is the mean latent of the quarter of the 4,500 training digits
where it is highest minus the mean latent of the quarter where it is lowest (latents standardised
by the flow's priors, all levels in one vector; each digit encoded from its bins' centres,
(k + ½) / 256). Moving an image by α times the direction, decoding, and measuring again is the
test that it works: the page's sliders do exactly that.

**Likelihood of what is not a digit** (Nalisnick et al. 2019, "Do deep generative models know
what they don't know?": flows and VAEs trained on one data set can give a *different* data set a
higher likelihood). Exact bits/dim (:meth:`unsup.models.glow.Glow.bits_per_dim`, noise seed 0)
of the 500 held-out digits, 500 of the 8×8 digits (the "digits8" split's first training images;
the Glow never saw any of them) upscaled to 28×28, 500 images of uniform noise, and one blank (all-black) image.

Both are computed once per model file (keyed by its weights' SHA-256, :mod:`unsup.derived`): for
the shipped Glow by ``python scripts/precompute_derived.py glow``, for a user's run by a
background job (:func:`work`); the page reads them and runs only single images itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from unsup import checkpoints, derived

TABLE = "glow-analysis"
VERSION = 2
ATTRIBUTES = {"thickness": "stroke thickness (pixels: 2 · ink area / ink perimeter)",
              "slant": "slant (x shift per unit of height of the ink; > 0 leans right)"}
QUARTER = 0.25
N_SET = 500
SETS = {"heldout": "held-out digits (28×28 MNIST)",
        "digits8": "8×8 digits, upscaled to 28×28",
        "noise": "uniform noise",
        "blank": "a blank (all-black) image"}
BATCH = 250


# -- attributes measured from the pixels -------------------------------------------------------
def attributes(x: torch.Tensor | np.ndarray) -> dict[str, np.ndarray]:
    """Per image of ``x`` (n, 1, h, w) in [0, 1]: ``thickness``, ``slant`` and ``ink`` (the
    summed intensity, "stroke mass"). See the module docstring."""
    a = np.asarray(x, dtype=np.float64).reshape(len(x), x.shape[-2], x.shape[-1])
    ink = a >= 0.5
    area = ink.sum((1, 2)).astype(float)
    pad = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    perim = ((pad[:, 1:, :] != pad[:, :-1, :]).sum((1, 2))
             + (pad[:, :, 1:] != pad[:, :, :-1]).sum((1, 2))).astype(float)
    thickness = np.where(perim > 0, 2 * area / np.maximum(perim, 1), 0.0)
    h, w = a.shape[1:]
    ys = (h - 1 - np.arange(h))[None, :, None].astype(float)  # y up
    xs = np.arange(w)[None, None, :].astype(float)
    mass = a.sum((1, 2))
    safe = np.maximum(mass, 1e-9)
    mx = (a * xs).sum((1, 2)) / safe
    my = (a * ys).sum((1, 2)) / safe
    mu11 = (a * (xs - mx[:, None, None]) * (ys - my[:, None, None])).sum((1, 2)) / safe
    mu02 = (a * (ys - my[:, None, None]) ** 2).sum((1, 2)) / safe
    slant = np.where(mu02 > 1e-9, mu11 / np.maximum(mu02, 1e-9), 0.0)
    return {"thickness": thickness, "slant": slant, "ink": mass}


# -- the model's side ------------------------------------------------------------------------------
def latents(model, x: torch.Tensor, should_stop: Callable[[], bool] = lambda: False,
            on_batch: Callable[[int], None] | None = None) -> torch.Tensor:
    """(n, D) standardised latents of images ``x`` in [0, 1], each encoded from its bins'
    centres (deterministic)."""
    out = []
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(x), BATCH):
                if should_stop():
                    raise InterruptedError
                b = x[i:i + BATCH]
                eps, _ = model.encode(model.dequantize(b, torch.full_like(b, 0.5)))
                out.append(model.flatten(eps))
                if on_batch is not None:
                    on_batch(i + len(b))
    finally:
        model.train(was)
    return torch.cat(out)


def move(model, x: torch.Tensor, direction, alphas) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (len(alphas), 1, s, s) on the 8-bit grid, finite (len(alphas),) bool): the image
    ``x`` (1, 1, s, s) moved by each α times ``direction`` (a length-D vector) in the latent
    space, decoded. Far from the data the inverse's affine couplings can overflow (measured on
    the first shipped Glow along "slant": 1 of 40 held-out digits at α = 1, 6 at 1.5); such an
    image's non-finite pixels are shown black and ``finite`` says so."""
    d = torch.as_tensor(np.asarray(direction, dtype=np.float32))
    a = torch.as_tensor(np.asarray(alphas, dtype=np.float32))[:, None]
    with torch.no_grad():
        z = latents(model, x)
        y = model.decode(model.unflatten(z + a * d[None, :]))
        finite = torch.isfinite(y).flatten(1).all(1)
        return model.to_image(torch.nan_to_num(y, nan=0.0, posinf=1.0, neginf=0.0)), finite


def ood_sets(n: int = N_SET, seed: int = 0) -> dict[str, torch.Tensor]:
    """The images of :data:`SETS` (each (m, 1, 28, 28) in [0, 1])."""
    from unsup.data.images import load_split, resize_images

    held = load_split("mnist").x_test[:n]
    d8 = load_split("digits8").x_train[:n]  # its test split has only 179
    rng = np.random.default_rng(seed)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
    return {"heldout": t(resize_images(held, 28)),
            "digits8": t(resize_images(d8, 28)),
            "noise": t(rng.random((n, 1, 28, 28))),
            "blank": torch.zeros(1, 1, 28, 28)}


def compute(model, train_x: torch.Tensor, progress: Callable[[float, str], None] = lambda f, m: None,
            should_stop: Callable[[], bool] = lambda: False) -> dict[str, Any]:
    """The analysis of one Glow (see the module docstring): ``directions`` (attribute -> D
    floats), ``quartiles`` (attribute -> [mean of the low quarter, of the high quarter] of the
    training digits), ``bpd`` (set -> bits/dim per image)."""
    n = len(train_x)
    z = latents(model, train_x, should_stop,
                lambda i: progress(0.8 * i / n, f"encoding the training digits ({i:,} of {n:,})"))
    att = attributes(train_x)
    k = max(1, int(round(QUARTER * n)))
    directions, quartiles = {}, {}
    for name in ATTRIBUTES:
        order = np.argsort(att[name], kind="stable")
        lo, hi = torch.from_numpy(order[:k].copy()), torch.from_numpy(order[-k:].copy())
        d = z[hi].double().mean(0) - z[lo].double().mean(0)
        directions[name] = [round(float(v), 5) for v in d]
        quartiles[name] = [round(float(att[name][order[:k]].mean()), 4),
                           round(float(att[name][order[-k:]].mean()), 4)]
    bpd = {}
    sets = ood_sets()
    for i, (name, imgs) in enumerate(sets.items()):
        if should_stop():
            raise InterruptedError
        progress(0.8 + 0.2 * i / len(sets), f"bits/dim of {SETS[name]}")
        vals = model.bits_per_dim(imgs, noise_seed=0).numpy()
        bpd[name] = [round(float(v), 4) if np.isfinite(v) else None for v in vals]
    return {"directions": directions, "quartiles": quartiles, "bpd": bpd,
            "n_train": int(n), "quarter": QUARTER}


def key_of(path: str | Path) -> str:
    return derived.key("glow-analysis", derived.file_sha(path), VERSION, N_SET, QUARTER)


def stored(path: str | Path) -> dict[str, Any] | None:
    """The stored analysis of the Glow at ``path``, or None (not computed yet)."""
    return derived.get(TABLE, key_of(path))


def work(path: str | Path, *, shipped: bool = False):
    """A background job computing and storing the analysis of the Glow at ``path``."""

    def run(progress, should_stop):
        from unsup.data.images import training_tensor

        progress(0.0, "reading the model and the training digits")
        model = checkpoints.load(path)
        x = training_tensor("mnist", 28, binary=False)
        value = compute(model, x, progress, should_stop)
        derived.put(TABLE, key_of(path), value, shipped=shipped,
                    about={"file": Path(path).name})
        progress(1.0, "done")
        return {"stored": Path(path).name}

    return run


def nalisnick_sentence(bpd: dict[str, list]) -> str:
    """One sentence computed from the stored bits/dim: which set the model finds most likely,
    and whether a set that is not MNIST beats the held-out digits."""
    med = {k: float(np.median([v for v in vals if v is not None]))
           for k, vals in bpd.items() if any(v is not None for v in vals)}
    if "heldout" not in med:
        return ""
    held = med["heldout"]
    better = [k for k in ("digits8", "noise", "blank") if k in med and med[k] < held]
    worse = [k for k in ("digits8", "noise", "blank") if k in med and med[k] >= held]
    parts = []
    if better:
        parts.append("gives " + " and ".join(f"{SETS[k]} ({med[k]:.2f} bits/dim)" for k in better)
                     + f" a higher likelihood than the held-out digits ({held:.2f}): "
                       "what Nalisnick et al. found — a high likelihood does not mean "
                       "\"looks like the training data\"")
    if worse:
        parts.append(("and " if better else "gives ") + " and ".join(
            f"{SETS[k]} ({med[k]:.2f})" for k in worse) + " a lower one"
            + ("" if better else f" than the held-out digits ({held:.2f} bits/dim): on these "
               "sets it does not show Nalisnick et al.'s effect"))
    return "This Glow " + "; ".join(parts) + " (medians; lower bits/dim = more likely)."
