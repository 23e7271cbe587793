"""Two-domain image sets for unpaired translation (CycleGAN), built offline.

Two pairs, both 3-channel float32 images in [0, 1], (n, 3, s, s):

``digits`` — MNIST ↔ MNIST-M, the construction of Ganin & Lempitsky 2015 (sec. 5.1): a
digit x in [0, 1] is blended over a colour patch p cut at a random place from a photograph,
channel by channel, as the absolute difference ``|p - x|`` (so strokes come out as the
photograph's colours inverted, the background as the photograph). The original cuts its patches
from BSDS500; here they come from the photographs scikit-image (``skimage.data``) and
scikit-learn (``load_sample_images``) ship, so nothing is downloaded.

- Domain A: the digits of the project's MNIST split (:func:`unsup.data.images.load_split`),
  zero-padded from 28 to 32 px (the stroke scale is kept) and repeated over 3 channels.
- Domain B: MNIST-M images made from *other* digits. The split's train digits are halved,
  stratified by class and seeded: A uses one half, B is built from the other, so no B training
  image is a translation of an A training image (training is unpaired). The test digits are
  halved the same way.
- Held out: background patches of the test images come from photographs no training image uses
  (:data:`TEST_PHOTOS`). Because B is built from A, every held-out A image has its paired ground
  truth ``b_of_a_test`` = B(x) (the same digit over a held-out patch), and every held-out B
  image its source digit ``a_of_b_test``. These pairs are for evaluation only; nothing trains on
  them.

``photos`` — a photograph ↔ the same kind of photograph in "winter" (the lecture's horses ↔
zebras in spirit, a season transfer like the CycleGAN paper's summer ↔ winter Yosemite):

- Domain A: square patches cut at random places (and random scales, 1x to 3x the side) from the
  shipped photographs, resized to s px.
- Domain B: *other* patches (drawn with another seed) put through :func:`winter`: colours pulled
  toward grey (saturation x 0.35), lifted toward white (``0.3 + 0.75 x``), tinted cold
  (R x 0.9, G x 0.97, B x 1.1) and sprinkled with soft snow flecks (2% of pixels, blurred 3x3;
  :func:`winter`).
- Held out: patches of :data:`TEST_PHOTOS`, with the paired truth ``winter(a)`` for each held-out
  A patch and the source patch for each held-out B patch.

:class:`UnpairedDomains` is what :func:`unsup.train.fit` indexes: ``data[idx]`` gives a batch
(k, 2, 3, s, s) whose ``[:, 0]`` are A images and ``[:, 1]`` B images, the B partner of item i
fixed by a seeded permutation of the indices (a different B image for every A image, never its
translation).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from unsup.data.images import load_split, stratified_split

DOMAIN_SEED = 15
"""Seed of the domain halving, the patch places and the snow flecks."""

TRAIN_PHOTOS = ("astronaut", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry",
                "sklearn:china.jpg")
"""Photographs the training patches are cut from (``skimage.data`` names; ``sklearn:`` for
scikit-learn's ``load_sample_images``)."""
TEST_PHOTOS = ("chelsea", "sklearn:flower.jpg")
"""Photographs only held-out patches are cut from."""

PAIRS = ("digits", "photos")
"""Names of the built-in domain pairs."""
PAIR_LABELS = {"digits": ("MNIST digits", "MNIST-M (digits over photo patches)"),
               "photos": ("photo patches", "the same patches in winter")}
"""(domain A, domain B) display names of each pair."""


# -- photographs ----------------------------------------------------------------------------------
def _read_photo(name: str) -> np.ndarray:
    """The photograph as the package ships it (uint8), kept decoded in the cache folder after
    the first read (importing and decoding through scikit-learn costs ~2 s; the cached array
    loads in milliseconds, so a page that shows the pairs opens fast)."""
    from unsup import paths

    cache = paths.cache_dir() / "photos" / f"{name.replace(':', '-')}.npy"
    if cache.exists():
        try:
            return np.load(cache, allow_pickle=False)
        except (OSError, ValueError):
            pass
    if name.startswith("sklearn:"):
        from sklearn.datasets import load_sample_image

        img = load_sample_image(name.split(":", 1)[1])
    else:
        import skimage.data

        img = getattr(skimage.data, name)()
    img = np.ascontiguousarray(np.asarray(img))
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.stem}.{os.getpid()}.tmp.npy")
        np.save(tmp, img, allow_pickle=False)
        tmp.replace(cache)
    except OSError:
        pass
    return img


