"""Glow (Kingma & Dhariwal 2018, "Glow: Generative Flow with Invertible 1x1 Convolutions") for
small grey images: an invertible network x -> z with a tractable Jacobian, so the
log-likelihood of every image is exact (no bound, unlike a VAE's ELBO).

Architecture, as the paper and its official code (openai/glow) build it::

    x (b, c, s, s) in [0, 1]  -> logit(alpha + (1 - 2 alpha) x)   (RealNVP's; see below)
    for each of the L levels:
        squeeze                (b, 4c, s/2, s/2)
        K flow steps:          ActNorm -> invertible 1x1 conv (LU) -> affine coupling
        split (not the last):  half the channels leave as this level's latent, scored by a
                               Gaussian whose mean and log-std a zero-initialised conv computes
                               from the half that stays (the learned conditional prior)
    top: the rest, scored by a learned per-position Gaussian (zero-initialised: N(0, I) at first)

Image size. MNIST digits are used at their own 28x28 (no padding): 28 -> 14 -> 7, so two levels
(``image_size`` must be divisible by 2**n_levels). Padding to 32x32 (as openai/glow does) would
allow three levels, but bits/dim would then be averaged over 1,024 dimensions of which 240 are
constant padding, which flatters the number; at 28x28 it is over the digit's own 784 pixels, as
RealNVP/Glow report for MNIST.

Latents. :meth:`Glow.encode` returns each level's latent *standardised* by its prior,
``eps = (z - mean) / std`` (what openai/glow's encoder returns for the split levels), so every
latent is N(0, I) under the model: temperature sampling is ``decode([T * N(0, I)])``, and
interpolation or attribute directions work in one isotropic space. The log-determinant it
returns is that of the whole bijection x -> (eps_1, ..., eps_L), the standardisations included,
so ``log p(x) = sum log N(eps; 0, I) + logdet`` exactly (a test checks it against the
determinant of a brute-force Jacobian).

Dequantization and bits/dim. The data are 8-bit (``n_bits`` = 8; fewer bits are binned as in
openai/glow). An image x in [0, 1] becomes k = round(255 x) in {0..255} (round, not floor: a
float k/255 times 255 can land just below k), k -> floor(k / 2^(8 - n_bits)), then
x_deq = (k + u) / 2^n_bits with u ~ U(0, 1)^D drawn from the model's own seeded generator in
training and from a fixed seed in evaluation. With the continuous density p over [0, 1]^D,
the (k + u) space has density p / 2^(n_bits D) (the affine map divides by 2^n_bits per
dimension), so the discrete model's bits/dim is

    bpd = (-log p(x_deq) + D log 2^n_bits) / (D log 2).

Logit input (``logit_alpha`` > 0, RealNVP's pre-processing; openai/glow instead only centres,
x - 0.5, which ``logit_alpha = 0`` restores). The first layer is the fixed bijection
y = logit(alpha + (1 - 2 alpha) x) from (-alpha/(1-2alpha), 1 + alpha/(1-2alpha)) onto R, and
its log-determinant sum log((1 - 2 alpha) / (x' (1 - x'))) is part of ``encode``'s logdet, so
the likelihood stays exact. The flow's density thus lives on that open box (``log_prob`` is
-inf outside it) and integrates to 1 there; the bits/dim above score only [0, 1]^D, so the
sliver of mass outside [0, 1]^D (widths alpha/(1-2alpha) = 1e-4) is never credited: the number
can only be pessimistic. Why: 81% of MNIST pixels are 0, i.e. a dequantized interval of width
1/256 at the edge; the logit stretches it ~100x more than a mid-grey pixel's, so the flow no
longer has to learn that expansion itself. Measured here (1 thread, default preset, 300
steps): held-out 2.76 bits/dim with centring only, 1.94 with alpha 0.05 (RealNVP's), 1.47 with
1e-3, 1.42 with 1e-4, 1.44 with 1e-5.

All float32. Speed on CPU is set by the caller's ``torch.set_num_threads``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from unsup.models.base import Model, register, warmup_cosine

LOG_2PI = math.log(2 * math.pi)
TOP_LOGSCALE_FACTOR = 3.0
"""The top prior's log-std is stored divided by this (as openai/glow's zero-initialised convs
and ActNorm do): Adam moves it this much faster."""


@dataclass
class GlowConfig:
    """Glow hyper-parameters (defaults: the two-scale MNIST model)."""

    image_size: int = 28  # side of the (square) input images; divisible by 2**n_levels
    n_channels: int = 1  # input channels (1: grey)
    n_levels: int = 2  # L: scales (each squeezes by 2; all but the last split off half)
    n_steps: int = 8  # K: flow steps (actnorm, 1x1 conv, coupling) per level
    hidden: int = 64  # channels of each coupling network's hidden layers
    lr: float = 1e-3  # Adam learning rate after warm-up
    warmup: int = 200  # steps over which the learning rate rises linearly from lr/warmup to lr
    decay_start: int = 0  # from this step the learning rate falls to 0 along a half cosine...
    decay_end: int = 0  # ...reached at this step (0, or not after decay_start: no decay)
    grad_clip: float = 50.0  # max global gradient norm (0: no clipping)
    batch_size: int = 64  # images per training step
    n_bits: int = 8  # bits per pixel of the data (2**n_bits levels)
    logit_alpha: float = 1e-4  # input y = logit(alpha + (1-2 alpha) x); 0: centre only (x - 0.5)
    learn_top: bool = True  # learn the top prior's per-position mean and log-std
    scale_floor: float = 0.0  # coupling scale floor + (1 - floor) * sigmoid: the inverse divides
    #                           by at most 1/floor (0: openai/glow's plain sigmoid)
    seed: int = 0  # weights, batch order and dequantization noise

    @classmethod
    def tiny(cls) -> "GlowConfig":
        """For tests: 8x8 images, two levels of two steps, 16 hidden channels."""
        return cls(image_size=8, n_levels=2, n_steps=2, hidden=16, batch_size=32, warmup=10)


# -- building blocks ------------------------------------------------------------------------
def squeeze(x: torch.Tensor) -> torch.Tensor:
    """(b, c, h, w) -> (b, 4c, h/2, w/2): each 2x2 block of pixels becomes 4 channels."""
    b, c, h, w = x.shape
    x = x.view(b, c, h // 2, 2, w // 2, 2)
    return x.permute(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, h // 2, w // 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`squeeze`."""
    b, c, h, w = x.shape
    x = x.view(b, c // 4, 2, 2, h, w)
    return x.permute(0, 1, 4, 2, 5, 3).reshape(b, c // 4, 2 * h, 2 * w)


def gaussian_logp(x: torch.Tensor, mean: torch.Tensor, logs: torch.Tensor) -> torch.Tensor:
    """Elementwise log N(x; mean, exp(logs)^2)."""
    return -0.5 * (LOG_2PI + 2.0 * logs + (x - mean) ** 2 * torch.exp(-2.0 * logs))


class ActNorm(nn.Module):
    """Per-channel affine y = (x + bias) * exp(logs) (Glow, sec. 3.1), initialised from the
    first batch it sees in training mode so that its output has zero mean and unit variance per
    channel. ``initialized`` is a buffer: it travels in checkpoints, so a loaded model keeps its
    learned values instead of re-initialising on its first batch. As in openai/glow the stored
    parameter is logs / 3 (``logscale_factor``): Adam moves the log-scale 3x faster."""

    LOGSCALE_FACTOR = 3.0

    def __init__(self, c: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.logs = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.register_buffer("initialized", torch.tensor(0, dtype=torch.uint8))

    @torch.no_grad()
    def _initialize(self, x: torch.Tensor) -> None:
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        std = ((x - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True).sqrt()
        self.bias.copy_(-mean)
        self.logs.copy_(-torch.log(std + 1e-6) / self.LOGSCALE_FACTOR)
        self.initialized.fill_(1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns y and the log-determinant (a scalar: the same for every image)."""
        if self.training and not bool(self.initialized):
            self._initialize(x)
        logs = self.LOGSCALE_FACTOR * self.logs
        y = (x + self.bias) * torch.exp(logs)
        return y, x.shape[2] * x.shape[3] * logs.sum()

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        return y * torch.exp(-self.LOGSCALE_FACTOR * self.logs) - self.bias


class InvConv1x1(nn.Module):
    """Invertible 1x1 convolution with an LU-decomposed weight (Glow, sec. 3.2):
    W = P L (U + diag(sign_s * exp(log_s))), P a fixed permutation, L unit lower-triangular,
    U strictly upper-triangular; log|det W| = sum(log_s), so a step's log-determinant is
    h * w * sum(log_s). Initialised from a random rotation."""

    def __init__(self, c: int, generator: torch.Generator):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(c, c, generator=generator, dtype=torch.float64))
        p, lower, upper = torch.linalg.lu(q)
        s = torch.diagonal(upper)
        self.register_buffer("p", p.float())
        self.register_buffer("sign_s", torch.sign(s).float())
        self.register_buffer("l_mask", torch.tril(torch.ones(c, c), -1))
        self.lower = nn.Parameter(lower.float())
        self.upper = nn.Parameter(torch.triu(upper, 1).float())
        self.log_s = nn.Parameter(torch.log(s.abs()).float())

    def weight(self) -> torch.Tensor:
        c = self.log_s.shape[0]
        eye = torch.eye(c, dtype=self.lower.dtype, device=self.lower.device)
        lower = self.lower * self.l_mask + eye
        upper = self.upper * self.l_mask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        return self.p @ lower @ upper  # (c, c)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w = self.weight()
        y = F.conv2d(x, w[:, :, None, None])
        return y, x.shape[2] * x.shape[3] * self.log_s.sum()

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        w_inv = torch.linalg.inv(self.weight().double()).to(y.dtype)  # tiny (c, c): exact-ish
        return F.conv2d(y, w_inv[:, :, None, None])


class ZeroConv(nn.Module):
    """openai/glow's conv2d_zeros: a conv whose weight and bias start at zero, output scaled by
    exp(3 * logs) with a per-channel logs (also zero at first): the layer starts as the zero
    map, so couplings start as (scaled) identities and priors as N(0, I)."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)
        self.logs = nn.Parameter(torch.zeros(1, c_out, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * torch.exp(3.0 * self.logs)


class CouplingNet(nn.Module):
    """openai/glow's f(): conv 3x3 -> ActNorm -> ReLU -> conv 1x1 -> ActNorm -> ReLU ->
    zero-initialised conv 3x3."""

    def __init__(self, c_in: int, c_out: int, hidden: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, hidden, 3, padding=1, bias=False)
        self.norm1 = ActNorm(hidden)
        self.conv2 = nn.Conv2d(hidden, hidden, 1, bias=False)
        self.norm2 = ActNorm(hidden)
        self.out = ZeroConv(hidden, c_out)
        for conv in (self.conv1, self.conv2):
            nn.init.normal_(conv.weight, 0.0, 0.05)  # openai/glow's default init

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm1(self.conv1(x))[0])
        h = F.relu(self.norm2(self.conv2(h))[0])
        return self.out(h)


class AffineCoupling(nn.Module):
    """Affine coupling (Glow, sec. 3.3; RealNVP): x = (x_a, x_b); (shift, raw) = NN(x_a);
    y_b = (x_b + shift) * sigmoid(raw + 2) (openai/glow's bounded scale, which starts near
    0.88 and can never blow up); y_a = x_a. log-det = sum log sigmoid(raw + 2).

    With a ``floor`` f > 0 the scale is f + (1 - f) sigmoid(raw + 2), in (f, 1): the inverse
    divides by at most 1/f. A plain sigmoid can reach 1e-3 at a few pixels of a few images, and
    the inverse then multiplies float32's rounding by 1,000 (the first shipped Glows: 12 of 500
    held-out digits came back with a pixel off by more than 1e-4, up to 0.04)."""

    def __init__(self, c: int, hidden: int, floor: float = 0.0):
        super().__init__()
        self.c_a = c // 2
        self.floor = float(floor)
        self.net = CouplingNet(self.c_a, 2 * (c - self.c_a), hidden)

    def _shift_scale(self, x_a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(x_a)
        return h[:, 0::2], h[:, 1::2] + 2.0  # shift, pre-sigmoid log-scale

    def _scale(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(scale, log scale)."""
        if self.floor <= 0:
            return torch.sigmoid(raw), F.logsigmoid(raw)
        s = self.floor + (1.0 - self.floor) * torch.sigmoid(raw)
        return s, torch.log(s)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x_a, x_b = x[:, :self.c_a], x[:, self.c_a:]
        shift, raw = self._shift_scale(x_a)
        scale, log_scale = self._scale(raw)
        y_b = (x_b + shift) * scale
        logdet = log_scale.flatten(1).sum(1)  # (b,)
        return torch.cat([x_a, y_b], 1), logdet

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        """x_b = y_b / scale - shift. The network runs in the input's precision; from a float32
        input this one division and subtraction are done in float64 and rounded once: in
        float32 the quotient is rounded to the shift's magnitude before the shift is taken
        away (cancellation where x_b is small beside the shift). Measured on the shipped Glow's
        500 held-out digits: worst pixel 1.006e-4 with both in float32, 8.6e-5 so."""
        y_a, y_b = y[:, :self.c_a], y[:, self.c_a:]
        shift, raw = self._shift_scale(y_a)
        if y.dtype == torch.float32:
            wide = torch.float64
            x_b = (y_b.to(wide) / self._scale(raw)[0].to(wide) - shift.to(wide)).to(y.dtype)
        else:
            x_b = y_b / self._scale(raw)[0] - shift
        return torch.cat([y_a, x_b], 1)


class FlowStep(nn.Module):
    """One step of flow: ActNorm -> invertible 1x1 conv -> affine coupling."""

    def __init__(self, c: int, hidden: int, generator: torch.Generator, floor: float = 0.0):
        super().__init__()
        self.actnorm = ActNorm(c)
        self.invconv = InvConv1x1(c, generator)
        self.coupling = AffineCoupling(c, hidden, floor)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, ld1 = self.actnorm(x)
        x, ld2 = self.invconv(x)
        x, ld3 = self.coupling(x)
        return x, ld1 + ld2 + ld3

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        return self.actnorm.reverse(self.invconv.reverse(self.coupling.reverse(y)))


# -- the model ------------------------------------------------------------------------------
@register("glow")
class Glow(Model):
    """Multi-scale Glow; see the module docstring. Images are (b, c, s, s) in [0, 1]."""

    config_class = GlowConfig
    monitor = "bpd"
    codes_images = False  # its encode is the flow's map to the base, not an atlas code

    def __init__(self, config: GlowConfig):
        super().__init__(config)
        c, s, n_levels = config.n_channels, config.image_size, config.n_levels
        if n_levels < 1 or s % (2 ** n_levels):
            raise ValueError(f"image_size {s} must be divisible by 2**n_levels = {2 ** n_levels}")
        if config.n_steps < 1 or config.hidden < 1:
            raise ValueError("n_steps and hidden must be at least 1")
        g = torch.Generator().manual_seed(int(config.seed))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(config.seed))
            self.levels = nn.ModuleList()
            self.priors = nn.ModuleList()  # conditional priors of the split halves
            self.shapes: list[tuple[int, int, int]] = []  # each level's latent (c, h, w)
            for i in range(n_levels):
                c, s = 4 * c, s // 2
                self.levels.append(nn.ModuleList(
                    FlowStep(c, config.hidden, g, config.scale_floor)
                    for _ in range(config.n_steps)))
                if i < n_levels - 1:
                    self.priors.append(ZeroConv(c // 2, 2 * (c - c // 2)))
                    self.shapes.append((c - c // 2, s, s))
                    c = c // 2
            self.shapes.append((c, s, s))
            self.top_mean = nn.Parameter(torch.zeros(1, c, s, s),
                                         requires_grad=config.learn_top)
            self.top_logs = nn.Parameter(torch.zeros(1, c, s, s),
                                         requires_grad=config.learn_top)
        self._opt: torch.optim.Optimizer | None = None

    @property
    def n_dims(self) -> int:
        """D: pixels (times channels) of one image."""
        c = self.config
        return c.n_channels * c.image_size ** 2

    @property
    def n_bins(self) -> int:
        return 2 ** int(self.config.n_bits)

    # -- the bijection --------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """x (b, c, s, s) in [0, 1] -> (eps per level, logdet (b,)).

        ``eps[i]`` has shape (b, *self.shapes[i]): level i's latent standardised by its prior
        (N(0, I) under the model); the last is the top. ``logdet`` is log|det d(eps)/dx| of the
        whole map, so ``log p(x) = sum_i log N(eps_i; 0, I) + logdet``.
        """
        h, logdet = self._preprocess(x)
        eps: list[torch.Tensor] = []
        for i, steps in enumerate(self.levels):
            h = squeeze(h)
            for step in steps:
                h, ld = step(h)
                logdet = logdet + ld
            if i < len(self.levels) - 1:
                c_keep = h.shape[1] // 2
                h, z = h[:, :c_keep], h[:, c_keep:]
                p = self.priors[i](h)
                mean, logs = p[:, 0::2], p[:, 1::2]
                eps.append((z - mean) * torch.exp(-logs))
                logdet = logdet - logs.flatten(1).sum(1)
        top_logs = TOP_LOGSCALE_FACTOR * self.top_logs
        eps.append((h - self.top_mean) * torch.exp(-top_logs))
        logdet = logdet - top_logs.sum()
        return eps, logdet

    def decode(self, eps: list[torch.Tensor]) -> torch.Tensor:
        """The exact inverse of :meth:`encode`: standardised latents -> images (b, c, s, s)
        (not clamped: an off-data latent may map outside [0, 1]). Never initialises an
        ActNorm (that is done on data, going forward)."""
        was = self.training
        self.eval()
        try:
            return self._decode(eps)
        finally:
            self.train(was)

    def _decode(self, eps: list[torch.Tensor]) -> torch.Tensor:
        h = eps[-1] * torch.exp(TOP_LOGSCALE_FACTOR * self.top_logs) + self.top_mean
        for i in range(len(self.levels) - 1, -1, -1):
            if i < len(self.levels) - 1:
                p = self.priors[i](h)
                mean, logs = p[:, 0::2], p[:, 1::2]
                h = torch.cat([h, eps[i] * torch.exp(logs) + mean], 1)
            for step in reversed(self.levels[i]):
                h = step.reverse(h)
            h = unsqueeze(h)
        return self._postprocess(h)

    # -- the fixed first layer: logit (or centring) -----------------------------------------
    def _preprocess(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x -> (y, log|dy/dx| (b,)): y = logit(x') with x' = alpha + (1 - 2 alpha) x (1 - x'
        is computed as alpha + (1 - 2 alpha)(1 - x), exact near x = 1); or y = x - 0.5.
        Outside the logit's domain the values are clamped (finite, meaningless: ``log_prob``
        gives such images -inf)."""
        a = float(self.config.logit_alpha)
        if a <= 0:
            return x - 0.5, torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        tiny = torch.finfo(x.dtype).tiny
        lo = torch.log((a + (1 - 2 * a) * x).clamp_min(tiny))
        hi = torch.log((a + (1 - 2 * a) * (1 - x)).clamp_min(tiny))
        logdet = (math.log(1 - 2 * a) - lo - hi).flatten(1).sum(1)
        return lo - hi, logdet

    def _postprocess(self, y: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`_preprocess`."""
        a = float(self.config.logit_alpha)
        if a <= 0:
            return y + 0.5
        return (torch.sigmoid(y) - a) / (1 - 2 * a)

    def in_domain(self, x: torch.Tensor) -> torch.Tensor:
        """(b,) bool: the images where the density is defined (all, without the logit)."""
        a = float(self.config.logit_alpha)
        flat = x.flatten(1)
        if a <= 0:
            return torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
        edge = a / (1 - 2 * a)
        return ((flat > -edge) & (flat < 1 + edge)).all(1)

    def flatten(self, eps: list[torch.Tensor]) -> torch.Tensor:
        """Latents of every level as one vector per image: (b, D)."""
        return torch.cat([e.flatten(1) for e in eps], 1)

    def unflatten(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """The inverse of :meth:`flatten`: (b, D) -> latents per level."""
        out, start = [], 0
        for shape in self.shapes:
            n = math.prod(shape)
            out.append(flat[:, start:start + n].reshape(-1, *shape))
            start += n
        return out

    # -- likelihood -----------------------------------------------------------------------
    def log_prob(self, x_deq: torch.Tensor) -> torch.Tensor:
        """log p(x) in nats (b,) of dequantized images ``x_deq`` (b, c, s, s) in [0, 1]: the
        continuous density over [0, 1]^D, exact (change of variables); -inf outside the logit's
        domain (see the module docstring)."""
        eps, logdet = self.encode(x_deq)
        prior = sum(gaussian_logp(e, torch.zeros_like(e), torch.zeros_like(e)).flatten(1).sum(1)
                    for e in eps)
        lp = prior + logdet
        if float(self.config.logit_alpha) > 0:
            lp = torch.where(self.in_domain(x_deq), lp, torch.full_like(lp, -math.inf))
        return lp

    def quantize(self, x01: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] (8-bit data) -> integer levels in {0 .. 2^n_bits - 1} (as floats)."""
        k = torch.round(x01.clamp(0, 1) * 255.0)
        if self.config.n_bits < 8:
            k = torch.floor(k / 2 ** (8 - self.config.n_bits))
        return k

    def dequantize(self, x01: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """(k + u) / 2^n_bits with u = ``noise`` ~ U(0, 1), same shape as ``x01``."""
        return (self.quantize(x01) + noise) / self.n_bins

    def bpd_of(self, x_deq: torch.Tensor) -> torch.Tensor:
        """Bits per dimension (b,) of dequantized images (the discrete model's, see the
        module docstring)."""
        d = self.n_dims
        return (-self.log_prob(x_deq) + d * math.log(self.n_bins)) / (d * math.log(2.0))

    @torch.no_grad()
    def bits_per_dim(self, x01: torch.Tensor, noise_seed: int = 0,
                     batch_size: int = 250) -> torch.Tensor:
        """Held-out bits/dim, per image (b,), deterministic: the dequantization noise of all
        images is drawn at once from ``noise_seed`` (independent of ``batch_size``). Lower is
        better; ``.mean()`` is the set's number."""
        was = self.training
        self.eval()
        try:
            noise = torch.rand(x01.shape, generator=torch.Generator().manual_seed(noise_seed))
            out = [self.bpd_of(self.dequantize(x01[i:i + batch_size].to(self.device),
                                               noise[i:i + batch_size].to(self.device)))
                   for i in range(0, x01.shape[0], batch_size)]
            return torch.cat(out).cpu()
        finally:
            self.train(was)

    # -- sampling -------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, temperature: float = 0.7, seed: int = 0) -> torch.Tensor:
        """n images (n, c, s, s) in [0, 1] on the 8-bit grid: latents ~ N(0, T^2 I) (Glow's
        "reduced temperature": T scales every prior's std; 0.7 is the paper's default)."""
        was = self.training
        self.eval()
        try:
            g = torch.Generator().manual_seed(seed)
            eps = [temperature * torch.randn(n, *shape, generator=g).to(self.device)
                   for shape in self.shapes]
            return self.to_image(self.decode(eps))
        finally:
            self.train(was)

    def to_image(self, x: torch.Tensor) -> torch.Tensor:
        """Decoded values -> displayable images in [0, 1] on the n_bits grid."""
        k = torch.floor(x.clamp(0, 1) * self.n_bins).clamp(max=self.n_bins - 1)
        return k / (self.n_bins - 1)

    # -- training -------------------------------------------------------------------------
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self._opt is None:
            params = [p for p in self.parameters() if p.requires_grad]
            # fused: one kernel for all parameters (faster on CPU, as the VAE's)
            self._opt = torch.optim.Adam(params, lr=self.config.lr, fused=True)
        return {"adam": self._opt}

    def lr_at(self, step: int) -> float:
        """Learning rate of step ``step``: :func:`unsup.models.base.warmup_cosine` of the
        config's lr, warm-up and decay window."""
        c = self.config
        return warmup_cosine(step, c.lr, c.warmup, c.decay_start, c.decay_end)

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One Adam step on the mean bits/dim of ``batch`` (b, c, s, s) in [0, 1], dequantized
        with noise from ``self.rng`` (reseeded per step by ``fit``: exact resume)."""
        self.train()
        opt = self.optimizers()["adam"]
        lr = self.lr_at(int(self.step_))
        for group in opt.param_groups:
            group["lr"] = lr
        x = self.dequantize(batch, self.rand(*batch.shape))
        bpd = self.bpd_of(x).mean()
        opt.zero_grad(set_to_none=True)
        bpd.backward()
        if self.config.grad_clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(self.parameters(), self.config.grad_clip)
        else:
            norm = torch.sqrt(sum((p.grad ** 2).sum() for p in self.parameters()
                                  if p.grad is not None))
        opt.step()
        return {"bpd": float(bpd.detach()), "grad_norm": float(norm), "lr": lr}
