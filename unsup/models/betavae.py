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

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from unsup.models.base import Model, register
from unsup.models.vae import bernoulli_nll, gaussian_kl

LOG_2PI = math.log(2.0 * math.pi)


@dataclass
class BetaVAEConfig:
    """Configuration of :class:`BetaVAE` and :class:`BetaTCVAE` (stored in the checkpoint card)."""

    n_latent: int = 10
    """Size of the code z (Higgins et al. use 10 on dSprites)."""
    image_size: int = 64
    """Side of the square binary images (a multiple of 16)."""
    widths: tuple[int, ...] = (32, 32, 64, 64)
    """Channels of the stride-2 convolutions of the encoder (the decoder mirrors them)."""
    hidden: int = 256
    """Units of the dense layer between the convolutions and the code."""
    beta: float = 4.0
    """β-VAE: weight of the KL term (1 = the plain VAE). β-TCVAE: weight of the total correlation."""
    alpha: float = 1.0
    """β-TCVAE only: weight of the index-code mutual information I(z; x)."""
    gamma: float = 1.0
    """β-TCVAE only: weight of the dimension-wise KL Σ_j KL(q(z_j) || p(z_j))."""
    capacity: float = 0.0
    """β-VAE only: capacity annealing target C_max in nats (0 = off; Burgess et al. 2018)."""
    capacity_steps: int = 100_000
    """β-VAE only: steps over which C grows linearly from 0 to ``capacity``."""
    n_data: int = 704_512
    """β-TCVAE only: N, the size of the training set, used by minibatch-weighted sampling."""
    disc_hidden: int = 256
    """FactorVAE only: units of each hidden layer of the discriminator."""
    disc_layers: int = 4
    """FactorVAE only: hidden layers of the discriminator."""
    disc_lr: float = 1e-3
    """FactorVAE only: Adam learning rate of the discriminator (betas 0.5, 0.9 as in the paper;
    the paper's 1e-4 left the discriminator at chance after 2,000 steps here)."""
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
    def tiny(cls, **overrides) -> "BetaVAEConfig":
        """A very small variant for tests: 16x16 images, 3-D code, 32 images per batch."""
        values = dict(n_latent=3, image_size=16, widths=(4, 4, 8, 8), hidden=16, batch_size=32,
                      n_data=256)
        values.update(overrides)
        return cls(**values)


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
class BetaVAE(Model):
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

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code of each image: the posterior mean, (b, n_latent)."""
        return self.posterior(x)[0]

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        h = self.decoder_fc(z).view(-1, *self._feat)  # (b, 64, 4, 4)
        return self.decoder_conv(h)  # (b, 1, s, s) logits

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Mean image p(x|z) of each code, (b, 1, s, s) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """n images decoded from z ~ N(0, I) drawn with ``seed``."""
        z = torch.randn(n, self.config.n_latent, generator=torch.Generator().manual_seed(seed))
        return self.decode(z.to(self.device))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

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
        z = mu + (0.5 * logvar).exp() * self.randn(*mu.shape)  # reparameterization
        recon = bernoulli_nll(self.decode_logits(z), x).mean()  # -E_q log p(x|z)
        kl = gaussian_kl(mu, logvar).sum(1).mean()
        terms = {"recon": recon, "kl": kl, "neg_elbo": recon + kl}
        terms["loss"] = recon + self._regulariser(z, mu, logvar, kl, terms)
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


MODEL_CLASSES = {"betavae": BetaVAE, "betatcvae": BetaTCVAE, "factorvae": FactorVAE}
KIND_LABELS = {"betavae": "β-VAE", "betatcvae": "β-TCVAE", "factorvae": "FactorVAE"}


# -- presets: the shipped checkpoints and how to reproduce them ---------------------------------
STEPS = 12_000
"""Steps of every preset, batches of 32 (lr 1e-3). Measured: 57-64 minutes per preset with the five
shipped presets training side by side on one thread each of 2 cores; alone on 2 idle cores about
20 minutes (estimated from the measured 2.5 ms per image of a 2-thread step)."""

_RECIPE = dict(lr=1e-3, batch_size=32)

PRESETS: dict[str, dict] = {
    "betavae-b1": {
        "kind": "betavae", "steps": STEPS,
        "config": dict(_RECIPE, beta=1.0),
        "title": "VAE (β = 1) on dSprites",
        "description": "The plain VAE: the ELBO, no pressure towards independent latents.",
    },
    "betavae-b4": {
        "kind": "betavae", "steps": STEPS,
        "config": dict(_RECIPE, beta=4.0),
        "title": "β-VAE (β = 4) on dSprites",
        "description": "Higgins et al. 2017's setting: the KL weighted 4x.",
    },
    "betatcvae-b6": {
        "kind": "betatcvae", "steps": STEPS,
        "config": dict(_RECIPE, beta=6.0),
        "title": "β-TCVAE (β = 6) on dSprites",
        "description": "Chen et al. 2018: only the total correlation is weighted (β = 6).",
    },
    "adagvae-b1": {
        "kind": "betavae", "steps": STEPS,
        "config": dict(_RECIPE, beta=1.0, pairs=True),
        "title": "Ada-GVAE (pairs, β = 1) on dSprites",
        "description": "Weakly supervised (Locatello et al. 2020): trained on pairs of images that "
                       "differ in one unknown factor; the pair's posteriors are averaged on the "
                       "latents where they agree.",
    },
    "adatcvae-b6": {
        "kind": "betatcvae", "steps": STEPS,
        "config": dict(_RECIPE, beta=6.0, pairs=True),
        "title": "β-TCVAE (β = 6) on pairs, dSprites",
        "description": "Chen et al. 2018's total-correlation penalty (β = 6) on the paired data "
                       "order of Ada-GVAE (weakly supervised).",
    },
}
"""Preset name -> kind, config overrides, steps, title, description."""

METRIC_HELDOUT = 16_384
"""Held-out images encoded for the metrics: a seeded half of ``DSprites("heldout")``, enough
for disentanglement_lib's sample sizes (10,000 + 5,000) and half the encoding time."""
RECON_HELDOUT = 4_096
"""Held-out images for the reconstruction error and KL (decoding is the costly half)."""


