"""A small convolutional classifier of 3-channel digit images (a measuring instrument).

CycleGAN's evaluation (Zhu et al. 2017, sec. 5.1.1, the "FCN score") asks whether a translation
keeps what the image shows: a classifier trained on the *target* domain labels the translated
images, and the share it labels as the source image's label is the score. For the digit pair the
labels are digits: a classifier trained on domain B (MNIST-M) labels G_AB(a), one trained on
domain A (MNIST) labels G_BA(b). This class is that classifier, trained by :func:`unsup.train.fit`
on one domain's training images only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from unsup.models.base import Model, register


@dataclass
class DomainClassifierConfig:
    """Configuration of :class:`DomainClassifier`."""

    image_size: int = 32
    """Side of the square input images (a multiple of 4)."""
    n_channels: int = 3
    """Channels of the input images."""
    n_classes: int = 10
    """Number of labels."""
    width: int = 32
    """Channels of the first convolution block; the second has twice as many."""
    dropout: float = 0.3
    """Dropout before the last layer."""
    shift: int = 2
    """Random translation augmentation, in pixels (one shift per batch)."""
    lr: float = 1e-3
    """Adam learning rate."""
    batch_size: int = 64
    """Images per step."""
    seed: int = 0
    """Seed for weights, batch order and augmentation."""

    @classmethod
    def tiny(cls, **overrides) -> "DomainClassifierConfig":
        """A very small variant for tests: 8x8 images, width 4, 16 images a batch, no shift."""
        values = dict(image_size=8, width=4, batch_size=16, shift=0)
        values.update(overrides)
        return cls(**values)


@register("domain_classifier")
class DomainClassifier(Model):
    """[conv 3x3, BN, ReLU] x2, max-pool -> [conv 3x3, BN, ReLU] x2, max-pool -> dense 128 ->
    logits, over (b, c, s, s) images in [0, 1]. Batch normalisation makes it robust to the
    colour shifts of MNIST-M's backgrounds. ``train_step`` takes (b, 1 + c*s*s): the label in
    column 0, the flattened image after it (:meth:`pack`)."""

    config_class = DomainClassifierConfig

    def __init__(self, config: DomainClassifierConfig):
        if config.image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4, got {config.image_size}")
        super().__init__(config)
        w, s, ch = config.width, config.image_size, config.n_channels

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, 1, 1), nn.BatchNorm2d(c_out), nn.ReLU()]

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.net = nn.Sequential(
                *block(ch, w), *block(w, w), nn.MaxPool2d(2),  # (b, w, s/2, s/2)
                *block(w, 2 * w), *block(2 * w, 2 * w), nn.MaxPool2d(2),  # (b, 2w, s/4, s/4)
                nn.Flatten(), nn.Linear(2 * w * (s // 4) ** 2, 128), nn.ReLU(),
                nn.Dropout(config.dropout), nn.Linear(128, config.n_classes))
        self._opt: torch.optim.Optimizer | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (b, n_classes) logits

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
        """Predicted labels (n,) of images (n, c, s, s) in [0, 1] (eval mode)."""
        was = self.training
        self.eval()
        out = torch.cat([self(x[i:i + batch].to(self.device)).argmax(1).cpu()
                         for i in range(0, len(x), batch)]) if len(x) else torch.zeros(0).long()
        self.train(was)
        return out

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self._opt is None:
            self._opt = torch.optim.Adam(self.parameters(), lr=self.config.lr)
        return {"adam": self._opt}

    @staticmethod
    def pack(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(images (n, c, s, s), labels (n,)) -> one (n, 1 + c*s*s) tensor ``fit`` can index."""
        x, y = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y)
        return torch.cat([y.float()[:, None], x.flatten(1)], dim=1)

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        self.train()
        c = self.config
        y = batch[:, 0].long()
        x = batch[:, 1:].view(-1, c.n_channels, c.image_size, c.image_size)
        k = c.shift
        if k > 0:
            dx, dy = torch.randint(-k, k + 1, (2,), generator=self.rng).tolist()
            x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        opt = self.optimizers()["adam"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": float(loss.detach()), "acc": float((logits.argmax(1) == y).float().mean())}


KIND_LABELS = {"domain_classifier": "Domain digit classifier"}
"""Display name of each kind."""
MODEL_CLASSES = {"domain_classifier": DomainClassifier}
"""Kind -> class (for the family registry)."""
