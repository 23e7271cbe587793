"""A VAE with a likelihood for 8-bit images (discretized logistic decoder): the bound side of the
flows page's "exact likelihood vs bounds" table (issue 23, part 3). SKELETON: being written."""

from __future__ import annotations

from dataclasses import dataclass

from unsup.models.base import Model, register


@dataclass
class DLVAEConfig:
    n_latent: int = 32
    seed: int = 0
    batch_size: int = 64


@register("dlvae")
class DLVAE(Model):
    config_class = DLVAEConfig
    codes_images = False
