"""The autoencoder family: plain, denoising and variational autoencoders on digits.

Presets of the shipped checkpoints, how a preset builds its model and data, the held-out
evaluation (``python -m unsup eval``) and the VAE page's train-on-demand job.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from unsup import checkpoints
from unsup.data.images import binarize, load_split, resize_images, training_tensor
from unsup.families import Family, PageInfo, Preset
from unsup.models.vae import ConvVAE, VAEConfig, latent_grid
from unsup.recipes.runs import IMAGES as _STORE
from unsup.recipes.runs import split_images  # noqa: F401 - read from here by older callers

DEFAULTS = dict(width=16, hidden=256, lr=2e-3, batch_size=128, shift=1)
"""The family's default architecture, shared by the shipped models and on-demand training."""

DATA = {"mnist": "MNIST (4,500 train digits)", "digits8": "scikit-learn 8×8 digits"}
"""Built-in image sets this family trains on (name -> label)."""

PRESETS = (
    Preset("vae-mnist-16d", "VAE, 16-D latent",
           "Convolutional VAE on binarized MNIST, 16 latent dimensions.",
           "conv_vae", 6000, dict(DEFAULTS, n_latent=16), "mnist", checkpoint_every=1000),
    Preset("vae-mnist-2d", "VAE, 2-D latent",
           "Convolutional VAE on binarized MNIST, 2 latent dimensions: the whole latent space "
           "fits on the screen (no shift augmentation: two numbers are too few to spend one on "
           "position).", "conv_vae", 6000, dict(DEFAULTS, n_latent=2, shift=0), "mnist",
           checkpoint_every=1000),
    Preset("ae-mnist-16d", "Autoencoder, 16-D code",
           "Plain convolutional autoencoder of the same size (no KL).", "conv_vae", 4000,
           dict(DEFAULTS, n_latent=16, variational=False), "mnist", checkpoint_every=1000),
    Preset("dae-mnist-16d", "Denoising autoencoder, 16-D code",
           "The same autoencoder trained to undo Gaussian corruption up to sigma = 0.6.",
           "conv_vae", 4000, dict(DEFAULTS, n_latent=16, variational=False, noise=0.6), "mnist",
           checkpoint_every=1000),
)


