"""Named recipes for every shipped checkpoint of the foundation: ``python -m unsup train <name>``
rebuilds ``checkpoints/<name>.safetensors`` + ``.json`` exactly as shipped (same config, data,
seed and step count; a 2-core CPU is enough, a GPU is used when present).

Other families (topic models, beta-VAEs) keep their presets in their own modules; the CLI asks
:func:`family_of` which module owns a name.
"""

from __future__ import annotations

import importlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from unsup import checkpoints, paths
from unsup.data.images import binarize, load_split, training_tensor
from unsup.models.base import Model
from unsup.models.classifier import ClassifierConfig, DigitClassifier
from unsup.models.vae import ConvVAE, VAEConfig, latent_grid
from unsup.train import fit

# The VAE family's default architecture, shared by the shipped models and on-demand training.
VAE_DEFAULTS = dict(width=16, hidden=256, lr=2e-3, batch_size=128, shift=1)


@dataclass
class Preset:
    title: str
    description: str
    build: Callable[[], Model]
    steps: int
    data: str = "mnist"  # built-in image set


PRESETS: dict[str, Preset] = {
    "vae-mnist-16d": Preset(
        "VAE, 16-D latent", "Convolutional VAE on binarized MNIST, 16 latent dimensions.",
        lambda: ConvVAE(VAEConfig(n_latent=16, **VAE_DEFAULTS)), steps=6000),
    "vae-mnist-2d": Preset(
        "VAE, 2-D latent", "Convolutional VAE on binarized MNIST, 2 latent dimensions: the "
        "whole latent space fits on the screen (no shift augmentation: two numbers are too few to "
        "spend one on position).",
        lambda: ConvVAE(VAEConfig(n_latent=2, **{**VAE_DEFAULTS, "shift": 0})), steps=6000),
    "ae-mnist-16d": Preset(
        "Autoencoder, 16-D code", "Plain convolutional autoencoder of the same size (no KL).",
        lambda: ConvVAE(VAEConfig(n_latent=16, variational=False, **VAE_DEFAULTS)), steps=4000),
    "dae-mnist-16d": Preset(
        "Denoising autoencoder, 16-D code", "The same autoencoder trained to undo Gaussian "
        "corruption up to sigma = 0.6.",
        lambda: ConvVAE(VAEConfig(n_latent=16, variational=False, noise=0.6, **VAE_DEFAULTS)),
        steps=4000),
    "digit-classifier": Preset(
        "Digit classifier", "Small CNN on the MNIST train split; labels decoded images.",
        lambda: DigitClassifier(ClassifierConfig()), steps=2500),
}

FAMILY_KINDS = {"topics": "topics", "betavae": "betavae", "betatcvae": "betatcvae"}
"""Card kind -> a preset-name prefix of the family that evaluates it (user runs of a family
have names of their own)."""

FAMILY_PREFIXES = {
    "topics": "unsup.models.topics",
    "betavae": "unsup.models.betavae",
    "betatcvae": "unsup.models.betavae",
    "factorvae": "unsup.models.betavae",
    "adagvae": "unsup.models.betavae",
    "adatcvae": "unsup.models.betavae",
}


def family_of(name: str):
    """The module that owns preset ``name`` (None for this module's own presets)."""
    for prefix, module in FAMILY_PREFIXES.items():
        if name.startswith(prefix):
            return importlib.import_module(module)
    return None


def all_presets() -> dict[str, str]:
    """Every preset name -> one-line description, across families that exist."""
    out = {k: p.description for k, p in PRESETS.items()}
    for module in dict.fromkeys(FAMILY_PREFIXES.values()):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        for k, v in getattr(mod, "PRESETS", {}).items():
            out[k] = v if isinstance(v, str) else v.get("description", "")
    return out


