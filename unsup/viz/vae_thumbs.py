"""Home-page thumbnail of the VAE page: the shipped 2-D VAE's decoded manifold."""

from __future__ import annotations

from PIL import Image


def thumbnail() -> Image.Image:
    import torch

    from unsup import checkpoints, paths
    from unsup.models.vae import latent_grid
    from unsup.viz.images import grid

    model = checkpoints.load(paths.SHIPPED_DIR / "vae-mnist-2d")
    with torch.no_grad():
        imgs = model.decode(latent_grid(12, 0.03, 0.97))[:, :, 2:-2, 2:-2]
    tile = grid(imgs, 12, pad=0).convert("RGB")
    return tile.resize((320, 320), Image.Resampling.LANCZOS).crop((0, 60, 320, 260))
