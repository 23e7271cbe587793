"""Generative adversarial networks (Goodfellow et al. 2014): the lecture's counterfeiter
(generator G) against the police (discriminator D), trained with any of the seven loss families
of :mod:`unsup.models.gan_losses`.

Two models, one step:

- ``"gan2d"`` (:class:`Toy2DGAN`): MLPs for 2-D point sets (the ring and grid of
  :mod:`unsup.data.toy2d`, or clicked points), as GAN Lab (Kahng et al. 2019) trains them in the
  browser. Options against mode collapse: PacGAN packing (Lin et al. 2018; D judges ``pack``
  samples concatenated, all real or all generated) and minibatch discrimination (Salimans et al.
  2016, sec. 3.2; D sees how close each sample is to the others of its batch).
- ``"dcgan"`` (:class:`DCGAN`): a DCGAN-style pair for 28x28 digits (Radford et al. 2016) whose
  generator upsamples then convolves (nearest-neighbour x2, 3x3 convolution; no transposed
  convolutions, so no checkerboard artefacts, Odena et al. 2016). BEGAN's discriminator is a
  convolutional autoencoder instead of a classifier.

``train_step(batch)`` makes ``d_steps`` discriminator updates, then ``g_steps`` generator updates
(each D update sees the same real batch and fresh generated samples), with two optimizers, "d"
and "g", that checkpoints save and restore. Every random draw inside a step (noise z, the WGAN-GP
mixing weights α, DRAGAN's perturbations) comes from ``self.rng``, which :func:`unsup.train.fit`
reseeds from (seed, step): N steps, save, load, M steps equals N + M steps.

Images are in [0, 1] outside the model (``decode`` and ``sample`` return [0, 1]); inside, real
images are mapped to [-1, 1] to match the generator's tanh.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from unsup.models import gan_losses as L
from unsup.models.base import Model, record_frame, register

OPTIMIZERS = ("adam", "sgd", "rmsprop")


@dataclass
class GANCommon:
    """Fields shared by both GAN configs (the training recipe; see :mod:`gan_losses`)."""

    loss: str = "ns"
    """Loss family: "mm", "ns", "wgan", "wgan-gp", "ls", "dragan" or "began"."""
    optimizer: str = "adam"
    """Optimizer of both players: "adam", "sgd" (no momentum) or "rmsprop" (WGAN's choice)."""
    lr_g: float = 2e-4
    """Learning rate of the generator."""
    lr_d: float = 2e-4
    """Learning rate of the discriminator."""
    beta1: float = 0.5
    """Adam's β₁ (0.5 as in DCGAN; ignored by SGD and RMSProp)."""
    beta2: float = 0.999
    """Adam's β₂ (WGAN-GP's paper uses 0.9)."""
    d_steps: int = 1
    """Discriminator updates per training step (WGAN's n_critic is 5)."""
    g_steps: int = 1
    """Generator updates per training step, after the discriminator's."""
    gp_lambda: float = 10.0
    """WGAN-GP and DRAGAN: weight λ of the gradient penalty (10 in both papers)."""
    clip: float = 0.01
    """WGAN: the critic's weights are clamped to [-clip, clip] after each update."""
    dragan_c: float = 0.5
    """DRAGAN: perturbation scale; real points get noise of std dragan_c x std(batch)."""
    began_gamma: float = 0.5
    """BEGAN: diversity ratio γ = E L(x̂) / E L(x) the k_t control aims for."""
    began_lambda_k: float = 0.001
    """BEGAN: learning rate λ_k of the control variable k_t."""
    batch_size: int = 64
    """Real samples per training step (and as many generated ones)."""
    seed: int = 0
    """Seed for the weights, the batch order and the in-step noise."""
    g_ema: float = 0.0
    """Decay of an exponential moving average of the generator's weights, which then draws
    every sample (``decode``/``sample``); 0 = off. Averaging the generator smooths out the
    last steps' oscillation (Yazıcı et al. 2019, "The Unusual Effectiveness of Averaging in
    GAN Training"; 0.999 there)."""


@dataclass
class Toy2DGANConfig(GANCommon):
    """Configuration of :class:`Toy2DGAN` (stored in the checkpoint card)."""

    n_latent: int = 2
    """Dimension of the generator's Gaussian input z (2, as in GAN Lab and PacGAN, so the
    transport of the input plane can be drawn)."""
    n_dims: int = 2
    """Dimension of the data points."""
    g_hidden: int = 128
    """Units of each hidden layer of the generator."""
    g_layers: int = 3
    """Hidden layers of the generator (ReLU)."""
    d_hidden: int = 128
    """Units of each hidden layer of the discriminator."""
    d_layers: int = 3
    """Hidden layers of the discriminator (LeakyReLU 0.2); BEGAN: of its encoder and of its
    decoder."""
    pack: int = 1
    """PacGAN packing m: D sees m samples concatenated (1 = a plain GAN)."""
    minibatch_features: int = 0
    """Minibatch discrimination: number of kernels B (0 = off; Salimans et al. 2016)."""
    minibatch_kernel_dim: int = 5
    """Minibatch discrimination: dimension C of each kernel's projection."""
    began_code: int = 8
    """BEGAN: size of the autoencoder's bottleneck."""
    lr_g: float = 5e-4
    """Learning rate of the generator (1e-3 reached the ring faster but less steadily here)."""
    lr_d: float = 5e-4
    """Learning rate of the discriminator."""
    batch_size: int = 512
    """Real points per training step (and as many generated ones)."""

    @classmethod
    def tiny(cls, **overrides) -> "Toy2DGANConfig":
        """A very small variant for tests: 16 units, 2 layers, 32 points per batch."""
        values = dict(g_hidden=16, g_layers=2, d_hidden=16, d_layers=2, batch_size=32,
                      began_code=4)
        values.update(overrides)
        return cls(**values)


@dataclass
class DCGANConfig(GANCommon):
    """Configuration of :class:`DCGAN` (stored in the checkpoint card)."""

    n_latent: int = 64
    """Dimension of the generator's Gaussian input z."""
    image_size: int = 28
    """Side of the square images (a multiple of 4: two x2 upsamplings)."""
    n_channels: int = 1
    """1 for grayscale, 3 for RGB."""
    width: int = 32
    """Base channel count w: G has 4w, 2w, w channels at sizes /4, /2, 1; D has w, 2w, 4w."""
    began_code: int = 64
    """BEGAN: size of the autoencoder discriminator's bottleneck."""
    spectral_norm: bool = False
    """Spectral normalisation of every layer of D (Miyato et al. 2018): each weight is divided
    by its largest singular value (one power iteration a step), which bounds D's Lipschitz
    constant and steadies training."""
    augment: str = ""
    """Differentiable augmentation of every image D sees while training, real and generated
    alike (DiffAugment, Zhao et al. 2020): "" (none) or a comma list of "translation" (a random
    shift of up to 1/8 of the side, background filled in) and "cutout" (a random square of half
    the side set to the middle grey). On a small data set D otherwise learns the training
    images by heart; because G's samples pass through the same random transforms and the
    transforms are differentiable, G still learns the unaugmented images. Scoring images
    (:meth:`d_output`) sees them unaugmented. Measured on the best recipe (width 32, spectral
    norm, 12,000 steps, 4,500 digits): "translation,cutout" ended at a classifier-space Fréchet
    distance of 77.2 (5.5x the real-data floor) against 57.7 (4.1x) without, so the shipped
    recipe leaves it off; at this budget D did not overfit enough for it to pay. (Both runs
    were scored before the averaged generator got its own BatchNorm statistics, which took the
    run without augmentation to 39.4, 2.8x.)"""
    timelapse_frames: int = 0
    """Fixed-noise timelapse: how many frames the checkpoint keeps (0 = none). Frames are taken
    every ``timelapse_every`` steps from step 0 on; when the store is full, every other frame
    is dropped and the interval doubles, so any run length ends with evenly spaced frames."""
    timelapse_every: int = 100
    """Initial interval of the timelapse frames, in steps."""
    timelapse_samples: int = 16
    """Samples in each timelapse frame (always drawn from the same noise)."""

    @classmethod
    def tiny(cls, **overrides) -> "DCGANConfig":
        """A very small variant for tests: 8x8 images, width 4, 4-D noise, 8 images a batch."""
        values = dict(n_latent=4, image_size=8, width=4, batch_size=8, began_code=4)
        values.update(overrides)
        return cls(**values)


def _check(cfg: GANCommon) -> None:
    L.check_loss(cfg.loss)
    if cfg.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose one of "
                         f"{', '.join(OPTIMIZERS)}")
    if not 0.0 <= cfg.g_ema < 1.0:
        raise ValueError(f"g_ema must be in [0, 1) (0 = off), got {cfg.g_ema}")
    if cfg.d_steps < 1 or cfg.g_steps < 1:
        raise ValueError(f"d_steps and g_steps must be at least 1 (got {cfg.d_steps}, "
                         f"{cfg.g_steps})")


