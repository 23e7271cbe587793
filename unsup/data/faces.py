"""Generated cartoon faces with known landmarks, and warped image pairs for keypoint discovery.

The faces are the evaluation set of the keypoint page (issue 14): one object category rendered at
any size (64x64 by default) with varied position, rotation, scale, aspect, head turn (the inner
features slide sideways and the near eye grows), feature shapes and colours, on a mild background
(a pale two-colour gradient plus a faint low-frequency ripple; the calibration run of the issue
found that strong background texture makes keypoints chase the background). Every face comes with
five ground-truth landmarks, the MAFL set: both eye centres, the nose tip and both mouth corners.

Coordinates everywhere are normalised image coordinates ``(x, y)`` in [-1, 1]: x grows to the
right, y grows downwards, and pixel column ``j`` of an ``s``-pixel image has its centre at
``x = (2j + 1) / s - 1`` (the ``align_corners=False`` convention of ``grid_sample``).

A face is a function of its parameter vector only, and the parameters of the whole set are drawn
once from ``seed``; the train / held-out split is a seeded permutation of the same set. Images are
rendered lazily per batch, in torch, with soft (anti-aliased) edges.

:class:`WarpedPairs` turns any image set into the training data of Jakab et al. 2018: item ``i``
is a pair (source, target) of two independent random warps (affine + mild smooth elastic) of the
same image, stacked as a tensor (2, c, s, s). The warps are a function of (seed, i) only, so a
resumed run sees the same pairs; ``variants`` copies of each image (each with its own warps) give
the warp diversity of an infinite stream within a plain, indexable data set.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

IMAGE_SIZE = 64
N_TRAIN = 6000
N_HELDOUT = 1000
SEED = 0
LANDMARK_NAMES = ("eye (image left)", "eye (image right)", "nose tip",
                  "mouth corner (image left)", "mouth corner (image right)")
"""The five annotated landmarks, in this order; the first two define the inter-ocular distance."""
EYES = (0, 1)


# -- coordinates ---------------------------------------------------------------------------------
def pixel_centres(size: int) -> torch.Tensor:
    """Normalised coordinates of the pixel centres of a ``size``-pixel side, (size,)."""
    return (torch.arange(size, dtype=torch.float32) * 2 + 1) / size - 1


def pixel_grid(size: int) -> torch.Tensor:
    """(size, size, 2) grid of (x, y) pixel centres: ``grid[i, j] = (x_j, y_i)``."""
    c = pixel_centres(size)
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([xx, yy], dim=-1)


# -- face parameters -----------------------------------------------------------------------------
PARAM_NAMES = (
    "cx", "cy", "scale", "angle", "aspect", "yaw", "pitch",
    "eye_dx", "eye_y", "eye_size", "nose_y", "nose_len", "mouth_w", "mouth_y", "mouth_h",
    "hair_line", "brow_tilt",
    "skin_r", "skin_g", "skin_b", "hair_r", "hair_g", "hair_b", "iris_r", "iris_g", "iris_b",
    "lip_r", "lip_g", "lip_b", "bg1_r", "bg1_g", "bg1_b", "bg2_r", "bg2_g", "bg2_b",
    "bg_dir", "ripple_amp", "ripple_fx", "ripple_fy", "ripple_phase",
)


def draw_params(n: int, seed: int, *, background: float = 1.0) -> np.ndarray:
    """Parameters of ``n`` random faces, (n, len(PARAM_NAMES)) float32, drawn with ``seed``.

    ``background`` scales the amplitude of the background ripple (0: a plain gradient).
    """
    r = np.random.default_rng(seed)
    u = lambda lo, hi: r.uniform(lo, hi, n)  # noqa: E731
    skin_base = np.array([[0.98, 0.84, 0.70], [0.87, 0.68, 0.52], [0.62, 0.44, 0.32],
                          [0.95, 0.80, 0.45], [0.70, 0.85, 0.60], [0.75, 0.75, 0.95]])
    skin = skin_base[r.integers(0, len(skin_base), n)] + r.normal(0, 0.04, (n, 3))
    hair = r.uniform(0.0, 0.5, (n, 3)) * r.uniform(0.3, 1.0, (n, 1))
    iris = r.uniform(0.0, 0.6, (n, 3))
    lip = np.stack([u(0.55, 0.85), u(0.1, 0.3), u(0.15, 0.35)], 1)
    bg1 = r.uniform(0.55, 0.95, (n, 3))
    bg2 = np.clip(bg1 + r.normal(0, 0.12, (n, 3)), 0, 1)
    cols = [
        u(-0.12, 0.12), u(-0.1, 0.1),  # cx, cy: face centre
        u(0.56, 0.72),  # scale: half-height of the face, in image units
        r.normal(0, 0.25, n).clip(-0.5, 0.5),  # angle (radians, in-plane rotation)
        u(0.75, 0.95),  # aspect: width / height
        u(-1.0, 1.0),  # yaw: head turn, -1 (to image left) .. 1
        u(-1.0, 1.0),  # pitch: nod
        u(0.30, 0.40), u(-0.30, -0.16), u(0.85, 1.2),  # eyes: half spacing, height, size
        u(0.12, 0.24), u(0.22, 0.32),  # nose tip height, nose length
        u(0.22, 0.34), u(0.48, 0.60), u(0.03, 0.09),  # mouth: half width, height, thickness
        u(-0.70, -0.52), u(-0.15, 0.15),  # hair line, eyebrow tilt
        *skin.clip(0, 1).T, *hair.T, *iris.T, *lip.T, *bg1.T, *bg2.T,
        u(0, 2 * math.pi),  # direction of the background gradient
        u(0.0, 0.06) * background, u(1.0, 3.0), u(1.0, 3.0), u(0, 2 * math.pi),  # ripple
    ]
    return np.stack(cols, 1).astype(np.float32)


def _p(params: torch.Tensor, name: str) -> torch.Tensor:
    return params[:, PARAM_NAMES.index(name)]


def _face_frame(params: torch.Tensor):
    """(centre (b, 2), rotation (b, 2, 2), axis scales (b, 2)) mapping face units to image."""
    c = torch.stack([_p(params, "cx"), _p(params, "cy")], 1)
    a = _p(params, "angle")
    rot = torch.stack([torch.stack([a.cos(), -a.sin()], 1),
                       torch.stack([a.sin(), a.cos()], 1)], 1)  # (b, 2, 2)
    s = _p(params, "scale")
    return c, rot, torch.stack([s * _p(params, "aspect"), s], 1)


def _features(params: torch.Tensor) -> dict[str, torch.Tensor]:
    """Positions (face units, (b, 2)) of the parts, shared by drawing and landmarks."""
    yaw, pitch = _p(params, "yaw"), _p(params, "pitch")
    shift_x, shift_y = 0.22 * yaw, 0.08 * pitch
    dx, ey = _p(params, "eye_dx"), _p(params, "eye_y") + shift_y

    def xy(x, y):
        return torch.stack([x, y], 1)

    mouth_y = _p(params, "mouth_y") + shift_y
    return {
        "eye_l": xy(shift_x - dx * (1 - 0.25 * yaw), ey),
        "eye_r": xy(shift_x + dx * (1 + 0.25 * yaw), ey),
        "nose": xy(1.3 * shift_x, _p(params, "nose_y") + 1.3 * shift_y),
        "mouth_l": xy(shift_x - _p(params, "mouth_w") * (1 - 0.2 * yaw), mouth_y),
        "mouth_r": xy(shift_x + _p(params, "mouth_w") * (1 + 0.2 * yaw), mouth_y),
    }


def face_landmarks(params: torch.Tensor | np.ndarray) -> torch.Tensor:
    """The five landmarks (:data:`LANDMARK_NAMES`) of each face, (b, 5, 2) in [-1, 1]."""
    params = torch.as_tensor(params, dtype=torch.float32)
    f = _features(params)
    pts = torch.stack([f["eye_l"], f["eye_r"], f["nose"], f["mouth_l"], f["mouth_r"]], 1)
    c, rot, ax = _face_frame(params)
    return c[:, None] + torch.einsum("bij,bkj->bki", rot, pts * ax[:, None])


def render_faces(params: torch.Tensor | np.ndarray, size: int = IMAGE_SIZE) -> torch.Tensor:
    """Images of the faces ``params`` (see :func:`draw_params`), (b, 3, size, size) in [0, 1]."""
    params = torch.as_tensor(params, dtype=torch.float32)
    b = params.shape[0]
    g = pixel_grid(size).view(1, -1, 2)  # (1, s*s, 2)
    c, rot, ax = _face_frame(params)
    # face units of every pixel: u = diag(1/ax) R^T (p - c)
    local = torch.einsum("bji,bnj->bni", rot, g - c[:, None]) / ax[:, None]  # (b, s*s, 2)
    u, v = local[..., 0], local[..., 1]
    px = 0.5 * size * ax.min(1).values[:, None]  # pixels per face unit (smaller axis)

    def rgb(prefix):
        return torch.stack([_p(params, f"{prefix}_{k}") for k in "rgb"], 1)[:, :, None]

    def ellipse(cx, cy, rx, ry, tilt=None):
        """Soft coverage (b, s*s) of the ellipse centred (cx, cy) with radii (rx, ry), all (b,)
        tensors in face units, rotated by ``tilt``; edges about one pixel wide."""
        du, dv = u - cx[:, None], v - cy[:, None]
        if tilt is not None:
            ct, st = tilt.cos()[:, None], tilt.sin()[:, None]
            du, dv = ct * du + st * dv, -st * du + ct * dv
        rx, ry = rx[:, None], ry[:, None]  # (b, 1), face units
        d = torch.sqrt((du / rx) ** 2 + (dv / ry) ** 2 + 1e-12)
        grad = torch.sqrt((du / rx ** 2) ** 2 + (dv / ry ** 2) ** 2 + 1e-12) / d
        dist = (1 - d) / grad  # signed distance to the outline (first order), face units
        return torch.sigmoid(dist * px / 0.5)

    def paint(img, cover, colour):
        return img + cover[:, None] * (colour - img)

    # background: a pale gradient with a faint ripple
    d = _p(params, "bg_dir")
    t = (g[..., 0] * d.cos()[:, None] + g[..., 1] * d.sin()[:, None]) * 0.5 + 0.5  # (b, s*s)
    img = rgb("bg1") + t[:, None] * (rgb("bg2") - rgb("bg1"))
    ripple = torch.sin(math.pi * (_p(params, "ripple_fx")[:, None] * g[..., 0]
                                  + _p(params, "ripple_fy")[:, None] * g[..., 1])
                       + _p(params, "ripple_phase")[:, None])
    img = img + (_p(params, "ripple_amp")[:, None] * ripple)[:, None]

    f = _features(params)
    one = torch.ones(b)
    zero = torch.zeros(b)
    yaw = _p(params, "yaw")
    img = paint(img, ellipse(zero, zero, one, one), rgb("skin"))
    hair = ellipse(zero, zero, one, one) * torch.sigmoid(
        (_p(params, "hair_line")[:, None] - v) * px / 0.6)
    img = paint(img, hair, rgb("hair"))
    size_e = _p(params, "eye_size")
    white = torch.tensor([0.97, 0.97, 0.97])[None, :, None]
    dark = torch.tensor([0.05, 0.05, 0.08])[None, :, None]
    for side, key in ((-1, "eye_l"), (1, "eye_r")):
        e = f[key]
        grow = size_e * (1 + 0.2 * side * yaw)  # a cartoon cue of the turn: one eye larger
        img = paint(img, ellipse(e[:, 0], e[:, 1], 0.17 * grow, 0.11 * grow), white)
        img = paint(img, ellipse(e[:, 0], e[:, 1], 0.085 * grow, 0.085 * grow), rgb("iris"))
        img = paint(img, ellipse(e[:, 0], e[:, 1], 0.04 * grow, 0.04 * grow), dark)
        brow_tilt = side * _p(params, "brow_tilt")
        img = paint(img, ellipse(e[:, 0], e[:, 1] - 0.18 * grow, 0.13 * grow, 0.035 * one,
                                 tilt=brow_tilt), 0.7 * rgb("hair"))
    nose = f["nose"]
    nl = _p(params, "nose_len")
    shade = 0.8 * rgb("skin")
    img = paint(img, ellipse(nose[:, 0], nose[:, 1] - nl / 2, 0.07 * one, nl / 2), shade)
    img = paint(img, ellipse(nose[:, 0], nose[:, 1] - 0.02, 0.06 * one, 0.035 * one),
                0.55 * rgb("skin"))
    ml, mr = f["mouth_l"], f["mouth_r"]
    mc = (ml + mr) / 2
    mw = (mr[:, 0] - ml[:, 0]) / 2
    img = paint(img, ellipse(mc[:, 0], mc[:, 1], mw, _p(params, "mouth_h")), rgb("lip"))
    return img.clamp(0, 1).view(b, 3, size, size)


# -- the data set --------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _all_params(n: int, seed: int, background: float) -> np.ndarray:
    return draw_params(n, seed, background=background)


@lru_cache(maxsize=8)
def _split(n_train: int, n_heldout: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(seed + 1).permutation(n_train + n_heldout)
    return np.sort(perm[:n_train]), np.sort(perm[n_train:])


class Faces:
    """Generated cartoon faces with five landmarks, lazy and indexable.

    Parameters
    ----------
    split : {"train", "heldout"}
        The seeded split of the ``n_train + n_heldout`` faces drawn with ``seed``.
    size : int
        Side of the rendered images, in pixels.
    background : float
        Amplitude of the background ripple (1 = the default, mild; 0 = plain gradient).

    ``len(ds)``; ``ds[idx]`` (int, list, array or LongTensor) gives (b, 3, size, size) float32 in
    [0, 1]; ``ds.landmarks(idx)`` gives (b, 5, 2) in [-1, 1] (:data:`LANDMARK_NAMES`).
    """

    landmark_names = LANDMARK_NAMES

    def __init__(self, split: str = "train", size: int = IMAGE_SIZE, *, n_train: int = N_TRAIN,
                 n_heldout: int = N_HELDOUT, seed: int = SEED, background: float = 1.0):
        if split not in ("train", "heldout"):
            raise ValueError(f"split must be 'train' or 'heldout', not {split!r}")
        if size < 8:
            raise ValueError(f"size must be at least 8 pixels, got {size}")
        self.split, self.size, self.seed = split, int(size), int(seed)
        self.n_train, self.n_heldout = int(n_train), int(n_heldout)
        self.background = float(background)
        tr, te = _split(self.n_train, self.n_heldout, self.seed)
        self._map = tr if split == "train" else te

    def __len__(self) -> int:
        return len(self._map)

    def params(self, idx) -> np.ndarray:
        i = idx.numpy() if isinstance(idx, torch.Tensor) else np.asarray(idx)
        i = i.astype(np.int64).reshape(-1)
        allp = _all_params(self.n_train + self.n_heldout, self.seed, self.background)
        return allp[self._map[i]]

    def __getitem__(self, idx) -> torch.Tensor:
        return render_faces(self.params(idx), self.size)

    def landmarks(self, idx) -> torch.Tensor:
        return face_landmarks(self.params(idx))

    def arrays(self, n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The first ``n`` (default all) images and landmarks of the split."""
        idx = np.arange(len(self) if n is None else min(int(n), len(self)))
        return self[idx], self.landmarks(idx)

    def fingerprint(self) -> str:
        """sha256 (16 hex digits) of the specification, the split and a few rendered faces."""
        h = hashlib.sha256()
        h.update(f"faces/{self.split}/{self.size}/{self.n_train}/{self.n_heldout}/{self.seed}/"
                 f"{self.background}".encode())
        h.update(np.ascontiguousarray(self._map).tobytes())
        probe = np.arange(0, len(self), max(1, len(self) // 16))
        h.update((self[probe] * 255).round().to(torch.uint8).numpy().tobytes())
        return h.hexdigest()[:16]

    def card(self) -> dict:
        return {"name": "faces", "split": self.split, "n": len(self), "size": self.size,
                "seed": self.seed, "background": self.background,
                "heldout": {"n": self.n_heldout}, "fingerprint": self.fingerprint()}


# -- warps ---------------------------------------------------------------------------------------
@dataclass
class WarpSpec:
    """Ranges of the random warps that make a training pair (all mild by default)."""

    rotation: float = 12.0
    """Largest rotation, degrees (uniform in +-rotation)."""
    scale: float = 0.08
    """Largest relative zoom (uniform log-scale in +-scale)."""
    shift: float = 0.08
    """Largest translation, normalised units (image width = 2)."""
    elastic: float = 0.03
    """Standard deviation of the elastic displacement at the control points, normalised units."""
    grid: int = 4
    """Control points per side of the smooth (bicubic) elastic displacement field."""


@dataclass
class Warp:
    """A batch of warps. Output pixel ``p`` samples the input at ``T(p) = A p + t + d(p)``, where
    ``theta = [A | t]`` (b, 2, 3) and ``d`` is the bicubic interpolation of ``flow`` (b, 2, g, g),
    a displacement field on a g x g grid spanning [-1, 1] (None: affine only)."""

    theta: torch.Tensor
    flow: torch.Tensor | None = None

    def source_coords(self, p: torch.Tensor) -> torch.Tensor:
        """T(p) for points p (b, n, 2) -> (b, n, 2)."""
        q = torch.einsum("bij,bnj->bni", self.theta[:, :, :2], p) + self.theta[:, None, :, 2]
        if self.flow is not None:
            d = F.grid_sample(self.flow, p[:, :, None, :], mode="bicubic", align_corners=True,
                              padding_mode="border")  # (b, 2, n, 1)
            q = q + d[..., 0].transpose(1, 2)
        return q

    def apply(self, images: torch.Tensor, padding: str = "reflection") -> torch.Tensor:
        """The warped images, (b, c, s, s)."""
        b, _, s, _ = images.shape
        grid = pixel_grid(s).view(1, -1, 2).expand(b, -1, -1).to(images)
        src = self.source_coords(grid).view(b, s, s, 2)
        return F.grid_sample(images, src, mode="bilinear", padding_mode=padding,
                             align_corners=False)

    def map_points(self, q: torch.Tensor, iters: int = 30) -> torch.Tensor:
        """Where the input points q (b, n, 2) land in the warped image: p with T(p) = q.

        Exact for an affine warp; with a flow, fixed-point iterations p <- p - A^-1 (T(p) - q)
        from the affine solution (they converge for the mild displacements used here).
        """
        a_inv = torch.linalg.inv(self.theta[:, :, :2])
        p = torch.einsum("bij,bnj->bni", a_inv, q - self.theta[:, None, :, 2])
        if self.flow is None:
            return p
        for _ in range(iters):
            p = p - torch.einsum("bij,bnj->bni", a_inv, self.source_coords(p) - q)
        return p


def affine_warp(angle_deg, scale=1.0, shift=(0.0, 0.0)) -> Warp:
    """Warps that rotate the content by ``angle_deg`` (clockwise on screen, as y points down),
    zoom by ``scale`` and move it by ``shift``; each argument a scalar or one value per image."""
    a = torch.as_tensor(angle_deg, dtype=torch.float32).reshape(-1) * math.pi / 180
    s = torch.as_tensor(scale, dtype=torch.float32).reshape(-1)
    t = torch.as_tensor(shift, dtype=torch.float32).reshape(-1, 2)
    b = max(len(a), len(s), len(t))
    a, s, t = a.expand(b), s.expand(b), t.expand(b, 2)
    # content map p -> s R p + t; the sampling map is its inverse: q = R^T (p - t) / s
    rt = torch.stack([torch.stack([a.cos(), a.sin()], 1),
                      torch.stack([-a.sin(), a.cos()], 1)], 1) / s[:, None, None]
    return Warp(torch.cat([rt, -torch.einsum("bij,bj->bi", rt, t)[:, :, None]], 2))


def random_warps(n: int, spec: WarpSpec, gen: torch.Generator) -> Warp:
    """``n`` random warps drawn from ``gen`` within ``spec``."""
    u = lambda *shape: torch.rand(*shape, generator=gen) * 2 - 1  # noqa: E731
    w = affine_warp(u(n) * spec.rotation, torch.exp(u(n) * spec.scale), u(n, 2) * spec.shift)
    if spec.elastic > 0:
        w.flow = torch.randn(n, 2, spec.grid, spec.grid, generator=gen) * spec.elastic
    return w


class WarpedPairs:
    """Training pairs for keypoint discovery: two independent random warps of one image.

    Parameters
    ----------
    images : Indexable
        Anything with ``len`` whose ``[idx]`` gives (b, c, s, s) images (a tensor, :class:`Faces`).
    spec : WarpSpec
        Ranges of the warps.
    variants : int
        Differently warped copies of each image; ``len(pairs) = variants * len(images)``.
    seed : int
        Seed of the warps; item ``i``'s warps depend only on (seed, i).

    ``pairs[idx]`` gives (b, 2, c, s, s): ``[:, 0]`` the source, ``[:, 1]`` the target.
    """

    def __init__(self, images, spec: WarpSpec | None = None, *, variants: int = 16, seed: int = 0):
        if len(images) == 0:
            raise ValueError("WarpedPairs needs at least one image")
        self.images, self.spec = images, spec or WarpSpec()
        self.variants, self.seed = int(variants), int(seed)

    def __len__(self) -> int:
        return self.variants * len(self.images)

    def warps(self, idx) -> tuple[Warp, Warp]:
        """(source warps, target warps) of the items ``idx``."""
        i = idx.tolist() if isinstance(idx, torch.Tensor) else np.asarray(idx).reshape(-1).tolist()
        ws, wt = [], []
        for k in i:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + int(k) * 7 + 1)
            ws.append(random_warps(1, self.spec, gen))
            wt.append(random_warps(1, self.spec, gen))

        def cat(ws):
            flow = None if ws[0].flow is None else torch.cat([w.flow for w in ws])
            return Warp(torch.cat([w.theta for w in ws]), flow)

        return cat(ws), cat(wt)

    def __getitem__(self, idx) -> torch.Tensor:
        i = torch.as_tensor(idx).reshape(-1).long()
        x = self.images[i % len(self.images)]
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        x = x.float()
        ws, wt = self.warps(i)
        return torch.stack([ws.apply(x), wt.apply(x)], 1)

    def card(self) -> dict:
        base = self.images.card() if hasattr(self.images, "card") else {"n": len(self.images)}
        return {**base, "pairs": {"variants": self.variants, "seed": self.seed,
                                  **{k: getattr(self.spec, k) for k in
                                     ("rotation", "scale", "shift", "elastic", "grid")}}}
