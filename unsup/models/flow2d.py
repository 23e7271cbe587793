"""A normalizing flow on points in the plane: exact density, exact samples.

A flow is an invertible map f from data x to a base code z ~ N(0, I) whose Jacobian determinant
is cheap, so the density of every point is exact (the change of variables):

    log p(x) = log N(f(x); 0, I) + log |det ∂f/∂x|.

:class:`Flow2D` is a neural spline flow (Durkan et al. 2019): a fixed standardisation of the
data (its mean and spread, stored in the config), then ``transforms`` monotonic rational-quadratic
spline transforms, each of one coordinate conditioned on the other (the coordinate order
alternates), from zuko's ``NSF`` (a maintained library of flows: its spline code is tested
against the paper, and its transforms can be run one at a time, which the page's "layer by
layer" view needs). Trained by maximum likelihood (Adam), through :func:`unsup.train.fit` like
every model of the lab; a training step draws no random numbers, so a resume is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from unsup.models.base import Model, register


@dataclass
class Flow2DConfig:
    """Configuration of :class:`Flow2D` (stored in the checkpoint card)."""

    transforms: int = 6
    """Spline transforms (each changes one coordinate given the other; the order alternates)."""
    hidden: int = 64
    """Units of each of the two hidden layers of the network that gives a spline's knots."""
    bins: int = 16
    """Bins of each rational-quadratic spline (on [-5, 5] in standardised units; identity
    outside)."""
    lr: float = 1e-3
    """Adam's learning rate."""
    batch_size: int = 512
    seed: int = 0
    center: list = field(default_factory=lambda: [0.0, 0.0])
    """The data's mean (the fixed standardisation x ↦ (x − center) / spread)."""
    spread: list = field(default_factory=lambda: [1.0, 1.0])
    """The data's standard deviation per coordinate."""

    @classmethod
    def tiny(cls, **overrides) -> "Flow2DConfig":
        """A very small variant for tests."""
        return cls(**{"transforms": 2, "hidden": 16, "bins": 8, "batch_size": 64, **overrides})


@register("flow2d")
class Flow2D(Model):
    """A neural spline flow on 2-D points (see the module's text)."""

    config_class = Flow2DConfig
    codes_images = False  # its encode is the flow's map to the base, not an atlas code

    def __init__(self, config: Flow2DConfig):
        super().__init__(config)
        import zuko

        if config.transforms < 1 or config.hidden < 1 or config.bins < 2:
            raise ValueError("a 2-D flow needs at least 1 transform, 1 hidden unit and 2 bins")
        spread = torch.tensor(config.spread, dtype=torch.float32)
        if spread.shape != (2,) or not bool((spread > 0).all()):
            raise ValueError(f"spread must be two positive numbers, got {config.spread}")
        g = torch.random.get_rng_state()  # zuko draws its initial weights from the global stream
        try:
            torch.manual_seed(config.seed)
            self.flow = zuko.flows.NSF(features=2, transforms=config.transforms,
                                       hidden_features=[config.hidden, config.hidden],
                                       bins=config.bins)
        finally:
            torch.random.set_rng_state(g)
        self.register_buffer("center", torch.tensor(config.center, dtype=torch.float32))
        self.register_buffer("spread", spread)
        self._opt = None

    # -- the density -----------------------------------------------------------------------------
    def _standard(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.center) / self.spread

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log-density (nats) of each point of x (n, 2) in data units."""
        return self.flow().log_prob(self._standard(x)) - torch.log(self.spread).sum()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = f(x): the base code of each point."""
        return self.flow().transform(self._standard(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """x = f⁻¹(z): the point of each base code."""
        return self.flow().transform.inv(z) * self.spread + self.center

    def sample(self, n: int, seed: int = 0, temperature: float = 1.0) -> torch.Tensor:
        """n points from the flow (seeded): codes from N(0, T²I) carried back through it."""
        g = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            return self.decode(temperature * torch.randn(n, 2, generator=g))

    def layers(self, z: torch.Tensor) -> list[torch.Tensor]:
        """The base points ``z`` carried back through the flow one transform at a time: [z in
        data units (no transform undone yet), after the last transform is undone, …, x]. The
        first and last entries are in data units too (the standardisation applied), so every
        stage can be drawn on the same axes."""
        transforms = list(self.flow().transform.transforms)
        out, h = [z * self.spread + self.center], z
        with torch.no_grad():
            for t in reversed(transforms):
                h = t.inv(h)
                out.append(h * self.spread + self.center)
        return out

    def density_grid(self, extent: tuple[float, float, float, float], n: int = 96
                     ) -> np.ndarray:
        """The density p(x) on an n x n lattice over ``extent`` (x0, x1, y0, y1): rows are y."""
        x0, x1, y0, y1 = extent
        xx, yy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
        pts = torch.from_numpy(np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float32))
        with torch.no_grad():
            lp = self.log_prob(pts).numpy()
        return np.exp(lp).reshape(n, n)

    # -- training ----------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self._opt is None:
            self._opt = torch.optim.Adam(self.flow.parameters(), lr=self.config.lr)
        return {"adam": self._opt}

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One Adam step on the batch's mean negative log-likelihood (nats per point)."""
        self.train()
        nll = -self.log_prob(batch).mean()
        opt = self.optimizers()["adam"]
        opt.zero_grad(set_to_none=True)
        nll.backward()
        opt.step()
        return {"nll": float(nll.detach())}


def mixture_log_prob(x: np.ndarray, means: np.ndarray, sigma: float) -> np.ndarray:
    """The exact log-density (nats) of an equal-weight mixture of N(means[k], σ²I) at x (n, 2)."""
    d = np.asarray(x, np.float64)[:, None, :] - np.asarray(means, np.float64)[None]
    lp = (-0.5 * (d ** 2).sum(-1) / sigma ** 2 - math.log(2 * math.pi * sigma ** 2)
          - math.log(len(means)))
    m = lp.max(1, keepdims=True)
    return (m + np.log(np.exp(lp - m).sum(1, keepdims=True)))[:, 0]
