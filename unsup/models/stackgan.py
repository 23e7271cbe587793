"""Text to image in two stages: StackGAN (Zhang et al. 2017, "StackGAN: Text to Photo-realistic
Image Synthesis with Stacked Generative Adversarial Networks"), scaled down to dSprites.

A sentence ("a small heart near the top left, turned 36 degrees", or its Thai rendering) is a
bag of token ids (:mod:`unsup.data.captions`). Everything the model knows of language it learns
here, from the images the sentences describe:

- **text encoder** (the generator's): a learned embedding per token, summed over the sentence's
  tokens and divided by the square root of their number, then a linear layer and LeakyReLU ->
  the sentence embedding φ (``text_dim``).
  (The paper uses a pre-trained char-CNN-RNN; nothing can be downloaded here, and a bag of words
  is enough for captions whose every content word names one factor value.)
- **conditioning augmentation** (CA): φ -> (μ, log σ²) by a linear layer, c = μ + σ ε with
  ε ~ N(0, I) (``ca_dim``), and the generator loss gains ``kl_weight`` x
  KL(N(μ, σ²) || N(0, I)).
  A sentence becomes a small cloud of codes rather than one point, which smooths the
  conditioning manifold: sentences never seen together still land among codes the generator has
  learnt to draw.
- **stage I** generator: (c, z) -> a 32x32 sketch (half the final side): a linear layer to
  4x4, then nearest-neighbour upsampling + 3x3 conv + BatchNorm + ReLU blocks, a sigmoid (the
  last ×2 by pixel shuffle, see :class:`Stage1Generator`).
- **stage II** generator: (stage-I image, c₂ from its own CA on φ) -> the 64x64 image: the
  sketch encoded by strided convolutions to a quarter of its side, c₂ replicated over that map
  and joined, residual blocks, then upsampling blocks to the full side (the paper's design: the
  second stage sees the text again, to correct and add detail the first stage missed).
- **discriminators** (one per stage), *matching-aware* as in the paper: image features from
  strided convolutions down to 4x4 (spectrally normalised; the image first rearranged space to
  depth, so no convolution runs at full resolution), joined with a compressed sentence
  embedding (each discriminator has its own text encoder), then a 3x3 conv and a 4x4 conv to one
  logit; with ``d_projection`` plus a projection term (Miyato & Koyama 2018). Each is trained on
  three kinds of pairs: real image + its sentence (real), generated image + its sentence (fake)
  and real image + a *mismatched* sentence (fake), so the generator must draw what the sentence
  says, not just a plausible sprite.

Training follows the paper's two phases in one run: steps ``0 .. stage1_steps - 1`` train
stage I (its generator, CA, text encoder and discriminator); from ``stage1_steps`` on, stage I is
frozen (eval mode) and stage II trains on its sketches. The non-saturating GAN loss, Adam with
β₁ = 0.5.

``train_step(batch)``: ``batch`` (b, 5 + s·s) float: the factor indices of each sprite (the
columns of :mod:`unsup.data.dsprites`), then its image flattened. Captions are drawn afresh each
step from the factors with ``self.rng`` (:func:`unsup.data.captions.random_captions`), which
:func:`unsup.train.fit` reseeds from (seed, step), so resuming is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from unsup.models import gan_losses as L
from unsup.models.base import Model, register


@dataclass
class StackGANConfig:
    """Configuration of :class:`StackGAN` (stored in the checkpoint card)."""

    image_size: int = 64
    """Side of the stage-II images (stage I draws half of it); a multiple of 16."""
    vocab_size: int = 0
    """Number of token ids (the caption vocabulary's size; 0 = the current vocabulary's)."""
    embed_dim: int = 64
    """Size of each learnt word embedding."""
    text_dim: int = 64
    """Size of the sentence embedding φ."""
    ca_dim: int = 16
    """Size of the conditioning-augmentation code c."""
    z_dim: int = 16
    """Size of the noise vector z of stage I."""
    kl_weight: float = 1.0
    """Weight of CA's KL term in the generator losses (the paper's λ = 1)."""
    ca_logvar_init: float = 0.0
    """Initial bias of CA's log σ² (0: σ = 1 from the start; negative: the sentence's signal is
    louder than CA's noise at first, and the KL term widens σ as training goes)."""
    g_width: int = 32
    """Channels of stage I's 4x4 map are 4 x g_width, halved at each upsampling (at least
    g_width // 2)."""
    c_every_block: bool = False
    """Stage I: join c to the input of every upsampling block too, not only to the first
    layer (the sentence reaches every scale of the sketch)."""
    g2_width: int = 32
    """Channels of stage II's encoded map (at a quarter of the stage-I side)."""
    n_res: int = 2
    """Residual blocks of stage II."""
    d_width: int = 16
    """Channels of each discriminator's first layer, doubled at each stride (at most 8x)."""
    aux_weight: float = 0.0
    """Weight of an auxiliary word loss (as in TAC-GAN, Dash et al. 2017): each discriminator
    also predicts from the image which words its sentence holds (trained on real images), and
    each generator is rewarded when that prediction finds its sentence's words in what it drew;
    0 = the matching-aware loss alone, as in StackGAN."""
    d_projection: bool = False
    """Add a projection term to each discriminator's logit (Miyato & Koyama 2018): the inner
    product of a linear map of the sentence embedding with the image's pooled features."""
    stage1_steps: int = 4_000
    """Steps of phase one (stage I); the rest of the run trains stage II."""
    lr: float = 2e-4
    """Adam learning rate of the generators."""
    lr_d: float = 2e-4
    """Adam learning rate of the discriminators."""
    p_th: float = 0.5
    """Share of training captions written in Thai (the rest in English)."""
    batch_size: int = 64
    """Images per step."""
    seed: int = 0
    """Seed of the weights, the batch order, the captions and the noise."""

    @classmethod
    def tiny(cls, **overrides) -> "StackGANConfig":
        """A very small variant for tests: 16x16 images (stage I 8x8), narrow layers."""
        values = dict(image_size=16, embed_dim=8, text_dim=8, ca_dim=4, z_dim=4, g_width=8,
                      g2_width=8, n_res=1, d_width=4, stage1_steps=3, batch_size=8)
        values.update(overrides)
        return cls(**values)


