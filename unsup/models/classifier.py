"""A small convolutional digit classifier, trained on the MNIST train split only.

It is a measuring instrument, not a page: it labels the images a generative model decodes (for
example the 2-D VAE's manifold grid) so that "how many different digits does the grid show" is a
number, not an impression.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from unsup.models.base import Model, register


@dataclass
class ClassifierConfig:
    """Configuration of :class:`DigitClassifier`."""

    image_size: int = 28
    """Side of the square input images (a multiple of 4)."""
    n_classes: int = 10
    """Number of labels."""
    width: int = 32
    """Channels of the first convolution; the second has twice as many."""
    dropout: float = 0.3
    """Dropout before the last layer."""
    shift: int = 2
    """Random translation augmentation, in pixels."""
    lr: float = 1e-3
    """Adam learning rate."""
    batch_size: int = 128
    """Images per step."""
    seed: int = 0
    """Seed for weights, batch order and augmentation."""

    @classmethod
    def tiny(cls, **overrides) -> "ClassifierConfig":
        values = dict(image_size=8, width=4, batch_size=16, shift=0)
        values.update(overrides)
        return cls(**values)


@register("digit_classifier")
class DigitClassifier(Model):
    """conv-conv-dense classifier over (b, 1, s, s) images in [0, 1]. ``train_step`` takes a batch
    of shape (b, 1 + s*s): the label in column 0, the flattened image after it."""

    config_class = ClassifierConfig

    def __init__(self, config: ClassifierConfig):
        super().__init__(config)
        w, s = config.width, config.image_size
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.net = nn.Sequential(
                nn.Conv2d(1, w, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),  # (b, w, s/2, s/2)
                nn.Conv2d(w, 2 * w, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),  # (b, 2w, s/4, s/4)
                nn.Flatten(),
                nn.Linear(2 * w * (s // 4) ** 2, 128), nn.ReLU(), nn.Dropout(config.dropout),
                nn.Linear(128, config.n_classes),
            )
        self._opt: torch.optim.Optimizer | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (b, n_classes) logits

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        self.eval()
        return torch.softmax(self(x.to(self.device)), dim=1).cpu()

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self._opt is None:
            self._opt = torch.optim.Adam(self.parameters(), lr=self.config.lr)
        return {"adam": self._opt}

    @staticmethod
    def pack(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(images (n,1,s,s), labels (n,)) -> one (n, 1 + s*s) tensor that ``fit`` can index."""
        x, y = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y)
        return torch.cat([y.float()[:, None], x.flatten(1)], dim=1)

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        self.train()
        s = self.config.image_size
        y = batch[:, 0].long()
        x = batch[:, 1:].view(-1, getattr(self.config, "n_channels", 1), s, s)
        k = self.config.shift
        if k > 0:  # one random shift per batch (cheap, and enough for a measuring instrument)
            dx, dy = (torch.randint(-k, k + 1, (2,), generator=self.rng)).tolist()
            x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        opt = self.optimizers()["adam"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        acc = (logits.argmax(1) == y).float().mean()
        return {"loss": float(loss.detach()), "acc": float(acc)}
