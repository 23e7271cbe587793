"""Image inpainting: a context encoder with a global + local discriminator (Iizuka, Simo-Serra &
Ishikawa 2017, "Globally and Locally Consistent Image Completion"), and two baselines.

The task. Some pixels of an image are missing (the *hole*); the model fills them from the rest
(the *context*). Everywhere in this module a mask is a float tensor (b, 1, s, s) with
**1 = hole (missing), 0 = known**; it is shared by every channel of the image. Masks given to
:meth:`Inpainter.fill` and the baselines are binarised at 0.5 (a soft, antialiased brush stroke
from a drawing pad counts as hole where it is at least half painted), and the output keeps
every known pixel of the input bit for bit::

    out = mask * filled + (1 - mask) * x          (mask in {0, 1})

One generator, two recipes (the config's ``adversarial_weight`` picks):

- context encoder (``adversarial_weight = 0``): the generator alone, trained on the mean squared
  error inside the hole (what hole PSNR scores). It fills with the blurred average of the
  plausible answers;
- GLCIC (``adversarial_weight > 0``): the same pixel loss + ``adversarial_weight`` x the
  non-saturating GAN loss of a discriminator that looks at the completed image twice: a global
  trunk on the whole image and a local trunk on a ``local_size`` crop centred on the hole, their
  features concatenated into one real/fake logit (as in the paper). From step ``adv_start`` on;
  before it, pixel loss only (the paper's schedule: the completion network is trained alone
  first, then jointly).

Generator (the paper's completion network, scaled down; no BatchNorm, so one image is filled
exactly as it would be inside a batch, and training and eval modes agree)::

    input  cat(x * (1 - mask), mask)                     (b, c + 1, s, s)
    encoder 5x5 conv -> w; n_down x [3x3 stride-2 conv (x2 channels), 3x3 conv], ReLU
                                                        (b, w 2^n_down, s / 2^n_down, ...)
    middle n_dilated x residual [3x3 conv with dilation 2, 4, 8, 16, ...], then a 3x3 conv
           (the dilations widen the receptive field so the centre of a large hole sees context)
    decoder n_down x [4x4 stride-2 transposed conv (/2 channels), 3x3 conv], ReLU
    tail   3x3 conv -> c, sigmoid                        (b, c, s, s) in (0, 1)

Masks for training (``mask``): "square", a random ``hole`` x ``hole`` square (side uniform in
[``hole_min``, ``hole``] when ``hole_min`` > 0) anywhere inside the image (digits: 12);
"quarter", a random square of half the image's side anywhere inside the image, i.e. a quarter
of its area (faces). The four quadrants are corner cases of "quarter" (see
:func:`quarter_masks`), which also makes the model fill off-grid holes like a painted one.

Baselines (:func:`mean_fill`, :func:`nearest_fill`): the training set's mean image in the hole,
and the pixels of the training image nearest to the input on its known pixels (what a model that
"copies" its training set would give).

``train_step(batch)``: ``batch`` is clean images (b, c, s, s) in [0, 1]. The masks are drawn
from ``self.rng`` (which :func:`unsup.train.fit` reseeds from (seed, step)), so N steps, save,
load, M steps equals N + M steps. Context encoder: one Adam step ("g"). GLCIC (from
``adv_start``): one discriminator step ("d": real images vs completed ones, the same crops),
then one generator step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from unsup.models import gan_losses as L
from unsup.models.base import Model, register

MASK_KINDS = ("square", "quarter")


# -- masks --------------------------------------------------------------------------------------
def random_square_masks(n: int, size: int, side: int | tuple[int, int],
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` masks (n, 1, size, size), float32, each one square hole (1) lying wholly inside
    the image, its top-left corner uniform over [0, size - side]².

    ``side`` an int: every hole is side x side; a pair (lo, hi): each hole's side is drawn
    uniformly from [lo, hi]. Random numbers come from ``generator`` (CPU) only: the same
    generator state gives the same masks."""
    lo, hi = (side, side) if isinstance(side, int) else (int(side[0]), int(side[1]))
    if not 1 <= lo <= hi <= size:
        raise ValueError(f"a square hole's side must be in [1, {size}], got {side}")
    sides = (torch.randint(lo, hi + 1, (n,), generator=generator) if hi > lo
             else torch.full((n,), lo, dtype=torch.long))
    u = torch.rand(n, 2, generator=generator)
    corners = (u * (size - sides + 1).unsqueeze(1)).floor().long()  # uniform in [0, size - side]
    idx = torch.arange(size)
    rows = (idx >= corners[:, :1]) & (idx < corners[:, :1] + sides[:, None])  # (n, size)
    cols = (idx >= corners[:, 1:]) & (idx < corners[:, 1:] + sides[:, None])
    return (rows[:, :, None] & cols[:, None, :]).float().unsqueeze(1)


