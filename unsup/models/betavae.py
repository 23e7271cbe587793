"""Disentangling VAEs on dSprites: β-VAE (Higgins et al. 2017) and β-TCVAE (Chen et al. 2018).

Both use the convolutional encoder/decoder of Higgins et al. 2017 (appendix, dSprites):
4 convolutions 32-32-64-64 (kernel 4, stride 2) -> dense 256 -> 2 x n_latent (mean, log
variance), and the mirror image for the decoder, with a Bernoulli likelihood over the pixels.

β-VAE ("betavae") maximises, per image (lecture, "Disentangling Representation: β-VAE"),

    L(θ, φ; x, z, β) = E_{q_φ(z|x)}[log p_θ(x|z)] - β · KL(q_φ(z|x) || p(z)),   p(z) = N(0, I).

β = 1 is the plain VAE. Optional capacity annealing (Burgess et al. 2018, "Understanding
disentangling in β-VAE", eq. 8) replaces the KL term by γ · |KL - C|, C growing linearly from 0
to ``capacity`` nats over ``capacity_steps`` steps.

β-TCVAE ("betatcvae") splits the averaged KL into index-code mutual information, total
correlation and dimension-wise KL (Chen et al. 2018, eq. 2),

    E_x KL(q(z|x) || p(z)) = I_q(z; x) + KL(q(z) || Π_j q(z_j)) + Σ_j KL(q(z_j) || p(z_j)),

and weights them α, β, γ (eq. 4; the paper and we use α = γ = 1). The aggregate-posterior terms
log q(z) and log q(z_j) are estimated on the minibatch with minibatch-weighted sampling (eq. 5
and appendix C.1): for a sample z_i of the i-th image, with M images in the batch out of N,

    log q(z_i) ≈ logsumexp_j log q(z_i | x_j) - log(N M).

With N = 704,512 and M = 64 the sums are dominated by the j = i term, so the logged terms carry
constant offsets: "mi" about +log(N M) = +17.6 nats, "tc" +(d - 1) log(N M) = +159 nats and
"dwkl" -d log(N M) = -176 nats for d = 10 (they cancel in the sum, the KL). Constants do not
change the gradients, which is what the objective needs.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from unsup.models.base import register
from unsup.models.vae import GaussianVAE

LOG_2PI = math.log(2.0 * math.pi)


@dataclass
class DSpritesVAEConfig:
    """What every disentangling VAE of this module shares (stored in the checkpoint card)."""

    n_latent: int = 10
    """Size of the code z (Higgins et al. use 10 on dSprites)."""
    image_size: int = 64
    """Side of the square binary images (a multiple of 16)."""
    widths: tuple[int, ...] = (32, 32, 64, 64)
    """Channels of the stride-2 convolutions of the encoder (the decoder mirrors them)."""
    hidden: int = 256
    """Units of the dense layer between the convolutions and the code."""
    beta: float = 4.0
    """β-VAE: weight of the KL (1 = the plain VAE). β-TCVAE: weight of the total correlation.
    FactorVAE: γ, the weight of its discriminator's total-correlation estimate."""
    pairs: bool = False
    """Weak supervision (Locatello et al. 2020, Ada-GVAE): train on pairs of images that differ
    in one unknown factor (:class:`unsup.data.dsprites.DSpritesPairs`) and average the two
    posteriors on the latents where they agree (see :func:`share_pairs`)."""
    lr: float = 5e-4
    """Adam learning rate."""
    batch_size: int = 64
    """Images per training step."""
    seed: int = 0
    """Seed for the weights, the batch order and the in-step noise."""

    def __post_init__(self):
        self.widths = tuple(int(w) for w in self.widths)  # JSON gives a list

    @classmethod
    def tiny(cls, **overrides):
        """A very small variant for tests: 16x16 images, 3-D code, 32 images per batch."""
        values = dict(n_latent=3, image_size=16, widths=(4, 4, 8, 8), hidden=16, batch_size=32)
        if "n_data" in {f.name for f in dataclasses.fields(cls)}:
            values["n_data"] = 256
        values.update(overrides)
        return cls(**values)