def _check(cfg: StackGANConfig) -> None:
    if cfg.image_size % 16 or cfg.image_size < 16:
        raise ValueError(f"image_size must be a multiple of 16, got {cfg.image_size}")
    if cfg.vocab_size < 2:
        raise ValueError("vocab_size must name at least the padding token and one word")
    if cfg.stage1_steps < 0:
        raise ValueError("stage1_steps must be >= 0")


# -- building blocks ----------------------------------------------------------------------------
class TextEncoder(nn.Module):
    """Token ids (b, t) (0 = padding) -> sentence embedding (b, text_dim): the sum of the
    known tokens' embeddings divided by the square root of their number (so a sentence's bag
    has about unit spread whatever its length), a linear layer (He-initialised), LeakyReLU(0.2).
    A sentence with no known token gets the embedding of the empty bag.

    The scale matters: conditioning augmentation adds noise of σ = 1 at first, and a sentence
    embedding much smaller than that (a mean of embeddings through default-initialised layers
    is some 10x smaller) is drowned in it, so neither player can hear the sentence and the
    KL term then shrinks it further."""

    def __init__(self, vocab_size: int, embed_dim: int, text_dim: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.proj = nn.Linear(embed_dim, text_dim)
        nn.init.kaiming_normal_(self.proj.weight, a=0.2, nonlinearity="leaky_relu")
        nn.init.zeros_(self.proj.bias)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids > 0).float().unsqueeze(-1)  # (b, t, 1)
        bag = (self.embed(ids) * mask).sum(1) / mask.sum(1).clamp_min(1.0).sqrt()
        return F.leaky_relu(self.proj(bag), 0.2)


class CondAugment(nn.Module):
    """φ (b, text_dim) -> (c, μ, log σ²), c = μ + σ ε, ε ~ N(0, I) from ``generator``."""

    def __init__(self, text_dim: int, ca_dim: int, logvar_init: float = 0.0):
        super().__init__()
        self.fc = nn.Linear(text_dim, 2 * ca_dim)
        with torch.no_grad():
            # μ starts with about unit spread over sentences, as loud as ε; log σ² at
            # ``logvar_init`` (0: σ = 1)
            self.fc.weight[:ca_dim].normal_(0.0, 1.0 / text_dim ** 0.5)
            self.fc.bias[ca_dim:].fill_(logvar_init)

    def forward(self, phi: torch.Tensor, generator: torch.Generator | None = None,
                noise: bool = True):
        mu, logvar = self.fc(phi).chunk(2, dim=1)
        if not noise:
            return mu, mu, logvar
        eps = torch.randn(mu.shape, generator=generator).to(mu.device)
        return mu + torch.exp(0.5 * logvar) * eps, mu, logvar


