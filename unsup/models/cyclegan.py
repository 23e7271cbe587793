"""CycleGAN: unpaired image-to-image translation (Zhu, Park, Isola & Efros 2017, "Unpaired
Image-to-Image Translation using Cycle-Consistent Adversarial Networks"), as its public reference
implementation (junyanz/pytorch-CycleGAN-and-pix2pix, ``models/cycle_gan_model.py``,
``models/networks.py``, ``util/image_pool.py``) defines it, sized for a CPU.

Two generators, G_AB: A -> B and G_BA: B -> A (the reference's netG_A and netG_B), and two
discriminators, D_B judging domain B (real b vs G_AB(a); the reference's netD_A) and D_A judging
domain A (real a vs G_BA(b); its netD_B). With least-squares GAN losses (Mao et al. 2017;
MSE against the targets 1 for real and 0 for fake, averaged over the PatchGAN's score map):

    L_G = E (D_B(G_AB(a)) - 1)² + E (D_A(G_BA(b)) - 1)²                      adversarial
        + λ (||G_BA(G_AB(a)) - a||₁ + ||G_AB(G_BA(b)) - b||₁)                 cycle, λ = 10
        + λ λ_id (||G_AB(b) - b||₁ + ||G_BA(a) - a||₁)                       identity, λ_id = 0.5
    L_D_B = ½ [E (D_B(b) - 1)² + E D_B(pool_B(G_AB(a)))²]      (and L_D_A the same way)

(||·||₁ is the mean absolute error over all values, as ``nn.L1Loss`` computes it.) The step follows
the reference's ``optimize_parameters``: forward both cycles, update both generators (one Adam
over both) with the discriminators frozen, then update both discriminators (one Adam over both)
on real images and on fakes drawn from a pool of 50 past fakes (Shrivastava et al. 2017): while
the pool fills, each new fake enters it and is used; afterwards each new fake is, with
probability ½, swapped for a random stored one (which is used, the new one stored in its place),
else used as it is. The pool's draws come from ``self.rng`` and its contents are registered
buffers, so checkpoints carry it and resume is exact.

Networks (the reference's ``resnet_*blocks`` generator and ``basic`` n-layer PatchGAN, instance
normalisation without affine parameters, weights N(0, 0.02), biases 0):

- G: reflect-pad 3, conv 7x7 (f), IN, ReLU -> 2 x [conv 3x3 stride 2 (2f, 4f), IN, ReLU] ->
  ``n_blocks`` residual blocks [reflect-pad 1, conv 3x3, IN, ReLU, reflect-pad 1, conv 3x3, IN,
  + input] at 4f -> 2 x [x2 nearest-neighbour upsampling, conv 3x3 (2f, f), IN, ReLU] ->
  reflect-pad 3, conv 7x7 (3), tanh. The reference upsamples with transposed convolutions;
  here upsampling then convolving avoids their checkerboard artefacts (Odena, Dumoulin & Olah
  2016, "Deconvolution and Checkerboard Artifacts").
- D (PatchGAN): conv 4x4/2 (d), LeakyReLU 0.2 -> for k = 1..n-1: conv 4x4/2 (d·min(2^k, 8)), IN,
  LReLU -> conv 4x4/1 (d·min(2^n, 8)), IN, LReLU -> conv 4x4/1 (1): a map of scores, each
  judging one patch. n = 3 (the reference) sees 70x70 patches; at 32 px n = 2 (34x34 patches, a
  6x6 map) keeps more than one patch per image.

Learning rates are constant for ``n_steps_constant`` steps, then decay linearly toward 0 over
``n_steps_decay`` steps, the reference's ``linear`` policy counted in steps instead of epochs
(lr x [1 - max(0, t - n_const) / (n_decay + 1)]). The rate is computed from the step count
before every update, so there is no scheduler state to save.

A timelapse (``timelapse_frames`` > 0) keeps the translations of a few fixed source images
(set by the caller, e.g. held-out images) at regular steps in uint8 buffers, so the checkpoint
carries how the translation formed and a resume continues it. Recording runs the generators in
eval mode without touching ``rng``: training is the same with or without it.

Images are in [0, 1] outside the model (every helper takes and returns [0, 1]); inside they are
mapped to [-1, 1] to match the tanh. A training batch is (k, 2, 3, s, s): ``[:, 0]`` domain A,
``[:, 1]`` domain B, unpaired (:class:`unsup.data.domains.UnpairedDomains`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn

from unsup.models.base import Model, record_frame, register


@dataclass
class CycleGANConfig:
    """Configuration of :class:`CycleGAN` (stored in the checkpoint card)."""

    image_size: int = 32
    """Side of the square images (a multiple of 4: two stride-2 downsamplings)."""
    n_channels: int = 3
    """Channels of both domains (the identity loss feeds B images to G_AB, so they must agree;
    grey images are repeated over 3 channels)."""
    g_filters: int = 32
    """Base filters f of the generators (the reference's ngf is 64)."""
    n_blocks: int = 3
    """Residual blocks of each generator (the reference uses 9 at 256 px, 6 at 128 px)."""
    d_filters: int = 32
    """Base filters d of the PatchGAN discriminators (the reference's ndf is 64)."""
    d_layers: int = 2
    """Stride-2 layers of the PatchGAN (the reference's n_layers_D is 3: 70x70 patches; 2 gives
    34x34 patches, a 6x6 score map at 32 px)."""
    norm: str = "instance"
    """Normalisation of both generators and discriminators, the reference's ``--norm``:
    "instance" (its default), "batch" or "none". Instance normalisation removes each image's
    mean and contrast after the first convolution, so a generator cannot see the overall colour
    of a small, smooth patch (it must infer colour from content); batch normalisation over a
    batch of 16 keeps it."""
    lambda_cycle: float = 10.0
    """Weight λ_A of the cycle-consistency L1 term a -> G_BA(G_AB(a)) (the reference's
    lambda_A, 10), and of the other term too unless ``lambda_cycle_b`` is set."""
    lambda_cycle_b: float | None = None
    """Weight λ_B of the term b -> G_AB(G_BA(b)) (the reference's lambda_B; None = the same as
    ``lambda_cycle``). When B holds information A cannot (a photograph behind a digit), a full
    λ_B makes G_BA hide that information in its output, as extra marks that can change what a
    digit reads as; a smaller λ_B asks less of it."""
    lambda_identity: float = 0.5
    """Identity weight λ_id: the identity terms weigh λ·λ_id (the reference's lambda_identity;
    0 turns them off). It keeps colours from being inverted when nothing else pins them."""
    pool_size: int = 50
    """Past fakes kept per domain for the discriminators (0 = use the newest fakes only)."""
    lr: float = 2e-4
    """Adam learning rate of both optimizers before the decay."""
    beta1: float = 0.5
    """Adam's β₁."""
    beta2: float = 0.999
    """Adam's β₂."""
    n_steps_constant: int = 2000
    """Steps at the full learning rate (the reference: 100 epochs)."""
    n_steps_decay: int = 2000
    """Steps over which the learning rate then falls linearly toward 0 (the reference: 100
    epochs)."""
    batch_size: int = 16
    """Unpaired (a, b) pairs per step (the reference uses 1; 16 is cheaper per image on a CPU,
    and instance normalisation makes the result independent of the batch's other images)."""
    seed: int = 0
    """Seed of the weights, the batch order, the pool's draws."""
    timelapse_frames: int = 0
    """Timelapse of fixed images: how many frames the checkpoint keeps (0 = none). A frame is
    G_AB and G_BA of the same few source images (:meth:`CycleGAN.set_timelapse_sources`), taken
    every ``timelapse_every`` steps from step 0 on; when the store is full, every other frame is
    dropped and the interval doubles, so any run length ends with evenly spaced frames."""
    timelapse_every: int = 100
    """Initial interval of the timelapse frames, in steps."""
    timelapse_samples: int = 4
    """Source images of each domain in every frame (always the same ones)."""

    @classmethod
    def tiny(cls, **overrides) -> "CycleGANConfig":
        """A very small variant for tests: 8x8 images, 4 filters, 1 block, pool of 4, batch 2."""
        values = dict(image_size=8, g_filters=4, n_blocks=1, d_filters=4, d_layers=1,
                      pool_size=4, batch_size=2, n_steps_constant=20, n_steps_decay=20)
        values.update(overrides)
        return cls(**values)


# -- networks -------------------------------------------------------------------------------------
NORMS = ("instance", "batch", "none")
"""Normalisation layers of the reference's ``--norm`` option (``networks.get_norm_layer``)."""


def norm_layer(kind: str, ch: int) -> nn.Module:
    """The reference's normalisation: instance (no affine parameters, no running statistics),
    batch (affine, running statistics) or none."""
    if kind == "instance":
        return nn.InstanceNorm2d(ch)
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be one of {', '.join(NORMS)}; got {kind!r}")


def _bias(kind: str) -> bool:
    """A convolution before a batch norm has no bias (the norm's shift replaces it)."""
    return kind != "batch"


class ResidualBlock(nn.Module):
    """x + [reflect-pad 1, conv 3x3, norm, ReLU, reflect-pad 1, conv 3x3, norm](x)."""

    def __init__(self, ch: int, norm: str = "instance"):
        super().__init__()
        b = _bias(norm)
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3, bias=b), norm_layer(norm, ch),
            nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3, bias=b), norm_layer(norm, ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def resnet_generator(ch: int, f: int, n_blocks: int, norm: str = "instance") -> nn.Sequential:
    """The ResNet generator of the module docstring, (b, ch, s, s) -> (b, ch, s, s) in [-1, 1]."""
    b = _bias(norm)
    layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(ch, f, 7, bias=b),
                               norm_layer(norm, f), nn.ReLU(True)]
    for m in (1, 2):  # (b, 2f, s/2, s/2), (b, 4f, s/4, s/4)
        layers += [nn.Conv2d(f * m, f * 2 * m, 3, 2, 1, bias=b), norm_layer(norm, f * 2 * m),
                   nn.ReLU(True)]
    layers += [ResidualBlock(4 * f, norm) for _ in range(n_blocks)]
    for m in (4, 2):  # (b, 2f, s/2, s/2), (b, f, s, s): upsample, then convolve
        layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                   nn.Conv2d(f * m, f * m // 2, 3, 1, 1, bias=b), norm_layer(norm, f * m // 2),
                   nn.ReLU(True)]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(f, ch, 7), nn.Tanh()]
    return nn.Sequential(*layers)