@lru_cache(maxsize=None)
def load_photo(name: str) -> np.ndarray:
    """One shipped photograph as float32 RGB (h, w, 3) in [0, 1] (read-only)."""
    img = _read_photo(name)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = img[..., :3].astype(np.float32) / 255.0
    img.setflags(write=False)
    return img


def photo_patches(names: tuple[str, ...], n: int, size: int, seed: int, *,
                  max_scale: float = 1.0) -> np.ndarray:
    """``n`` square patches (n, 3, size, size) cut at seeded random places from ``names``.

    Each patch picks a photograph uniformly, a side of ``size`` x U(1, ``max_scale``) pixels
    (at most the photograph's short side) and a uniform place; patches larger than ``size`` are
    resized to it (bilinear, antialiased), so ``max_scale`` > 1 mixes zoom levels.
    """
    rng = np.random.default_rng([DOMAIN_SEED, seed])
    photos = [load_photo(p) for p in names]
    which = rng.integers(len(photos), size=n)
    scale = rng.uniform(1.0, max_scale, size=n)
    fy, fx = rng.random(n), rng.random(n)
    out = np.empty((n, 3, size, size), np.float32)
    for i in range(n):
        img = photos[which[i]]
        h, w = img.shape[:2]
        side = int(min(round(size * scale[i]), h, w))
        y, x = int(fy[i] * (h - side + 1)), int(fx[i] * (w - side + 1))
        out[i] = img[y:y + side, x:x + side].transpose(2, 0, 1)[:, :size, :size] if side == size \
            else _resize(img[y:y + side, x:x + side].transpose(2, 0, 1), size)
    return out


def _resize(chw: np.ndarray, size: int) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(chw))[None]
    t = torch.nn.functional.interpolate(t, size=(size, size), mode="bilinear",
                                        align_corners=False, antialias=True)
    return t[0].clamp(0, 1).numpy()


# -- the two translations that make domain B ------------------------------------------------------
def pad_digits(x: np.ndarray, size: int = 32) -> np.ndarray:
    """Grey digits (n, 1, h, w) zero-padded (centred) to (n, 3, size, size), repeated over RGB."""
    n, _, h, w = x.shape
    if h > size or w > size:
        raise ValueError(f"digits of {h}x{w} px do not fit in {size} px; use size >= {max(h, w)}")
    top, left = (size - h) // 2, (size - w) // 2
    out = np.zeros((n, 1, size, size), np.float32)
    out[:, :, top:top + h, left:left + w] = x
    return np.repeat(out, 3, axis=1)


def mnist_m(digits: np.ndarray, patches: np.ndarray) -> np.ndarray:
    """MNIST-M blend (Ganin & Lempitsky 2015): ``|patch - digit|`` per channel.

    ``digits``: (n, 1 or 3, s, s) in [0, 1] (grey; with 3 channels the first is used);
    ``patches``: (n, 3, s, s). Returns (n, 3, s, s) float32 in [0, 1].
    """
    return np.abs(patches - digits[:, :1]).astype(np.float32)