def quarter_masks(n: int, size: int, generator: torch.Generator | None = None, *,
                  aligned: bool = False) -> torch.Tensor:
    """``n`` masks (n, 1, size, size) hiding a quarter of the image's area: a square of side
    size // 2, anywhere inside the image (``aligned=False``, what the model trains and is
    measured on), or one of the four quadrants, each with probability 1/4 (``aligned=True``).
    Random numbers come from ``generator`` only."""
    half = size // 2
    if not aligned:
        return random_square_masks(n, size, half, generator)
    q = torch.randint(0, 4, (n,), generator=generator)
    out = torch.zeros(n, 1, size, size)
    for i, k in enumerate(q.tolist()):
        r, c = divmod(k, 2)
        out[i, 0, r * half:(r + 1) * half, c * half:(c + 1) * half] = 1.0
    return out


def binarize_mask(mask: torch.Tensor) -> torch.Tensor:
    """A mask (b, 1, s, s) as exact zeros and ones (hole where it is >= 0.5), float32."""
    if mask.dim() != 4 or mask.shape[1] != 1:
        raise ValueError(f"a mask must be (b, 1, s, s), got {tuple(mask.shape)}")
    return (mask >= 0.5).float()


def _composite(x: torch.Tensor, mask01: torch.Tensor, filled: torch.Tensor) -> torch.Tensor:
    """``filled`` inside the hole, ``x`` (bit for bit) outside; mask01 in {0, 1}."""
    return torch.where(mask01.to(x.device).bool().expand_as(x), filled.to(x.dtype), x)


def hole_boxes(mask: torch.Tensor, crop: int) -> torch.Tensor:
    """Top-left corners (b, 2) (row, col) of ``crop`` x ``crop`` windows centred on each mask's
    hole (the centre of its bounding box), moved inside the image where they would stick out;
    an empty mask gets the centred window. mask (b, 1, s, s) -> long (b, 2)."""
    s = mask.shape[-1]
    hole = mask[:, 0] >= 0.5  # (b, s, s)
    idx = torch.arange(s, device=mask.device, dtype=torch.float32)
    out = []
    for axis in (2, 1):  # rows: any hole along the columns; then columns
        present = hole.any(dim=axis)  # (b, s)
        big = torch.where(present, idx, torch.full_like(idx, float(s)))
        small = torch.where(present, idx, torch.full_like(idx, -1.0))
        lo, hi = big.min(dim=1).values, small.max(dim=1).values  # (b,)
        centre = torch.where(present.any(dim=1), (lo + hi + 1.0) / 2.0,
                             torch.full_like(lo, s / 2.0))
        out.append(torch.floor(centre - crop / 2.0).clamp(0, s - crop).long())
    return torch.stack(out, dim=1)


def crop_boxes(x: torch.Tensor, boxes: torch.Tensor, crop: int) -> torch.Tensor:
    """The ``crop`` x ``crop`` windows of ``x`` (b, c, s, s) at ``boxes`` (b, 2) -> (b, c, crop,
    crop) (differentiable in ``x``)."""
    return torch.stack([img[:, r:r + crop, c:c + crop]
                        for img, (r, c) in zip(x, boxes.tolist())])


# -- baselines and the hole's PSNR --------------------------------------------------------------
def mean_fill(x: torch.Tensor, mask: torch.Tensor, mean_image: torch.Tensor) -> torch.Tensor:
    """The mean-fill baseline: x (b, c, s, s) with its hole (mask (b, 1, s, s), 1 = hole)
    replaced by the training set's per-pixel mean image ``mean_image`` ((c, s, s) or
    (1, c, s, s)); known pixels are ``x``'s bit for bit."""
    m = binarize_mask(mask)
    mean = mean_image.reshape(1, *x.shape[1:]).to(x.device, x.dtype).expand_as(x)
    return _composite(x, m, mean)


