"""Single-image super-resolution x4: SRResNet and SRGAN (Ledig et al. 2017, "Photo-Realistic
Single Image Super-Resolution Using a Generative Adversarial Network").

One generator, two recipes (the config's ``adversarial_weight`` picks):

- SRResNet (``adversarial_weight = 0``): the generator alone, trained on the pixel loss
  (mean squared error by default, which is exactly what PSNR scores: it wins PSNR);
- SRGAN (``adversarial_weight > 0``): pixel loss + ``content_weight`` x a feature-space content
  loss + ``adversarial_weight`` x the non-saturating GAN loss of a discriminator that judges
  real high-res images against restored ones. The adversarial term buys realism (sharp strokes
  instead of the blurred average of all plausible answers) at the cost of pixel accuracy: the
  perception-distortion trade-off (Blau & Michaeli 2018).

The paper's content loss compares VGG-19 features. VGG weights cannot be downloaded here, so the
feature network is *injected*: ``model.content_net = f`` with ``f`` any callable mapping
(b, c, s, s) images in [0, 1] to a feature tensor, e.g. the trunk of the project's shipped digit
classifier (:func:`classifier_trunk`). It is frozen, kept out of ``state_dict`` and out of the
checkpoint (it is an instrument, not part of the model); an SRGAN step without one raises.

Low-res input. The low-res image is always made by :func:`downscale` (area averaging over
``scale`` x ``scale`` blocks) of the high-res one, in training, in evaluation and for an
uploaded image, so the model learns to invert exactly the degradation it is shown.

Generator (EDSR-style residual blocks, Lim et al. 2017: no BatchNorm, so one uploaded image is
restored exactly as it would be inside a batch, and training and eval modes agree)::

    x_low (b, c, s/4, s/4)
      head   3x3 conv c -> w, PReLU                       (b, w, s/4, s/4)
      body   n_blocks x [conv, ReLU, conv] + skip, conv; global skip from the head
      up     2 x [3x3 conv w -> 4w, PixelShuffle(2), PReLU]  (b, w, s, s)
      tail   3x3 conv w -> c, zero-initialised
    output = bicubic_up(x_low) + tail                      (residual learning)

With the tail zero-initialised the untrained generator *is* bicubic interpolation, so training
starts from bicubic's PSNR and only learns the correction. The raw output is not clamped while
training (a clamped pixel below 0 whose target is above 0 would get no gradient); every image
the model hands out (``upscale``, and what the discriminator and the content net see) is
clamped to [0, 1].

Discriminator: strided 3x3/4x4 convolutions with LeakyReLU(0.2), optionally spectrally
normalised (Miyato et al. 2018), global average pooling and a linear logit; it works for 28x28
and 64x64 images (no BatchNorm, so real and fake halves of a batch do not share statistics).

``train_step(batch)``: ``batch`` is high-res images (b, c, s, s) in [0, 1]. SRResNet: one Adam
step ("g") on the pixel loss. SRGAN: one discriminator step ("d"), then one generator step
("g"), each with its own Adam. The only randomness in a step is the optional shift augmentation,
drawn from ``self.rng`` (which :func:`unsup.train.fit` reseeds from (seed, step)), so N steps,
save, load, M steps equals N + M steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn
from torch.nn import functional as F

from unsup.models import gan_losses as L
from unsup.models.base import Model, register

PIXEL_LOSSES = ("mse", "l1")
CONTENT_NETS: dict[str, Callable[[], nn.Module]] = {}
"""Content networks by name (``SRConfig.content``): a function building the frozen network.
The recipes module registers the project's ones on import (:mod:`unsup.recipes.ganapps`)."""


def content_net_named(name: str) -> nn.Module:
    """The frozen content network registered as ``name`` (importing the recipes that register
    the built-in ones on first use)."""
    if name not in CONTENT_NETS:
        import importlib

        importlib.import_module("unsup.recipes.ganapps")
    if name not in CONTENT_NETS:
        raise ValueError(f"unknown content network {name!r}; known: {sorted(CONTENT_NETS)}")
    return CONTENT_NETS[name]()