@dataclass
class BetaVAEConfig(DSpritesVAEConfig):
    """β-VAE (Higgins et al. 2017), optionally with capacity annealing (Burgess et al. 2018)."""

    capacity: float = 0.0
    """Capacity annealing target C_max in nats (0 = off; Burgess et al. 2018)."""
    capacity_steps: int = 100_000
    """Steps over which C grows linearly from 0 to ``capacity``."""


@dataclass
class BetaTCVAEConfig(DSpritesVAEConfig):
    """β-TCVAE (Chen et al. 2018): the KL split into MI + β·TC + dimension-wise KL."""

    alpha: float = 1.0
    """Weight of the index-code mutual information I(z; x)."""
    gamma: float = 1.0
    """Weight of the dimension-wise KL Σ_j KL(q(z_j) || p(z_j))."""
    n_data: int = 704_512
    """N, the size of the training set, used by minibatch-weighted sampling."""


@dataclass
class FactorVAEConfig(DSpritesVAEConfig):
    """FactorVAE (Kim & Mnih 2018): the ELBO plus γ·TC from a discriminator (γ is ``beta``)."""

    disc_hidden: int = 256
    """Units of each hidden layer of the discriminator."""
    disc_layers: int = 4
    """Hidden layers of the discriminator."""
    disc_lr: float = 1e-3
    """Adam learning rate of the discriminator (betas 0.5, 0.9 as in the paper; the paper's
    1e-4 left the discriminator at chance after 2,000 steps here)."""


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, exp(logvar)) elementwise (broadcasting), in nats."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar))


def tc_decomposition(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                     n_data: int) -> dict[str, torch.Tensor]:
    """Minibatch-weighted-sampling estimates (Chen et al. 2018, appendix C.1) of the three KL
    terms, each averaged over the batch.

    z, mu, logvar: (M, d). Returns ``mi`` = E[log q(z|x) - log q(z)], ``tc`` = E[log q(z) -
    Σ_j log q(z_j)], ``dwkl`` = E[Σ_j log q(z_j) - log p(z)].
    """
    m = z.shape[0]
    log_qz_x = gaussian_log_density(z, mu, logvar).sum(1)  # (M,)
    log_pz = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z)).sum(1)
    # mat[i, j, k] = log q(z_i,k | x_j)
    mat = gaussian_log_density(z.unsqueeze(1), mu.unsqueeze(0), logvar.unsqueeze(0))  # (M, M, d)
    log_nm = math.log(n_data * m)
    log_qz = torch.logsumexp(mat.sum(2), dim=1) - log_nm  # (M,)
    log_prod_qzj = (torch.logsumexp(mat, dim=1) - log_nm).sum(1)  # (M,)
    return {"mi": (log_qz_x - log_qz).mean(), "tc": (log_qz - log_prod_qzj).mean(),
            "dwkl": (log_prod_qzj - log_pz).mean()}