def test_tensor(name: str = "mnist", size: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    """Held-out images (binarized, as the VAEs are trained) and labels of a built-in set."""
    from unsup.data.images import resize_images

    split = load_split(name)
    x = binarize(resize_images(split.x_test, size))
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(split.y_test.copy())


def train_data(preset: Preset, model: Model) -> torch.Tensor:
    if isinstance(model, DigitClassifier):
        split = load_split(preset.data)
        return DigitClassifier.pack(torch.from_numpy(split.x_train.copy()),
                                    torch.from_numpy(split.y_train.copy()))
    return training_tensor(preset.data, model.config.image_size, binary=True)


def manifold_digits(vae: ConvVAE, classifier: DigitClassifier, n: int = 15,
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


def evaluate_model(model: Model, data: str = "mnist") -> dict[str, Any]:
    """Held-out metrics of a foundation model (recomputed, never read from a card)."""
    x_test, y_test = test_tensor(data, getattr(model.config, "image_size", 28))
    if isinstance(model, DigitClassifier):
        split = load_split(data)
        proba = model.predict_proba(torch.from_numpy(split.x_test.copy()))
        acc = float((proba.argmax(1) == y_test).float().mean())
        return {"test_accuracy": round(acc, 4), "n_test": int(len(y_test))}
    from unsup.metrics.elbo import evaluate

    out = evaluate(model, x_test)
    if model.config.variational and model.config.n_latent == 2:
        try:
            clf = checkpoints.load(paths.SHIPPED_DIR / "digit-classifier")
            m = manifold_digits(model, clf)
            out["manifold_distinct_digits"] = m["distinct_digits"]
        except checkpoints.CheckpointError:
            pass
    return out


def train_preset(name: str, *, steps: int | None = None, out_dir: Path | None = None,
                 on_progress=None) -> Path:
    """Train preset ``name`` and write its checkpoint + card; returns the weights path."""
    family = family_of(name)
    if family is not None:
        return family.train_preset(name, steps=steps, out_dir=out_dir)
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; known: {sorted(all_presets())}")
    preset = PRESETS[name]
    model = preset.build()
    data = train_data(preset, model)
    n_steps = steps or preset.steps
    command = f"python -m unsup train {name}" + (f" --steps {steps}" if steps else "")
    out = (out_dir or paths.SHIPPED_DIR) / name
    t0 = time.perf_counter()
    fit(model, data, steps=n_steps, on_progress=on_progress, log_every=100)
    seconds = time.perf_counter() - t0
    split = load_split(preset.data)
    metrics = evaluate_model(model, preset.data)
    card = checkpoints.make_card(
        model, step=model.step_, metrics=metrics, command=command, seconds=seconds,
        title=preset.title, description=preset.description,
        data={"name": preset.data, "fingerprint": split.fingerprint(),
              "binarize": "x > 0.5" if not isinstance(model, DigitClassifier) else None,
              "n_train": int(len(split.y_train))},
        extra={"name": name, "device": str(model.device), "threads": torch.get_num_threads()})
    return checkpoints.save(model, out, card, optimizer=False)


# -- on-demand training (the VAE page's "Train" section) --------------------------------------
def vae_training_spec(*, n_latent: int = 16, beta: float = 1.0, epochs: float = 60,
                      data: str = "mnist", images: np.ndarray | None = None,
                      data_label: str | None = None, variational: bool = True,
                      noise: float = 0.0, owner: str = "", resume: Path | None = None):
    """A :class:`unsup.jobs.JobSpec` that trains a VAE like the shipped ones.

    ``images`` (n, c, s, s) in [0, 1] are the user's own pictures (``data`` is then ignored);
    otherwise the built-in set ``data`` is used, binarized. ``resume``: a user run's weights to
    continue (its config is kept; ``epochs`` more are trained in the same run folder).
    """
    from unsup.jobs import JobSpec
    from unsup.viz.images import grid

    if images is not None:
        x_all = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
        # hold out every 10th image (at least one) to measure the ELBO on
        held = torch.zeros(len(x_all), dtype=torch.bool)
        held[::10] = True
        x, x_held = x_all[~held], x_all[held]
        label = data_label or f"{len(x_all)} uploaded images"
        import hashlib

        fingerprint = hashlib.sha256(x_all.numpy().tobytes()).hexdigest()[:16]
        name, held_label = "upload", f"every 10th of your images ({len(x_held)})"
    else:
        x = training_tensor(data, 28, binary=True)
        x_held = test_tensor(data, 28)[0]
        label = BUILTIN_LABELS.get(data, data)
        fingerprint, name = load_split(data).fingerprint(), data
        held_label = f"the {data} test split ({len(x_held)})"
    cfg_kw = dict(VAE_DEFAULTS, n_latent=n_latent, beta=beta, variational=variational,
                  noise=noise, n_channels=int(x.shape[1]), image_size=int(x.shape[-1]))
    bs = cfg_kw["batch_size"]
    steps = max(1, int(math.ceil(epochs * len(x) / bs)))
    fixed_z = torch.randn(8, n_latent, generator=torch.Generator().manual_seed(1))
    shown = x[:8]
    kind = "VAE" if variational else ("DAE" if noise > 0 else "AE")
    title = f"{kind} {n_latent}-D, β={beta:g} on {label}" if variational else (
        f"{kind} {n_latent}-D on {label}")

    def build():
        if resume is not None:
            model = checkpoints.load(resume, optimizer=True)
            prev = model.card_
            return model, x, {"title": prev.get("title"), "data": prev.get("data"),
                              "seconds": prev.get("seconds") or 0.0,
                              "extra": {"origin": "app", "name": prev.get("name")}}
        model = ConvVAE(VAEConfig(**cfg_kw))
        return model, x, {"title": title, "data": {"name": name, "fingerprint": fingerprint,
                                                   "label": label, "n_train": len(x)},
                          "command": None, "extra": {"origin": "app"}}

    def preview(model):
        with torch.no_grad():
            samples = model.decode(fixed_z.to(model.device)).cpu()
            recon = model.reconstruct(shown.to(model.device)).cpu()
        return [np.asarray(grid(torch.cat([samples, recon]), 8, pad=1), dtype=np.float32) / 255]

    def finish(model):
        from unsup.metrics.elbo import evaluate

        return {**evaluate(model, x_held.to(model.device), k=100), "heldout": held_label}

    run_dir = Path(resume).parent if resume is not None else None
    return JobSpec(title=title, build=build, steps=steps, preview=preview, owner=owner,
                   run_dir=run_dir, checkpoint_every=max(100, steps // 5), finish=finish)


BUILTIN_LABELS = {"mnist": "MNIST (4,500 train digits)", "digits8": "scikit-learn 8×8 digits"}