def build_preset(name: str):
    """A fresh model for preset ``name`` and its training data."""
    from unsup.data.dsprites import DSprites, DSpritesPairs

    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; known: {sorted(PRESETS)}")
    p = PRESETS[name]
    data = DSpritesPairs() if p["config"].get("pairs") else DSprites("train")
    cls = MODEL_CLASSES[p["kind"]]
    return cls(BetaVAEConfig(**{**p["config"], "n_data": len(data)})), data


def evaluate(model: BetaVAE, *, seed: int = 0, fast: bool = False) -> dict:
    """Every metric of the page for ``model`` on the held-out dSprites images (fixed seeds):
    the five disentanglement scores, reconstruction and KL (nats per image), KL per latent,
    the normalised latent x factor MI matrix."""
    from unsup.data.dsprites import DSprites
    from unsup.metrics import disentangle as D

    model.eval()
    data = DSprites("heldout")
    n = METRIC_HELDOUT // (4 if fast else 1)
    n_rec = RECON_HELDOUT // (4 if fast else 1)
    rows = np.random.default_rng(seed).choice(len(data), n, replace=False)  # random order
    mus, recon, kl_dim = [], 0.0, 0.0
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for s in range(0, n, 512):
            x = data[torch.as_tensor(rows[s:s + 512])].to(model.device)
            mu, logvar = model.posterior(x)
            mus.append(mu.cpu().double().numpy())
            if s < n_rec:  # the first n_rec rows (a random subset)
                z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=g).to(mu.device)
                recon += float(bernoulli_nll(model.decode_logits(z), x).sum())
                kl_dim = kl_dim + gaussian_kl(mu, logvar).sum(0).cpu().double().numpy()
    bank = D.CodeBank(np.concatenate(mus), data.factors(rows), data.factor_sizes,
                      data.factor_names)
    out = D.all_metrics(bank, seed=seed, fast=fast)
    n_rec = min(n, -(-n_rec // 512) * 512)
    out.update(recon=recon / n_rec, kl=float(kl_dim.sum() / n_rec),
               kl_per_dim=(kl_dim / n_rec).tolist(),
               mi_matrix=D.normalized_mi(bank, seed=seed).tolist(), n_heldout=n)
    return out


def train_preset(name: str, steps: int | None = None, *, out_dir: str | Path | None = None,
                 on_progress=None, threads: int | None = None, fast_eval: bool = False) -> Path:
    """Train preset ``name`` with :func:`unsup.train.fit` on dSprites and write
    ``<out_dir>/<name>.safetensors`` + ``.json`` (default: the shipped ``checkpoints/``) with the
    held-out metrics, data fingerprint, command and seconds in the card.

    ``steps`` overrides the preset's step count (the card records what was run). If a
    checkpoint with optimizer state already exists there, training resumes from it (a killed
    run loses at most the 2,500 steps since its last save). ``fast_eval``: metrics on a quarter
    of the usual held-out images with a tenth of the samples (tests only).
    """
    from unsup import checkpoints, paths
    from unsup.train import fit

    if threads:
        torch.set_num_threads(threads)
    p = PRESETS[name]
    steps = int(p["steps"] if steps is None else steps)
    out = Path(out_dir) if out_dir is not None else paths.SHIPPED_DIR
    path = out / f"{name}.safetensors"
    model, data = build_preset(name)
    seconds = 0.0
    if path.exists() and checkpoints.optimizer_path(path).exists():
        model = checkpoints.load(path, optimizer=True)
        seconds = float(model.card_.get("seconds") or 0.0)
    command = f"python -m unsup train {name}" + ("" if steps == p["steps"] else f" --steps {steps}")
    card = {"title": p["title"], "description": p["description"], "data": data.card(),
            "command": command, "seconds": seconds}
    if on_progress is None:  # the CLI: a line every 1,000 steps
        def on_progress(prog):
            if prog.step % 1000 == 0 or prog.step == prog.total:
                losses = " ".join(f"{k} {v:.2f}" for k, v in prog.losses.items())
                print(f"step {prog.step}/{prog.total}  {prog.seconds:7.0f}s  {losses}",
                      flush=True)
    t0 = time.perf_counter()
    left = max(0, steps - int(getattr(model, "step_", 0)))
    fit(model, data, steps=left, checkpoint_every=2_500, checkpoint_path=path, card=card,
        on_progress=on_progress, log_every=100)
    train_seconds = seconds + time.perf_counter() - t0
    t1 = time.perf_counter()
    metrics = evaluate(model, fast=fast_eval)
    final = checkpoints.make_card(
        model, step=model.step_, metrics=_card_metrics(metrics), data=card["data"],
        command=command, seconds=train_seconds, title=p["title"], description=p["description"],
        extra={"name": name, "threads": torch.get_num_threads(), "device": str(model.device),
               "eval_seconds": round(time.perf_counter() - t1, 1),
               "extra_metrics": {"kl_per_dim": metrics["kl_per_dim"],
                                 "mi_matrix": metrics["mi_matrix"]}})
    # the finished checkpoint: metrics embedded in the weights file too; the optimizer state
    # (only needed to resume an unfinished run) is dropped
    checkpoints.save(model, path, final, optimizer=False)
    checkpoints.optimizer_path(path).unlink(missing_ok=True)
    return path


def _card_metrics(m: dict) -> dict:
    keys = ("beta_vae", "factor_vae", "mig", "dci", "sap", "informativeness", "recon", "kl")
    return {k: round(float(m[k]), 4) for k in keys if k in m}


def evaluate_entry(path: str | Path, fast: bool = False) -> dict:
    """Recompute every metric of a checkpoint (``python -m unsup eval``) and store them in its
    card; returns the card's metrics. ``fast``: reduced sample sizes (tests only)."""
    from unsup import checkpoints

    model = checkpoints.load(path)
    m = evaluate(model, fast=fast)
    checkpoints.update_card(model.path_, metrics=_card_metrics(m),
                            extra_metrics={"kl_per_dim": m["kl_per_dim"],
                                           "mi_matrix": m["mi_matrix"]})
    return _card_metrics(m)


def training_spec(*, kind: str = "betavae", beta: float = 4.0, steps: int = 5_000,
                  pairs: bool = False, owner: str = ""):
    """A :class:`unsup.jobs.JobSpec` for the page's "Train" section: the shipped architecture
    and recipe (batches of 32, lr 1e-3) with the chosen kind, β, data order (``pairs``: the
    weakly supervised Ada-GVAE pairs) and number of steps, on the dSprites training split."""
    from unsup.data.dsprites import DSprites, DSpritesPairs
    from unsup.jobs import JobSpec

    label = KIND_LABELS[kind]
    if pairs and kind == "betavae":
        label = "Ada-GVAE"
    title = f"{label} β={beta:g}{' on pairs' if pairs else ''}, {steps:,} steps"
    fixed_z = torch.randn(6, 10, generator=torch.Generator().manual_seed(1))
    shown = torch.arange(0, 704_512, 704_512 // 6)[:6]

    def build():
        data = DSpritesPairs() if pairs else DSprites("train")
        cls = MODEL_CLASSES[kind]
        model = cls(BetaVAEConfig(**{**_RECIPE, "beta": float(beta), "pairs": bool(pairs),
                                     "n_data": len(data)}))
        return model, data, {"title": title, "data": data.card(), "command": None,
                             "extra": {"origin": "app"}}

    def preview(model):
        with torch.no_grad():
            x = DSprites("train")[shown].to(model.device)
            imgs = torch.cat([model.decode(fixed_z.to(model.device)), model.reconstruct(x)])
        return [im[0].cpu().numpy() for im in imgs]

    return JobSpec(title=title, build=build, steps=int(steps), preview=preview,
                   checkpoint_every=1_000, owner=owner)
