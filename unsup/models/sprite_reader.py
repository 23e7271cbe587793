"""A measuring instrument for text to image: a convolutional network trained on real dSprites
to read back a sprite's shape, scale and position (the factors a caption names).

It labels the images a text-to-image model draws, so that "did it draw what the sentence says"
is a number: the share of generated images whose shape, scale level and position bins it reads
as the sentence's. Its penultimate layer is also the feature space of the Fréchet distance
between generated and real sprites (sharpness and realism).

Heads (one shared trunk): shape (3), scale (6 levels), x position (32 levels), y position (32
levels); each a softmax, trained with cross-entropy on the training split of dSprites. The
position bins of a caption are read from the position levels. Training images get a light,
random degradation (a contrast change, Gaussian noise, sometimes a small blur) so that
reading a generated image, whose edges are soft, is not a reading out of its training domain.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from unsup.models.base import Model, register

HEADS = (("shape", 3), ("scale", 6), ("pos_x", 32), ("pos_y", 32))
"""(name, classes) of each head, in the order of the logits."""


@dataclass
class SpriteReaderConfig:
    """Configuration of :class:`SpriteReader`."""

    image_size: int = 64
    """Side of the square input images (a multiple of 8)."""
    width: int = 32
    """Channels of the first convolution (on the image rearranged into 16 channels at a
    quarter of its side: space to depth), doubled twice."""
    n_features: int = 128
    """Size of the penultimate layer (the Fréchet distance's feature space)."""
    degrade: float = 1.0
    """Probability that a training image is degraded (contrast, noise, blur); 0 = never."""
    lr: float = 1e-3
    """Adam learning rate."""
    lr_decay_at: int = 0
    """From this step on the learning rate is ``lr`` x 0.1 (0 = never)."""
    batch_size: int = 128
    """Images per step."""
    seed: int = 0
    """Seed of the weights, the batch order and the degradations."""

    @classmethod
    def tiny(cls, **overrides) -> "SpriteReaderConfig":
        values = dict(image_size=16, width=4, n_features=16, batch_size=16)
        values.update(overrides)
        return cls(**values)


@register("sprite_reader")
class SpriteReader(Model):
    """conv trunk -> features (b, n_features) -> four heads; see the module docstring.
    ``train_step`` takes batches (b, 5 + s·s): the five factor indices, then the image."""

    config_class = SpriteReaderConfig
    store_half = True
    """Finished checkpoints keep float16 weights (half the size; measured as stored)."""

    def __init__(self, config: SpriteReaderConfig):
        super().__init__(config)
        w, s = config.width, config.image_size
        if s % 8:
            raise ValueError(f"image_size must be a multiple of 8, got {s}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(config.seed))
            self.trunk = nn.Sequential(  # space to depth first: no conv at full resolution
                nn.PixelUnshuffle(4), nn.Conv2d(16, w, 3, 1, 1), nn.ReLU(),  # s/4
                nn.Conv2d(w, 2 * w, 3, 1, 1), nn.ReLU(),
                nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.ReLU(),  # s/8
                nn.Flatten(), nn.Linear(4 * w * (s // 8) ** 2, config.n_features), nn.ReLU())
            self.heads = nn.Linear(config.n_features, sum(k for _, k in HEADS))
        self._opt: torch.optim.Optimizer | None = None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features (b, n_features) of images (b, 1, s, s) in [0, 1]."""
        return self.trunk(2.0 * x - 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads(self.features(x))  # (b, 73) logits of the four heads

    def split_logits(self, logits: torch.Tensor) -> dict[str, torch.Tensor]:
        out, i = {}, 0
        for name, k in HEADS:
            out[name] = logits[:, i:i + k]
            i += k
        return out

    @torch.no_grad()
    def read(self, x: torch.Tensor, batch: int = 250) -> dict[str, torch.Tensor]:
        """Predicted factor indices {head: (b,) long} and the features (b, n_features)
        ("features") of images x (b, 1, s, s). Eval mode, no gradients, CPU results."""
        was = self.training
        self.eval()
        preds: dict[str, list[torch.Tensor]] = {name: [] for name, _ in HEADS}
        feats = []
        for i in range(0, len(x), batch):
            f = self.features(x[i:i + batch].to(self.device).float())
            feats.append(f.cpu())
            for name, lg in self.split_logits(self.heads(f)).items():
                preds[name].append(lg.argmax(1).cpu())
        self.train(was)
        out = {k: torch.cat(v) for k, v in preds.items()}
        out["features"] = torch.cat(feats)
        return out

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self._opt is None:
            self._opt = torch.optim.Adam(self.parameters(), lr=self.config.lr)
        return {"adam": self._opt}

    def degrade(self, x: torch.Tensor) -> torch.Tensor:
        """The training degradation of images x (b, 1, s, s), drawn from ``self.rng``: each
        image with probability ``degrade`` gets a contrast in [0.6, 1], Gaussian noise of
        standard deviation up to 0.1, and (half of them) a 3x3 box blur."""
        p = self.config.degrade
        if p <= 0:
            return x
        b = len(x)
        g = self.rng
        on = (torch.rand(b, generator=g) < p).float().view(b, 1, 1, 1)
        contrast = 0.6 + 0.4 * torch.rand(b, 1, 1, 1, generator=g)
        sigma = 0.1 * torch.rand(b, 1, 1, 1, generator=g)
        noise = torch.randn(x.shape, generator=g) * sigma
        blur = (torch.rand(b, 1, 1, 1, generator=g) < 0.5).float()
        soft = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)
        y = blur * soft + (1 - blur) * x
        y = (y * contrast + noise).clamp(0, 1)
        return on * y + (1 - on) * x

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        self.train()
        s = self.config.image_size
        y = batch[:, :5].round().long()
        x = self.degrade(batch[:, 5:].reshape(-1, 1, s, s).cpu()).to(self.device)
        logits = self.split_logits(self(x))
        cols = {"shape": 0, "scale": 1, "pos_x": 3, "pos_y": 4}
        losses = {k: F.cross_entropy(lg, y[:, cols[k]].to(self.device))
                  for k, lg in logits.items()}
        loss = sum(losses.values())
        opt = self.optimizers()["adam"]
        decay = self.config.lr_decay_at and self.step_ >= self.config.lr_decay_at
        for group in opt.param_groups:
            group["lr"] = self.config.lr * (0.1 if decay else 1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        logs = {"loss": float(loss.detach())}
        for k, lg in logits.items():
            logs[f"acc_{k}"] = float((lg.argmax(1).cpu() == y[:, cols[k]]).float().mean())
        return logs
