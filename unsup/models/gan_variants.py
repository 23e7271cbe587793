"""Two more image GANs for the lecture's slides after the loss table:

- ``"pggan"`` (:class:`ProgressiveGAN`): progressive growing (Karras et al. 2018). G and D start
  at 7x7, then a 14x14 block and a 28x28 block are faded in, each over ``grow_steps`` steps
  (the new block's output is blended with the upsampled output of the previous resolution by
  α going 0 -> 1), each followed by ``grow_steps`` steps at the new resolution.
- ``"vaegan"`` (:class:`VAEGAN`): the lecture's "autoencoder frontier", an autoencoder and a GAN
  at once (Larsen et al. 2016, "Autoencoding beyond pixels using a learned similarity metric"):
  a VAE whose decoder is also a GAN generator. The encoder is trained on KL + reconstruction,
  the decoder on reconstruction + fooling D (on reconstructions and on prior samples), D on
  telling real digits from both. Reconstruction is measured in pixels (L1) and in D's hidden
  features (the "learned similarity"), which is what makes the decoder sharper than a VAE's.

Both keep the DCGAN's conventions (images in [0, 1] outside, [-1, 1] inside; upsample-then-
convolve; one ``train_step`` owning every optimizer; ``g_ema``; the fixed-noise timelapse).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from unsup.models import gan_losses as L
from unsup.models.base import register
from unsup.models.gan import DCGAN, DCGANConfig, _up_conv


# -- progressive growing ------------------------------------------------------------------------
@dataclass
class ProgressiveGANConfig(DCGANConfig):
    """Configuration of :class:`ProgressiveGAN`."""

    grow_steps: int = 1_250
    """Steps of each phase: 7 px; fade in 14 px; 14 px; fade in 28 px; then 28 px for good."""


def grow_schedule(step: int, grow_steps: int, levels: int = 3) -> tuple[int, float]:
    """(level, α) at ``step``: level 0 = side/4, 1 = side/2, 2 = side; α in [0, 1] is the
    weight of the newest block while it fades in (1 once it is fully in)."""
    t = max(int(step), 0)
    phase = t // max(int(grow_steps), 1)  # 0: stable 0; 1: fade 1; 2: stable 1; 3: fade 2; ...
    if phase >= 2 * (levels - 1):
        return levels - 1, 1.0
    level = (phase + 1) // 2
    if phase % 2 == 1:  # fading in
        return level, (t - phase * grow_steps) / grow_steps
    return level, 1.0


class _GrowingG(nn.Module):
    def __init__(self, c: ProgressiveGANConfig):
        super().__init__()
        w, s, ch = c.width, c.image_size // 4, c.n_channels
        self.stem = nn.Sequential(nn.Linear(c.n_latent, 4 * w * s * s),
                                  nn.Unflatten(1, (4 * w, s, s)), nn.BatchNorm2d(4 * w), nn.ReLU(),
                                  nn.Conv2d(4 * w, 4 * w, 3, 1, 1), nn.BatchNorm2d(4 * w),
                                  nn.ReLU())
        self.blocks = nn.ModuleList([
            nn.Sequential(*_up_conv(4 * w, 2 * w), nn.BatchNorm2d(2 * w), nn.ReLU()),
            nn.Sequential(*_up_conv(2 * w, w), nn.BatchNorm2d(w), nn.ReLU())])
        self.to_rgb = nn.ModuleList([nn.Conv2d(4 * w, ch, 1), nn.Conv2d(2 * w, ch, 1),
                                     nn.Conv2d(w, ch, 3, 1, 1)])
        self.level, self.alpha, self.side = 2, 1.0, c.image_size

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.stem(z)
        prev = None
        for i in range(self.level):
            prev = h
            h = self.blocks[i](h)
        out = self.to_rgb[self.level](h)
        if self.alpha < 1.0 and prev is not None:
            low = F.interpolate(self.to_rgb[self.level - 1](prev), scale_factor=2, mode="nearest")
            out = self.alpha * out + (1.0 - self.alpha) * low
        out = torch.tanh(out)
        if out.shape[-1] != self.side:  # show every resolution at full size (nearest)
            out = F.interpolate(out, size=(self.side, self.side), mode="nearest")
        return out


class _GrowingD(nn.Module):
    def __init__(self, c: ProgressiveGANConfig):
        super().__init__()
        w, s, ch = c.width, c.image_size // 4, c.n_channels
        act = dict(negative_slope=0.2)
        # from_rgb[i] reads images at level i (side/4, side/2, side)
        self.from_rgb = nn.ModuleList([
            nn.Sequential(nn.Conv2d(ch, 4 * w, 1), nn.LeakyReLU(**act)),
            nn.Sequential(nn.Conv2d(ch, 2 * w, 1), nn.LeakyReLU(**act)),
            nn.Sequential(nn.Conv2d(ch, w, 1), nn.LeakyReLU(**act))])
        # down[i] takes level i to level i - 1
        self.down = nn.ModuleList([
            nn.Identity(),
            nn.Sequential(nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.LeakyReLU(**act)),
            nn.Sequential(nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(**act))])
        self.head = nn.Sequential(nn.Conv2d(4 * w, 4 * w, 3, 1, 1), nn.LeakyReLU(**act),
                                  nn.Flatten(), nn.Linear(4 * w * s * s, 1))
        self.level, self.alpha, self.side = 2, 1.0, c.image_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = 2 ** (2 - self.level)
        x = F.avg_pool2d(x, k) if k > 1 else x  # the images at the current resolution
        h = self.down[self.level](self.from_rgb[self.level](x))
        if self.alpha < 1.0 and self.level > 0:
            skip = self.from_rgb[self.level - 1](F.avg_pool2d(x, 2))
            h = self.alpha * h + (1.0 - self.alpha) * skip
        for i in range(self.level - 1, 0, -1):
            h = self.down[i](h)
        return self.head(h)


@register("pggan")
class ProgressiveGAN(DCGAN):
    """Progressive growing of a DCGAN (Karras et al. 2018, sec. 2), 7 -> 14 -> 28 px.

    Every image, real or generated, enters D at 28 px and D averages it down to the current
    resolution, so samples at every stage are shown at full size (nearest upsampling). While a
    block fades in, the real images D sees are blended the same way as G's output (sharp at the
    new resolution, weight α; the previous resolution upsampled, weight 1 − α), as in the paper.
    """

    config_class = ProgressiveGANConfig

    def _build(self) -> None:
        c = self.config
        if c.image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4, got {c.image_size}")
        if c.loss == "began":
            raise ValueError("progressive growing is written for classifier discriminators; "
                             "choose another loss than BEGAN")
        if c.grow_steps < 1:
            raise ValueError(f"grow_steps must be at least 1, got {c.grow_steps}")
        self._s = c.image_size // 4
        self.generator = _GrowingG(c)
        self.discriminator = _GrowingD(c)

    def stage(self, step: int | None = None) -> tuple[int, float]:
        """(level, α) at ``step`` (default: the model's); the side is image_size / 2^(2-level)."""
        return grow_schedule(self.step_ if step is None else step, self.config.grow_steps)

    def resolution(self, step: int | None = None) -> int:
        return self.config.image_size // 2 ** (2 - self.stage(step)[0])

    def _set_stage(self, step: int) -> None:
        level, alpha = self.stage(step)
        nets = [self.generator, self.discriminator]
        if self.config.g_ema > 0:
            nets.append(self.generator_ema)
        for net in nets:
            net.level, net.alpha = level, alpha

    def _to_model(self, x: torch.Tensor) -> torch.Tensor:
        x = super()._to_model(x)
        level, alpha = self.generator.level, self.generator.alpha
        k = 2 ** (2 - level)
        if k == 1 and alpha >= 1.0:
            return x
        cur = F.avg_pool2d(x, k) if k > 1 else x
        if alpha < 1.0 and level > 0:
            low = F.interpolate(F.avg_pool2d(cur, 2), scale_factor=2, mode="nearest")
            cur = alpha * cur + (1.0 - alpha) * low
        return F.interpolate(cur, size=x.shape[-2:], mode="nearest").contiguous(
            memory_format=torch.channels_last)

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        self._set_stage(self.step_)
        out = super().train_step(batch)
        self._set_stage(self.step_ + 1)  # samples drawn now show the stage reached
        level, alpha = self.stage(self.step_)
        out["resolution"] = float(self.config.image_size // 2 ** (2 - level))
        out["alpha"] = float(alpha)
        return out

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        self._set_stage(self.step_)
        return super().decode(z)

    def refresh_ema_stats(self) -> None:
        self._set_stage(self.step_)  # the statistics of the stage samples are drawn at
        super().refresh_ema_stats()


# -- VAE-GAN ------------------------------------------------------------------------------------
@dataclass
class VAEGANConfig(DCGANConfig):
    """Configuration of :class:`VAEGAN` (loss "ns" only: the decoder fools a sigmoid D)."""

    n_latent: int = 16
    """Dimension of the code (16, as the VAE it is compared with)."""
    beta_kl: float = 1.0
    """Weight of KL(q(z|x) || N(0, I)) against the reconstruction (both in nats per image)."""
    feature_weight: float = 1.0
    """Weight of the feature-space reconstruction ‖D_l(x) − D_l(x̃)‖² (per image, summed)."""
    adv_weight: float = 20.0
    """Weight γ of the decoder's GAN loss (NS, per sample, on reconstructions and prior
    samples) against the reconstruction (per image, summed over pixels/features)."""
    lr_e: float = 2e-4
    """Learning rate of the encoder."""


@register("vaegan")
class VAEGAN(DCGAN):
    """VAE-GAN (Larsen et al. 2016): encoder E, decoder/generator G (the DCGAN generator) and
    discriminator D (the DCGAN discriminator, whose second convolution's activations are the
    learned similarity D_l).

    One step: D on real x vs G(E(x)) and G(z_p) (NS loss); E on KL + L1 + feature distance;
    G on L1 + feature distance + γ · NS loss of its reconstructions and prior samples.
    ``encode`` gives the code mean, ``reconstruct`` G(μ(x)), ``decode``/``sample`` as a GAN.
    """

    config_class = VAEGANConfig

    def _build(self) -> None:
        c = self.config
        if c.loss != "ns":
            raise ValueError("VAE-GAN is trained with the NS loss here; set loss='ns'")
        super()._build()
        w, s, ch = c.width, c.image_size // 4, c.n_channels
        self.encoder = nn.Sequential(
            nn.Conv2d(ch, w, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * w * s * s, 2 * c.n_latent))
        self._opt_e: torch.optim.Optimizer | None = None

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        opts = super().optimizers()
        if self._opt_e is None:
            self._opt_e = self._make_opt(self.encoder.parameters(), self.config.lr_e)
        return {**opts, "e": self._opt_e}

    # -- the autoencoder ----------------------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x) for images in [0, 1]: (μ, log σ²), each (n, n_latent)."""
        h = self.encoder(self._to_model(x))
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        was = self.training
        self.eval()
        mu = self.posterior(x.to(self.device))[0]
        self.train(was)
        return mu

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """G(μ(x)) in [0, 1] (with ``g_ema``: the averaged generator)."""
        was = self.training
        self.eval()
        out = self.decode(self.posterior(x.to(self.device))[0])
        self.train(was)
        return out

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        """D_l: D's activations after its second convolution (the learned similarity)."""
        return self.discriminator[:4](x)

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        c = self.config
        if c.timelapse_frames and self.step_ == 0:
            self._record_frame(0)
        self.train()
        opts = self.optimizers()
        x = self._to_model(batch)
        n = x.shape[0]
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        logvar = logvar.clamp(-12.0, 8.0)
        z = mu + torch.exp(0.5 * logvar) * self.randn(*mu.shape)
        x_rec = self.generator(z)
        x_p = self.generator(self.noise(n))

        # D: real vs reconstructions and prior samples (both detached)
        fakes = torch.cat([x_rec.detach(), x_p.detach()])
        s_real = self._d_out(x)
        s_fake = self._d_out(fakes)
        d_loss = (F.binary_cross_entropy_with_logits(s_real, torch.ones_like(s_real))
                  + F.binary_cross_entropy_with_logits(s_fake, torch.zeros_like(s_fake)))
        opts["d"].zero_grad(set_to_none=True)
        d_loss.backward()
        opts["d"].step()

        # E and G: reconstruction (pixels and D's features), KL, and G's adversarial term
        for p in self.discriminator.parameters():
            p.requires_grad_(False)
        try:
            pix = (x_rec - x).abs().flatten(1).sum(1).mean() / 2.0  # L1 in [0, 1] units
            feat = (self._features(x_rec) - self._features(x).detach()).pow(2).flatten(1)
            feat = feat.sum(1).mean()
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1).mean()
            s_gen = self._d_out(torch.cat([x_rec, x_p]))
            adv = L.g_loss("ns", s_gen)
        finally:
            for p in self.discriminator.parameters():
                p.requires_grad_(True)
        rec = pix + c.feature_weight * feat
        e_loss = c.beta_kl * kl + rec
        g_loss = rec + c.adv_weight * adv  # all three are means over the batch's images
        opts["e"].zero_grad(set_to_none=True)
        opts["g"].zero_grad(set_to_none=True)
        # E gets ∂(KL + rec)/∂E; G gets ∂(rec + γ adv)/∂G: two backward passes over one graph
        e_params = list(self.encoder.parameters())
        g_params = list(self.generator.parameters())
        ge = torch.autograd.grad(e_loss, e_params, retain_graph=True, allow_unused=True)
        gg = torch.autograd.grad(g_loss, g_params, allow_unused=True)
        for p, g in zip(e_params, ge):
            p.grad = g
        for p, g in zip(g_params, gg):
            p.grad = g
        opts["e"].step()
        opts["g"].step()
        if c.g_ema > 0:
            self._update_ema()
        if c.timelapse_frames:
            self._record_frame(self.step_ + 1)
        return {"d_loss": float(d_loss.detach()), "g_loss": float(adv.detach()),
                "recon_l1": float(pix.detach()), "feature": float(feat.detach()),
                "kl": float(kl.detach()), "d_real": float(s_real.detach().mean()),
                "d_fake": float(s_fake.detach().mean())}
