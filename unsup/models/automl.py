"""The VAE an AutoML search tunes: the family's convolutional VAE with a depth knob.

:class:`SearchedVAE` is :class:`unsup.models.vae.ConvVAE` with ``depth`` dense layers on each
side (depth 1 is exactly ConvVAE). The search itself, a learner whose step is one Optuna trial,
is :class:`unsup.recipes.automl_search.VAESearch` (it trains VAEs through the one loop, so it
sits above this layer).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from unsup.models.base import register
from unsup.models.vae import ConvVAE, VAEConfig


# -- the searched model: the family's convolutional VAE with a depth knob --------------------------
@dataclass
class SearchedVAEConfig(VAEConfig):
    """:class:`unsup.models.vae.VAEConfig` plus the number of dense layers (every other field
    as there)."""

    depth: int = 1
    """Dense layers between the convolutions and the code, in the encoder and (mirrored) in the
    decoder; 1 is exactly :class:`unsup.models.vae.ConvVAE` (same layers, same initial
    weights for the same seed)."""


@register("searched_vae")
class SearchedVAE(ConvVAE):
    """:class:`unsup.models.vae.ConvVAE` with ``depth`` dense layers of ``hidden`` units on
    each side (the convolutions stay two: 28 → 14 → 7 pixels)."""

    config_class = SearchedVAEConfig

    def _build(self, c: int, w: int, s: int) -> None:
        super()._build(c, w, s)
        h, extra = self.config.hidden, max(0, int(self.config.depth) - 1)
        if extra:
            # (b, hidden) -> (b, hidden), appended after the first dense layer of each side
            self.encoder = nn.Sequential(*self.encoder, *[
                m for _ in range(extra) for m in (nn.Linear(h, h), nn.ReLU())])
            first = list(self.decoder_fc)[:2]  # Linear(n_latent, hidden), ReLU
            rest = list(self.decoder_fc)[2:]  # Linear(hidden, n_feat), ReLU
            self.decoder_fc = nn.Sequential(*first, *[
                m for _ in range(extra) for m in (nn.Linear(h, h), nn.ReLU())], *rest)