@torch.no_grad()
def nearest_fill(x: torch.Tensor, mask: torch.Tensor, train_images: torch.Tensor, *,
                 return_index: bool = False, chunk: int = 2048):
    """The "copy" baseline: for each image of x (b, c, s, s) with hole mask (b, 1, s, s), the
    training image (of ``train_images`` (n, c, s, s)) closest to it in squared L2 distance over
    the *known* pixels (all channels) lends its pixels to the hole; known pixels are ``x``'s
    bit for bit. Returns the filled images (b, c, s, s), and with ``return_index`` also the
    chosen training indices (b,) (ties: the lowest index).

    Distances are computed in float64 as sum_k (x - t)² = |k x|² - 2 <k x, t> + <k, t²> over the
    known pixels k, ``chunk`` training images at a time."""
    m = binarize_mask(mask).to(x.device)
    known = (1.0 - m).expand_as(x).flatten(1).double()  # (b, d)
    xs = x.flatten(1).double() * known  # (b, d)
    base = xs.pow(2).sum(1, keepdim=True)  # (b, 1)
    best = torch.full((len(x),), float("inf"), dtype=torch.float64, device=x.device)
    arg = torch.zeros(len(x), dtype=torch.long, device=x.device)
    for start in range(0, len(train_images), chunk):
        t = train_images[start:start + chunk].to(x.device).flatten(1).double()  # (k, d)
        d = base - 2.0 * xs @ t.T + known @ t.pow(2).T  # (b, k)
        val, i = d.min(dim=1)
        better = val < best
        best = torch.where(better, val, best)
        arg = torch.where(better, i + start, arg)
    donors = train_images[arg.cpu()].to(x.device, x.dtype)
    out = _composite(x, m, donors)
    return (out, arg) if return_index else out


