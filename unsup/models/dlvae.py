"""A VAE with a likelihood for 8-bit images: the bound side of the flows page's "exact
likelihood vs bounds" table (issue 23, part 3).

Model (Kingma & Welling 2014, with the pixel likelihood of Kingma et al. 2016, "Improved
Variational Inference with Inverse Autoregressive Flow", and Salimans et al. 2017, PixelCNN++)::

    q(z | x) = N(mu(x), diag(sigma(x)^2))          a convolutional encoder
    p(z)     = N(0, I)
    p(k | z) = prod_i DLogistic(k_i; m_i(z), s_i(z))  a convolutional decoder gives, per pixel,
                                                      a location m_i and a log-scale log s_i

over the 256 grey levels k_i in {0 .. 255} of an 8-bit image (the data are the integers
k = round(255 x); no dequantization noise: the likelihood is a probability of the discrete data).

Discretized logistic. The levels are placed on [-1, 1]: level k sits at c_k = 2k/255 - 1, and its
bin is [c_k - 1/255, c_k + 1/255]. With the logistic CDF F(y) = sigmoid((y - m) / s),

    P(k) = F(c_k + 1/255) - F(c_k - 1/255)     for 0 < k < 255,
    P(0) = F(c_0 + 1/255)                      (the whole left tail: the edge bin),
    P(255) = 1 - F(c_255 - 1/255)              (the whole right tail),

so the 256 probabilities sum to 1 exactly (a telescoping sum). In logs, with a = (c_k + 1/255 -
m)/s and b = (c_k - 1/255 - m)/s (a - b = 2/(255 s) > 0), the identity

    sigmoid(a) - sigmoid(b) = sigmoid(a) * sigmoid(-b) * (1 - exp(-(a - b)))

gives log P(k) = logsigmoid(a) + logsigmoid(-b) + log(-expm1(-(a - b))), stable in float32 in
both tails and for tiny scales (no approximation by the density at the bin's centre is needed);
the edge bins are logsigmoid(a) and logsigmoid(-b). The log-scale is floored at
``min_log_scale`` (default -7, a scale ~ 1/8 of a bin: a pixel can still be near-certain).

Bits per dimension of the discrete data (D = 784 for a 28x28 digit): an estimate of the bound
-L / (D ln 2), an upper bound on the model's own -log2 P(k) / D (the number a flow reports for
the same 8-bit data):

- :meth:`DLVAE.elbo_bpd`: L = ELBO = E_q[log p(k | z)] - KL(q(z | k) || p(z)) (the KL in closed
  form, the expectation with one z per image);
- :meth:`DLVAE.iwae_bpd`: L = log (1/K) sum_j p(k, z_j) / q(z_j | k), z_j ~ q (Burda et al. 2016,
  "Importance Weighted Autoencoders"): tighter as K grows, and ELBO <= IWAE_K <= log P(k) in
  expectation.

Both are deterministic given their seed: the latent noise of all images is drawn up front from
``torch.Generator().manual_seed(seed)``, sample j of every image in the j-th draw, so a result
does not depend on the batching, the first K' samples of a K-sample draw are the K'-sample draw,
and the ELBO's z is the IWAE's first sample.

Training maximises the ELBO (mean over the batch, in bits/dim), with one reparameterised z per
image drawn from ``self.rng`` (reseeded per step by :func:`unsup.train.fit`: resume is exact),
by Adam (AdamW's decoupled weight decay when ``weight_decay`` > 0) with a linear warm-up and an
optional half-cosine decay of the learning rate (the schedule of :class:`unsup.models.glow.Glow`,
a function of the step alone).

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
N_LEVELS = 256
HALF_BIN = 1.0 / 255.0
"""Half the width of a level's bin on the [-1, 1] scale (levels are 2/255 apart)."""


@dataclass
class DLVAEConfig:
    """DLVAE hyper-parameters (defaults: the 28x28 digit model)."""

    image_size: int = 28  # side of the (square) input images; a multiple of 4
    n_channels: int = 1  # input channels (1: grey)
    n_latent: int = 32  # size of z
    width: int = 16  # channels of the first convolution (the second has twice as many)
    hidden: int = 128  # units of the dense layer on either side of z
    min_log_scale: float = -7.0  # floor of the decoder's per-pixel log-scale (on [-1, 1])
    lr: float = 2e-3  # Adam learning rate after warm-up
    warmup: int = 100  # steps over which the learning rate rises linearly from lr/warmup to lr
    decay_start: int = 0  # from this step the learning rate falls to 0 along a half cosine...
    decay_end: int = 0  # ...reached at this step (0, or not after decay_start: no decay)
    weight_decay: float = 0.3  # decoupled weight decay (AdamW; 0: plain Adam)
    grad_clip: float = 100.0  # max global gradient norm (0: no clipping)
    batch_size: int = 64  # images per training step
    seed: int = 0  # weights, batch order and the latent noise of training

    @classmethod
    def tiny(cls, **overrides) -> "DLVAEConfig":
        """For tests: 8x8 images, a 4-D code, narrow layers."""
        values = dict(image_size=8, n_latent=4, width=8, hidden=32, batch_size=32, warmup=10)
        values.update(overrides)
        return cls(**values)