def patch_discriminator(ch: int, d: int, n_layers: int, norm: str = "instance"
                        ) -> nn.Sequential:
    """The n-layer PatchGAN of the module docstring, (b, ch, s, s) -> (b, 1, h', w') scores."""
    layers: list[nn.Module] = [nn.Conv2d(ch, d, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    mult = 1
    for k in range(1, n_layers):
        prev, mult = mult, min(2 ** k, 8)
        layers += [nn.Conv2d(d * prev, d * mult, 4, 2, 1, bias=_bias(norm)),
                   norm_layer(norm, d * mult),
                   nn.LeakyReLU(0.2, True)]
    prev, mult = mult, min(2 ** n_layers, 8)
    layers += [nn.Conv2d(d * prev, d * mult, 4, 1, 1, bias=_bias(norm)),
               norm_layer(norm, d * mult),
               nn.LeakyReLU(0.2, True), nn.Conv2d(d * mult, 1, 4, 1, 1)]
    return nn.Sequential(*layers)


def init_weights(module: nn.Module, gain: float = 0.02) -> None:
    """The reference's ``normal`` init: conv weights N(0, gain), biases 0; batch-norm scales
    N(1, gain), shifts 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)


# -- losses (each as the module docstring writes it) --------------------------------------------
def ls_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """½ [E (D(real) - 1)² + E D(fake)²], the means over every patch score."""
    return 0.5 * ((real_scores - 1.0).pow(2).mean() + fake_scores.pow(2).mean())


def ls_g_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """E (D(G(x)) - 1)²."""
    return (fake_scores - 1.0).pow(2).mean()


def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over all values (``nn.L1Loss``)."""
    return (x - y).abs().mean()


# -- the pool of past fakes -----------------------------------------------------------------------
class FakePool(nn.Module):
    """The image pool of Shrivastava et al. 2017 as CycleGAN's reference uses it (``size`` past
    fakes; see the module docstring). ``images`` and ``count`` are buffers: checkpoints carry
    them. ``query`` draws from the generator it is given (the model's ``rng``)."""

    def __init__(self, size: int, shape: tuple[int, ...]):
        super().__init__()
        self.size = int(size)
        self.register_buffer("images", torch.zeros((self.size,) + tuple(shape)))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, fakes: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """The fakes the discriminator sees in place of ``fakes`` (b, ...), detached."""
        fakes = fakes.detach()
        if self.size == 0:
            return fakes
        out = []
        for img in fakes:
            n = int(self.count)
            if n < self.size:  # filling: store and use the new fake
                self.images[n] = img
                self.count += 1
                out.append(img)
                continue
            p = float(torch.rand((), generator=rng))
            j = int(torch.randint(self.size, (), generator=rng))
            if p > 0.5:  # use a stored fake, keep the new one in its place
                out.append(self.images[j].clone())
                self.images[j] = img
            else:
                out.append(img)
        return torch.stack(out)


# -- the model ------------------------------------------------------------------------------------
@register("cyclegan")
class CycleGAN(Model):
    """Two generators and two PatchGAN discriminators trained with cycle consistency (see the
    module docstring). Optimizers: "g" (both generators), "d" (both discriminators)."""

    store_half = True  # finished checkpoints: float16 on disk (see Model.store_half)

    config_class = CycleGANConfig
    monitor = "cycle"
    """Divergence watch on the cycle loss (the adversarial terms have no "best")."""

    def __init__(self, config: CycleGANConfig):
        c = config
        if c.image_size % 4 or c.image_size < 8:
            raise ValueError(f"image_size must be a multiple of 4 and at least 8, got "
                             f"{c.image_size}")
        if c.n_blocks < 0 or c.g_filters < 1 or c.d_filters < 1 or c.d_layers < 1:
            raise ValueError("g_filters, d_filters and d_layers must be at least 1 and n_blocks "
                             "at least 0")
        if c.norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}; got {c.norm!r}")
        if c.pool_size < 0:
            raise ValueError(f"pool_size must be 0 or more, got {c.pool_size}")
        weights = (c.lambda_cycle, c.lambda_identity,
                   c.lambda_cycle if c.lambda_cycle_b is None else c.lambda_cycle_b)
        if min(weights) < 0:
            raise ValueError("lambda_cycle, lambda_cycle_b and lambda_identity must be 0 or more")
        if c.image_size // 2 ** c.d_layers < 3:  # the last normalised map must be 2x2 or more
            raise ValueError(f"d_layers={c.d_layers} halves {c.image_size} px images too often "
                             "for a 4x4 patch score; use fewer layers")
        super().__init__(config)
        ch = c.n_channels
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(c.seed)
            self.g_ab = resnet_generator(ch, c.g_filters, c.n_blocks, c.norm)
            self.g_ba = resnet_generator(ch, c.g_filters, c.n_blocks, c.norm)
            self.d_a = patch_discriminator(ch, c.d_filters, c.d_layers, c.norm)
            self.d_b = patch_discriminator(ch, c.d_filters, c.d_layers, c.norm)
            for net in (self.g_ab, self.g_ba, self.d_a, self.d_b):
                init_weights(net)
        shape = (ch, c.image_size, c.image_size)
        self.pool_a = FakePool(c.pool_size, shape)  # past G_BA(b), judged by D_A
        self.pool_b = FakePool(c.pool_size, shape)  # past G_AB(a), judged by D_B
        if c.timelapse_frames < 0 or c.timelapse_every < 1 or c.timelapse_samples < 1:
            raise ValueError("timelapse_frames must be >= 0, timelapse_every and "
                             "timelapse_samples >= 1")
        if c.timelapse_frames:  # buffers: a checkpoint carries the sources and the frames
            k, n_val = c.timelapse_samples, ch * c.image_size * c.image_size
            # (2, k, c*s*s): the fixed A images, then the fixed B images, as uint8
            self.register_buffer("timelapse_source", torch.zeros(2, k, n_val, dtype=torch.uint8))
            self.register_buffer("timelapse_ready", torch.zeros((), dtype=torch.bool))
            # (frames, 2, k, c*s*s): G_AB(source A), G_BA(source B) at each frame's step
            self.register_buffer("timelapse", torch.zeros(c.timelapse_frames, 2, k, n_val,
                                                          dtype=torch.uint8))
            self.register_buffer("timelapse_step", torch.full((c.timelapse_frames,), -1,
                                                              dtype=torch.int64))
            self.register_buffer("timelapse_interval", torch.tensor(c.timelapse_every))
        self._opt_g: torch.optim.Optimizer | None = None
        self._opt_d: torch.optim.Optimizer | None = None

    # -- helpers in [0, 1] ------------------------------------------------------------------------
    @staticmethod
    def _to_model(x: torch.Tensor) -> torch.Tensor:
        return x * 2.0 - 1.0

    @staticmethod
    def _from_model(x: torch.Tensor) -> torch.Tensor:
        return (x + 1.0) * 0.5

    @torch.no_grad()
    def _run(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        was = self.training
        self.eval()
        out = self._from_model(net(self._to_model(x.to(self.device))))
        self.train(was)
        return out

    def translate_ab(self, a: torch.Tensor) -> torch.Tensor:
        """G_AB(a): A images (n, c, s, s) in [0, 1] -> B images in [0, 1]."""
        return self._run(self.g_ab, a)

    def translate_ba(self, b: torch.Tensor) -> torch.Tensor:
        """G_BA(b): B images (n, c, s, s) in [0, 1] -> A images in [0, 1]."""
        return self._run(self.g_ba, b)

    @torch.no_grad()
    def cycle(self, x: torch.Tensor, source: str = "a") -> torch.Tensor:
        """The cycle reconstruction: G_BA(G_AB(x)) for ``source`` "a", G_AB(G_BA(x)) for "b"."""
        if source == "a":
            return self.translate_ba(self.translate_ab(x))
        if source == "b":
            return self.translate_ab(self.translate_ba(x))
        raise ValueError(f"source must be 'a' or 'b', got {source!r}")

    @torch.no_grad()
    def identity(self, x: torch.Tensor, domain: str = "b") -> torch.Tensor:
        """The identity mapping: G_AB(x) for a B image x (``domain`` "b"), G_BA(x) for an A image
        ("a"); near x when the identity loss has done its work."""
        if domain == "b":
            return self.translate_ab(x)
        if domain == "a":
            return self.translate_ba(x)
        raise ValueError(f"domain must be 'a' or 'b', got {domain!r}")

    @torch.no_grad()
    def d_scores(self, x: torch.Tensor, domain: str) -> torch.Tensor:
        """Mean PatchGAN score of each image (n,) under D_A (``domain`` "a") or D_B ("b");
        near 1 = judged real, near 0 = judged fake."""
        net = {"a": self.d_a, "b": self.d_b}[domain]
        was = self.training
        self.eval()
        out = net(self._to_model(x.to(self.device))).flatten(1).mean(1)
        self.train(was)
        return out

    # -- the timelapse of fixed images -----------------------------------------------------------
    @staticmethod
    def _to_uint8(x: torch.Tensor) -> torch.Tensor:
        return (x.clamp(0, 1) * 255).round().to(torch.uint8).reshape(x.shape[0], -1)

    def _from_uint8(self, x: torch.Tensor) -> torch.Tensor:
        c = self.config
        return x.cpu().float().div(255.0).reshape(-1, c.n_channels, c.image_size, c.image_size)

    @torch.no_grad()
    def set_timelapse_sources(self, a: torch.Tensor, b: torch.Tensor) -> None:
        """Fix the source images of the timelapse: ``timelapse_samples`` A images and as many B
        images, (k, c, s, s) in [0, 1] (stored as uint8, as the frames are). Call before
        training; frames already recorded are cleared."""
        c = self.config
        if not c.timelapse_frames:
            raise ValueError("this model keeps no timelapse (timelapse_frames is 0)")
        want = (c.timelapse_samples, c.n_channels, c.image_size, c.image_size)
        a, b = torch.as_tensor(a, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32)
        if tuple(a.shape) != want or tuple(b.shape) != want:
            raise ValueError(f"timelapse sources must be {want}; got A {tuple(a.shape)} and B "
                             f"{tuple(b.shape)}")
        dev = self.timelapse_source.device
        self.timelapse_source[0] = self._to_uint8(a).to(dev)
        self.timelapse_source[1] = self._to_uint8(b).to(dev)
        self.timelapse_ready.fill_(True)
        self.timelapse.zero_()
        self.timelapse_step.fill_(-1)
        self.timelapse_interval.fill_(c.timelapse_every)

    def timelapse_sources(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed (A, B) source images, each (k, c, s, s) in [0, 1]; empty without them."""
        if not self.config.timelapse_frames or not bool(self.timelapse_ready):
            return torch.zeros(0), torch.zeros(0)
        return (self._from_uint8(self.timelapse_source[0]),
                self._from_uint8(self.timelapse_source[1]))

    @torch.no_grad()
    def _frame(self) -> torch.Tensor:
        a, b = self.timelapse_sources()
        return torch.stack([self._to_uint8(self.translate_ab(a).cpu()),
                            self._to_uint8(self.translate_ba(b).cpu())])  # (2, k, c*s*s)

    @torch.no_grad()
    def _record_frame(self, step: int) -> None:
        """Store the translations of the fixed sources as the frame of ``step`` if it is due."""
        record_frame(self.timelapse, self.timelapse_step, self.timelapse_interval, step,
                     self._frame)

    def timelapse_frames(self) -> tuple[list[int], torch.Tensor]:
        """The recorded frames: their steps and images in [0, 1], (frames, 2, k, c, s, s) with
        ``[:, 0]`` = G_AB(source A) and ``[:, 1]`` = G_BA(source B); empty without a
        timelapse."""
        c = self.config
        if not c.timelapse_frames:
            return [], torch.zeros(0)
        used = int((self.timelapse_step >= 0).sum())
        frames = self._from_uint8(self.timelapse[:used]).reshape(
            used, 2, c.timelapse_samples, c.n_channels, c.image_size, c.image_size)
        return [int(s) for s in self.timelapse_step[:used]], frames

    # -- training ---------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        if self._opt_g is None:
            self._opt_g = torch.optim.Adam(
                itertools.chain(self.g_ab.parameters(), self.g_ba.parameters()), lr=c.lr,
                betas=(c.beta1, c.beta2))
            self._opt_d = torch.optim.Adam(
                itertools.chain(self.d_a.parameters(), self.d_b.parameters()), lr=c.lr,
                betas=(c.beta1, c.beta2))
        return {"g": self._opt_g, "d": self._opt_d}

    def lr_at(self, step: int) -> float:
        """Learning rate of the update made at ``step`` (0-based): constant, then linear decay."""
        c = self.config
        frac = 1.0 - max(0, step - c.n_steps_constant) / float(c.n_steps_decay + 1)
        return c.lr * max(0.0, frac)

    def losses(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
        """The generators' loss terms on a batch (a, b in [-1, 1], the model's space), weighted
        as they enter L_G, plus the fakes: keys ``gan_ab``, ``gan_ba``, ``cycle_a``, ``cycle_b``,
        ``idt_a``, ``idt_b``, ``g`` (their sum), ``fake_a``, ``fake_b``."""
        c = self.config
        lam_b = c.lambda_cycle if c.lambda_cycle_b is None else c.lambda_cycle_b
        fake_b = self.g_ab(a)  # (k, c, s, s)
        fake_a = self.g_ba(b)
        rec_a, rec_b = self.g_ba(fake_b), self.g_ab(fake_a)
        out = {
            "gan_ab": ls_g_loss(self.d_b(fake_b)),
            "gan_ba": ls_g_loss(self.d_a(fake_a)),
            "cycle_a": c.lambda_cycle * l1(rec_a, a),
            "cycle_b": lam_b * l1(rec_b, b),
        }
        if c.lambda_identity > 0:  # as the reference weighs them: G_BA(a) ~ a by λ_A·λ_id,
            # G_AB(b) ~ b by λ_B·λ_id
            out["idt_a"] = c.lambda_cycle * c.lambda_identity * l1(self.g_ba(a), a)
            out["idt_b"] = lam_b * c.lambda_identity * l1(self.g_ab(b), b)
        else:
            out["idt_a"] = out["idt_b"] = torch.zeros((), device=a.device)
        out["g"] = sum(out[k] for k in ("gan_ab", "gan_ba", "cycle_a", "cycle_b", "idt_a",
                                        "idt_b"))
        out["fake_a"], out["fake_b"] = fake_a, fake_b
        return out

    def compact_state(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A finished checkpoint leaves out the two pools of past fakes (1.2 MB at 32 px): they
        only matter to resume training exactly, which a finished checkpoint is not for; loading
        gives empty pools (:meth:`complete_state`), which refill in the first steps."""
        return {k: v for k, v in state.items() if not k.startswith(("pool_a.", "pool_b."))}

    def complete_state(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if any(k.startswith("pool_a.") for k in state):
            return state
        out = dict(state)
        for name in ("pool_a", "pool_b"):
            for k, v in getattr(self, name).state_dict().items():
                out[f"{name}.{k}"] = torch.zeros_like(v)
        return out

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One step on a batch (k, 2, c, s, s) in [0, 1]: both generators, then both
        discriminators (the reference's order). Returns the weighted loss terms, ``cycle``
        (the two cycle terms, weighted) and the discriminators' losses."""
        recording = bool(self.config.timelapse_frames) and bool(self.timelapse_ready)
        if recording and self.step_ == 0:
            self._record_frame(0)  # what the generators make before any training
        self.train()
        opts = self.optimizers()
        lr = self.lr_at(int(self.step_))
        for opt in opts.values():
            for group in opt.param_groups:
                group["lr"] = lr
        a, b = self._to_model(batch[:, 0]), self._to_model(batch[:, 1])
        # generators, discriminators frozen
        for d in (self.d_a, self.d_b):
            d.requires_grad_(False)
        t = self.losses(a, b)
        opts["g"].zero_grad(set_to_none=True)
        t["g"].backward()
        opts["g"].step()
        for d in (self.d_a, self.d_b):
            d.requires_grad_(True)
        # discriminators on real images and pooled fakes
        pooled_b = self.pool_b.query(t["fake_b"], self.rng)
        pooled_a = self.pool_a.query(t["fake_a"], self.rng)
        loss_d_b = ls_d_loss(self.d_b(b), self.d_b(pooled_b))
        loss_d_a = ls_d_loss(self.d_a(a), self.d_a(pooled_a))
        opts["d"].zero_grad(set_to_none=True)
        (loss_d_a + loss_d_b).backward()
        opts["d"].step()
        logged = {k: float(t[k].detach()) for k in ("g", "gan_ab", "gan_ba", "cycle_a",
                                                    "cycle_b", "idt_a", "idt_b")}
        logged["cycle"] = logged["cycle_a"] + logged["cycle_b"]
        logged["d_a"], logged["d_b"] = float(loss_d_a.detach()), float(loss_d_b.detach())
        logged["lr"] = lr
        if recording:
            self._record_frame(int(self.step_) + 1)  # fit counts this step after it returns
        return logged
