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
from torch import nn

from unsup.models.base import Model, register
from unsup.models.classifier import DigitClassifier


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
class DomainClassifier(DigitClassifier):
    """[conv 3x3, BN, ReLU] x2, max-pool -> [conv 3x3, BN, ReLU] x2, max-pool -> dense 128 ->
    logits, over (b, c, s, s) images in [0, 1]. Batch normalisation makes it robust to the
    colour shifts of MNIST-M's backgrounds. Training is :class:`DigitClassifier`'s (its
    ``train_step``, ``pack``, optimizer and augmentation): only the network differs."""

    store_half = True  # finished checkpoints: float16 on disk (see Model.store_half)

    config_class = DomainClassifierConfig

    def __init__(self, config: DomainClassifierConfig):
        if config.image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4, got {config.image_size}")
        Model.__init__(self, config)  # not DigitClassifier's network
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

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
        """Predicted labels (n,) of images (n, c, s, s) in [0, 1] (eval mode)."""
        was = self.training
        self.eval()
        out = torch.cat([self(x[i:i + batch].to(self.device)).argmax(1).cpu()
                         for i in range(0, len(x), batch)]) if len(x) else torch.zeros(0).long()
        self.train(was)
        return out