# -- the discretized logistic -----------------------------------------------------------------
def to_levels(x01: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] (8-bit data) -> integer levels k in {0 .. 255} (as floats). Round, not
    floor: k/255 times 255 can land just below k."""
    return torch.round(x01.clamp(0, 1) * 255.0)


def discretized_logistic_logp(k: torch.Tensor, loc: torch.Tensor, log_scale: torch.Tensor
                              ) -> torch.Tensor:
    """Elementwise log P(k) of levels ``k`` (floats in {0 .. 255}) under the discretized
    logistic with location ``loc`` and log-scale ``log_scale`` on the [-1, 1] scale (see the
    module docstring; the edge levels 0 and 255 take the tails). Broadcasts."""
    c = 2.0 * k / 255.0 - 1.0
    inv_s = torch.exp(-log_scale)
    a = (c + HALF_BIN - loc) * inv_s  # upper edge of the bin, standardised
    b = (c - HALF_BIN - loc) * inv_s  # lower edge
    upper = F.logsigmoid(a)  # log F(upper edge)
    lower = F.logsigmoid(-b)  # log (1 - F(lower edge))
    width = torch.log(-torch.expm1(-2.0 * HALF_BIN * inv_s))  # log(1 - exp(-(a - b)))
    middle = upper + lower + width
    return torch.where(k <= 0, upper, torch.where(k >= N_LEVELS - 1, lower, middle))


def discretized_logistic_mean(loc: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """E[k] / 255 in [0, 1] per element: the exact mean of the discretized logistic, summed
    over the 256 levels."""
    levels = torch.arange(N_LEVELS, dtype=loc.dtype, device=loc.device)
    logp = discretized_logistic_logp(levels, loc.unsqueeze(-1), log_scale.unsqueeze(-1))
    return (torch.exp(logp) * levels).sum(-1) / 255.0


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per row, (b,)."""
    return 0.5 * (mu ** 2 + torch.exp(logvar) - 1.0 - logvar).sum(-1)


def gaussian_logpdf(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mu) ** 2 * torch.exp(-logvar)).sum(-1)