def share_pairs(mu: torch.Tensor, logvar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Adaptive averaging of paired posteriors (Locatello et al. 2020, "Ada-GVAE").

    Rows 2i and 2i+1 are two images that differ in one factor. Per latent j, δ_j = KL(q(z_j|x1)
    || q(z_j|x2)); latents with δ_j below the midpoint of the pair's smallest and largest δ are
    taken as shared, and both posteriors are replaced there by their average (mean of the means,
    mean of the variances). The others keep their own posterior. Returns new (mu, logvar).
    """
    b, d = mu.shape
    m1, m2 = mu.view(b // 2, 2, d).unbind(1)
    l1, l2 = logvar.view(b // 2, 2, d).unbind(1)
    v1, v2 = l1.exp(), l2.exp()
    delta = 0.5 * (v1 / v2 + (m1 - m2).pow(2) / v2 - 1.0 + l2 - l1)
    threshold = 0.5 * (delta.amax(1, keepdim=True) + delta.amin(1, keepdim=True))
    shared = (delta < threshold).detach()
    m_avg, l_avg = 0.5 * (m1 + m2), torch.log(0.5 * (v1 + v2))
    m1, m2 = torch.where(shared, m_avg, m1), torch.where(shared, m_avg, m2)
    l1, l2 = torch.where(shared, l_avg, l1), torch.where(shared, l_avg, l2)
    return torch.stack([m1, m2], 1).view(b, d), torch.stack([l1, l2], 1).view(b, d)


@register("betavae")
class BetaVAE(GaussianVAE):
    """β-VAE with the Higgins et al. convolutional networks (see the module docstring)."""

    config_class = BetaVAEConfig

    def __init__(self, config: BetaVAEConfig):
        super().__init__(config)
        s, n = config.image_size, len(config.widths)
        if s % (2 ** n):
            raise ValueError(f"image_size must be a multiple of {2 ** n}, got {s}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self._build()
        # channels-last convolutions are about 1.3x faster on CPU (oneDNN) for these sizes
        self.to(memory_format=torch.channels_last)
        self._opt: torch.optim.Optimizer | None = None

    def _build(self) -> None:
        c = self.config
        w = c.widths
        side = c.image_size // 2 ** len(w)
        self._feat = (w[-1], side, side)
        n_feat = w[-1] * side * side
        enc, ch = [], 1
        for width in w:  # each halves the side: 64 -> 32 -> 16 -> 8 -> 4
            enc += [nn.Conv2d(ch, width, 4, 2, 1), nn.ReLU()]
            ch = width
        self.encoder = nn.Sequential(*enc, nn.Flatten(), nn.Linear(n_feat, c.hidden), nn.ReLU(),
                                     nn.Linear(c.hidden, 2 * c.n_latent))
        dec = []
        rev = list(w[::-1]) + [1]
        for i in range(len(w)):
            dec.append(nn.ConvTranspose2d(rev[i], rev[i + 1], 4, 2, 1))
            if i < len(w) - 1:
                dec.append(nn.ReLU())
        self.decoder_fc = nn.Sequential(nn.Linear(c.n_latent, c.hidden), nn.ReLU(),
                                        nn.Linear(c.hidden, n_feat), nn.ReLU())
        self.decoder_conv = nn.Sequential(*dec)

    # -- the model ------------------------------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x) = N(mu, diag(exp(logvar))): (mu, logvar), each (b, n_latent)."""
        mu, logvar = self.encoder(x.contiguous(memory_format=torch.channels_last)).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        h = self.decoder_fc(z).view(-1, *self._feat)  # (b, 64, 4, 4)
        return self.decoder_conv(h)  # (b, 1, s, s) logits

    # -- the objective --------------------------------------------------------------------------
    def capacity_at(self, step: int) -> float:
        c = self.config
        if c.capacity <= 0:
            return 0.0
        return c.capacity * min(1.0, step / max(1, c.capacity_steps))

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-batch mean terms of the objective, in nats per image (see the module docstring)."""
        mu, logvar = self.posterior(x)
        if self.config.pairs and self.training:
            mu, logvar = share_pairs(mu, logvar)
        t = self.elbo_terms(x, posterior=(mu, logvar))
        recon = t["recon"].mean()  # -E_q log p(x|z)
        kl = t["kl_per_dim"].sum(1).mean()
        terms = {"recon": recon, "kl": kl, "neg_elbo": recon + kl}
        terms["loss"] = recon + self._regulariser(t["z"], mu, logvar, kl, terms)
        return terms

    def _regulariser(self, z, mu, logvar, kl, terms) -> torch.Tensor:
        c = self.config
        if c.capacity > 0:  # Burgess et al. 2018: gamma |KL - C|, with gamma = beta here
            cap = self.capacity_at(int(getattr(self, "step_", 0)))
            terms["capacity"] = torch.tensor(cap)
            return c.beta * (kl - cap).abs()
        return c.beta * kl

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self._opt is None:
            # fused: one kernel for all parameters (about 10% faster steps on 2 CPU cores)
            self._opt = torch.optim.Adam(self.parameters(), lr=self.config.lr, fused=True)
        return {"adam": self._opt}

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        self.train()
        terms = self.loss(batch)
        opt = self.optimizers()["adam"]
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        opt.step()
        return {k: float(v.detach()) for k, v in terms.items()}


@register("betatcvae")
class BetaTCVAE(BetaVAE):
    """β-TCVAE: the same networks, the KL split into MI + β·TC + dimension-wise KL."""

    config_class = BetaTCVAEConfig

    def _regulariser(self, z, mu, logvar, kl, terms) -> torch.Tensor:
        c = self.config
        parts = tc_decomposition(z, mu, logvar, c.n_data)
        terms.update(parts)
        return c.alpha * parts["mi"] + c.beta * parts["tc"] + c.gamma * parts["dwkl"]


def permute_dims(z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shuffle each latent dimension independently across the batch: samples of Π_j q(z_j)
    (Kim & Mnih 2018, Algorithm 2)."""
    b, d = z.shape
    idx = torch.stack([torch.randperm(b, generator=generator) for _ in range(d)], dim=1)
    return torch.gather(z, 0, idx.to(z.device))


@register("factorvae")
class FactorVAE(BetaVAE):
    """FactorVAE (Kim & Mnih 2018): the ELBO plus γ·TC(z), the total correlation estimated by a
    discriminator D that tells codes z ~ q(z) from codes with each dimension shuffled across the
    batch (~ Π_j q(z_j)), with the density-ratio trick TC ≈ E[log D(z) - log(1 - D(z))].

    ``beta`` is γ here. D is an MLP (``disc_layers`` x ``disc_hidden``, LeakyReLU 0.2; the paper
    uses 6 x 1000, which would double the cost of a step on a CPU), trained after each VAE step
    on the batch's detached codes and their shuffled copy, as in disentanglement_lib.
    """

    config_class = FactorVAEConfig

    def _build(self) -> None:
        super()._build()
        c = self.config
        layers, width = [], c.n_latent
        for _ in range(c.disc_layers):
            layers += [nn.Linear(width, c.disc_hidden), nn.LeakyReLU(0.2)]
            width = c.disc_hidden
        self.discriminator = nn.Sequential(*layers, nn.Linear(width, 2))  # logits: (q(z), Πq(z_j))
        self._disc_opt: torch.optim.Optimizer | None = None

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self._opt is None:
            vae = [p for n, p in self.named_parameters() if not n.startswith("discriminator.")]
            self._opt = torch.optim.Adam(vae, lr=self.config.lr, fused=True)
            self._disc_opt = torch.optim.Adam(self.discriminator.parameters(),
                                              lr=self.config.disc_lr, betas=(0.5, 0.9),
                                              fused=True)
        return {"adam": self._opt, "disc": self._disc_opt}

    def _regulariser(self, z, mu, logvar, kl, terms) -> torch.Tensor:
        self._codes = z.detach()  # the discriminator's next training batch
        logits = self.discriminator(z)
        tc = (logits[:, 0] - logits[:, 1]).mean()  # log D(z) - log(1 - D(z))
        terms["tc"] = tc
        return kl + self.config.beta * tc

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        out = super().train_step(batch)  # the VAE step; its loss left the codes in self._codes
        # the discriminator: class 0 for the batch's codes, class 1 for their shuffled copy
        z = self._codes
        logits = self.discriminator(torch.cat([z, permute_dims(z, self.rng)]))
        target = torch.cat([torch.zeros(len(z)), torch.ones(len(z))]).long().to(logits.device)
        d_loss = F.cross_entropy(logits, target)
        opt = self.optimizers()["disc"]
        opt.zero_grad(set_to_none=True)  # also drops what the VAE's backward left in D
        d_loss.backward()
        opt.step()
        out["disc_loss"] = float(d_loss.detach())
        return out