def test_tensor(name: str = "mnist", size: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    """Held-out images (binarized, as the VAEs are trained) and labels of a built-in set."""
    split = load_split(name)
    x = binarize(resize_images(split.x_test, size))
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(split.y_test.copy())


def data_card(name: str) -> dict[str, Any]:
    split = load_split(name)
    return {"name": name, "label": DATA.get(name, name), "fingerprint": split.fingerprint(),
            "binarize": "x > 0.5", "n_train": int(len(split.y_train))}


def build(preset: Preset):
    model = ConvVAE(VAEConfig(**preset.config))
    return model, training_tensor(preset.data, model.config.image_size, binary=True), data_card(
        preset.data)


# -- the user's own images, kept with the run ------------------------------------------------
DATA_FILE = _STORE.file
"""A run trained on uploaded images keeps them here (with their content hash), so that a resume
trains on exactly the same images and measures on the same held-out ones."""


def save_run_images(run_dir: Path, images: np.ndarray) -> str:
    return _STORE.save(run_dir, images)


def load_run_images(run_dir: Path, digest: str | None) -> np.ndarray:
    """The images a run was trained on; raises CheckpointError when they are gone or changed."""
    return _STORE.load(run_dir, digest)[0]


def heldout_of(model: ConvVAE) -> tuple[torch.Tensor, str]:
    """The held-out images a model is measured on: its run's every 10th uploaded image, or the
    test split of the built-in set it was trained on."""
    data = (model.card_ or {}).get("data") or {}
    if data.get("name") == "upload" and model.path_ is not None:
        _, x_held = split_images(load_run_images(Path(model.path_).parent, data.get("sha")))
        return x_held, f"every 10th of your images ({len(x_held)})"
    name = data.get("name") if data.get("name") in DATA else "mnist"
    x = test_tensor(name, model.config.image_size)[0]
    if model.config.n_channels != 1:
        x = x.repeat(1, model.config.n_channels, 1, 1)
    return x, f"the {name} test split ({len(x)})"


# -- evaluation ---------------------------------------------------------------------------------
def manifold_digits(vae: ConvVAE, classifier, n: int = 15,
                    min_confidence: float = 0.5) -> dict[str, Any]:
    """Label the 2-D VAE's decoded n x n manifold grid with the classifier.

    Returns the grid of labels (-1 where the classifier's top probability is below
    ``min_confidence``) and the number of distinct confident labels.
    """
    with torch.no_grad():
        imgs = vae.decode(latent_grid(n).to(vae.device)).cpu()
    proba = classifier.predict_proba(imgs)
    conf, label = proba.max(1)
    label = torch.where(conf >= min_confidence, label, torch.full_like(label, -1))
    grid = label.view(n, n).tolist()
    distinct = sorted({v for row in grid for v in row if v >= 0})
    return {"labels": grid, "distinct_digits": len(distinct), "digits": distinct}


def evaluate(model: ConvVAE, *, k: int = 200) -> dict[str, Any]:
    """Held-out metrics (recomputed, never read from a card): −ELBO, IWAE bound with ``k``
    samples, KL per latent, active units; for a 2-D VAE also the digits its manifold shows."""
    from unsup import paths
    from unsup.metrics.elbo import evaluate as elbo_evaluate

    x_held, label = heldout_of(model)
    out = {**elbo_evaluate(model, x_held.to(model.device), k=k), "heldout": label}
    if model.config.variational and model.config.n_latent == 2 and model.config.image_size == 28:
        try:
            clf = checkpoints.load(paths.SHIPPED_DIR / "digit-classifier")
            out["manifold_distinct_digits"] = manifold_digits(model, clf)["distinct_digits"]
        except checkpoints.CheckpointError:
            pass
    return out


# -- on-demand training (the VAE page's "Train" section) ----------------------------------------
def training_spec(*, n_latent: int = 16, beta: float = 1.0, epochs: float = 60,
                  data: str = "mnist", images: np.ndarray | None = None,
                  data_label: str | None = None, variational: bool = True,
                  noise: float = 0.0, owner: str = "", resume: Path | None = None):
    """A :class:`unsup.jobs.JobSpec` that trains a VAE like the shipped ones.

    ``images`` (n, c, s, s) in [0, 1] are the user's own pictures (``data`` is then ignored);
    they are kept with the run. ``resume``: a user run's weights to continue (its config and its
    data are kept; ``epochs`` more are trained in the same run folder). Raises CheckpointError if
    that run's data are gone.
    """
    from unsup.recipes import runs
    from unsup.viz.images import grid

    run = runs.plan(resume, data=data, images=images, label=data_label)
    if run.config is not None:
        n_latent = int(run.config.get("n_latent", n_latent))
        variational = bool(run.config.get("variational", True))
    if run.upload:
        x, x_held, label, dcard = run.split_upload("vae")
        held_label = f"every 10th of your images ({len(x_held)})"
    else:
        data = run.data if run.resume is None or run.data in DATA else "mnist"
        x = training_tensor(data, 28, binary=True)
        x_held = test_tensor(data, 28)[0]
        dcard = data_card(data)
        label, held_label = dcard["label"], f"the {data} test split ({len(x_held)})"
    cfg_kw = dict(DEFAULTS, n_latent=n_latent, beta=beta, variational=variational,
                  noise=noise, n_channels=int(x.shape[1]), image_size=int(x.shape[-1]))
    steps = max(1, int(math.ceil(epochs * len(x) / cfg_kw["batch_size"])))
    fixed_z = torch.randn(8, n_latent, generator=torch.Generator().manual_seed(1))
    shown = x[:8]
    kind = "VAE" if variational else ("DAE" if noise > 0 else "AE")
    title = f"{kind} {n_latent}-D, β={beta:g} on {label}" if variational else (
        f"{kind} {n_latent}-D on {label}")

    def preview(model):
        with torch.no_grad():
            samples = model.decode(fixed_z.to(model.device)).cpu()
            recon = model.reconstruct(shown.to(model.device)).cpu()
        return [np.asarray(grid(torch.cat([samples, recon]), 8, pad=1), dtype=np.float32) / 255]

    def finish(model, job):
        from unsup.metrics.elbo import evaluate as elbo_evaluate

        job.phase(f"measuring on held-out data ({len(x_held):,} images, 100 samples each)")
        return {**elbo_evaluate(model, x_held.to(model.device), k=100, check=job.check),
                "heldout": held_label}

    return run.spec(title=title, model=lambda x: ConvVAE(VAEConfig(**cfg_kw)), data=x,
                    data_card=dcard, steps=steps, page="vae", owner=owner, unit="epochs",
                    checkpoint_every=max(100, steps // 5), preview=preview, finish=finish,
                    again=lambda path, more: training_spec(epochs=more, resume=path,
                                                           owner=owner))


# -- what the page shows of a model (the page caches and lays it out) -------------------------------
def posterior_pass(model: ConvVAE, xb: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """One encoder pass over images ``xb``: the codes (posterior means) and, for a VAE, the mean
    KL(q(z_j|x) || N(0, 1)) of each latent (closed form, no sampling; None for an
    autoencoder)."""
    mus, kl = [], None
    with torch.no_grad():
        for s in range(0, len(xb), 1_000):
            mu, logvar = model.posterior(torch.from_numpy(xb[s:s + 1_000]))
            mus.append(mu.numpy())
            if logvar is not None:
                k = (0.5 * (mu ** 2 + logvar.exp() - 1.0 - logvar)).double().sum(0).numpy()
                kl = k if kl is None else kl + k
    return np.concatenate(mus), (None if kl is None else kl / len(xb))


def manifold(model: ConvVAE, n: int = 20) -> tuple[torch.Tensor, float]:
    """A 2-D model's decoded n x n grid over Gaussian quantiles 5%..95%, and the grid's extent
    in code units."""
    with torch.no_grad():
        imgs = model.decode(latent_grid(n))
    return imgs, float(math.sqrt(2.0) * torch.erfinv(torch.tensor(0.95 * 2 - 1)))


def decode_one(model: ConvVAE, z: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model.decode(torch.as_tensor(z, dtype=torch.float32)[None])[0].numpy()


def encode_one(model: ConvVAE, img: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model.encode(torch.from_numpy(img[None]))[0].numpy()


def interpolation(model: ConvVAE, a: np.ndarray, b: np.ndarray, n: int, mode: str
                  ) -> torch.Tensor:
    """n images decoded along the linear or spherical path between the codes of a and b."""
    from unsup.models.vae import interpolate

    za, zb = (torch.from_numpy(encode_one(model, x)) for x in (a, b))
    with torch.no_grad():
        return model.decode(interpolate(za, zb, n, mode))


def denoised(models: dict[str, ConvVAE], x: np.ndarray, level: float, seed: int = 0
             ) -> tuple[list[torch.Tensor], list[str]]:
    """An image, its noisy copy (σ = ``level``) and each model's reconstruction of the copy,
    with their labels."""
    from unsup.models.vae import corrupt

    g = torch.Generator().manual_seed(seed)
    xt = torch.from_numpy(x[None])
    noisy = corrupt(xt, level, torch.randn(xt.shape, generator=g))
    outs, labels = [xt[0], noisy[0]], ["original", f"noise {level:.2f}"]
    with torch.no_grad():
        for name, m in models.items():
            outs.append(m.reconstruct(noisy)[0])
            labels.append(name)
    return outs, labels


def thumbnail():
    """The home card: the 2-D VAE's decoded manifold."""
    from unsup import paths
    from unsup.viz.images import grid

    from PIL import Image

    model = checkpoints.load(paths.SHIPPED_DIR / "vae-mnist-2d")
    with torch.no_grad():
        imgs = model.decode(latent_grid(12, 0.03, 0.97))[:, :, 2:-2, 2:-2]
    tile = grid(imgs, 12, pad=0).convert("RGB")
    return tile.resize((320, 320), Image.Resampling.LANCZOS).crop((0, 60, 320, 260))


FAMILY = Family(
    name="vae",
    label="Autoencoders & VAEs",
    models=(ConvVAE,),
    kind_labels={"conv_vae": "(variational / denoising) autoencoder"},
    presets=PRESETS,
    build=build,
    evaluate=evaluate,
    data=DATA,
    page=PageInfo("vae", "VAE latent sliders", ":material/tune:", "app_pages/vae_sliders.py",
                  "Drag a slider per latent dimension and watch the decoded digit morph.",
                  "unsup.recipes.vae:thumbnail", order=20),
    warm=("torch", "unsup.recipes.vae", "unsup.ui.training", "unsup.ui.vae", "unsup.viz.plots"),
    bench=("bench_vae.py",),
    headline=("test_neg_elbo_nats", "test_recon_nats", "test_iwae_nll_nats", "active_units",
              "manifold_distinct_digits"),
)