def winter(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """The "winter" style of the photo pair, (n, 3, s, s) -> (n, 3, s, s) in [0, 1].

    Saturation x 0.35 around the luminance (ITU-R 601 weights), a lift toward white
    (0.3 + 0.75 v), a cold tint (R x 0.9, G x 0.97, B x 1.1) and snow: 2% of the pixels, chosen
    with ``seed``, softened by a 3x3 box blur (weight 1 at a fleck, 1/3 around it) and added
    x 0.7, then everything clipped to [0, 1].
    """
    x = np.asarray(x, dtype=np.float32)
    lum = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None]  # (n, 1, s, s)
    v = lum + 0.35 * (x - lum)
    v = 0.3 + 0.75 * v
    v = v * np.array([0.9, 0.97, 1.1], np.float32)[None, :, None, None]
    rng = np.random.default_rng([DOMAIN_SEED, 7, seed])
    flecks = (rng.random((x.shape[0], 1) + x.shape[2:]) < 0.02).astype(np.float32)
    soft = torch.nn.functional.avg_pool2d(torch.from_numpy(flecks), 3, 1, 1).numpy()
    snow = np.clip(flecks + 3.0 * soft, 0.0, 1.0)  # 1 at a fleck, 1/3 around it
    v = v + 0.7 * snow
    return v.clip(0.0, 1.0).astype(np.float32)


# -- the pairs ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DomainPair:
    """Two unpaired domains with a fixed train/test split (arrays (n, 3, s, s) in [0, 1]).

    ``y_*`` are digit labels (None for the photo pair). ``b_of_a_test`` is the paired ground
    truth B(x) of each held-out A image and ``a_of_b_test`` the source A image of each held-out
    B image: for evaluation only (None for a pair of uploaded image sets, which has no truth).
    """

    name: str
    a_train: np.ndarray
    b_train: np.ndarray
    a_test: np.ndarray
    b_test: np.ndarray
    b_of_a_test: np.ndarray | None
    a_of_b_test: np.ndarray | None
    y_a_train: np.ndarray | None = None
    y_b_train: np.ndarray | None = None
    y_a_test: np.ndarray | None = None
    y_b_test: np.ndarray | None = None

    @property
    def image_size(self) -> int:
        return int(self.a_train.shape[-1])

    @property
    def labels(self) -> tuple[str, str]:
        """(domain A, domain B) display names."""
        return PAIR_LABELS.get(self.name, ("domain A", "domain B"))

    def fingerprint(self) -> str:
        """sha256 of the training images of both domains (first 16 hex digits)."""
        h = hashlib.sha256(self.name.encode())
        for arr in (self.a_train, self.b_train):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()[:16]

    def training_data(self, seed: int = 0) -> "UnpairedDomains":
        """The Indexable ``fit`` trains on (unpaired (a, b) items)."""
        return UnpairedDomains(self.a_train, self.b_train, seed=seed)


def _frozen(**arrays: np.ndarray | None) -> dict:
    for v in arrays.values():
        if v is not None:
            v.setflags(write=False)
    return arrays


