"""Convolutional autoencoders of the lecture: the plain autoencoder, the denoising autoencoder and
the variational autoencoder (Kingma & Welling 2014, "Auto-Encoding Variational Bayes").

One network, three training objectives, so the page can compare them at the same size:

- ``variational=False, noise=0``: autoencoder, minimise the reconstruction loss of x;
- ``variational=False, noise>0``: denoising autoencoder (Vincent et al. 2008), reconstruct x from
  a corrupted x'' = clip(x + s * eps, 0, 1), s ~ U(0, noise) per image;
- ``variational=True``: VAE, maximise the evidence lower bound (lecture's "VAE reward")

      ELBO(x) = E_{q(z|x)}[log p(x|z)] - beta * KL[q(z|x) || p(z)],   p(z) = N(0, I),

  with q(z|x) = N(mu(x), diag(sigma(x)^2)) and the reparameterization z = mu + sigma * eps,
  eps ~ N(0, I) (lecture: dz/dmu = 1, dz/dsigma = eps). beta = 1 is the ELBO; beta > 1 is the
  beta-VAE of Higgins et al. 2017.

The likelihood p(x|z) is Bernoulli with logits from the decoder, for every variant, so that the
reconstruction terms are comparable in nats: log p(x|z) = sum_i x_i log p_i + (1-x_i) log(1-p_i).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from unsup.models.base import Model, register


@dataclass
class VAEConfig:
    """Configuration of :class:`ConvVAE` (every field is stored in the checkpoint card)."""

    n_latent: int = 16
    """Size of the code z."""
    image_size: int = 28
    """Side of the square images, in pixels (a multiple of 4)."""
    n_channels: int = 1
    """1 for grayscale, 3 for RGB."""
    width: int = 32
    """Channels of the first convolution; the second has twice as many."""
    hidden: int = 256
    """Units of the dense layer between the convolutions and the code."""
    variational: bool = True
    """True: VAE (stochastic code, KL term). False: (denoising) autoencoder."""
    beta: float = 1.0
    """Weight of the KL term (1 = the ELBO; >1 = beta-VAE). Ignored when not variational."""
    noise: float = 0.0
    """Denoising: the largest corruption level s; each image gets x + s*eps, s ~ U(0, noise)."""
    shift: int = 0
    """Data augmentation: random translation of each training image by up to this many pixels."""
    lr: float = 1e-3
    """Adam learning rate."""
    batch_size: int = 128
    """Images per training step."""
    seed: int = 0
    """Seed for the weights, the batch order and the in-step noise."""

    @classmethod
    def tiny(cls, **overrides) -> "VAEConfig":
        """A very small variant for tests: 8x8 images, 2-D code."""
        values = dict(n_latent=2, image_size=8, width=4, hidden=16, batch_size=16)
        values.update(overrides)
        return cls(**values)


def corrupt(x: torch.Tensor, level: torch.Tensor | float, eps: torch.Tensor) -> torch.Tensor:
    """Additive Gaussian corruption used by the denoising autoencoder: clip(x + level*eps, 0, 1).

    ``level`` is a float or a per-image tensor of shape (b,); ``eps`` has the shape of ``x``.
    """
    if isinstance(level, torch.Tensor):
        level = level.view(-1, *([1] * (x.dim() - 1)))
    return (x + level * eps).clamp(0.0, 1.0)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL[N(mu, diag(exp(logvar))) || N(0, I)] per dimension, shape (b, n_latent), in nats.

    Closed form (Kingma & Welling 2014, appendix B): -1/2 (1 + log s^2 - mu^2 - s^2).
    """
    return -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp())


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) under a Bernoulli per pixel, summed over pixels: shape (b,), in nats."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps with sigma = exp(logvar / 2) (lecture: dz/dmu = 1, dz/dsigma = eps)."""
    return mu + (0.5 * logvar).exp() * eps


class GaussianVAE(Model):
    """The one Gaussian-VAE core shared by every (variational) autoencoder of the lab.

    A subclass supplies the networks: ``posterior(x) -> (mu, logvar)`` (logvar None for a plain
    autoencoder) and ``decode_logits(z)``. This class turns them into the code, the decoded
    image, samples and, in :meth:`elbo_terms`, the per-image terms of the ELBO with a Bernoulli
    likelihood, which the training losses, ``eval`` and the pages all use.
    """

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code of each image: the posterior mean, (b, n_latent)."""
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Mean image p(x|z) of each code, (b, c, s, s) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """n images decoded from z ~ N(0, I) drawn with ``seed``."""
        z = torch.randn(n, self.config.n_latent, generator=torch.Generator().manual_seed(seed))
        return self.decode(z.to(self.device))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def elbo_terms(self, x: torch.Tensor, *, x_in: torch.Tensor | None = None,
                   posterior: tuple[torch.Tensor, torch.Tensor | None] | None = None,
                   eps: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Per-image terms of the objective for targets ``x`` (b, c, s, s).

        The posterior is that of ``x_in`` (default ``x``; a denoising autoencoder passes the
        corrupted image), or ``posterior`` = (mu, logvar) when the caller already has it (e.g.
        after Ada-GVAE's sharing). ``eps`` is the reparameterization noise (default: drawn from
        ``self.rng``). Returns ``z`` (b, d), ``recon`` = -log p(x|z) (b,) in nats and, for a
        VAE, ``mu``, ``logvar`` and ``kl_per_dim`` = KL(q(z_j|x) || N(0, 1)) (b, d).
        """
        mu, logvar = posterior if posterior is not None else self.posterior(
            x if x_in is None else x_in)
        if logvar is None:  # a plain (denoising) autoencoder: z is the code itself
            return {"z": mu, "recon": bernoulli_nll(self.decode_logits(mu), x)}
        z = reparameterize(mu, logvar, self.randn(*mu.shape) if eps is None else eps)
        return {"z": z, "mu": mu, "logvar": logvar,
                "recon": bernoulli_nll(self.decode_logits(z), x),
                "kl_per_dim": gaussian_kl(mu, logvar)}