def hole_psnr(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """PSNR in dB (data range 1) of each image pair a, b (n, c, s, s) over the hole's pixels
    only (mask (n, 1, s, s); every channel): 10 log10(1 / mean (a - b)² in the hole), (n,)
    float64; +inf where the hole is identical, nan where the mask is empty."""
    m = binarize_mask(mask).expand_as(a).double()
    se = ((a.double() - b.double()).pow(2) * m).flatten(1).sum(1)
    count = m.flatten(1).sum(1)
    mse = se / count
    return 10.0 * torch.log10(1.0 / mse)


# -- config -------------------------------------------------------------------------------------
@dataclass
class InpaintConfig:
    """Configuration of :class:`Inpainter` (stored in the checkpoint card)."""

    image_size: int = 28
    """Side of the square images (divisible by 2^``n_down``): 28 for digits, 64 for faces."""
    n_channels: int = 1
    """1 for grey digits, 3 for RGB faces."""
    width: int = 16
    """Channels of the generator's full-resolution layers (doubled at each downsampling)."""
    n_down: int = 2
    """Stride-2 downsamplings in the generator's encoder (and upsamplings in its decoder):
    28 -> 7 and 64 -> 16 at 2."""
    n_dilated: int = 4
    """Residual dilated 3x3 convolutions in the middle, dilations 2, 4, 8, 16, ... (the paper
    has four)."""
    mask: str = "square"
    """Training masks: "square" (a random ``hole`` x ``hole`` square) or "quarter" (a random
    square of half the side: a quarter of the area); see the module docstring."""
    hole: int = 12
    """"square" masks: the hole's side in pixels (12 on 28x28 digits)."""
    hole_min: int = 0
    """"square" masks: when > 0, each hole's side is uniform in [hole_min, hole] (a model that
    meets holes of many sizes, e.g. painted ones); 0 = always ``hole``."""
    pixel_loss: str = "mse"
    """Loss inside the hole: "mse" (what hole PSNR scores) or "l1"."""
    adversarial_weight: float = 0.0
    """Weight of the generator's non-saturating GAN loss against the global + local
    discriminator; 0 = the pixel-loss-only context encoder (no discriminator is built)."""
    adv_start: int = 0
    """GLCIC: the step from which the discriminator trains and its loss enters the
    generator's (before it, pixel loss only, as the paper pre-trains its completion network)."""
    local_size: int = 0
    """GLCIC: side of the local discriminator's crop centred on the hole; 0 = half the image
    (14 on digits, 32 on faces)."""
    d_width: int = 16
    """GLCIC: channels of each discriminator trunk's first layer (doubled at each stride, at
    most 8x)."""
    d_spectral_norm: bool = True
    """GLCIC: spectral normalisation of every discriminator layer (steadies training)."""
    lr: float = 1e-3
    """Adam learning rate of the generator."""
    lr_d: float = 2e-4
    """GLCIC: Adam learning rate of the discriminator (β₁ 0.5)."""
    lr_decay_at: int = 0
    """From this step on, both learning rates are multiplied by ``lr_decay`` (0 = never)."""
    lr_decay: float = 0.2
    """The factor of that drop."""
    batch_size: int = 32
    """Images per step."""
    seed: int = 0
    """Seed of the weights, the batch order and the masks."""

    @classmethod
    def tiny(cls, **overrides) -> "InpaintConfig":
        """A very small variant for tests: 16x16 grey images, width 4, one downsampling, two
        dilated convolutions, 6x6 holes, batch 8."""
        values = dict(image_size=16, width=4, n_down=1, n_dilated=2, hole=6, d_width=4,
                      batch_size=8)
        values.update(overrides)
        return cls(**values)


def _check(cfg: InpaintConfig) -> None:
    if cfg.n_channels not in (1, 3):
        raise ValueError(f"n_channels must be 1 or 3, got {cfg.n_channels}")
    if cfg.n_down < 0 or cfg.image_size % (2 ** cfg.n_down):
        raise ValueError(f"image_size {cfg.image_size} is not divisible by 2^n_down "
                         f"({2 ** cfg.n_down})")
    if cfg.mask not in MASK_KINDS:
        raise ValueError(f"unknown mask kind {cfg.mask!r}; choose one of {', '.join(MASK_KINDS)}")
    if not 1 <= cfg.hole <= cfg.image_size or not 0 <= cfg.hole_min <= cfg.hole:
        raise ValueError(f"hole must be in [1, image_size] and hole_min in [0, hole], got "
                         f"{cfg.hole}, {cfg.hole_min}")
    if cfg.pixel_loss not in ("mse", "l1"):
        raise ValueError(f"unknown pixel loss {cfg.pixel_loss!r}; choose mse or l1")
    if cfg.adversarial_weight < 0:
        raise ValueError("adversarial_weight must be >= 0")
    if not 0 <= cfg.local_size <= cfg.image_size:
        raise ValueError(f"local_size must be in [0, image_size], got {cfg.local_size}")


# -- networks -----------------------------------------------------------------------------------
class DilatedBlock(nn.Module):
    """x + ReLU(3x3 conv with dilation d (padding d, same size))."""

    def __init__(self, width: int, dilation: int):
        super().__init__()
        self.conv = nn.Conv2d(width, width, 3, 1, dilation, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + F.relu(self.conv(x))


class InpaintGenerator(nn.Module):
    """(masked image (b, c, s, s), mask (b, 1, s, s)) -> filled image (b, c, s, s) in (0, 1)
    everywhere (the composite with the known pixels is taken by the model)."""

    def __init__(self, cfg: InpaintConfig):
        super().__init__()
        c, ch = cfg.n_channels, cfg.width
        enc: list[nn.Module] = [nn.Conv2d(c + 1, ch, 5, 1, 2), nn.ReLU()]
        for _ in range(cfg.n_down):
            enc += [nn.Conv2d(ch, 2 * ch, 3, 2, 1), nn.ReLU(),
                    nn.Conv2d(2 * ch, 2 * ch, 3, 1, 1), nn.ReLU()]
            ch *= 2
        self.encoder = nn.Sequential(*enc)
        self.middle = nn.Sequential(*[DilatedBlock(ch, 2 ** (i + 1)) for i in range(cfg.n_dilated)],
                                    nn.Conv2d(ch, ch, 3, 1, 1), nn.ReLU())
        dec: list[nn.Module] = []
        for _ in range(cfg.n_down):
            dec += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1), nn.ReLU(),
                    nn.Conv2d(ch // 2, ch // 2, 3, 1, 1), nn.ReLU()]
            ch //= 2
        self.decoder = nn.Sequential(*dec)
        self.tail = nn.Conv2d(ch, c, 3, 1, 1)

    def forward(self, x_masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.encoder(torch.cat([x_masked, mask], dim=1))
        h = self.decoder(self.middle(h))
        return torch.sigmoid(self.tail(h))


class _Trunk(nn.Module):
    """Image (b, c, size, size) in [0, 1] -> features (b, ch): strided convolutions with
    LeakyReLU(0.2) down to 3-4 px, then global average pooling."""

    def __init__(self, c: int, size: int, d: int, sn):
        super().__init__()
        layers: list[nn.Module] = [sn(nn.Conv2d(c, d, 3, 1, 1)), nn.LeakyReLU(0.2)]
        ch = d
        while size > 4:
            nxt = min(2 * ch, 8 * d)
            layers += [sn(nn.Conv2d(ch, nxt, 4, 2, 1)), nn.LeakyReLU(0.2),
                       sn(nn.Conv2d(nxt, nxt, 3, 1, 1)), nn.LeakyReLU(0.2)]
            size, ch = size // 2, nxt
        self.features = nn.Sequential(*layers)
        self.out_channels = ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(2.0 * x - 1.0).mean(dim=(2, 3))


class InpaintDiscriminator(nn.Module):
    """The global + local discriminator: (image (b, c, s, s), crop corners (b, 2)) -> one
    real/fake logit (b,) from the concatenated features of the whole image and of its
    ``local_size`` crop around the hole."""

    def __init__(self, cfg: InpaintConfig):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm if cfg.d_spectral_norm else (lambda m: m)
        self.local_size = cfg.local_size or cfg.image_size // 2
        self.global_net = _Trunk(cfg.n_channels, cfg.image_size, cfg.d_width, sn)
        self.local_net = _Trunk(cfg.n_channels, self.local_size, cfg.d_width, sn)
        self.logit = sn(nn.Linear(self.global_net.out_channels + self.local_net.out_channels, 1))

    def forward(self, x: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        local = crop_boxes(x, boxes, self.local_size)
        h = torch.cat([self.global_net(x), self.local_net(local)], dim=1)
        return self.logit(h).squeeze(1)


# -- the model ----------------------------------------------------------------------------------
@register("inpaint")
class Inpainter(Model):
    """Inpainting: the context encoder (pixel loss) or GLCIC (+ global and local
    discriminator), see the module docstring. ``fill(x, mask)`` fills holes."""

    config_class = InpaintConfig
    monitor = None
    """No "best so far" copy (as for super-resolution): a training batch's hole loss, its holes
    drawn afresh each step, says little of held-out quality; non-finite and absurd values still
    stop a run."""

    def __init__(self, config: InpaintConfig):
        super().__init__(config)
        _check(config)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(config.seed))
            self.generator = InpaintGenerator(config)
            self.discriminator = (InpaintDiscriminator(config) if config.adversarial_weight > 0
                                  else None)
        self._opts: dict[str, torch.optim.Optimizer] | None = None

    @property
    def adversarial(self) -> bool:
        """True for GLCIC (a discriminator and its loss), False for the context encoder."""
        return self.discriminator is not None

    # -- masks ----------------------------------------------------------------------------------
    def random_masks(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` training masks (n, 1, s, s) of the config's kind, from ``generator`` (default:
        ``self.rng``), on the CPU."""
        cfg, g = self.config, generator if generator is not None else self.rng
        if cfg.mask == "quarter":
            return quarter_masks(n, cfg.image_size, g)
        side = (cfg.hole_min, cfg.hole) if cfg.hole_min else cfg.hole
        return random_square_masks(n, cfg.image_size, side, g)

    # -- inference ------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The generator's raw output (b, c, s, s) for images x and binary masks (1 = hole):
        it sees x * (1 - mask) and the mask, never the hole's pixels."""
        return self.generator(x * (1.0 - mask), mask)

    @torch.no_grad()
    def fill(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Images x (b, c, s, s) in [0, 1] with their holes (mask (b, 1, s, s), 1 = hole,
        binarised at 0.5) filled by the generator: mask * generated + (1 - mask) * x, so every
        known pixel is x's bit for bit. Eval mode, no gradients, on the caller's device."""
        m = binarize_mask(mask)
        was = self.training
        self.eval()
        dev = self.device
        gen = self(x.to(dev).float(), m.to(dev))
        self.train(was)
        return _composite(x, m.to(x.device), gen.to(x.device))

    # -- losses ---------------------------------------------------------------------------------
    def pixel_loss(self, out: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
                   ) -> torch.Tensor:
        """Mean over the hole's pixels (every channel) of (out - target)² ("mse") or
        |out - target| ("l1")."""
        diff = out - target
        err = diff.abs() if self.config.pixel_loss == "l1" else diff.pow(2)
        m = mask.expand_as(err)
        return (err * m).sum() / m.sum().clamp_min(1.0)

    # -- training -------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """"g" (Adam on the generator) and, for GLCIC, "d" (Adam, β₁ 0.5, on the
        discriminator)."""
        if self._opts is None:
            cfg = self.config
            self._opts = {"g": torch.optim.Adam(self.generator.parameters(), lr=cfg.lr)}
            if self.discriminator is not None:
                self._opts["d"] = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr_d,
                                                   betas=(0.5, 0.999))
        return self._opts

    def lr_factor(self, step: int) -> float:
        """What both learning rates are multiplied by at ``step`` (the config's one drop)."""
        c = self.config
        return float(c.lr_decay) if c.lr_decay_at and step >= c.lr_decay_at else 1.0

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One step on clean images ``batch`` (b, c, s, s) in [0, 1] with fresh masks from
        ``self.rng``: the context encoder, a generator step on the hole's pixel loss; GLCIC
        (from ``adv_start``), a discriminator step (NS loss, real vs completed images, the
        same crops around the holes), then a generator step on pixel + adversarial_weight x NS."""
        cfg = self.config
        self.train()
        x = batch.to(self.device).float()  # (b, c, s, s)
        mask = self.random_masks(len(x)).to(self.device)  # (b, 1, s, s)
        step = int(self.step_)
        opts = self.optimizers()
        factor = self.lr_factor(step)
        for name, opt in opts.items():
            for group in opt.param_groups:
                group["lr"] = (cfg.lr if name == "g" else cfg.lr_d) * factor
        adv_on = self.adversarial and step >= cfg.adv_start
        logs: dict[str, float] = {}
        boxes = hole_boxes(mask, self.discriminator.local_size) if adv_on else None

        if adv_on:  # D step: real images vs completed ones (generator frozen here)
            with torch.no_grad():
                fake = mask * self(x, mask) + (1.0 - mask) * x
            logits = self.discriminator(torch.cat([x, fake]), torch.cat([boxes, boxes]))
            d_real, d_fake = logits[:len(x)], logits[len(x):]
            d_loss = L.d_loss_gan(d_real, d_fake)
            opts["d"].zero_grad(set_to_none=True)
            d_loss.backward()
            opts["d"].step()
            logs["d_loss"] = float(d_loss.detach())
            logs["d_real"] = float(torch.sigmoid(d_real.detach()).mean())
            logs["d_fake"] = float(torch.sigmoid(d_fake.detach()).mean())

        out = self(x, mask)  # (b, c, s, s)
        pix = self.pixel_loss(out, x, mask)
        loss = pix
        logs["pixel"] = float(pix.detach())
        with torch.no_grad():
            mse = ((out - x).pow(2) * mask).sum() / (mask.sum() * x.shape[1]).clamp_min(1.0)
        logs["psnr"] = float(-10.0 * torch.log10(mse.clamp_min(1e-12)))  # hole PSNR of the batch
        if adv_on:
            comp = mask * out + (1.0 - mask) * x
            self.discriminator.requires_grad_(False)  # no D gradients from the G step
            adv = L.g_loss_ns(self.discriminator(comp, boxes))
            self.discriminator.requires_grad_(True)
            loss = loss + cfg.adversarial_weight * adv
            logs["adv"] = float(adv.detach())
        opts["g"].zero_grad(set_to_none=True)
        loss.backward()
        opts["g"].step()
        logs["loss"] = float(loss.detach())
        return logs