EMA_STATS_BATCHES = 4
"""Batches of noise the averaged generator's BatchNorm statistics are averaged over."""
EMA_STATS_BATCH = 256
"""Noise vectors in each of those batches (4 x 256 = 1,024 samples: measured on
``dcgan-mnist-best``, 512, 1,024, 2,048 and 4,096 samples gave Fréchet distances within 0.1%
of each other; 1,024 take 0.2-0.7 s on one thread at width 32)."""
EMA_STATS_SEED = 7_919
"""Seed of that noise (fixed: equal weights give equal statistics)."""


AUGMENTATIONS = ("translation", "cutout")
"""The differentiable augmentations :func:`diff_augment` knows."""


def diff_augment_policy(policy: str) -> list[str]:
    """The augmentations of a comma list (see ``DCGANConfig.augment``); unknown names fail."""
    names = [p.strip() for p in policy.split(",") if p.strip()]
    bad = [p for p in names if p not in AUGMENTATIONS]
    if bad:
        raise ValueError(f"unknown augmentation {bad[0]!r}: use {', '.join(AUGMENTATIONS)}")
    return names


def diff_augment(x: torch.Tensor, policy: str, rand) -> torch.Tensor:
    """DiffAugment (Zhao et al. 2020) of images ``x`` (n, c, h, w) in [-1, 1]: each image gets
    its own random draw from ``rand(*shape)`` (uniform in [0, 1)); every operation is a
    differentiable gather or mask, so gradients reach G through it.

    - "translation": shift by up to ``round(h / 8)`` px each way; pixels shifted in are the
      background (-1, black).
    - "cutout": a square of side ``h // 2`` at a random place (partly outside allowed) set to
      0, the middle grey.
    """
    n, _, h, w = x.shape
    dev = x.device
    for name in diff_augment_policy(policy):
        if name == "translation":
            s = max(1, round(h / 8))
            shift = (rand(2, n).to(dev) * (2 * s + 1)).floor().long() - s  # in [-s, s]
            xp = F.pad(x, (s, s, s, s), value=-1.0)
            iy = (torch.arange(h, device=dev)[None, :] + s - shift[0][:, None])  # (n, h)
            ix = (torch.arange(w, device=dev)[None, :] + s - shift[1][:, None])  # (n, w)
            rows = torch.arange(n, device=dev)[:, None, None]
            x = xp.permute(0, 2, 3, 1)[rows, iy[:, :, None], ix[:, None, :]].permute(0, 3, 1, 2)
        elif name == "cutout":
            k = h // 2
            centre = (rand(2, n).to(dev) * torch.tensor([h, w], device=dev)[:, None]).long()
            ys = torch.arange(h, device=dev)[None, :]
            xs = torch.arange(w, device=dev)[None, :]
            dy, dx = ys - centre[0][:, None], xs - centre[1][:, None]
            in_y = (dy >= -(k // 2)) & (dy < k - k // 2)  # (n, h): k rows around the centre
            in_x = (dx >= -(k // 2)) & (dx < k - k // 2)
            keep = ~(in_y[:, :, None] & in_x[:, None, :])  # (n, h, w)
            x = x * keep[:, None].to(x.dtype)
    return x.contiguous(memory_format=torch.channels_last)


class MinibatchDiscrimination(nn.Module):
    """Salimans et al. 2016, sec. 3.2: features f(x_i) (A,) are projected by a tensor T to
    M_i (B, C); c_b(x_i, x_j) = exp(-||M_i,b - M_j,b||₁) and o(x_i)_b = Σ_{j≠i} c_b(x_i, x_j)
    is appended to f(x_i). A collapsed batch (all samples alike) gets large o, which D can spot."""

    def __init__(self, in_features: int, n_kernels: int, kernel_dim: int,
                 twice_differentiable: bool = False):
        super().__init__()
        self.n_kernels, self.kernel_dim = n_kernels, kernel_dim
        # a gradient penalty differentiates D's gradient; cdist (2x faster) has no 2nd derivative
        self.twice_differentiable = twice_differentiable
        self.T = nn.Parameter(torch.randn(in_features, n_kernels * kernel_dim) * 0.1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        m = (h @ self.T).view(-1, self.n_kernels, self.kernel_dim).transpose(0, 1)  # (B, b, C)
        if self.twice_differentiable:
            dist = (m.unsqueeze(2) - m.unsqueeze(1)).abs().sum(3)  # (B, b, b)
        else:
            dist = torch.cdist(m, m, p=1)  # (B, b, b): L1 distances, kernel by kernel
        o = torch.exp(-dist).sum(2).t() - 1.0  # (b, B), without the j = i term exp(0) = 1
        return torch.cat([h, o], dim=1)


class _GAN(Model):
    """Shared machinery: the D-then-G step, both optimizers, the seven losses.

    Subclasses build ``self.generator`` and ``self.discriminator`` and define ``_to_model``
    (real batch -> the model's space), ``_d_in`` (samples -> D's input) and ``_d_out`` (D's
    input -> its score, (n,); BEGAN: the reconstruction, same shape as the input).
    """

    monitor = None
    """No divergence watch on a loss: adversarial losses have no "best" to run away from
    (:class:`unsup.train.DivergenceWatch`); non-finite losses still stop a run."""

    def __init__(self, config):
        _check(config)
        super().__init__(config)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self._build()
        if config.g_ema > 0:  # the averaged generator: weights in checkpoints, never trained
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
        self._ema_stale = False  # the averaged generator's BatchNorm statistics need a refresh
        # BEGAN's equilibrium control k_t, a buffer so that checkpoints carry it
        self.register_buffer("began_k", torch.zeros(()))
        self._opt_g: torch.optim.Optimizer | None = None
        self._opt_d: torch.optim.Optimizer | None = None

    def _build(self) -> None:
        raise NotImplementedError

    # -- the networks -------------------------------------------------------------------------
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """G(z) in data space: points (n, d), or images in [0, 1] (n, c, side, side). With
        ``g_ema`` > 0, G is the moving average of the generator's weights."""
        if self.config.g_ema > 0:
            self._fresh_ema()
            gen = self.generator_ema
        else:
            gen = self.generator
        return self._from_model(gen(z))

    @torch.no_grad()
    def _update_ema(self) -> None:
        """θ_ema <- d θ_ema + (1 - d) θ after a generator update. The averaged generator's
        BatchNorm statistics are then stale: :meth:`refresh_ema_stats` recomputes them before
        anything draws from it or reads its state."""
        d = self.config.g_ema
        for pe, p in zip(self.generator_ema.parameters(), self.generator.parameters()):
            pe.lerp_(p.detach(), 1.0 - d)
        self._ema_stale = True

    @torch.no_grad()
    def refresh_ema_stats(self) -> None:
        """Standing statistics (Brock et al. 2019) of the averaged generator: its BatchNorm
        running means and variances, recomputed as the average over
        :data:`EMA_STATS_BATCHES` batches of :data:`EMA_STATS_BATCH` fresh noise vectors (a
        fixed seed, so the same weights always give the same statistics; the model's own
        random stream is not touched).

        Copying the trained generator's running statistics instead, as this model did until
        2026-11-29, normalises the averaged weights' activations with statistics of other
        weights: measured on ``dcgan-mnist-best``, the classifier-space Fréchet distance of
        its samples fell from 57.7 to 39.4 (the evaluation's 4,500 samples), with no retraining."""
        self._ema_stale = False
        if self.config.g_ema <= 0:
            return
        gen = self.generator_ema
        norms = [m for m in gen.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not norms:
            return
        momenta = [m.momentum for m in norms]
        was = gen.training
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over the batches below
        rand = torch.Generator().manual_seed(EMA_STATS_SEED)
        gen.train()
        try:
            for _ in range(EMA_STATS_BATCHES):
                gen(torch.randn(EMA_STATS_BATCH, self.config.n_latent, generator=rand)
                    .to(self.device))
        finally:
            gen.train(was)
            for m, mom in zip(norms, momenta):
                m.momentum = mom

    def _fresh_ema(self) -> None:
        if self._ema_stale:
            self.refresh_ema_stats()

    def state_dict(self, *args, **kwargs):
        """The state, with the averaged generator's statistics brought up to date first (so
        every checkpoint holds the statistics its weights draw with)."""
        self._fresh_ema()
        return super().state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, *args, **kwargs):
        """Load a state; its averaged generator's statistics are taken as they are stored."""
        out = super().load_state_dict(state_dict, *args, **kwargs)
        self._ema_stale = False
        return out

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """n samples G(z), z ~ N(0, I) drawn with ``seed`` (eval mode: deterministic per z)."""
        was = self.training
        self.eval()
        z = torch.randn(n, self.config.n_latent, generator=torch.Generator().manual_seed(seed))
        out = self.decode(z.to(self.device))
        self.train(was)
        return out

    @torch.no_grad()
    def d_output(self, x: torch.Tensor) -> torch.Tensor:
        """The discriminator's verdict on each sample of ``x`` (data space), (n,).

        Sigmoid losses (MM, NS, DRAGAN): D(x) = P(real) in [0, 1]. WGAN, WGAN-GP, LS GAN: the
        raw score (higher = more real). BEGAN: minus the reconstruction error, -L(x) (higher =
        more real). 2-D GAN with packing: each point is packed with m - 1 copies of itself; with
        minibatch discrimination, the batch is ``x`` itself.
        """
        was = self.training
        self.eval()
        d_in = self._d_in_single(self._to_model(x))
        if self.config.loss == "began":
            out = -self._recon_error(d_in)
        else:
            out = self._d_out(d_in)
            if self.config.loss in L.SIGMOID_LOSSES:
                out = torch.sigmoid(out)
        self.train(was)
        return out

    def _d_in_single(self, x: torch.Tensor) -> torch.Tensor:
        return self._d_in(x)

    def _to_model(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def _from_model(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def _d_in(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def _d_out(self, d_in: torch.Tensor) -> torch.Tensor:
        return self.discriminator(d_in).squeeze(1)

    def _recon_error(self, d_in: torch.Tensor) -> torch.Tensor:
        """BEGAN: L(v) per discriminator input, (n,)."""
        return L.began_recon(d_in, self.discriminator(d_in))

    # -- optimizers ---------------------------------------------------------------------------
    def _make_opt(self, params, lr: float) -> torch.optim.Optimizer:
        c = self.config
        params = list(params)
        if c.optimizer == "adam":
            return torch.optim.Adam(params, lr=lr, betas=(c.beta1, c.beta2))
        if c.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr)
        return torch.optim.SGD(params, lr=lr)

    def reconfigure(self, config) -> None:
        """Take settings that keep the networks (loss, optimiser and its learning rates and
        betas, steps per step, batch, penalties) while training: a new optimiser kind starts
        new optimizers on the next update; otherwise the optimizers keep their state and take
        the new learning rates and betas. The 2-D lab calls this between training chunks."""
        old, self.config = self.config, config
        if config.optimizer != old.optimizer:
            self._opt_g = self._opt_d = None  # new optimizers, made on the next update
        elif self._opt_g is not None:
            for opt, lr in ((self._opt_d, config.lr_d), (self._opt_g, config.lr_g)):
                for group in opt.param_groups:
                    group["lr"] = lr
                    if "betas" in group:
                        group["betas"] = (config.beta1, config.beta2)
        for layer in self.discriminator.modules():  # a gradient penalty: twice-differentiable
            if isinstance(layer, MinibatchDiscrimination):
                layer.twice_differentiable = config.loss in ("wgan-gp", "dragan")

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self._opt_g is None:
            self._opt_d = self._make_opt(self.discriminator.parameters(), self.config.lr_d)
            self._opt_g = self._make_opt(self.generator.parameters(), self.config.lr_g)
        return {"d": self._opt_d, "g": self._opt_g}

    # -- one discriminator update, one generator update -----------------------------------------
    def noise(self, n: int) -> torch.Tensor:
        """z ~ N(0, I), (n, n_latent), from the model's seeded generator."""
        return self.randn(n, self.config.n_latent)

    def d_update(self, batch: torch.Tensor, generated: torch.Tensor | None = None
                 ) -> dict[str, float]:
        """One discriminator update on a real ``batch`` (data space) and as many fresh fakes
        (or ``generated``, G's output in the model's space, used detached)."""
        c = self.config
        self.train()
        real = self._d_in(self._to_model(batch))
        if generated is None:
            with torch.no_grad():
                generated = self.generator(self.noise(batch.shape[0]))
        fake = self._d_in(generated.detach())
        out: dict[str, torch.Tensor] = {}
        if c.loss == "began":
            l_real, l_fake = self._recon_error(real), self._recon_error(fake)
            loss = L.d_loss_began(l_real, l_fake, self.began_k)
            out.update(l_real=l_real.mean(), l_fake_d=l_fake.mean())
            self._last_l_real = float(l_real.detach().mean())
        else:
            s_real, s_fake = self._d_out(real), self._d_out(fake)
            loss = L.d_loss(c.loss, s_real, s_fake)
            out.update(d_real=s_real.mean(), d_fake=s_fake.mean())
            if c.loss == "wgan-gp":
                pts = L.wgan_gp_points(real, fake, self.rand(real.shape[0]).to(real.dtype))
                gp = L.gradient_penalty(self._d_out, pts)
                out["gp"] = gp
                loss = loss + c.gp_lambda * gp
            elif c.loss == "dragan":
                pts = L.dragan_points(real, self.randn(*real.shape), c.dragan_c)
                gp = L.gradient_penalty(self._d_out, pts)
                out["gp"] = gp
                loss = loss + c.gp_lambda * gp
        opt = self.optimizers()["d"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if c.loss == "wgan":
            L.clip_weights(self.discriminator, c.clip)
        out["d_loss"] = loss
        return {k: float(v.detach()) for k, v in out.items()}

    def g_update(self, n: int, generated: torch.Tensor | None = None) -> dict[str, float]:
        """One generator update on ``n`` fresh samples, or on ``generated`` (G's output, still
        attached to G's graph); the discriminator is not changed."""
        c = self.config
        self.train()
        if generated is None:
            generated = self.generator(self.noise(n))
        fake = self._d_in(generated)
        for p in self.discriminator.parameters():
            p.requires_grad_(False)
        try:
            if c.loss == "began":
                l_fake = self._recon_error(fake)
                loss = L.g_loss_began(l_fake)
            else:
                loss = L.g_loss(c.loss, self._d_out(fake))
        finally:
            for p in self.discriminator.parameters():
                p.requires_grad_(True)
        opt = self.optimizers()["g"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if c.g_ema > 0:
            self._update_ema()
        out = {"g_loss": float(loss.detach())}
        if c.loss == "began":
            lf = float(l_fake.detach().mean())
            lx = getattr(self, "_last_l_real", lf / max(c.began_gamma, 1e-12))  # L(x), D's step
            k = L.began_k_update(float(self.began_k), lx, lf, c.began_gamma, c.began_lambda_k)
            self.began_k.fill_(k)
            out.update(l_fake=lf, k=k, m_global=L.began_convergence(lx, lf, c.began_gamma))
        return out

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """``d_steps`` D updates, then ``g_steps`` G updates. The samples of the last D update
        are generated with G's graph kept and reused, attached, by the first G update (as the
        PyTorch DCGAN example does): one generator pass fewer per step, the same algorithm,
        since D's update does not change G.

        Logged: ``d_loss``, ``g_loss``; ``d_real``/``d_fake``, the mean raw output of D on real
        and generated samples (a logit for MM, NS and DRAGAN); ``gp``, the gradient penalty
        (WGAN-GP, DRAGAN); BEGAN: ``l_real``, ``l_fake`` (reconstruction errors), ``k`` (k_t)
        and ``m_global`` (the convergence measure)."""
        c = self.config
        b = batch.shape[0]
        out: dict[str, float] = {}
        for _ in range(c.d_steps - 1):
            out.update(self.d_update(batch))
        self.train()
        generated = self.generator(self.noise(b))
        out.update(self.d_update(batch, generated))
        out.update(self.g_update(b, generated))
        for _ in range(c.g_steps - 1):
            out.update(self.g_update(b))
        return out


def _mlp(sizes: list[int], act: type[nn.Module], **kw) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), act(**kw)]
    return layers


@register("gan2d")
class Toy2DGAN(_GAN):
    """A GAN on 2-D points: MLP generator and discriminator (see the module docstring).

    With ``pack`` = m, real and generated batches are cut into groups of m points and D judges
    each group, a vector of 2m numbers (PacGAN). With ``minibatch_features`` = B, D's last
    hidden features get B minibatch-discrimination features. BEGAN's D is an MLP autoencoder
    of the (packed) points.
    """

    config_class = Toy2DGANConfig

    def _build(self) -> None:
        c = self.config
        if c.pack < 1:
            raise ValueError(f"pack must be at least 1, got {c.pack}")
        if c.batch_size < c.pack:
            raise ValueError(f"batch_size ({c.batch_size}) must be at least pack ({c.pack})")
        if c.minibatch_features and c.loss == "began":
            raise ValueError("minibatch discrimination needs a classifier discriminator; "
                             "BEGAN's is an autoencoder: set minibatch_features=0")
        gh, dh, d_in = c.g_hidden, c.d_hidden, c.n_dims * c.pack
        self.generator = nn.Sequential(*_mlp([c.n_latent] + [gh] * c.g_layers, nn.ReLU),
                                       nn.Linear(gh, c.n_dims))
        body = _mlp([d_in] + [dh] * c.d_layers, nn.LeakyReLU, negative_slope=0.2)
        if c.loss == "began":
            self.discriminator = nn.Sequential(
                *body, nn.Linear(dh, c.began_code),
                *_mlp([c.began_code] + [dh] * c.d_layers, nn.LeakyReLU, negative_slope=0.2),
                nn.Linear(dh, d_in))
        elif c.minibatch_features:
            self.discriminator = nn.Sequential(
                *body, MinibatchDiscrimination(dh, c.minibatch_features, c.minibatch_kernel_dim,
                                               c.loss in ("wgan-gp", "dragan")),
                nn.Linear(dh + c.minibatch_features, 1))
        else:
            self.discriminator = nn.Sequential(*body, nn.Linear(dh, 1))

    def _d_in(self, x: torch.Tensor) -> torch.Tensor:
        m = self.config.pack
        if m == 1:
            return x
        n = (x.shape[0] // m) * m
        return x[:n].reshape(n // m, m * x.shape[1])  # (n/m, m*d): consecutive rows packed

    # -- what the 2-D lab draws ------------------------------------------------------------------
    def _d_in_single(self, x: torch.Tensor) -> torch.Tensor:
        """Each point packed with m - 1 copies of itself (for the heat-map)."""
        return self._d_in(x.repeat_interleave(self.config.pack, dim=0))

    def g_gradients(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Generated points G(z) (n, 2) and -∂L_G/∂x̂ at each (n, 2): the direction the
        generator's loss pushes every sample (GAN Lab's gradient arrows), scaled by n so that
        it does not depend on the batch size."""
        was = self.training
        self.eval()
        x = self.generator(z).detach().requires_grad_(True)
        d_in = self._d_in(x)
        if self.config.loss == "began":
            loss = L.g_loss_began(self._recon_error(d_in))
        else:
            loss = L.g_loss(self.config.loss, self._d_out(d_in))
        (grad,) = torch.autograd.grad(loss, x)
        self.train(was)
        self.discriminator.zero_grad(set_to_none=True)
        return x.detach(), -grad * x.shape[0]


def _up_conv(c_in: int, c_out: int) -> list[nn.Module]:
    """x2 nearest-neighbour upsampling, then a 3x3 convolution (no transposed convolution)."""
    return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1)]


@register("dcgan")
class DCGAN(_GAN):
    """A DCGAN-style image GAN (see the module docstring). For w = ``width``, s = side / 4:

    G: z -> dense -> (4w, s, s) -> BN, ReLU -> up x2, conv 3x3 -> (2w, 2s, 2s) -> BN, ReLU ->
    up x2, conv 3x3 -> (w, 4s, 4s) -> BN, ReLU -> conv 3x3 -> (c, 4s, 4s) -> tanh.
    D: conv 4x4/2 (w) -> conv 4x4/2 (2w) -> conv 3x3 (4w), LeakyReLU 0.2, no normalization (a
    gradient penalty is per sample) -> dense -> score. BEGAN's D: the same two stride-2
    convolutions (ELU) -> dense -> ``began_code`` -> dense -> the generator's upsampling path
    (ELU, linear output): an autoencoder whose reconstruction error is its verdict.
    """

    store_half = True  # finished checkpoints: float16 on disk (see Model.store_half)

    config_class = DCGANConfig

    def _build(self) -> None:
        c = self.config
        if c.image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4, got {c.image_size}")
        w, s, ch = c.width, c.image_size // 4, c.n_channels
        self._s = s
        self.generator = nn.Sequential(
            nn.Linear(c.n_latent, 4 * w * s * s), nn.Unflatten(1, (4 * w, s, s)),
            nn.BatchNorm2d(4 * w), nn.ReLU(),
            *_up_conv(4 * w, 2 * w), nn.BatchNorm2d(2 * w), nn.ReLU(),
            *_up_conv(2 * w, w), nn.BatchNorm2d(w), nn.ReLU(),
            nn.Conv2d(w, ch, 3, 1, 1), nn.Tanh())
        if c.loss == "began":
            self.discriminator = nn.Sequential(
                nn.Conv2d(ch, w, 4, 2, 1), nn.ELU(), nn.Conv2d(w, 2 * w, 4, 2, 1), nn.ELU(),
                nn.Flatten(), nn.Linear(2 * w * s * s, c.began_code),
                nn.Linear(c.began_code, 2 * w * s * s), nn.Unflatten(1, (2 * w, s, s)), nn.ELU(),
                *_up_conv(2 * w, w), nn.ELU(), *_up_conv(w, w), nn.ELU(),
                nn.Conv2d(w, ch, 3, 1, 1))
        else:
            self.discriminator = nn.Sequential(
                nn.Conv2d(ch, w, 4, 2, 1), nn.LeakyReLU(0.2),
                nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2),
                nn.Conv2d(2 * w, 4 * w, 3, 1, 1), nn.LeakyReLU(0.2),
                nn.Flatten(), nn.Linear(4 * w * s * s, 1))
        if c.spectral_norm:
            if c.loss == "began":
                raise ValueError("spectral normalisation is for classifier discriminators; "
                                 "BEGAN's is an autoencoder")
            for i, layer in enumerate(self.discriminator):
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    self.discriminator[i] = nn.utils.parametrizations.spectral_norm(layer)

    def _d_in(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.augment and self.training:
            return diff_augment(x, self.config.augment, self.rand)
        return x

    def __init__(self, config: DCGANConfig):
        super().__init__(config)
        c = config
        diff_augment_policy(c.augment)  # fails early on an unknown augmentation
        if c.timelapse_frames < 0 or c.timelapse_every < 1 or c.timelapse_samples < 1:
            raise ValueError("timelapse_frames must be >= 0, timelapse_every and "
                             "timelapse_samples >= 1")
        if c.timelapse_frames:  # buffers: a checkpoint carries the frames and resumes them
            side = c.image_size
            # (frames, samples, c*h*w): a 5-D buffer would not take the channels-last format
            self.register_buffer("timelapse", torch.zeros(
                c.timelapse_frames, c.timelapse_samples, c.n_channels * side * side,
                dtype=torch.uint8))
            self.register_buffer("timelapse_step", torch.full((c.timelapse_frames,), -1,
                                                              dtype=torch.int64))
            self.register_buffer("timelapse_interval", torch.tensor(c.timelapse_every))
        # channels-last convolutions and upsampling are ~15% faster on CPU (oneDNN) here
        self.to(memory_format=torch.channels_last)

    # -- finished checkpoints -------------------------------------------------------------------
    def compact_state(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """With a generator average, a finished checkpoint keeps only the averaged generator
        (it draws every sample): the raw one is only needed to resume exactly, which a finished
        checkpoint is not for. Loading puts the average in its place (:meth:`complete_state`),
        so further training starts from the averaged weights."""
        if self.config.g_ema <= 0:
            return state
        return {k: v for k, v in state.items() if not k.startswith("generator.")}

    def complete_state(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self.config.g_ema <= 0 or any(k.startswith("generator.") for k in state):
            return state
        out = dict(state)
        for k, v in state.items():
            if k.startswith("generator_ema."):
                out["generator." + k[len("generator_ema."):]] = v.clone()
        return out

    # -- the fixed-noise timelapse --------------------------------------------------------------
    TIMELAPSE_SEED = 20_250
    """Seed of the timelapse's fixed noise (its own generator: training draws are untouched)."""

    def timelapse_noise(self) -> torch.Tensor:
        """The fixed noise of every timelapse frame, (timelapse_samples, n_latent)."""
        g = torch.Generator().manual_seed(self.TIMELAPSE_SEED)
        return torch.randn(self.config.timelapse_samples, self.config.n_latent, generator=g)

    @torch.no_grad()
    def _frame(self) -> torch.Tensor:
        was = self.training
        self.eval()
        x = self.decode(self.timelapse_noise().to(self.device))
        self.train(was)
        x = (x.clamp(0, 1) * 255).round().to(torch.uint8).contiguous()
        return x.reshape(x.shape[0], -1)

    def _record_frame(self, step: int) -> None:
        """Store G's samples of the fixed noise as the frame of ``step`` if it is due."""
        record_frame(self.timelapse, self.timelapse_step, self.timelapse_interval, step,
                     self._frame)

    def timelapse_frames(self) -> tuple[list[int], torch.Tensor]:
        """The recorded frames: their steps and images in [0, 1], (frames, samples, c, h, w);
        empty without a timelapse."""
        if not self.config.timelapse_frames:
            return [], torch.zeros(0)
        c = self.config
        used = int((self.timelapse_step >= 0).sum())
        frames = self.timelapse[:used].cpu().float().div(255.0)
        return ([int(s) for s in self.timelapse_step[:used]],
                frames.reshape(used, c.timelapse_samples, c.n_channels, c.image_size,
                               c.image_size))

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        if self.config.timelapse_frames and self.step_ == 0:
            self._record_frame(0)  # what G draws before any training
        out = super().train_step(batch)
        if self.config.timelapse_frames:
            self._record_frame(self.step_ + 1)  # fit counts this step after it returns
        return out

    def _to_model(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        return x * 2.0 - 1.0  # [0, 1] -> [-1, 1]

    def _from_model(self, x: torch.Tensor) -> torch.Tensor:
        return ((x + 1.0) * 0.5).contiguous()  # [-1, 1] -> [0, 1], plain memory layout