# -- the model ------------------------------------------------------------------------------
@register("dlvae")
class DLVAE(Model):
    """Convolutional VAE with a discretized logistic likelihood; see the module docstring.
    Images are (b, c, s, s) in [0, 1] on the 8-bit grid."""

    config_class = DLVAEConfig
    monitor = "bpd"
    codes_images = False  # a likelihood model for the bounds table, not an atlas code

    def __init__(self, config: DLVAEConfig):
        super().__init__(config)
        c, s, w, h = config.n_channels, config.image_size, config.width, config.hidden
        if s % 4 or s < 4:
            raise ValueError(f"image_size {s} must be a positive multiple of 4")
        if min(config.n_latent, w, h) < 1:
            raise ValueError("n_latent, width and hidden must be at least 1")
        self.s4 = s // 4
        flat = 2 * w * self.s4 ** 2
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(config.seed))
            self.encoder = nn.Sequential(
                nn.Conv2d(c, w, 4, 2, 1), nn.ELU(),  # (b, w, s/2, s/2)
                nn.Conv2d(w, 2 * w, 4, 2, 1), nn.ELU(),  # (b, 2w, s/4, s/4)
                nn.Flatten(), nn.Linear(flat, h), nn.ELU(),
                nn.Linear(h, 2 * config.n_latent))  # mu, logvar
            self.decoder_fc = nn.Sequential(
                nn.Linear(config.n_latent, h), nn.ELU(), nn.Linear(h, flat), nn.ELU())
            self.decoder_conv = nn.Sequential(
                nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.ELU(),  # (b, w, s/2, s/2)
                nn.ConvTranspose2d(w, 2 * c, 4, 2, 1))  # (b, 2c, s, s): location, log-scale
        self._opt: torch.optim.Optimizer | None = None

    @property
    def n_dims(self) -> int:
        """D: pixels (times channels) of one image."""
        c = self.config
        return c.n_channels * c.image_size ** 2

    # -- networks ---------------------------------------------------------------------------
    def posterior(self, x01: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | x): (mu, logvar), each (b, n_latent). The encoder sees the levels on [-1, 1]."""
        h = self.encoder(2.0 * to_levels(x01) / 255.0 - 1.0)
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-20.0, 10.0)

    def likelihood_params(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """p(k | z): per-pixel (location, log-scale), each (b, c, s, s), on the [-1, 1] scale."""
        c = self.config
        h = self.decoder_fc(z).view(-1, 2 * c.width, self.s4, self.s4)
        out = self.decoder_conv(h)
        loc, log_scale = out[:, :c.n_channels], out[:, c.n_channels:]
        return loc, log_scale.clamp_min(float(c.min_log_scale))

    def log_likelihood(self, k: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(k | z) in nats, (b,): levels ``k`` (b, c, s, s), codes ``z`` (b, n_latent)."""
        loc, log_scale = self.likelihood_params(z)
        return discretized_logistic_logp(k, loc, log_scale).flatten(1).sum(1)

    # -- the bounds -------------------------------------------------------------------------
    def elbo_terms(self, x01: torch.Tensor, eps: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per image (b,): ``rec`` = log p(k | z) at z = mu + sigma * eps, ``kl`` (closed
        form) and ``elbo`` = rec - kl, all in nats."""
        k = to_levels(x01)
        mu, logvar = self.posterior(x01)
        z = mu + torch.exp(0.5 * logvar) * eps
        rec = self.log_likelihood(k, z)
        kl = gaussian_kl(mu, logvar)
        return {"rec": rec, "kl": kl, "elbo": rec - kl}

    def to_bpd(self, nats: torch.Tensor) -> torch.Tensor:
        """A log-probability bound in nats (of the whole image) -> bits per dimension."""
        return -nats / (self.n_dims * math.log(2.0))

    def _noise(self, k: int, n: int, seed: int) -> torch.Tensor:
        """(k, n, n_latent) standard normal: sample j of every image is the j-th draw of
        (n, n_latent) from one generator seeded with ``seed``, so the first k' of a k-sample draw
        are the k'-sample draw whatever k is."""
        g = torch.Generator().manual_seed(int(seed))
        return torch.stack([torch.randn(n, self.config.n_latent, generator=g)
                            for _ in range(k)])

    @torch.no_grad()
    def elbo_bpd(self, x01: torch.Tensor, seed: int = 0, batch_size: int = 500
                 ) -> torch.Tensor:
        """Per image (b,): the ELBO in bits/dim (one z per image, from ``seed``; the KL in
        closed form); an upper bound, in expectation, on -log2 P(k) / D. Lower is better."""
        was = self.training
        self.eval()
        try:
            eps = self._noise(1, x01.shape[0], seed)[0]
            out = [self.to_bpd(self.elbo_terms(x01[i:i + batch_size].to(self.device),
                                               eps[i:i + batch_size].to(self.device))["elbo"])
                   for i in range(0, x01.shape[0], batch_size)]
            return torch.cat(out).cpu()
        finally:
            self.train(was)

    @torch.no_grad()
    def iwae_log_weights(self, x01: torch.Tensor, k: int, seed: int = 0,
                         max_rows: int = 2048) -> torch.Tensor:
        """log w_j = log p(k, z_j) - log q(z_j | k), (n, K), z_j = mu + sigma * eps_j with the
        noise of ``seed`` (see the module docstring); at most ``max_rows`` decodes at a time."""
        was = self.training
        self.eval()
        try:
            n = x01.shape[0]
            eps = self._noise(k, n, seed)  # (K, n, L)
            levels = to_levels(x01)
            per = max(1, max_rows // max(1, k))  # images per chunk when all K fit
            out = []
            for i in range(0, n, per):
                xb = x01[i:i + per].to(self.device)
                kb = levels[i:i + per].to(self.device)
                mu, logvar = self.posterior(xb)
                b = xb.shape[0]
                rows = []
                step = max(1, max_rows // b)  # samples per decode batch
                for j in range(0, k, step):
                    e = eps[j:j + step, i:i + b].to(self.device)  # (kk, b, L)
                    kk = e.shape[0]
                    z = mu + torch.exp(0.5 * logvar) * e  # (kk, b, L)
                    ll = self.log_likelihood(kb.repeat(kk, 1, 1, 1), z.reshape(kk * b, -1))
                    prior = gaussian_logpdf(z, torch.zeros_like(z), torch.zeros_like(z))
                    post = gaussian_logpdf(z, mu, logvar)
                    rows.append(ll.view(kk, b) + prior - post)
                out.append(torch.cat(rows).T)  # (b, K)
            return torch.cat(out).cpu()
        finally:
            self.train(was)

    @torch.no_grad()
    def iwae_bpd(self, x01: torch.Tensor, k: int = 100, seed: int = 0,
                 max_rows: int = 2048) -> torch.Tensor:
        """Per image (b,): the K-sample importance-weighted bound in bits/dim,
        -log((1/K) sum_j w_j) / (D ln 2); tighter than the ELBO and still an upper bound (in
        expectation) on -log2 P(k) / D. Lower is better."""
        lw = self.iwae_log_weights(x01, k, seed, max_rows).double()
        return self.to_bpd(torch.logsumexp(lw, 1) - math.log(k)).float()

    # -- codes, reconstructions, samples ----------------------------------------------------
    @torch.no_grad()
    def encode(self, x01: torch.Tensor) -> torch.Tensor:
        """The posterior mean mu(x), (b, n_latent)."""
        return self.posterior(x01.to(self.device))[0]

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes -> images (b, c, s, s) in [0, 1]: the exact mean of p(x | z) per pixel
        (E[k] / 255 over the 256 levels; not on the 8-bit grid)."""
        loc, log_scale = self.likelihood_params(z.to(self.device))
        return discretized_logistic_mean(loc, log_scale)

    @torch.no_grad()
    def reconstruct(self, x01: torch.Tensor) -> torch.Tensor:
        """The mean of p(x | z) at z = mu(x) (the posterior mean), (b, c, s, s) in [0, 1]."""
        was = self.training
        self.eval()
        try:
            return self.decode(self.encode(x01))
        finally:
            self.train(was)

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, pixels: str = "mean") -> torch.Tensor:
        """n images (n, c, s, s) in [0, 1] with z ~ N(0, I) from ``seed``: ``pixels="mean"``
        (default) the mean of p(x | z) per pixel (smooth); ``"draw"`` the pixels drawn from the
        discretized logistics too (on the 8-bit grid, grainy: the factorised likelihood's
        independent noise)."""
        was = self.training
        self.eval()
        try:
            g = torch.Generator().manual_seed(int(seed))
            z = torch.randn(n, self.config.n_latent, generator=g)
            if pixels == "mean":
                return self.decode(z).cpu()
            if pixels != "draw":
                raise ValueError(f"pixels must be 'mean' or 'draw' (got {pixels!r})")
            loc, log_scale = self.likelihood_params(z.to(self.device))
            u = torch.rand(loc.shape, generator=g).clamp(1e-6, 1 - 1e-6).to(self.device)
            y = loc + torch.exp(log_scale) * (torch.log(u) - torch.log1p(-u))  # logistic draw
            k = torch.round((y.clamp(-1, 1) + 1.0) * 255.0 / 2.0)  # its bin (tails -> edges)
            return (k / 255.0).cpu()
        finally:
            self.train(was)

    # -- training -------------------------------------------------------------------------
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self._opt is None:
            # fused: one kernel for all parameters (faster on CPU, as Glow's and the VAE's)
            wd = float(self.config.weight_decay)
            if wd > 0:
                self._opt = torch.optim.AdamW(self.parameters(), lr=self.config.lr,
                                              weight_decay=wd, fused=True)
            else:
                self._opt = torch.optim.Adam(self.parameters(), lr=self.config.lr, fused=True)
        return {"adam": self._opt}

    def lr_at(self, step: int) -> float:
        """Learning rate of step ``step``: :func:`unsup.models.base.warmup_cosine` of the
        config's lr, warm-up and decay window."""
        c = self.config
        return warmup_cosine(step, c.lr, c.warmup, c.decay_start, c.decay_end)

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One Adam step on the negative ELBO of ``batch`` (b, c, s, s) in [0, 1], in bits/dim,
        with one z per image from ``self.rng`` (reseeded per step by ``fit``: exact resume)."""
        self.train()
        opt = self.optimizers()["adam"]
        lr = self.lr_at(int(self.step_))
        for group in opt.param_groups:
            group["lr"] = lr
        t = self.elbo_terms(batch, self.randn(batch.shape[0], self.config.n_latent))
        bpd = self.to_bpd(t["elbo"]).mean()
        opt.zero_grad(set_to_none=True)
        bpd.backward()
        if self.config.grad_clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(self.parameters(), self.config.grad_clip)
        else:
            norm = torch.sqrt(sum((p.grad ** 2).sum() for p in self.parameters()
                                  if p.grad is not None))
        opt.step()
        scale = 1.0 / (self.n_dims * math.log(2.0))
        return {"bpd": float(bpd.detach()), "kl_bpd": float(t["kl"].mean().detach()) * scale,
                "grad_norm": float(norm), "lr": lr}