@register("conv_vae")
class ConvVAE(GaussianVAE):
    """Convolutional (variational / denoising) autoencoder, see the module docstring."""

    config_class = VAEConfig

    def __init__(self, config: VAEConfig):
        super().__init__(config)
        c, w, s = config.n_channels, config.width, config.image_size
        if s % 4:
            raise ValueError(f"image_size must be a multiple of 4, got {s}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self._build(c, w, s)
        self._opt: torch.optim.Optimizer | None = None

    def _build(self, c: int, w: int, s: int) -> None:
        config = self.config
        self._feat = (2 * w, s // 4, s // 4)
        n_feat = 2 * w * (s // 4) ** 2
        self.encoder = nn.Sequential(
            nn.Conv2d(c, w, 4, 2, 1), nn.ReLU(),  # (b, w, s/2, s/2)
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.ReLU(),  # (b, 2w, s/4, s/4)
            nn.Flatten(),
            nn.Linear(n_feat, config.hidden), nn.ReLU(),
        )
        out = 2 * config.n_latent if config.variational else config.n_latent
        self.to_code = nn.Linear(config.hidden, out)
        self.decoder_fc = nn.Sequential(
            nn.Linear(config.n_latent, config.hidden), nn.ReLU(),
            nn.Linear(config.hidden, n_feat), nn.ReLU(),
        )
        self.decoder_conv = nn.Sequential(
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.ReLU(),  # (b, w, s/2, s/2)
            nn.ConvTranspose2d(w, c, 4, 2, 1),  # (b, c, s, s) logits
        )

    # -- the model ----------------------------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """q(z|x): (mu, logvar), each (b, n_latent). For an autoencoder logvar is None."""
        h = self.to_code(self.encoder(x))
        if not self.config.variational:
            return h, None
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        h = self.decoder_fc(z).view(-1, *self._feat)
        return self.decoder_conv(h)  # (b, c, s, s)

    # -- the objective ------------------------------------------------------------------------
    def loss(self, x: torch.Tensor, x_in: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Per-batch mean terms of the objective, in nats per image.

        ``x_in`` is the network's input (the corrupted image for a denoising autoencoder);
        the reconstruction target is always ``x``.
        """
        t = self.elbo_terms(x, x_in=x_in)
        recon = t["recon"].mean()
        if "kl_per_dim" not in t:
            return {"loss": recon, "recon": recon}
        kl = t["kl_per_dim"].sum(1).mean()
        loss = recon + self.config.beta * kl
        return {"loss": loss, "recon": recon, "kl": kl, "neg_elbo": recon + kl}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self._opt is None:
            # fused: one kernel for all parameters (about 10% faster steps on 2 CPU cores)
            self._opt = torch.optim.Adam(self.parameters(), lr=self.config.lr, fused=True)
        return {"adam": self._opt}

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        k = self.config.shift
        if k <= 0:
            return x
        s = x.shape[-1]
        pad = F.pad(x, (k, k, k, k))
        off = (self.rand(x.shape[0], 2) * (2 * k + 1)).long().clamp(max=2 * k)
        rows = off[:, 0:1] + torch.arange(s, device=x.device)  # (b, s)
        cols = off[:, 1:2] + torch.arange(s, device=x.device)
        b = torch.arange(x.shape[0], device=x.device)[:, None, None]
        return pad.permute(0, 2, 3, 1)[b, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        self.train()
        x = self._augment(batch)
        x_in = x
        if self.config.noise > 0:
            level = self.rand(x.shape[0]) * self.config.noise
            x_in = corrupt(x, level, self.randn(*x.shape))
        terms = self.loss(x, x_in)
        opt = self.optimizers()["adam"]
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        opt.step()
        return {k: float(v.detach()) for k, v in terms.items()}


def latent_grid(n: int, lo: float = 0.05, hi: float = 0.95) -> torch.Tensor:
    """Codes on an n x n grid of standard-normal quantiles (Kingma & Welling 2014, fig. 4).

    Returns (n*n, 2); row r, column c holds (Phi^-1(q_c), Phi^-1(q_{n-1-r})) so that "up" on the
    picture is +z_2.
    """
    q = torch.linspace(lo, hi, n)
    v = math.sqrt(2.0) * torch.erfinv(2.0 * q - 1.0)
    z1 = v.repeat(n)
    z2 = v.flip(0).repeat_interleave(n)
    return torch.stack([z1, z2], dim=1)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, n: int, mode: str = "linear") -> torch.Tensor:
    """n codes from z0 to z1 (both (d,)), inclusive: "linear" or "spherical" (slerp, White 2016,
    which keeps the path at the typical norm of a Gaussian code). Returns (n, d)."""
    t = torch.linspace(0.0, 1.0, n)[:, None]
    if mode == "linear":
        return (1 - t) * z0 + t * z1
    if mode != "spherical":
        raise ValueError(f"mode must be 'linear' or 'spherical', got {mode!r}")
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm() + 1e-12)
    omega = torch.arccos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
    if float(omega) < 1e-4:
        return (1 - t) * z0 + t * z1
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * z0 + (torch.sin(t * omega) / so) * z1
