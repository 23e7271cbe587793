"""Unsupervised keypoint discovery by conditional image generation (Jakab, Gupta, Bilen & Vedaldi
2018, "Unsupervised Learning of Object Landmarks through Conditional Image Generation").

A training item is a pair (source x, target x') of the same object under two deformations. The
model must rebuild x' from x and a K-point bottleneck computed from x' alone:

- keypoint network Phi: x' -> K heat-maps H_k (b, K, h, w), h = w = s / 4;
- soft-argmax: p_k = sum_u u softmax(H_k)(u), the expected location, (b, K, 2) in [-1, 1];
- re-rendering: Gaussian maps G_k(u) = exp(-||u - p_k||^2 / (2 sigma^2)) (b, K, h, w): all that
  passes from x' to the generator is K (x, y) pairs;
- image encoder Psi: x -> appearance features (b, 4w, h, w);
- generator: [Psi(x), G(p)] -> x_hat, upsampled to (b, c, s, s).

Since Psi(x) carries the appearance but not the deformation of x', the points have to say where
the parts that moved are, so they land on object parts. The loss is the L1 pixel error at three
scales (full, 1/2 and 1/4 resolution, by average pooling), plus optionally the structural
dissimilarity (1 - SSIM) / 2 (Wang et al. 2004) written below with a Gaussian window. The paper's
perceptual loss needs a pretrained VGG (a download): not used here.

Coordinates are (x, y) in [-1, 1], y downwards, pixel centres at (2j + 1)/s - 1 (as in
:mod:`unsup.data.faces`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from unsup.models.base import Model, register


@dataclass
class KeypointConfig:
    """Configuration of :class:`KeypointModel` (every field is stored in the checkpoint card)."""

    n_keypoints: int = 10
    """K, the number of discovered keypoints."""
    image_size: int = 64
    """Side of the square images, in pixels (a multiple of 4)."""
    n_channels: int = 3
    """1 for grayscale, 3 for RGB."""
    width: int = 16
    """Channels of the first convolutions; the networks use 1x, 2x and 4x this."""
    sigma: float = 0.1
    """Standard deviation of the rendered Gaussian maps, normalised units (image width = 2)."""
    ssim_weight: float = 0.0
    """Weight of the structural dissimilarity (1 - SSIM) / 2 added to the L1 loss (0: off)."""
    scales: int = 3
    """Scales of the L1 pixel loss (full, 1/2, 1/4, ...)."""
    lr: float = 1e-3
    """Adam learning rate."""
    batch_size: int = 32
    """Pairs per training step."""
    seed: int = 0
    """Seed for the weights and the batch order."""

    @classmethod
    def tiny(cls, **overrides) -> "KeypointConfig":
        """A very small variant for tests: 16x16 images, 4 keypoints, 4 filters."""
        values = dict(n_keypoints=4, image_size=16, width=4, batch_size=8)
        values.update(overrides)
        return cls(**values)


# -- the differentiable keypoint bottleneck ---------------------------------------------------
def grid_coords(h: int, w: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised pixel-centre coordinates (ys (h,), xs (w,)) of an h x w map."""
    ys = (torch.arange(h, dtype=torch.float32, device=device) * 2 + 1) / h - 1
    xs = (torch.arange(w, dtype=torch.float32, device=device) * 2 + 1) / w - 1
    return ys, xs


