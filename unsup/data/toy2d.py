"""2-D point sets for the GAN lab: the mode-collapse benchmarks of VEEGAN (Srivastava et al. 2017)
and PacGAN (Lin et al. 2018), and mixtures around points a user clicks.

- ring: 8 isotropic Gaussians with means (r cos(2πk/8), r sin(2πk/8)), k = 0..7, r = 1, σ = 0.01
  (PacGAN's code: variance 0.01², radius 1). Note the angles: ``linspace(0, 2π, 8)`` would put
  the last mean on top of the first and leave 7 distinct modes.
- grid: 25 isotropic Gaussians with means {-4, -2, 0, 2, 4}², σ = 0.05 (PacGAN's code).
- moons: scikit-learn's two interleaving half circles (radius 1; the upper centred at (0, 0),
  the lower at (1, 0.5)) made a mixture with a known density: 50 Gaussians evenly spaced along
  each arc (0.064 apart along it, less than σ = 0.1, so the density is a smooth band, not
  beads), the way ``make_moons(noise=0.1)`` draws a point on an arc and adds N(0, 0.1²I) noise.

Every mixture has equal weights. :class:`Mixture2D` is a fixed, seeded training set of points
(an Indexable for :func:`unsup.train.fit`), so a resumed run sees the same points;
:func:`sample_mixture` draws fresh, seeded points (for held-out comparisons).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import torch

RING_MODES = 8
RING_RADIUS = 1.0
RING_SIGMA = 0.01
"""σ of each ring component (PacGAN's code, fjxmlzn/PacGAN 2DRing config: variance 0.01²)."""
GRID_SIDE = 5
GRID_SPACING = 2.0
GRID_SIGMA = 0.05
"""σ of each grid component (PacGAN's code, 2DGrid config: variance 0.05²)."""
N_TRAIN = 100_000
"""Points in a training set (PacGAN's ``num_sample``)."""
MOONS_PER_ARC = 50
MOONS_SIGMA = 0.1
MAX_USER_POINTS = 200
"""Most clicked points accepted as mixture centres."""


def ring_means(n_modes: int = RING_MODES, radius: float = RING_RADIUS) -> np.ndarray:
    """(n_modes, 2) means at angles 2πk/n_modes, k = 0..n_modes-1 (all distinct)."""
    angles = 2.0 * math.pi * np.arange(n_modes) / n_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid_means(side: int = GRID_SIDE, spacing: float = GRID_SPACING) -> np.ndarray:
    """(side², 2) means on a centred grid; side 5, spacing 2 gives {-4, -2, 0, 2, 4}²."""
    v = (np.arange(side) - (side - 1) / 2.0) * spacing
    xx, yy = np.meshgrid(v, v, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def sample_mixture(means: np.ndarray, sigma: float, n: int, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """n points of the equal-weight mixture of N(means[k], σ²I), drawn with ``seed``.

    Returns (points (n, 2) float32, component of each point (n,) int64).
    """
    means = np.asarray(means, dtype=np.float64)
    rng = np.random.default_rng(seed)
    comp = rng.integers(len(means), size=n)
    pts = means[comp] + sigma * rng.standard_normal((n, means.shape[1]))
    return pts.astype(np.float32), comp.astype(np.int64)


class Mixture2D:
    """A fixed training set of ``n`` points from an equal-weight Gaussian mixture.

    ``len(ds)`` and ``ds[idx]`` (an int, a list or a LongTensor) give float32 points (b, 2);
    ``ds.means`` (k, 2) and ``ds.sigma`` describe the mixture for the mode metrics
    (:func:`unsup.metrics.gan.mode_stats`); ``ds.components`` is each point's component.
    """

    def __init__(self, means, sigma: float, *, name: str = "mixture", n: int = N_TRAIN,
                 seed: int = 0):
        self.means = np.asarray(means, dtype=np.float64)
        self.sigma = float(sigma)
        self.name = name
        self.seed = int(seed)
        pts, comp = sample_mixture(self.means, self.sigma, int(n), self.seed)
        self.points = torch.from_numpy(pts)
        self.components = comp

    def __len__(self) -> int:
        return self.points.shape[0]

    def __getitem__(self, idx) -> torch.Tensor:
        if isinstance(idx, int):
            return self.points[idx:idx + 1]
        return self.points[torch.as_tensor(idx, dtype=torch.long)]

    def sample(self, n: int, seed: int) -> np.ndarray:
        """n fresh points from the same mixture (not the training points), (n, 2)."""
        return sample_mixture(self.means, self.sigma, n, seed)[0]

    def fingerprint(self) -> str:
        """sha256 of the mixture and its training points (first 16 hex digits)."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.means).tobytes())
        h.update(repr(self.sigma).encode())
        h.update(self.points.numpy().tobytes())
        return h.hexdigest()[:16]

    def card(self) -> dict:
        """The ``data`` field of a checkpoint card."""
        return {"name": self.name, "n": len(self), "n_modes": len(self.means),
                "sigma": self.sigma, "seed": self.seed, "means": self.means.round(6).tolist(),
                "fingerprint": self.fingerprint()}


def ring(sigma: float = RING_SIGMA, radius: float = RING_RADIUS, *, n_modes: int = RING_MODES,
         n: int = N_TRAIN, seed: int = 0) -> Mixture2D:
    """The ring of ``n_modes`` Gaussians (default: PacGAN's 8, radius 1, σ 0.01)."""
    return Mixture2D(ring_means(n_modes, radius), sigma, name="ring", n=n, seed=seed)


def grid(sigma: float = GRID_SIGMA, *, side: int = GRID_SIDE, spacing: float = GRID_SPACING,
         n: int = N_TRAIN, seed: int = 0) -> Mixture2D:
    """The grid of side² Gaussians (default: PacGAN's 5x5 at {-4..4}², σ 0.05)."""
    return Mixture2D(grid_means(side, spacing), sigma, name="grid", n=n, seed=seed)


def moons_means(per_arc: int = MOONS_PER_ARC) -> np.ndarray:
    """Centres along the two half circles: (cos t, sin t) and (1 − cos t, 0.5 − sin t), t in
    [0, π] (scikit-learn's make_moons arcs)."""
    t = np.linspace(0.0, math.pi, per_arc)
    upper = np.stack([np.cos(t), np.sin(t)], 1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], 1)
    return np.concatenate([upper, lower])


def moons(sigma: float = MOONS_SIGMA, *, per_arc: int = MOONS_PER_ARC, n: int = N_TRAIN,
          seed: int = 0) -> Mixture2D:
    """Two moons as a mixture of 2 × ``per_arc`` Gaussians (see the module docstring)."""
    return Mixture2D(moons_means(per_arc), sigma, name="moons", n=n, seed=seed)


def user_points(points, sigma: float = 0.05, *, n: int = N_TRAIN, seed: int = 0) -> Mixture2D:
    """A mixture of N(p, σ²I) around each clicked point p (``points`` (k, 2), k ≥ 1).

    Raises ValueError, with what to do, when the points are not usable.
    """
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("The clicked points must be numbers (x, y); clear them and click "
                         "again.") from exc
    if arr.size == 0:
        raise ValueError("No points yet: click at least one point on the canvas to make a "
                         "data set.")
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"Points must be (x, y) pairs; got an array of shape {arr.shape}.")
    bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
    if bad.size:
        raise ValueError(f"Point {int(bad[0]) + 1} is not a finite (x, y) pair; remove it and "
                         "try again.")
    if len(arr) > MAX_USER_POINTS:
        raise ValueError(f"{len(arr)} points were clicked; the lab takes at most "
                         f"{MAX_USER_POINTS}. Clear some and try again.")
    if not (sigma > 0 and math.isfinite(sigma)):
        raise ValueError(f"The spread σ must be a positive number, got {sigma!r}.")
    return Mixture2D(arr, sigma, name="points", n=n, seed=seed)