def kl_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of KL(N(μ, σ²) || N(0, I)), summed over dimensions."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1).mean()


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU())


class Stage1Generator(nn.Module):
    """(c (b, ca_dim), z (b, z_dim)) -> image (b, 1, s/2, s/2) in (0, 1): a linear layer to a
    4x4 map, upsampling blocks to s/4 (with ``c_every_block``, each block also sees c,
    replicated over its map), a 3x3 conv to 4 channels rearranged into the s/2 image (pixel
    shuffle: each 2x2 block of output pixels is one position's four channels; a convolution at
    full resolution costs four times more on a CPU)."""

    def __init__(self, cfg: StackGANConfig):
        super().__init__()
        ch = 4 * cfg.g_width
        self.ch = ch
        self.every = bool(cfg.c_every_block)
        extra = cfg.ca_dim if self.every else 0
        self.fc = nn.Sequential(nn.Linear(cfg.ca_dim + cfg.z_dim, ch * 16, bias=False),
                                nn.BatchNorm1d(ch * 16), nn.ReLU())
        blocks, side = [], 4
        while side < cfg.image_size // 4:
            nxt = max(ch // 2, cfg.g_width // 2)
            blocks.append(_up(ch + extra, nxt))
            ch, side = nxt, side * 2
        self.blocks = nn.ModuleList(blocks)
        self.tail = nn.Sequential(nn.Conv2d(ch, 4, 3, 1, 1), nn.PixelShuffle(2))

    def forward(self, c: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(torch.cat([c, z], 1)).view(len(c), self.ch, 4, 4)
        for block in self.blocks:
            if self.every:
                h = torch.cat([h, c[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])], 1)
            h = block(h)
        return torch.sigmoid(self.tail(h))


class ResBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(ch, ch, 3, 1, 1, bias=False), nn.BatchNorm2d(ch),
                                  nn.ReLU(), nn.Conv2d(ch, ch, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class Stage2Generator(nn.Module):
    """(stage-I image (b, 1, s/2, s/2), c₂ (b, ca_dim)) -> image (b, 1, s, s) in (0, 1): the
    sketch rearranged into 4 channels at s/4 (pixel unshuffle), encoded to s/8, joined with c₂,
    residual blocks, upsampled to s/2 and shuffled into the s image."""

    def __init__(self, cfg: StackGANConfig):
        super().__init__()
        w = cfg.g2_width
        self.encode = nn.Sequential(  # s/2 -> s/4 (4 channels) -> s/8
            nn.PixelUnshuffle(2), nn.Conv2d(4, w // 2, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(w // 2, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU())
        self.join = nn.Sequential(nn.Conv2d(w + cfg.ca_dim, w, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(w), nn.ReLU())
        self.res = nn.Sequential(*[ResBlock(w) for _ in range(cfg.n_res)])
        self.up = nn.Sequential(_up(w, w // 2), _up(w // 2, w // 2))  # s/8 -> s/2
        self.tail = nn.Sequential(nn.Conv2d(w // 2, 4, 3, 1, 1), nn.PixelShuffle(2))

    def forward(self, x1: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.encode(2.0 * x1 - 1.0)
        cmap = c[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        h = self.res(self.join(torch.cat([h, cmap], 1)))
        return torch.sigmoid(self.tail(self.up(h)))


class MatchingDiscriminator(nn.Module):
    """(image (b, 1, side, side), token ids (b, t)) -> real-and-matching logit (b,)."""

    def __init__(self, cfg: StackGANConfig, side: int):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        d = cfg.d_width
        k = max(2, side // 16)  # space to depth: the first conv works at side / k <= 16
        layers: list[nn.Module] = [nn.PixelUnshuffle(k), sn(nn.Conv2d(k * k, d, 3, 1, 1)),
                                   nn.LeakyReLU(0.2)]
        ch, side = d, side // k
        while side > 4:
            nxt = min(2 * ch, 8 * d)
            layers += [sn(nn.Conv2d(ch, nxt, 4, 2, 1)), nn.LeakyReLU(0.2)]
            ch, side = nxt, side // 2
        self.image = nn.Sequential(*layers)
        self.text = TextEncoder(cfg.vocab_size, cfg.embed_dim, cfg.text_dim)
        self.compress = nn.Linear(cfg.text_dim, cfg.ca_dim)
        self.joint = nn.Sequential(sn(nn.Conv2d(ch + cfg.ca_dim, ch, 3, 1, 1)),
                                   nn.LeakyReLU(0.2), sn(nn.Conv2d(ch, 1, 4, 1, 0)))
        self.project = nn.Linear(cfg.text_dim, ch) if cfg.d_projection else None
        self.words = nn.Linear(ch, cfg.vocab_size) if cfg.aux_weight > 0 else None

    def word_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The auxiliary head: for images x, one logit per vocabulary word (b, vocab) that the
        image's sentence holds that word."""
        return self.words(self.image(2.0 * x - 1.0).mean(dim=(2, 3)))

    def forward(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        h = self.image(2.0 * x - 1.0)  # (b, ch, 4, 4)
        phi = self.text(ids)
        t = F.leaky_relu(self.compress(phi), 0.2)
        t = t[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        logit = self.joint(torch.cat([h, t], 1)).view(-1)
        if self.project is not None:
            logit = logit + (self.project(phi) * h.mean(dim=(2, 3))).sum(1)
        return logit


def word_targets(ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Which words each sentence holds: (b, vocab) of 0/1 from token ids (b, t); padding (id
    0) is never a word."""
    out = torch.zeros(len(ids), vocab_size, device=ids.device)
    out.scatter_(1, ids, 1.0)
    out[:, 0] = 0.0
    return out


def aux_generator_loss(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """The generator's auxiliary word loss: -log sigmoid of the word logits of the words its
    sentence holds, averaged over those words (words the sentence leaves out are not asked
    for: the generator may draw them either way)."""
    t = word_targets(ids, logits.shape[1])
    return (F.softplus(-logits) * t).sum() / t.sum().clamp_min(1.0)


def mismatched(ids: torch.Tensor) -> torch.Tensor:
    """Each sentence of the batch paired with the next one's (rolled by one): the real image +
    wrong sentence pairs of the matching-aware discriminator."""
    return torch.roll(ids, 1, dims=0)


# -- the model ----------------------------------------------------------------------------------
@register("stackgan")
class StackGAN(Model):
    """Two-stage text-to-image GAN; see the module docstring. ``generate(ids)`` draws."""

    config_class = StackGANConfig
    store_half = True
    """Finished checkpoints keep float16 weights (half the size; measured as stored)."""
    monitor = None
    """No "best so far" copy: GAN losses do not say which step draws best."""

    def __init__(self, config: StackGANConfig):
        if not config.vocab_size:
            from unsup.data import captions

            config.vocab_size = captions.VOCAB_SIZE
        super().__init__(config)
        _check(config)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(config.seed))
            self.text = TextEncoder(config.vocab_size, config.embed_dim, config.text_dim)
            self.ca1 = CondAugment(config.text_dim, config.ca_dim, config.ca_logvar_init)
            self.g1 = Stage1Generator(config)
            self.d1 = MatchingDiscriminator(config, config.image_size // 2)
            self.ca2 = CondAugment(config.text_dim, config.ca_dim, config.ca_logvar_init)
            self.g2 = Stage2Generator(config)
            self.d2 = MatchingDiscriminator(config, config.image_size)
        self._opts: dict[str, torch.optim.Optimizer] | None = None

    # -- captions -------------------------------------------------------------------------------
    def caption_ids(self, factors) -> torch.Tensor:
        """Fresh training captions of sprites with factor indices (b, 5), drawn from
        ``self.rng``, as token ids (b, t)."""
        from unsup.data import captions

        texts = captions.random_captions(factors, self.rng, p_th=self.config.p_th)
        return captions.encode(texts)

    # -- drawing ----------------------------------------------------------------------------------
    def stage(self, step: int | None = None) -> int:
        """Which stage trains at ``step`` (default: the model's current step): 1 or 2."""
        s = self.step_ if step is None else step
        return 1 if s < self.config.stage1_steps else 2

    @torch.no_grad()
    def generate(self, ids: torch.Tensor, seed: int = 0, z: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Images for token ids (b, t): (stage I (b, 1, s/2, s/2), stage II (b, 1, s, s)),
        both in [0, 1]. The CA noise and z come from ``seed`` (CPU), so a seed and a sentence
        always give the same images; rows of a batch get different noise. Eval mode."""
        was = self.training
        self.eval()
        dev = self.device
        g = torch.Generator().manual_seed(int(seed))
        ids = ids.to(dev)
        if z is None:
            z = torch.randn(len(ids), self.config.z_dim, generator=g)
        phi = self.text(ids)
        c1, _, _ = self.ca1(phi, g)
        x1 = self.g1(c1, z.to(dev))
        c2, _, _ = self.ca2(phi, g)
        x2 = self.g2(x1, c2)
        self.train(was)
        return x1.cpu(), x2.cpu()

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """``n`` stage-II images for the empty sentence (whatever the model draws when told
        nothing)."""
        return self.generate(torch.zeros(n, 1, dtype=torch.long), seed)[1]

    # -- training -------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """"g1" (text encoder, CA₁, stage-I generator), "d1", "g2" (CA₂, stage-II generator),
        "d2": Adam with β₁ 0.5."""
        if self._opts is None:
            c = self.config
            b = (0.5, 0.999)
            self._opts = {
                "g1": torch.optim.Adam([*self.text.parameters(), *self.ca1.parameters(),
                                        *self.g1.parameters()], lr=c.lr, betas=b),
                "d1": torch.optim.Adam(self.d1.parameters(), lr=c.lr_d, betas=b),
                "g2": torch.optim.Adam([*self.ca2.parameters(), *self.g2.parameters()],
                                       lr=c.lr, betas=b),
                "d2": torch.optim.Adam(self.d2.parameters(), lr=c.lr_d, betas=b)}
        return self._opts

    def split_batch(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A training batch (b, 5 + s·s) -> (factor indices (b, 5) long, images (b, 1, s, s))."""
        s = self.config.image_size
        return batch[:, :5].round().long(), batch[:, 5:].reshape(-1, 1, s, s).float()

    def _d_step(self, d: nn.Module, opt, real: torch.Tensor, fake: torch.Tensor,
                ids: torch.Tensor) -> dict[str, float]:
        l_real = d(real, ids)
        l_fake = d(fake, ids)
        l_wrong = d(real, mismatched(ids))
        loss = (F.softplus(-l_real).mean()
                + 0.5 * (F.softplus(l_fake).mean() + F.softplus(l_wrong).mean()))
        if d.words is not None:
            aux = F.binary_cross_entropy_with_logits(d.word_logits(real), word_targets(
                ids, self.config.vocab_size))
            loss = loss + self.config.aux_weight * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"d_loss": float(loss.detach()),
                "d_real": float(torch.sigmoid(l_real.detach()).mean()),
                "d_fake": float(torch.sigmoid(l_fake.detach()).mean()),
                "d_wrong": float(torch.sigmoid(l_wrong.detach()).mean())}

    def _g_adv(self, d: nn.Module, fake: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """The generator's adversarial loss against discriminator ``d`` (NS GAN, plus the
        auxiliary word loss when ``aux_weight`` > 0), with no gradients into ``d``."""
        d.requires_grad_(False)
        adv = L.g_loss_ns(d(fake, ids))
        if self.config.aux_weight > 0:
            adv = adv + self.config.aux_weight * aux_generator_loss(d.word_logits(fake), ids)
        d.requires_grad_(True)
        return adv

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One step of the current phase: a discriminator step (real + matching sentence vs
        generated, and vs real + mismatched sentence), then a generator step (NS GAN loss +
        kl_weight x CA's KL)."""
        cfg = self.config
        factors, x = self.split_batch(batch)
        dev = self.device
        x = x.to(dev)
        ids = self.caption_ids(factors.cpu().numpy()).to(dev)
        opts = self.optimizers()
        z = torch.randn(len(x), cfg.z_dim, generator=self.rng).to(dev)
        if self.stage() == 1:
            self.text.train(), self.ca1.train(), self.g1.train(), self.d1.train()
            real = F.avg_pool2d(x, 2)
            phi = self.text(ids)
            c, mu, logvar = self.ca1(phi, self.rng)
            fake = self.g1(c, z)
            logs = self._d_step(self.d1, opts["d1"], real, fake.detach(), ids)
            adv = self._g_adv(self.d1, fake, ids)
            opt = opts["g1"]
        else:
            self.text.eval(), self.ca1.eval(), self.g1.eval()
            self.ca2.train(), self.g2.train(), self.d2.train()
            with torch.no_grad():
                phi = self.text(ids)
                c1, _, _ = self.ca1(phi, self.rng)
                x1 = self.g1(c1, z)
            c, mu, logvar = self.ca2(phi, self.rng)
            fake = self.g2(x1, c)
            logs = self._d_step(self.d2, opts["d2"], x, fake.detach(), ids)
            adv = self._g_adv(self.d2, fake, ids)
            opt = opts["g2"]
        kl = kl_normal(mu, logvar)
        loss = adv + cfg.kl_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        logs.update(g_adv=float(adv.detach()), kl=float(kl.detach()), loss=float(loss.detach()),
                    stage=float(self.stage()))
        return logs