def digit_halves() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Indices into the MNIST split's (train, train, test, test) arrays of the digits of
    (A train, B train, A test, B test): each half holds half of every class, seeded."""
    split = load_split("mnist")
    tr_a, tr_b = stratified_split(split.y_train, 0.5, DOMAIN_SEED)  # B gets half of each class
    te_a, te_b = stratified_split(split.y_test, 0.5, DOMAIN_SEED + 1)
    return tr_a, tr_b, te_a, te_b


@lru_cache(maxsize=4)
def load_digit_domains(size: int = 32) -> DomainPair:
    """MNIST ↔ MNIST-M at ``size`` px (>= 28), built from the MNIST split (module docstring)."""
    split = load_split("mnist")
    tr_a, tr_b, te_a, te_b = digit_halves()
    a_tr = pad_digits(split.x_train[tr_a], size)
    src_b_tr = pad_digits(split.x_train[tr_b], size)
    a_te = pad_digits(split.x_test[te_a], size)
    src_b_te = pad_digits(split.x_test[te_b], size)
    b_tr = mnist_m(src_b_tr, photo_patches(TRAIN_PHOTOS, len(src_b_tr), size, seed=1))
    b_te = mnist_m(src_b_te, photo_patches(TEST_PHOTOS, len(src_b_te), size, seed=2))
    truth = mnist_m(a_te, photo_patches(TEST_PHOTOS, len(a_te), size, seed=3))
    return DomainPair("digits", **_frozen(
        a_train=a_tr, b_train=b_tr, a_test=a_te, b_test=b_te, b_of_a_test=truth,
        a_of_b_test=src_b_te, y_a_train=split.y_train[tr_a].copy(),
        y_b_train=split.y_train[tr_b].copy(), y_a_test=split.y_test[te_a].copy(),
        y_b_test=split.y_test[te_b].copy()))


@lru_cache(maxsize=4)
def load_photo_domains(size: int = 32, n_train: int = 2000, n_test: int = 200) -> DomainPair:
    """Photo patches ↔ the same kind of patches in winter (module docstring); ``n_train``
    patches per domain for training, ``n_test`` held out per domain."""
    a_tr = photo_patches(TRAIN_PHOTOS, n_train, size, seed=11, max_scale=3.0)
    b_src = photo_patches(TRAIN_PHOTOS, n_train, size, seed=12, max_scale=3.0)
    b_tr = winter(b_src, seed=12)
    a_te = photo_patches(TEST_PHOTOS, n_test, size, seed=13, max_scale=3.0)
    b_te_src = photo_patches(TEST_PHOTOS, n_test, size, seed=14, max_scale=3.0)
    b_te = winter(b_te_src, seed=14)
    truth = winter(a_te, seed=13)
    return DomainPair("photos", **_frozen(
        a_train=a_tr, b_train=b_tr, a_test=a_te, b_test=b_te, b_of_a_test=truth,
        a_of_b_test=b_te_src))


def paired_truth(name: str, a: np.ndarray, seed: int = 0) -> np.ndarray:
    """B(x) for any A images ``a`` (n, 3, s, s) of the pair ``name``: the digits over held-out
    photo patches (``digits``; patches drawn with ``seed``) or the patches in winter
    (``photos``; snow drawn with ``seed``). For evaluation and display only, never training."""
    a = np.asarray(a, dtype=np.float32)
    if name == "digits":
        return mnist_m(a, photo_patches(TEST_PHOTOS, len(a), a.shape[-1], seed=1_000 + seed))
    if name == "photos":
        return winter(a, seed=1_000 + seed)
    raise KeyError(f"unknown domain pair {name!r}; known: {', '.join(PAIRS)}")


def load_domains(name: str = "digits", size: int = 32) -> DomainPair:
    """The built-in pair ``name`` ("digits" or "photos") at ``size`` px."""
    if name == "digits":
        return load_digit_domains(size)
    if name == "photos":
        return load_photo_domains(size)
    raise KeyError(f"unknown domain pair {name!r}; known: {', '.join(PAIRS)}")


class UnpairedDomains:
    """Unpaired two-domain training data for :func:`unsup.train.fit`.

    ``len`` is the number of A images; ``data[idx]`` (LongTensor (k,)) is a tensor
    (k, 2, 3, s, s): ``[:, 0]`` = A images ``a[idx]``, ``[:, 1]`` = B images
    ``b[partner[idx]]``, where ``partner`` is a permutation seeded by ``seed`` (taken modulo the
    number of B images). Which B image goes with an A image is a function of the index alone,
    so a batch is reproducible from (seed, step) and resume stays exact.
    """

    def __init__(self, a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor, *,
                 seed: int = 0):
        self.a = torch.tensor(np.asarray(a), dtype=torch.float32)  # a writable copy
        self.b = torch.tensor(np.asarray(b), dtype=torch.float32)
        if self.a.dim() != 4 or self.a.shape[1:] != self.b.shape[1:]:
            raise ValueError(f"both domains must be images of one shape (n, c, s, s); got "
                             f"A {tuple(self.a.shape)} and B {tuple(self.b.shape)}")
        if len(self.a) == 0 or len(self.b) == 0:
            raise ValueError("each domain needs at least one image")
        g = torch.Generator().manual_seed(DOMAIN_SEED * 1_000 + int(seed))
        self.partner = torch.randperm(max(len(self.a), len(self.b)), generator=g)[:len(self.a)]
        self.partner %= len(self.b)

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, idx: torch.Tensor) -> torch.Tensor:
        idx = torch.as_tensor(idx, dtype=torch.long)
        return torch.stack([self.a[idx], self.b[self.partner[idx]]], dim=1)  # (k, 2, c, s, s)