# -- the degradation and the baseline -----------------------------------------------------------
def downscale(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Low-res images: the mean of each ``scale`` x ``scale`` block (area averaging).

    x (n, c, h, w) with h and w divisible by ``scale`` -> (n, c, h/scale, w/scale). A constant
    image stays that constant; values stay in the input's range.
    """
    h, w = x.shape[-2:]
    if h % scale or w % scale:
        raise ValueError(f"image size {h}x{w} is not divisible by the scale {scale}")
    return F.avg_pool2d(x, kernel_size=scale, stride=scale)


def bicubic_up(x_low: torch.Tensor, scale: int) -> torch.Tensor:
    """The classical baseline: bicubic interpolation (a = -0.75, half-pixel centres, as
    ``F.interpolate(mode="bicubic", align_corners=False)`` does) by ``scale``, clamped to
    [0, 1] (bicubic overshoots at edges). (n, c, h, w) -> (n, c, h*scale, w*scale)."""
    up = F.interpolate(x_low, scale_factor=scale, mode="bicubic", align_corners=False)
    return up.clamp(0.0, 1.0)


# -- config -------------------------------------------------------------------------------------
@dataclass
class SRConfig:
    """Configuration of :class:`SuperResolution` (stored in the checkpoint card)."""

    image_size: int = 28
    """Side of the square *high-res* images (a multiple of ``scale``): 28 for digits (7 -> 28),
    64 for the generated faces (16 -> 64)."""
    n_channels: int = 1
    """1 for grey digits, 3 for RGB faces."""
    scale: int = 4
    """Upscaling factor (a power of 2: the generator has log2(scale) x2 PixelShuffle stages)."""
    width: int = 32
    """Channels of the generator's feature maps."""
    n_blocks: int = 6
    """Residual blocks of the generator's body."""
    pixel_loss: str = "mse"
    """Pixel loss: "mse" (what PSNR scores; SRResNet's) or "l1"."""
    content_weight: float = 0.0
    """Weight of the content loss: MSE between the injected content net's features of the
    output and of the target (SRGAN's "VGG loss"; 0 = off). Only used when
    ``adversarial_weight`` > 0, and then a content net must be set."""
    adversarial_weight: float = 0.0
    """Weight of the generator's non-saturating GAN loss; 0 = SRResNet (no discriminator is
    built), > 0 = SRGAN (the paper uses 1e-3 beside its rescaled VGG loss)."""
    d_width: int = 16
    """SRGAN: channels of the discriminator's first layer (doubled at each stride, at most 8x).
    Measured on 28x28 digits, batch 32, one thread, beside a 78 ms SRResNet step: an SRGAN step
    (with the digit-classifier content net) took 480 ms at 32 (D: 1.46M parameters), 215 ms at
    16 (366k), 165 ms at 8 (92k)."""
    d_spectral_norm: bool = True
    """SRGAN: spectral normalisation of every discriminator layer (steadies training)."""
    lr: float = 1e-3
    """Adam learning rate of the generator."""
    lr_decay_at: int = 0
    """From this step on, both learning rates are multiplied by ``lr_decay`` (SRGAN's own
    schedule is one such drop; 0 = never). Measured on the digits: a x0.2 drop after 6.5 of 8
    minutes took the held-out PSNR from 21.9 to 22.4 dB."""
    lr_decay: float = 0.2
    """The factor of that drop."""
    content: str = ""
    """Name of the content network the model asks for when it has none set (after a load, on
    resume): a key of :data:`CONTENT_NETS` ("digits": the digit classifier's trunk, "faces": the
    keypoint model's encoder, both registered by :mod:`unsup.recipes.ganapps`); "" = none."""
    lr_d: float = 2e-4
    """SRGAN: Adam learning rate of the discriminator."""
    beta1: float = 0.9
    """Adam's β₁ for the generator (SRGAN's discriminator always uses 0.5, as DCGAN does)."""
    batch_size: int = 32
    """High-res images per step."""
    shift: int = 0
    """Augmentation: each training image is rolled by a random offset of up to ``shift`` px
    each way (drawn from ``self.rng``) before it is downscaled, so the same digit is seen with
    other block alignments; 0 = off. Against overfitting a small set (4,500 digits): without it
    a 195k-parameter generator restored training digits at 25.6 dB but held-out ones at 21.7 dB.
    Rolling wraps pixels around: harmless on digits' black border, not meant for faces."""
    seed: int = 0
    """Seed of the weights, the batch order and the shifts."""

    @classmethod
    def tiny(cls, **overrides) -> "SRConfig":
        """A very small variant for tests: 16x16 images (4x4 input), width 8, 2 blocks."""
        values = dict(image_size=16, width=8, n_blocks=2, d_width=8, batch_size=8, shift=1)
        values.update(overrides)
        return cls(**values)


def _check(cfg: SRConfig) -> None:
    if cfg.scale < 2 or cfg.scale & (cfg.scale - 1):
        raise ValueError(f"scale must be a power of 2 (2, 4, 8, ...), got {cfg.scale}")
    if cfg.image_size % cfg.scale:
        raise ValueError(f"image_size {cfg.image_size} is not divisible by scale {cfg.scale}")
    if cfg.pixel_loss not in PIXEL_LOSSES:
        raise ValueError(f"unknown pixel loss {cfg.pixel_loss!r}; choose one of "
                         f"{', '.join(PIXEL_LOSSES)}")
    if cfg.adversarial_weight < 0 or cfg.content_weight < 0:
        raise ValueError("adversarial_weight and content_weight must be >= 0")
    if cfg.shift < 0:
        raise ValueError(f"shift must be >= 0 pixels, got {cfg.shift}")
    if cfg.n_channels not in (1, 3):
        raise ValueError(f"n_channels must be 1 or 3, got {cfg.n_channels}")


# -- networks -----------------------------------------------------------------------------------
class ResidualBlock(nn.Module):
    """x + conv(ReLU(conv(x))), 3x3 convolutions, no normalisation (EDSR's block)."""

    def __init__(self, width: int):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, 1, 1)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class SRGenerator(nn.Module):
    """Low-res (b, c, s/scale, s/scale) -> raw high-res (b, c, s, s), not clamped (see the
    module docstring): the bicubic upsampling plus a learned correction."""

    def __init__(self, cfg: SRConfig):
        super().__init__()
        c, w = cfg.n_channels, cfg.width
        self.scale = cfg.scale
        self.head = nn.Sequential(nn.Conv2d(c, w, 3, 1, 1), nn.PReLU(w))
        self.body = nn.Sequential(*[ResidualBlock(w) for _ in range(cfg.n_blocks)],
                                  nn.Conv2d(w, w, 3, 1, 1))
        ups: list[nn.Module] = []
        for _ in range(cfg.scale.bit_length() - 1):  # log2(scale) x2 stages
            ups += [nn.Conv2d(w, 4 * w, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(w)]
        self.up = nn.Sequential(*ups)
        self.tail = nn.Conv2d(w, c, 3, 1, 1)
        nn.init.zeros_(self.tail.weight)  # the untrained generator is bicubic interpolation
        nn.init.zeros_(self.tail.bias)

    def forward(self, x_low: torch.Tensor) -> torch.Tensor:
        h = self.head(x_low)  # (b, w, s/scale, s/scale)
        h = h + self.body(h)  # global skip
        h = self.up(h)  # (b, w, s, s)
        return bicubic_up(x_low, self.scale) + self.tail(h)  # (b, c, s, s)


class SRDiscriminator(nn.Module):
    """High-res image (b, c, s, s) in [0, 1] -> one real/fake logit (b,)."""

    def __init__(self, cfg: SRConfig):
        super().__init__()
        d, c = cfg.d_width, cfg.n_channels
        sn = nn.utils.parametrizations.spectral_norm if cfg.d_spectral_norm else (lambda m: m)
        layers: list[nn.Module] = [sn(nn.Conv2d(c, d, 3, 1, 1)), nn.LeakyReLU(0.2)]
        size, ch = cfg.image_size, d
        while size > 4:  # stride-2 halvings down to 3-4 px: 28 -> 14 -> 7 -> 3, 64 -> ... -> 4
            nxt = min(2 * ch, 8 * d)
            layers += [sn(nn.Conv2d(ch, nxt, 4, 2, 1)), nn.LeakyReLU(0.2),
                       sn(nn.Conv2d(nxt, nxt, 3, 1, 1)), nn.LeakyReLU(0.2)]
            size, ch = size // 2, nxt
        self.features = nn.Sequential(*layers)
        self.logit = sn(nn.Linear(ch, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(2.0 * x - 1.0)  # (b, ch, ~4, ~4); images centred on 0
        return self.logit(h.mean(dim=(2, 3))).squeeze(1)  # (b,)


def classifier_trunk(classifier: nn.Module, n_layers: int = 5) -> nn.Module:
    """A frozen feature extractor for the content loss: the first ``n_layers`` modules of a
    :class:`unsup.models.classifier.DigitClassifier`'s ``net`` (5: conv, ReLU, pool, conv, ReLU,
    i.e. the second convolution's (b, 2w, s/2, s/2) activations, before its pooling), in eval
    mode, with ``requires_grad`` off (the classifier's own parameters are shared, and frozen)."""
    trunk = classifier.net[:n_layers]
    trunk.eval()
    trunk.requires_grad_(False)
    return trunk


# -- the model ----------------------------------------------------------------------------------
@register("superres")
class SuperResolution(Model):
    """x``scale`` super-resolution: SRResNet (pixel loss) or SRGAN (pixel + content +
    adversarial), see the module docstring. ``upscale(x_low)`` restores low-res images."""

    config_class = SRConfig
    monitor = None  # no "best" copy: a training batch's loss (with SRGAN's adversarial terms)
    #   says little of held-out quality; non-finite and absurd values still stop a run

    def __init__(self, config: SRConfig):
        super().__init__(config)
        _check(config)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(config.seed))
            self.generator = SRGenerator(config)
            self.discriminator = (SRDiscriminator(config) if config.adversarial_weight > 0
                                  else None)
        self._content_net: Callable[[torch.Tensor], torch.Tensor] | None = None
        self._opts: dict[str, torch.optim.Optimizer] | None = None

    # -- the injected content network (not a submodule: not saved, not trained) ----------------
    @property
    def content_net(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """The frozen feature network of the content loss (None until set)."""
        return self.__dict__.get("_content_net")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("content_net", "_content_net"):
            # bypass nn.Module's registration: a module assigned here must not enter
            # state_dict, parameters() or .to(); it is frozen once, here
            if isinstance(value, nn.Module):
                value.eval()
                value.requires_grad_(False)
            self.__dict__["_content_net"] = value
            return
        super().__setattr__(name, value)

    @property
    def adversarial(self) -> bool:
        """True for SRGAN (a discriminator and its loss), False for SRResNet."""
        return self.discriminator is not None

    # -- inference ------------------------------------------------------------------------------
    def forward(self, x_low: torch.Tensor) -> torch.Tensor:
        """Raw (unclamped) high-res output (b, c, s, s) of low-res images (b, c, s/4, s/4)."""
        return self.generator(x_low)

    @torch.no_grad()
    def upscale(self, x_low: torch.Tensor) -> torch.Tensor:
        """Restored images in [0, 1], (b, c, s, s), of low-res images (b, c, s/scale, s/scale)
        (made by :func:`downscale`); eval mode, no gradients, on the caller's device."""
        was = self.training
        self.eval()
        out = self.generator(x_low.to(self.device).float()).clamp(0.0, 1.0)
        self.train(was)
        return out.to(x_low.device)

    def low_res(self, x: torch.Tensor) -> torch.Tensor:
        """The model's input for high-res images ``x``: :func:`downscale` by ``scale``."""
        return downscale(x, self.config.scale)

    # -- losses ---------------------------------------------------------------------------------
    def pixel_loss(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean over pixels of (raw - target)² ("mse") or |raw - target| ("l1")."""
        if self.config.pixel_loss == "l1":
            return (raw - target).abs().mean()
        return (raw - target).pow(2).mean()

    def content_loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """SRGAN's content loss with the injected network φ: mean (φ(out) - φ(target))²."""
        net = self._require_content_net()
        if isinstance(net, nn.Module):
            net.to(out.device)
        with torch.no_grad():
            want = net(target)
        return (net(out) - want).pow(2).mean()

    def _require_content_net(self) -> Callable[[torch.Tensor], torch.Tensor]:
        net = self.content_net
        if net is None and self.config.content:
            self.content_net = content_net_named(self.config.content)
            net = self.content_net
        if net is None:
            raise ValueError(
                "SRGAN needs a content network for its feature-space loss: set "
                "model.content_net (e.g. classifier_trunk(<the shipped digit classifier>)) "
                "before training; it is not stored in the checkpoint.")
        return net

    def augment(self, hi: torch.Tensor) -> torch.Tensor:
        """``hi`` (b, c, s, s) with each image rolled by its own random offset in
        [-shift, shift]² (from ``self.rng``); ``hi`` itself when ``shift`` is 0."""
        k = self.config.shift
        if k == 0:
            return hi
        offsets = torch.randint(-k, k + 1, (len(hi), 2), generator=self.rng).tolist()
        return torch.stack([torch.roll(img, shifts=(dy, dx), dims=(1, 2))
                            for img, (dy, dx) in zip(hi, offsets)])

    # -- training -------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """"g" (Adam on the generator) and, for SRGAN, "d" (Adam, β₁ 0.5, on the
        discriminator)."""
        if self._opts is None:
            cfg = self.config
            self._opts = {"g": torch.optim.Adam(self.generator.parameters(), lr=cfg.lr,
                                                betas=(cfg.beta1, 0.999))}
            if self.discriminator is not None:
                self._opts["d"] = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr_d,
                                                   betas=(0.5, 0.999))
        return self._opts

    def lr_factor(self, step: int) -> float:
        """What both learning rates are multiplied by at ``step`` (the config's one drop)."""
        c = self.config
        return float(c.lr_decay) if c.lr_decay_at and step >= c.lr_decay_at else 1.0

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One step on high-res images ``batch`` (b, c, s, s) in [0, 1]: SRResNet, a generator
        step on the pixel loss; SRGAN, a discriminator step (NS loss on real vs restored),
        then a generator step on pixel + content_weight x content + adversarial_weight x NS."""
        cfg = self.config
        if self.adversarial:  # SRGAN is defined with its content loss: refuse without it
            self._require_content_net()
        self.train()
        hi = self.augment(batch.to(self.device).float())  # (b, c, s, s)
        lo = self.low_res(hi)  # (b, c, s/scale, s/scale)
        opts = self.optimizers()
        factor = self.lr_factor(int(self.step_))
        for name, opt in opts.items():
            for group in opt.param_groups:
                group["lr"] = (cfg.lr if name == "g" else cfg.lr_d) * factor
        logs: dict[str, float] = {}

        if self.adversarial:  # D step: real high-res vs restored (generator frozen here)
            with torch.no_grad():
                fake = self.generator(lo).clamp(0.0, 1.0)
            logits = self.discriminator(torch.cat([hi, fake]))  # (2b,)
            d_real, d_fake = logits[:len(hi)], logits[len(hi):]
            d_loss = L.d_loss_gan(d_real, d_fake)
            opts["d"].zero_grad(set_to_none=True)
            d_loss.backward()
            opts["d"].step()
            logs["d_loss"] = float(d_loss.detach())
            logs["d_real"] = float(torch.sigmoid(d_real.detach()).mean())  # D's P(real) on real
            logs["d_fake"] = float(torch.sigmoid(d_fake.detach()).mean())  # ... and on restored

        raw = self.generator(lo)  # (b, c, s, s), unclamped
        pix = self.pixel_loss(raw, hi)
        loss = pix
        logs["pixel"] = float(pix.detach())
        logs["psnr"] = float(-10.0 * torch.log10(
            (raw.detach().clamp(0, 1) - hi).pow(2).mean().clamp_min(1e-12)))  # batch PSNR (dB)
        if self.adversarial:
            out = raw.clamp(0.0, 1.0)
            if cfg.content_weight > 0:
                content = self.content_loss(out, hi)
                loss = loss + cfg.content_weight * content
                logs["content"] = float(content.detach())
            self.discriminator.requires_grad_(False)  # no D gradients from the G step
            adv = L.g_loss_ns(self.discriminator(out))
            self.discriminator.requires_grad_(True)
            loss = loss + cfg.adversarial_weight * adv
            logs["adv"] = float(adv.detach())
        opts["g"].zero_grad(set_to_none=True)
        loss.backward()
        opts["g"].step()
        logs["loss"] = float(loss.detach())
        return logs