def soft_argmax(heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Expected location under the spatial softmax of each heat-map.

    ``heatmaps`` (b, K, h, w) logits -> (points (b, K, 2) as (x, y) in [-1, 1], probabilities
    (b, K, h, w)). A map that is -inf everywhere but one pixel gives that pixel's centre.
    """
    b, k, h, w = heatmaps.shape
    prob = heatmaps.flatten(2).softmax(-1).view(b, k, h, w)
    ys, xs = grid_coords(h, w, heatmaps.device)
    x = (prob.sum(2) * xs).sum(-1)  # marginal over columns (b, K)
    y = (prob.sum(3) * ys).sum(-1)
    return torch.stack([x, y], -1), prob


def gaussian_maps(points: torch.Tensor, size: int, sigma: float) -> torch.Tensor:
    """Render points (b, K, 2) as Gaussian maps (b, K, size, size), peak 1 at each point."""
    ys, xs = grid_coords(size, size, points.device)
    gx = torch.exp(-(xs - points[..., 0:1]) ** 2 / (2 * sigma ** 2))  # (b, K, size)
    gy = torch.exp(-(ys - points[..., 1:2]) ** 2 / (2 * sigma ** 2))
    return gy[..., :, None] * gx[..., None, :]


# -- losses -----------------------------------------------------------------------------------
def multiscale_l1(x_hat: torch.Tensor, x: torch.Tensor, scales: int = 3) -> torch.Tensor:
    """Sum over ``scales`` resolutions (halving each time, average pooling) of the mean
    absolute pixel error."""
    loss = x_hat.new_zeros(())
    for i in range(scales):
        if i:
            x_hat, x = F.avg_pool2d(x_hat, 2), F.avg_pool2d(x, 2)
        loss = loss + (x_hat - x).abs().mean()
    return loss


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 7, sigma: float = 1.5,
         data_range: float = 1.0) -> torch.Tensor:
    """Mean structural similarity (Wang et al. 2004) of two image batches (b, c, h, w), with a
    Gaussian window per channel and the paper's constants K1 = 0.01, K2 = 0.03; ``reflect``
    padding keeps the output the size of the input. 1 for identical images."""
    c = x.shape[1]
    half = window // 2
    t = torch.arange(window, dtype=x.dtype, device=x.device) - half
    g = torch.exp(-t ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    k = (g[:, None] * g[None, :]).expand(c, 1, window, window)

    def blur(z):
        return F.conv2d(F.pad(z, (half,) * 4, mode="reflect"), k, groups=c)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx ** 2
    vy = blur(y * y) - my ** 2
    cxy = blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return s.mean()


# -- networks ---------------------------------------------------------------------------------
def _block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


def _down(c: int, w: int) -> nn.Sequential:
    """s -> s/4 with 4w channels."""
    return nn.Sequential(
        _block(c, w),  # (b, w, s, s): one block at full resolution, the costliest
        _block(w, 2 * w, 2), _block(2 * w, 2 * w),  # (b, 2w, s/2, s/2)
        _block(2 * w, 4 * w, 2), _block(4 * w, 4 * w),  # (b, 4w, s/4, s/4)
    )


@register("keypoints")
class KeypointModel(Model):
    """Keypoint encoder + conditional generator of Jakab et al. 2018 (see the module docstring).

    ``train_step`` takes a batch (b, 2, c, s, s) of (source, target) pairs, e.g. from
    :class:`unsup.data.faces.WarpedPairs`.
    """

    config_class = KeypointConfig
    monitor = "loss"

    def __init__(self, config: KeypointConfig):
        super().__init__(config)
        c, w, s, k = config.n_channels, config.width, config.image_size, config.n_keypoints
        if s % 4:
            raise ValueError(f"image_size must be a multiple of 4, got {s}")
        if k < 1:
            raise ValueError(f"n_keypoints must be at least 1, got {k}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.detector = nn.Sequential(_down(c, w), nn.Conv2d(4 * w, k, 1))  # (b, K, s/4, s/4)
            self.encoder = _down(c, w)  # (b, 4w, s/4, s/4)
            self.generator = nn.Sequential(
                _block(4 * w + k, 4 * w), _block(4 * w, 4 * w),  # (b, 4w, s/4, s/4)
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                _block(4 * w, 2 * w), _block(2 * w, 2 * w),  # (b, 2w, s/2, s/2)
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                _block(2 * w, w),  # (b, w, s, s)
                nn.Conv2d(w, c, 3, 1, 1), nn.Sigmoid(),  # (b, c, s, s) in [0, 1]
            )
        self._opt: torch.optim.Optimizer | None = None

    # -- the model ----------------------------------------------------------------------------
    def heatmaps(self, x: torch.Tensor) -> torch.Tensor:
        """Spatial probabilities of each keypoint, (b, K, s/4, s/4), each summing to 1."""
        return soft_argmax(self.detector(x))[1]

    def keypoints(self, x: torch.Tensor) -> torch.Tensor:
        """The K keypoints of each image x (b, c, s, s): (b, K, 2) as (x, y) in [-1, 1]."""
        return soft_argmax(self.detector(x))[0]

    encode = keypoints

    def maps(self, points: torch.Tensor) -> torch.Tensor:
        """Gaussian maps (b, K, s/4, s/4) of points (b, K, 2)."""
        return gaussian_maps(points, self.config.image_size // 4, self.config.sigma)

    def render(self, source: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """The generator's image of ``source`` (b, c, s, s) with its parts at ``points``
        (b, K, 2): e.g. the source's own keypoints with one of them moved."""
        return self.generator(torch.cat([self.encoder(source), self.maps(points)], 1))

    @torch.no_grad()
    def reconstruct(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.render(source, self.keypoints(target))

    # -- the objective ------------------------------------------------------------------------
    def loss(self, source: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Batch-mean terms: ``l1`` (multi-scale), ``dssim`` when weighted, and ``loss``."""
        x_hat = self.render(source, self.keypoints(target))
        l1 = multiscale_l1(x_hat, target, self.config.scales)
        out = {"l1": l1}
        loss = l1
        if self.config.ssim_weight > 0:
            dssim = (1 - ssim(x_hat, target)) / 2
            out["dssim"] = dssim
            loss = loss + self.config.ssim_weight * dssim
        out["loss"] = loss
        return out

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self._opt is None:
            self._opt = torch.optim.Adam(self.parameters(), lr=self.config.lr)
        return {"adam": self._opt}

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One Adam step on pairs ``batch`` (b, 2, c, s, s): [:, 0] source, [:, 1] target."""
        if batch.dim() != 5 or batch.shape[1] != 2:
            raise ValueError("a keypoint batch is (b, 2, c, s, s): (source, target) pairs, got "
                             f"shape {tuple(batch.shape)}")
        self.train()
        terms = self.loss(batch[:, 0], batch[:, 1])
        opt = self.optimizers()["adam"]
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        opt.step()
        return {k: float(v.detach()) for k, v in terms.items()}
