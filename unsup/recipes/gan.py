"""The GAN family: 2-D GANs on the ring and grid of the mode-collapse papers, and DCGANs on
digits. Presets of the shipped checkpoints, how a preset builds its model and data, the held-out
evaluation (modes and high-quality share for 2-D sets; digit histogram and classifier-space
Fréchet distance, KID, precision and recall for images), the 2-D lab's state
(:class:`Lab2D`), the page's train-on-demand job and the home card's thumbnail.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import dataclasses
import functools
import threading
import time
import weakref
from typing import Any

import numpy as np
import torch

from unsup.data import toy2d
from unsup.families import Family, PageInfo, Preset
from unsup.metrics import gan as M
from unsup.metrics import seeds as S
from unsup.models import gan as G
from unsup.models import gan_variants as V
from unsup.models.gan_losses import LOSS_LABELS, LOSSES, SIGMOID_LOSSES

KIND_LABELS = {"gan2d": "2-D GAN", "dcgan": "DCGAN", "pggan": "Progressive GAN",
               "vaegan": "VAE-GAN"}
"""Display name of each kind of this family."""
MODEL_CLASSES = {"gan2d": G.Toy2DGAN, "dcgan": G.DCGAN, "pggan": V.ProgressiveGAN,
                 "vaegan": V.VAEGAN}
IMAGE_KINDS = ("dcgan", "pggan", "vaegan")
"""Kinds that draw images (every image view and metric takes any of them)."""

DATA = {"ring": "ring of 8 Gaussians (radius 1, σ 0.01)",
        "grid": "5×5 grid of Gaussians ({−4…4}², σ 0.05)",
        "moons": "two moons (100 Gaussians along two arcs, σ 0.1)",
        "mnist": "MNIST (4,500 train digits, grey levels)",
        "digits8": "scikit-learn 8×8 digits (1,617 train)"}
"""Built-in data sets of the family (name -> label)."""
DATA_2D = ("ring", "grid", "moons")
DATA_IMAGES = ("mnist", "digits8")

EVAL_SEED = 2_500
"""Seed of the noise of every evaluation sample (fresh noise, never the training noise)."""
EVAL_SEEDS = (EVAL_SEED, EVAL_SEED + 1, EVAL_SEED + 2)
"""The noise seeds of the held-out evaluation: every sampled metric is measured on fresh samples
drawn with each, and the card keeps the mean under the metric's name with each seed's value in
``per_seed`` (see :mod:`unsup.metrics.seeds`)."""
SAMPLED_2D = ("modes", "hq", "modes_any")
"""The sampled metrics of a 2-D GAN (averaged over :data:`EVAL_SEEDS`)."""
SAMPLED_IMAGES = ("fd", "fd_ratio", "kid", "precision", "recall", "classes_covered",
                  "min_class_share", "confident_share")
"""The sampled metrics of an image GAN (averaged over :data:`EVAL_SEEDS`); the floor's are not
sampled (the real training digits against the test digits)."""
_DIGITS = {"fd": 4, "fd_ratio": 3, "kid": 5, "precision": 4, "recall": 4, "hq": 4,
           "min_class_share": 4, "confident_share": 4, "classes_covered": 2, "modes": 2,
           "modes_any": 2}
N_DIGIT_SAMPLES = 10_000
"""Generated digits classified for the histogram (the "stacked MNIST" view)."""
CONFIDENT = 0.8
"""A digit is read confidently when the classifier's top probability is at least this."""

PUBLISHED = (
    # (data set, method, modes, high-quality %, source) — as the papers report them, with their
    # rule: a mode counts when at least one high-quality sample is nearest to it
    ("ring", "GAN", 6.3, 98.2, "PacGAN (Lin et al. 2018), table 1"),
    ("ring", "PacGAN4", 7.8, 95.9, "PacGAN (Lin et al. 2018), table 1"),
    ("ring", "GAN", 1.0, 99.3, "VEEGAN (Srivastava et al. 2017), table 1"),
    ("ring", "VEEGAN", 8.0, 52.9, "VEEGAN (Srivastava et al. 2017), table 1"),
    ("grid", "GAN", 17.3, 94.8, "PacGAN (Lin et al. 2018), table 1"),
    ("grid", "PacGAN4", 24.8, 93.6, "PacGAN (Lin et al. 2018), table 1"),
)
"""Published modes captured / % high-quality samples on 2,500 samples."""

# -- recipes ------------------------------------------------------------------------------------
IMAGE_RECIPES: dict[str, dict] = {
    "mm": dict(optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5),
    "ns": dict(optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5),
    "ls": dict(optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5),
    "dragan": dict(optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5),
    "wgan": dict(optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5, d_steps=5, clip=0.01),
    "wgan-gp": dict(optimizer="adam", lr_g=1e-4, lr_d=1e-4, beta1=0.5, beta2=0.9, d_steps=5),
    "began": dict(optimizer="adam", lr_g=1e-4, lr_d=1e-4, beta1=0.5, began_gamma=1.0),
}
"""Per-loss optimiser settings for images, as each paper trains (DCGAN's Adam 2e-4, β₁ 0.5;
WGAN's RMSProp 5e-5 with 5 critic steps; WGAN-GP's Adam 1e-4, β = (0.5, 0.9), 5 critic steps;
BEGAN's Adam 1e-4). BEGAN's diversity ratio is γ = 1.0, not the paper's CelebA value 0.5: with
this small autoencoder (width 16) and γ = 0.5 (or 0.7) the generator never got L(G(z)) under
γ L(x), so k_t stayed at 0, D never pushed back on the fakes and G collapsed onto one blob
(measured: 8,000 steps, one digit class, Fréchet (clf) 2,822); with γ = 1.0, k_t rose (0.09 by
2,000 steps) and all ten digits appeared."""

STANDING_STATS_NOTE = ("BatchNorm statistics of the averaged generator recomputed after "
                       "training (standing statistics, scripts/refresh_cards.py "
                       "--standing-stats, 2026-11-29)")
"""The card note of a checkpoint trained while the averaged generator still copied the trained
generator's BatchNorm statistics, and brought up to date afterwards: its weights and statistics
are current, but its timelapse frames were drawn the old way (the page says so)."""

IMAGE_WIDTH = 16
"""Base channel count of every shipped image GAN (G: 64, 32, 16 channels)."""
IMAGE_COMMON = dict(width=IMAGE_WIDTH, g_ema=0.999, timelapse_frames=33, timelapse_every=100)
"""Settings every shipped image GAN shares: the width, the generator's moving average and a
33-frame fixed-noise timelapse."""
IMAGE_STEPS = {"mm": 10_000, "ns": 10_000, "ls": 10_000, "dragan": 6_000, "wgan": 4_000,
               "wgan-gp": 3_000, "began": 8_000, "pggan": 12_000, "vaegan": 7_000}
"""Steps of each shipped image GAN: as many as fit about 9 minutes on one CPU thread (WGAN and
WGAN-GP make 5 critic updates a step; the gradient penalties cost a double backward pass)."""


def _recipe_text(loss: str) -> str:
    r = IMAGE_RECIPES[loss]
    opt = {"adam": "Adam", "rmsprop": "RMSProp", "sgd": "SGD"}[r["optimizer"]]
    extra = f", β = ({r['beta1']}, {r.get('beta2', 0.999)})" if r["optimizer"] == "adam" else ""
    steps = f", {r['d_steps']} critic steps per G step" if r.get("d_steps", 1) > 1 else ""
    return f"{opt} {r['lr_g']:g}{extra}{steps}"


RING_BEST = dict(pack=2, g_ema=0.999, seed=0)
"""The best 2-D recipe measured here: NS loss, the default MLPs (3 x 128 units each), Adam 5e-4,
batches of 512, PacGAN packing of 2, samples from the generator's moving average (decay 0.999).
Measured (2,500 samples, ≥ 20 per mode): 8/8 modes at 6,000 and 8,000 steps for seeds 0, 1, 2,
with 89-93% and 94-96% high-quality samples."""
RING_COLLAPSE = dict(g_layers=2, d_layers=1, lr_g=1e-4, lr_d=1e-4, seed=0)
"""A plain NS GAN that collapses: the set-up of Metz et al. 2016 (unrolled GANs, fig. 1) — G
with 2 hidden layers, D with 1, Adam 1e-4 (β₁ 0.5), batches of 512 — here with a 2-D z. Measured
(seed 0): the samples sit on at most one ring mode at every 4,000-step check up to 20,000 steps
and hop between modes (mode 8, then mode 3). With the default networks (3 x 128 units each) the
plain GAN did *not* collapse here: 8/8 modes from 4,000 steps on and 97% high quality at 10,000
(Adam 5e-4, seeds 0 and 1; 1e-3, seed 0), nor with batches of 64 or 32, 5 D steps, β₁ 0.9 or a
32-unit G (5-8 modes); a weaker D (32 units), SGD or 3 G steps never reached the modes at all.
Packing the collapsing set-up by 2 covers all 8 modes by 16,000 steps."""
GRID_BEST = dict(pack=2, seed=0)
"""On the grid: packing of 2, Adam 5e-4 (1e-3 reached 17/25 in the same 12,000 steps, packing of
4 only 7/25). Measured: 15/25 modes at 8,000 steps, 22 at 10,000, 25 at 12,000."""
PRESETS = (
    Preset("gan-ring-pac2", "PacGAN2 on the ring",
           "NS GAN with PacGAN packing of 2 on the ring of 8 Gaussians, samples from the moving "
           "average of the generator: the best 2-D recipe measured here.", "gan2d", 8_000,
           RING_BEST, "ring", checkpoint_every=1_000),
    Preset("gan-ring-collapse", "Plain NS GAN on the ring (collapses)",
           "A plain NS GAN (no packing, no minibatch features): G with 2 hidden layers, D with "
           "1, Adam 1e-4, seed 0 (Metz et al. 2016's set-up). It collapses onto one mode and "
           "hops between modes.", "gan2d", 20_000, RING_COLLAPSE, "ring", checkpoint_every=4_000),
    Preset("gan-ring-collapse-pac2", "The same GAN with packing of 2",
           "Exactly the collapsing GAN's networks, seed and optimiser, with PacGAN packing of 2: "
           "the discriminator judges two samples at once.", "gan2d", 20_000,
           dict(RING_COLLAPSE, pack=2), "ring", checkpoint_every=4_000),
    Preset("gan-grid-pac2", "PacGAN2 on the 5×5 grid",
           "NS GAN with PacGAN packing of 2 on the 25 Gaussians of the grid.", "gan2d", 12_000,
           GRID_BEST, "grid", checkpoint_every=2_000),
    Preset("gan-moons-pac2", "PacGAN2 on two moons",
           "The ring's best recipe (NS GAN, packing of 2, the generator's moving average) on two "
           "moons: a band along two arcs, where the flows page sets a spline flow beside it.",
           "gan2d", 8_000, RING_BEST, "moons", checkpoint_every=2_000),
    *(Preset(f"dcgan-mnist-{loss}", f"DCGAN ({LOSS_LABELS[loss]}) on MNIST",
             f"Upsample-then-convolve DCGAN, width {IMAGE_WIDTH}, {LOSS_LABELS[loss]} loss "
             f"({_recipe_text(loss)}), batches of 64, on the 4,500 MNIST training digits in "
             "grey levels, for the same time budget as every image GAN here; samples come "
             "from the moving average of the generator's weights (decay 0.999).", "dcgan",
             IMAGE_STEPS[loss], dict(IMAGE_RECIPES[loss], **IMAGE_COMMON, loss=loss), "mnist",
             checkpoint_every=1_000) for loss in LOSSES),
    Preset("dcgan-mnist-best", "DCGAN, width 32 + spectral norm (best recipe) on MNIST",
           "The best image recipe measured here: the NS GAN with twice the channels (width 32) "
           "and spectral normalisation of every layer of D (Miyato et al. 2018), 12,000 steps "
           "(about 24 minutes on one thread: over the loss families' 10-minute budget); the "
           "DCGAN's optimiser, data, averaging and timelapse.", "dcgan", 12_000,
           dict(IMAGE_RECIPES["ns"], **dict(IMAGE_COMMON, width=32), loss="ns",
                spectral_norm=True), "mnist", checkpoint_every=1_000),
    Preset("pggan-mnist-ns", "Progressive GAN (NS GAN) on MNIST",
           "Progressive growing (Karras et al. 2018): G and D start at 7×7 px; 14×14 and then "
           "28×28 blocks fade in over 1,250 steps each, with 1,250 steps at each size. NS loss "
           "and the DCGAN's optimiser, data and averaging.", "pggan", IMAGE_STEPS["pggan"],
           dict(IMAGE_RECIPES["ns"], **IMAGE_COMMON, loss="ns", grow_steps=1_250), "mnist",
           checkpoint_every=1_000),
    Preset("vaegan-mnist", "VAE-GAN on MNIST (autoencoder + GAN)",
           "Larsen et al. 2016: a VAE with a 16-D code whose decoder is also a GAN generator; "
           "reconstruction in pixels and in the discriminator's features, KL, and an NS GAN "
           "loss on reconstructions and prior samples. The DCGAN's networks and optimiser.",
           "vaegan", IMAGE_STEPS["vaegan"],
           dict(IMAGE_RECIPES["ns"], **IMAGE_COMMON, loss="ns", n_latent=16), "mnist",
           checkpoint_every=1_000),
)


# -- data ---------------------------------------------------------------------------------------
def data_2d(name: str, points=None, *, sigma: float | None = None,
            n: int = toy2d.N_TRAIN) -> toy2d.Mixture2D:
    """The ring, the grid, two moons, or a mixture around clicked ``points`` ("points")."""
    if name == "ring":
        return toy2d.ring(n=n)
    if name == "grid":
        return toy2d.grid(n=n)
    if name == "moons":
        return toy2d.moons(n=n)
    if name == "points":
        return toy2d.user_points(points, 0.05 if sigma is None else sigma, n=n)
    raise KeyError(f"unknown 2-D data set {name!r}; known: ring, grid, moons, points")


def mixture_of(model) -> toy2d.Mixture2D | None:
    """The mixture a 2-D model's card says it was trained on (means and σ; a small set)."""
    d = (model.card_ or {}).get("data") or {}
    if "means" in d and "sigma" in d:
        return toy2d.Mixture2D(np.asarray(d["means"]), float(d["sigma"]), name=d.get("name", ""),
                               n=16)
    return None


def image_size_of(name: str) -> int:
    return 8 if name == "digits8" else 28


def image_data(name: str) -> torch.Tensor:
    from unsup.data.images import training_tensor

    return training_tensor(name, image_size_of(name), binary=False)


def image_data_card(name: str) -> dict[str, Any]:
    from unsup.data.images import load_split

    split = load_split(name)
    return {"name": name, "label": DATA[name], "fingerprint": split.fingerprint(),
            "binarize": None, "n_train": int(len(split.y_train))}


def make_model(kind: str, **config):
    cls = MODEL_CLASSES[kind]
    names = {f.name for f in dataclasses.fields(cls.config_class)}
    return cls(cls.config_class(**{k: v for k, v in config.items() if k in names}))


def build(preset: Preset):
    if preset.kind == "gan2d":
        data = data_2d(preset.data)
        return make_model("gan2d", **preset.config), data, data.card()
    size = image_size_of(preset.data)
    return (make_model(preset.kind, **preset.config, image_size=size), image_data(preset.data),
            image_data_card(preset.data))


# -- sampling -----------------------------------------------------------------------------------
def noise(n: int, n_latent: int, seed: int) -> torch.Tensor:
    """n noise vectors z ~ N(0, I) (n, n_latent) from ``seed``; the first k rows are the same
    whatever n (numpy's generator fills row by row; torch's ``randn`` does not)."""
    z = np.random.default_rng(seed).standard_normal((n, n_latent))
    return torch.from_numpy(z.astype(np.float32))


@torch.no_grad()
def samples(model, n: int, seed: int = EVAL_SEED, chunk: int = 500) -> torch.Tensor:
    """n samples G(z), z = :func:`noise` (n, seed), in eval mode, decoded in chunks."""
    return decode(model, noise(n, model.config.n_latent, seed), chunk)


@torch.no_grad()
def decode(model, z: torch.Tensor, chunk: int = 500) -> torch.Tensor:
    was = model.training
    model.eval()
    out = torch.cat([model.decode(z[i:i + chunk].to(model.device)).cpu()
                     for i in range(0, len(z), chunk)])
    model.train(was)
    return out


def seed_noise(model, seeds) -> torch.Tensor:
    """One noise vector per seed: the first row of :func:`noise` for that seed, i.e. the z of
    the first sample of a grid drawn with that seed."""
    return torch.cat([noise(1, model.config.n_latent, int(s)) for s in seeds])


def slerp_strip(model, seed_a: int, seed_b: int, n: int = 9) -> torch.Tensor:
    """Images along the great circle between the noise of two seeds (slerp, White 2016)."""
    from unsup.models.vae import interpolate

    z = seed_noise(model, [seed_a, seed_b])
    return decode(model, interpolate(z[0], z[1], n, mode="spherical"))


def test_to_train_distance(name: str) -> float:
    """Median distance from a held-out test digit of the data set ``name`` to its nearest
    training digit (pixels, L2): how close an unseen real digit comes to the training set."""
    from unsup.data.images import load_split, resize_images

    split = load_split(name)
    test = torch.from_numpy(np.ascontiguousarray(resize_images(split.x_test,
                                                               image_size_of(name))))
    _, dist = nearest_training(test, image_data(name), k=1)
    return float(np.median(dist[:, 0]))


def copy_check(sample: torch.Tensor, train: torch.Tensor, ref: float, k: int = 5) -> dict:
    """Does a generated ``sample`` (c, s, s) copy a training image? Its k nearest training
    images (``row``: the sample, then them; ``labels``: their distances), the nearest distance
    ``d`` and the verdict against ``ref``, the typical test-to-train distance
    (:func:`test_to_train_distance`): closer than half of it counts as a possible near-copy."""
    idx, dist = nearest_training(sample[None], train, k=k)
    d = float(dist[0, 0])
    return {"row": [sample[0].numpy()] + [train[j, 0].numpy() for j in idx[0]],
            "labels": ["sample"] + [f"d={x:.2f}" for x in dist[0]], "d": d,
            "verdict": ("closer than most unseen real digits are: possibly a near-copy"
                        if d < 0.5 * ref else "no closer than unseen real digits are: not a copy")}


def nearest_training(images: torch.Tensor, train: torch.Tensor, k: int = 5
                     ) -> tuple[np.ndarray, np.ndarray]:
    """For each image (n, c, s, s), the indices (n, k) and pixel-space L2 distances (n, k) of
    its k nearest training images: a sample that sits on top of one training image is a copy."""
    a = images.flatten(1).double()
    b = train.flatten(1).double()
    d = torch.cdist(a, b)  # (n, N)
    dist, idx = d.topk(k, dim=1, largest=False)
    return idx.numpy(), dist.numpy()


# -- evaluation ---------------------------------------------------------------------------------
def _seeds(seed: int | None, seeds) -> tuple[int, ...]:
    return (int(seed),) if seed is not None else tuple(int(s) for s in seeds)


def evaluate_2d(model, data: toy2d.Mixture2D | None = None, n: int = M.N_MODE_SAMPLES,
                seed: int | None = None, seeds=(EVAL_SEED,)) -> dict[str, Any]:
    """Modes captured and the high-quality share of ``n`` fresh samples (VEEGAN/PacGAN
    protocol): unsup's rule (≥ 20 high-quality samples per mode) and the papers' (≥ 1).
    Measured once per seed of ``seeds`` (or for ``seed`` alone): the mean under each metric's
    name, each seed's value in ``per_seed``, the mode counts averaged. The default is one draw
    (the lab recomputes it while it trains); the card's is :data:`EVAL_SEEDS` (:func:`evaluate`)."""
    runs = [_evaluate_2d_once(model, data, n, s) for s in _seeds(seed, seeds)]
    return S.combine(runs, _seeds(seed, seeds), SAMPLED_2D, digits=_DIGITS,
                     extra_keys=("mode_counts",))


def _evaluate_2d_once(model, data, n: int, seed: int) -> dict[str, Any]:
    data = data or mixture_of(model) or toy2d.ring(n=16)
    x = samples(model, n, seed).numpy()
    s = M.mode_stats(x, data.means, data.sigma)
    papers = M.mode_stats(x, data.means, data.sigma, min_count=1)
    return {"modes": s["modes"], "n_modes": s["n_modes"], "hq": round(s["hq"], 4),
            "modes_any": papers["modes"], "n_samples": n,
            "extra_metrics": {"mode_counts": s["counts"]}}


@functools.lru_cache(maxsize=1)
def digit_classifier():
    """The shipped digit classifier (the measuring instrument), loaded once."""
    from unsup import checkpoints, paths

    clf = checkpoints.load(paths.SHIPPED_DIR / "digit-classifier")
    clf.eval()
    return clf


def _to28(x: torch.Tensor) -> torch.Tensor:
    if x.shape[-1] == 28:
        return x
    return torch.nn.functional.interpolate(x, size=(28, 28), mode="bilinear",
                                           align_corners=False).clamp(0, 1)


def _features(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    if x.shape[1] != 1:
        x = x.mean(1, keepdim=True)
    return M.classifier_features(digit_classifier(), _to28(x))


@functools.lru_cache(maxsize=4)
def real_features(name: str = "mnist") -> dict[str, np.ndarray]:
    """Classifier features of a built-in set's train and test splits (cached)."""
    from unsup.data.images import load_split

    split = load_split(name)
    f_train, _ = _features(torch.from_numpy(np.ascontiguousarray(split.x_train)))
    f_test, _ = _features(torch.from_numpy(np.ascontiguousarray(split.x_test)))
    return {"train": f_train, "test": f_test}


def feature_scores(cand: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Fréchet distance, KID and precision/recall of candidate features against a reference."""
    kid, kid_sd = M.kernel_distance(cand, ref, n_subsets=50, subset_size=500)
    pr = M.precision_recall(ref, cand)
    return {"fd": M.frechet_distance(cand, ref), "kid": kid, "kid_std": kid_sd,
            "precision": pr["precision"], "recall": pr["recall"]}


@functools.lru_cache(maxsize=4)
def real_floor(name: str = "mnist") -> dict[str, float]:
    """The scores of real digits: the train split (as if it were a generator's output) against
    the held-out test split. A generator cannot be expected to beat them."""
    f = real_features(name)
    return {k: round(v, 4) for k, v in feature_scores(f["train"], f["test"]).items()}


def evaluate_images(model, n: int = N_DIGIT_SAMPLES, seed: int | None = None,
                    data: str | None = None, seeds=EVAL_SEEDS) -> dict[str, Any]:
    """Held-out image metrics of a DCGAN, recomputed: ``n`` fresh samples are read by the digit
    classifier (histogram, classes covered, share read with ≥ 80% confidence); as many samples
    as the training split has digits are compared with the held-out test split in the
    classifier's feature space (Fréchet distance, KID, precision, recall), beside the same
    scores of the real training digits (the floor). ``data``: the built-in set it learnt
    (default: the one its card names). Measured once per seed of ``seeds`` (or for ``seed``
    alone): the mean under each metric's name, each seed's value in ``per_seed``, the digit
    shares averaged."""
    runs = [_evaluate_images_once(model, n, s, data) for s in _seeds(seed, seeds)]
    return S.combine(runs, _seeds(seed, seeds), SAMPLED_IMAGES, digits=_DIGITS,
                     extra_keys=("digit_shares",))


def _evaluate_images_once(model, n: int, seed: int, data: str | None) -> dict[str, Any]:
    name = data or ((model.card_ or {}).get("data") or {}).get("name")
    name = name if name in DATA_IMAGES else "mnist"
    x = samples(model, n, seed)
    feats, probs = _features(x)
    labels = probs.argmax(1)
    hist = M.class_histogram(labels)
    real = real_features(name)
    cand = feats[:len(real["train"])]
    scores = feature_scores(cand, real["test"])
    floor = real_floor(name)
    out = {"fd": round(scores["fd"], 4), "fd_floor": floor["fd"],
           "fd_ratio": round(scores["fd"] / max(floor["fd"], 1e-12), 3),
           "kid": round(scores["kid"], 5), "kid_floor": round(floor["kid"], 5),
           "precision": round(scores["precision"], 4), "recall": round(scores["recall"], 4),
           "precision_floor": floor["precision"], "recall_floor": floor["recall"],
           "classes_covered": M.classes_covered(labels),
           "min_class_share": round(float(hist.min()), 4),
           "confident_share": round(float((probs.max(1) >= CONFIDENT).mean()), 4),
           "n_samples": n, "n_compared": int(len(cand)), "n_reference": int(len(real["test"])),
           "heldout": f"the {name} test split ({len(real['test'])})",
           "extra_metrics": {"digit_shares": [round(float(v), 5) for v in hist]}}
    return out


def evaluate(model) -> dict[str, Any]:
    """Held-out metrics of a GAN (see :func:`evaluate_2d` and :func:`evaluate_images`)."""
    if model.kind == "gan2d":
        return evaluate_2d(model, seeds=EVAL_SEEDS)
    return evaluate_images(model, seeds=EVAL_SEEDS)


# -- timelapse and the autoencoder frontier -----------------------------------------------------
def timelapse(model) -> tuple[list[int], torch.Tensor]:
    """The fixed-noise frames saved during training (steps, images (frames, k, c, h, w)), with
    the model's own samples of the same noise appended as the last frame when training went on
    after the last saved frame. Empty for models trained without a timelapse."""
    if model.kind not in IMAGE_KINDS or not getattr(model.config, "timelapse_frames", 0):
        return [], torch.zeros(0)
    steps, frames = model.timelapse_frames()
    if not steps or steps[-1] < model.step_:
        with torch.no_grad():
            was = model.training
            model.eval()
            last = model.decode(model.timelapse_noise().to(model.device)).clamp(0, 1).cpu()
            model.train(was)
        last = (last * 255).round() / 255  # the stored frames' 8-bit levels
        steps = steps + [int(model.step_)]
        frames = torch.cat([frames, last[None]]) if len(frames) else last[None]
    return steps, frames


def test_images(name: str = "mnist") -> torch.Tensor:
    """The held-out test split of a built-in set, in grey levels (as the GANs learn it)."""
    from unsup.data.images import load_split

    return torch.from_numpy(np.ascontiguousarray(load_split(name).x_test, dtype=np.float32))


def sharpness(x: torch.Tensor) -> float:
    """Mean absolute difference between neighbouring pixels (horizontal and vertical), images
    in [0, 1]: blur lowers it. Real MNIST digits score about 0.1 (see the frontier table)."""
    dx = (x[..., :, 1:] - x[..., :, :-1]).abs().mean()
    dy = (x[..., 1:, :] - x[..., :-1, :]).abs().mean()
    return float((dx + dy) / 2)


def frontier(vae, gan, vaegan, n: int = 4_500, seed: int = EVAL_SEED) -> dict[str, Any]:
    """The lecture's "autoencoder frontier", measured on held-out digits: for a VAE, a GAN and
    a VAE-GAN, the classifier-space Fréchet distance of ``n`` prior samples to the test split,
    the sharpness of those samples, and, for the two with an encoder, the L1 error of their
    reconstructions of the test digits (per pixel). Any model may be None (left out)."""
    x_test = test_images("mnist")
    real = real_features("mnist")
    rows: dict[str, dict[str, float]] = {}
    z = None
    for name, model in (("VAE", vae), ("GAN", gan), ("VAE-GAN", vaegan)):
        if model is None:
            continue
        with torch.no_grad():
            if name == "VAE":
                g = torch.Generator().manual_seed(seed)
                z = torch.randn(n, model.config.n_latent, generator=g)
                x = torch.cat([model.decode(z[i:i + 500]) for i in range(0, n, 500)])
                rec = torch.cat([model.reconstruct(x_test[i:i + 250])
                                 for i in range(0, len(x_test), 250)])
            else:
                x = samples(model, n, seed)
                rec = (torch.cat([model.reconstruct(x_test[i:i + 250])
                                  for i in range(0, len(x_test), 250)])
                       if hasattr(model, "reconstruct") else None)
        feats, _ = _features(x.clamp(0, 1))
        row = {"fd": feature_scores(feats[:len(real["train"])], real["test"])["fd"],
               "sharpness": sharpness(x.clamp(0, 1))}
        if rec is not None:
            row["recon_l1"] = float((rec.clamp(0, 1) - x_test).abs().mean())
            row["recon_sharpness"] = sharpness(rec.clamp(0, 1))
        rows[name] = row
    rows["real test digits"] = {"fd": real_floor("mnist")["fd"], "sharpness": sharpness(x_test)}
    return rows


# -- the 2-D lab --------------------------------------------------------------------------------
LIVE_FIELDS = ("loss", "optimizer", "lr_g", "lr_d", "beta1", "beta2", "d_steps", "g_steps",
               "batch_size", "gp_lambda", "clip", "dragan_c", "began_gamma", "began_lambda_k")
"""Settings the lab changes while it trains (the optimizers and the model stay)."""
ARCH_FIELDS = ("g_hidden", "g_layers", "d_hidden", "d_layers", "pack", "minibatch_features",
               "minibatch_kernel_dim", "n_latent", "seed", "began_code")
"""Settings that need new networks: changing one restarts training."""


def plane_extent(means, sigma: float) -> tuple[float, float, float, float]:
    """A square view around the modes with a margin: (x0, x1, y0, y1)."""
    mu = np.asarray(means, dtype=float)
    lo, hi = mu.min(0), mu.max(0)
    centre = (lo + hi) / 2
    half = max(float((hi - lo).max()) / 2, 0.5) * 1.35 + 10 * sigma
    return (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)


def heat_meaning(loss: str) -> tuple[str, tuple[float, float] | None]:
    """What the lab's heat-map shows for a loss: its label and fixed range (None: free)."""
    if loss in SIGMOID_LOSSES:
        return "D(x) = P(real)", (0.0, 1.0)
    if loss == "began":
        return "−L(x): minus D's reconstruction error", None
    return "D(x): critic score", None


class Lab2D:
    """A 2-D GAN trained live, step by step, as GAN Lab does it.

    Holds a :class:`unsup.models.gan.Toy2DGAN`, its point set and counters. ``train(n)`` runs n
    training steps through :func:`unsup.train.fit` (so the run is the same as a preset's with
    the same settings); ``d_step``/``g_step`` make one discriminator or one generator update;
    ``apply`` changes settings (live ones in place, architectural ones by restarting);
    ``view`` returns the arrays the canvas draws; ``stats`` the mode metrics.

    ``play()`` trains in a background thread (one torch thread, a lower scheduling priority
    than the page's) until ``pause()``; so drawing and training are independent: a slow redraw
    never slows training, and the page only reads :meth:`snapshot`. Every call takes the lab's
    lock, so a setting changed by the page applies between two training chunks, never during a
    step. Each ``play()`` call is also the page's heartbeat: the trainer pauses itself when the
    page has not called for :attr:`HEARTBEAT_S` seconds (a closed or abandoned tab, an ended
    session), and the next ``play()`` starts it again.
    """

    VIEW_SEED = 4_242
    N_VIEW = 400
    HEARTBEAT_S = 10.0
    """The background trainer pauses when ``play()`` has not been called for this long (the
    canvas calls it about 6 times a second; a loaded machine may stretch that to seconds)."""
    CHUNK_S = 0.04
    """The trainer holds the lock for about this long at a time (the steps of one chunk are
    sized to it), so a page call waits at most about this long."""
    RATE_WINDOW_S = 2.0
    """Training speed is measured over the last this many seconds of playing."""
    VIEW_EVERY_S = 0.12
    """While playing, the trainer thread itself refreshes what the canvas draws (:meth:`view`)
    at most this often, between two chunks, and only once the page has read the last one, so
    the page thread never computes a view (it reads the latest, :meth:`snapshot`) and no
    frame is computed that no page shows."""
    STATS_EVERY_S = 1.0
    """... and the mode statistics (2,500 fresh samples) this often."""

    def __init__(self, data: toy2d.Mixture2D, **settings):
        self.data = data
        self.config = G.Toy2DGANConfig(**settings)
        self.model = G.Toy2DGAN(self.config)
        self.extent = plane_extent(data.means, data.sigma)
        self.real_view = data.sample(self.N_VIEW, seed=self.VIEW_SEED)
        self.z_view = torch.randn(self.N_VIEW, self.config.n_latent,
                                  generator=torch.Generator().manual_seed(self.VIEW_SEED))
        self.lock = threading.RLock()
        self._waiting = 0  # page calls waiting for the lock (the trainer lets them in first)
        self._waiting_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._thread_lock = threading.Lock()
        self._polled = 0.0
        self.error: str | None = None
        """Why the background trainer stopped by itself (a diverged loss), or None."""
        self.speed_limit: float | None = None
        """Most training steps a second while playing (None: as fast as the machine goes)."""
        self._view_cache: tuple[Any, dict] | None = None
        self._stats_cache: tuple[Any, dict] | None = None
        self._viewed_at = self._stats_at = 0.0  # when the trainer last refreshed them
        self._view_wanted = True  # the page has read the last view: the trainer draws a new one
        self._reset_counters()

    _UNSHARED = ("lock", "_waiting_lock", "_thread", "_stop", "_thread_lock")

    def __getstate__(self) -> dict:
        """The lab as data (networks, optimizers, counters, settings), for moving it to the
        trainer process (:mod:`unsup.recipes.labhost`) and back; a playing lab is paused first
        by its owner. Locks and the trainer thread are not moved."""
        state = {k: v for k, v in self.__dict__.items() if k not in self._UNSHARED}
        state["_rate_marks"] = collections.deque()
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.lock = threading.RLock()
        self._waiting_lock = threading.Lock()
        self._thread_lock = threading.Lock()
        self._thread = None
        self._stop = threading.Event()

    @classmethod
    def from_model(cls, model: G.Toy2DGAN, data: toy2d.Mixture2D) -> "Lab2D":
        """A lab that continues a copy of ``model`` (its weights, step and settings; fresh
        optimizers) on ``data``."""
        lab = cls(data, **dataclasses.asdict(model.config))
        lab.model.load_state_dict(model.state_dict())
        lab.model.step_ = int(model.step_)
        return lab

    def _reset_counters(self) -> None:
        self.d_updates = 0
        self.g_updates = 0
        self.history: list[dict[str, float]] = []
        self.train_seconds = 0.0
        self.trained = 0
        self.last_rate: float | None = None
        self._rate_marks: collections.deque = collections.deque()

    @contextlib.contextmanager
    def _locked(self):
        """The lab's lock for a page call: the trainer steps aside between two chunks. The
        call computes with one torch thread (restored after): this small network gains nothing
        from more, and on a busy machine a second OpenMP thread waiting for a core made one
        step take seconds instead of milliseconds."""
        with self._waiting_lock:
            self._waiting += 1
        try:
            self.lock.acquire()
        finally:
            with self._waiting_lock:
                self._waiting -= 1
        threads = torch.get_num_threads()
        try:
            if threads != 1:
                torch.set_num_threads(1)
            yield
        finally:
            if threads != 1:
                torch.set_num_threads(threads)
            self.lock.release()

    @property
    def step(self) -> int:
        return int(self.model.step_)

    def _version(self) -> tuple:
        return (id(self.model), self.step, self.d_updates, self.g_updates, self.config)

    def apply(self, **settings) -> bool:
        """Change settings; returns True when the networks had to be rebuilt (training restarts
        from step 0). Raises ValueError, naming the setting, when a value is not usable."""
        with self._locked():
            changed = self._apply(**settings)
        return changed

    def _apply(self, **settings) -> bool:
        unknown = set(settings) - set(LIVE_FIELDS) - set(ARCH_FIELDS)
        if unknown:
            raise ValueError(f"unknown lab setting(s): {', '.join(sorted(unknown))}")
        new = dataclasses.replace(self.config, **settings)
        old = self.config
        if new == old:
            return False
        G._check(new)
        if new.batch_size < new.pack:
            raise ValueError(f"batch size ({new.batch_size}) must be at least the packing "
                             f"({new.pack})")
        self.error = None  # new settings: the trainer may try again
        rebuild = (any(getattr(new, f) != getattr(old, f) for f in ARCH_FIELDS)
                   or (new.loss == "began") != (old.loss == "began"))
        if rebuild:
            model = G.Toy2DGAN(new)  # raises ValueError with the reason
            self.model, self.config = model, new
            if new.n_latent != self.z_view.shape[1]:
                self.z_view = torch.randn(self.N_VIEW, new.n_latent,
                                          generator=torch.Generator().manual_seed(self.VIEW_SEED))
            self._reset_counters()
            return True
        self.model.reconfigure(new)  # the model's own public method: nothing private here
        self.config = new
        return False

    def train(self, n: int) -> dict[str, float]:
        """n training steps (``d_steps`` D updates, then ``g_steps`` G updates, each). Raises
        :class:`unsup.train.DivergedError` when a loss stops being finite."""
        with self._locked():
            return self._train(n)

    def _train(self, n: int) -> dict[str, float]:
        from unsup.train import fit

        t0 = time.perf_counter()
        with torch.enable_grad():  # a page thread may have turned gradients off
            res = fit(self.model, self.data, steps=int(n), device="cpu", log_every=max(1, int(n)))
        dt = time.perf_counter() - t0
        self.train_seconds += dt
        self.trained += int(n)
        self.last_rate = n / dt if dt > 0 else None
        self.d_updates += n * self.config.d_steps
        self.g_updates += n * self.config.g_steps
        self.history += res.history
        del self.history[:-400]
        return res.history[-1] if res.history else {}

    def _batch(self) -> torch.Tensor:
        from unsup.train import batch_indices, step_seed

        c = self.config
        k = self.d_updates + self.g_updates
        self.model.rng.manual_seed(step_seed(c.seed, self.step) + 104_729 * (k + 1))
        return self.data[batch_indices(len(self.data), c.batch_size, self.step + k, c.seed)]

    def d_step(self) -> dict[str, float]:
        """One discriminator update (G unchanged)."""
        with self._locked():
            self.model.optimizers()
            with torch.enable_grad():
                out = self.model.d_update(self._batch())
            self.d_updates += 1
            return out

    def g_step(self) -> dict[str, float]:
        """One generator update (D unchanged)."""
        with self._locked():
            self.model.optimizers()
            self._batch()  # reseed the in-step noise
            with torch.enable_grad():
                out = self.model.g_update(self.config.batch_size)
            self.g_updates += 1
            return out

    @property
    def steps_per_second(self) -> float | None:
        """Measured training speed: steps per wall-clock second over the last
        :attr:`RATE_WINDOW_S` of playing (waits for the page included); when not playing, the
        speed of the last ``train`` call."""
        marks = self._rate_marks
        if self.playing and len(marks) >= 2 and marks[-1][0] > marks[0][0]:
            return (marks[-1][1] - marks[0][1]) / (marks[-1][0] - marks[0][0])
        return self.last_rate

    # -- the background trainer -------------------------------------------------------------
    @property
    def playing(self) -> bool:
        """Whether the background trainer is running."""
        t = self._thread
        return t is not None and t.is_alive()

    def play(self) -> bool:
        """Train in a background thread until :meth:`pause` (started if it is not running);
        each call is also the page's heartbeat. Returns False, without starting, while
        :attr:`error` says why the last run stopped (until the settings change)."""
        self._polled = time.monotonic()
        if self.error is not None:
            return False
        with self._thread_lock:
            if not self.playing:
                self._stop = threading.Event()
                self._rate_marks.clear()
                self._thread = threading.Thread(target=self._run, args=(self._stop,),
                                                daemon=True, name="gan-lab-trainer")
                _PLAYING.add(self)
                self._thread.start()
        return True

    def pause(self, timeout: float = 5.0) -> None:
        """Stop the background trainer (after its current chunk) and wait for it."""
        with self._thread_lock:
            t, self._thread = self._thread, None
            self._stop.set()
        if t is not None and t is not threading.current_thread():
            t.join(timeout)

    def _run(self, stop: threading.Event) -> None:
        threads = torch.get_num_threads()
        _lab_thread_setup()
        try:
            self._train_loop(stop)
        finally:
            torch.set_num_threads(threads)  # new threads' default, as it was

    def _train_loop(self, stop: threading.Event) -> None:
        from unsup.train import DivergedError

        n = 1
        while not stop.is_set() and time.monotonic() - self._polled <= self.HEARTBEAT_S:
            while self._waiting and not stop.is_set():
                time.sleep(0.0005)  # a page call is waiting: let it in first
            with self.lock:
                if stop.is_set():
                    break
                t0 = time.perf_counter()
                try:
                    self._train(n)
                except DivergedError as exc:
                    self.error = str(exc)
                    break
                except Exception as exc:  # noqa: BLE001 - reported on the page, not lost
                    self.error = f"training stopped: {type(exc).__name__}: {exc}"
                    break
                dt = time.perf_counter() - t0
                now = time.monotonic()
                self._rate_marks.append((now, self.trained))
                while len(self._rate_marks) > 2 and now - self._rate_marks[1][0] > \
                        self.RATE_WINDOW_S:
                    self._rate_marks.popleft()
                try:  # the next frame, drawn here (not on the page thread)
                    if self._view_wanted and now - self._viewed_at >= self.VIEW_EVERY_S:
                        self._viewed_at, self._view_wanted = now, False
                        self._cached_view()
                    if now - self._stats_at >= self.STATS_EVERY_S:
                        self._stats_at = now
                        self._cached_stats()
                except Exception as exc:  # noqa: BLE001 - reported on the page, not lost
                    self.error = f"drawing stopped: {type(exc).__name__}: {exc}"
                    break
            ran = n
            # size the next chunk to about CHUNK_S (between 1 and 500 steps)
            n = int(max(1, min(500, round(n * min(4.0, self.CHUNK_S / max(dt, 1e-4))))))
            limit = self.speed_limit
            if limit:  # at most `limit` steps a second: chunks of <= 0.1 s of steps, then wait
                n = max(1, min(n, int(limit * 0.1)))
                stop.wait(max(0.0, ran / limit - dt))

    # -- what the page draws ------------------------------------------------------------------
    def view(self, grid: int = 48, lines: int = 11, line_points: int = 40,
             n_arrows: int = 80) -> dict[str, Any]:
        """What the canvas draws: real and generated points (fixed noise, so points move
        smoothly between frames), D's verdict on a grid x grid lattice, the generator's image of
        a lines x lines grid of its input plane (z in [-2.5, 2.5]², other dims 0), and
        generated points with G's gradient (-∂L_G/∂x̂). Kept until the model changes."""
        with self._locked():
            return self._cached_view(grid, lines, line_points, n_arrows)

    VIEW_ARGS = (48, 11, 40, 80)
    """The canvas's view: grid, lines, line_points, n_arrows of :meth:`view`."""

    def _cached_view(self, *args: int) -> dict[str, Any]:
        grid, lines, line_points, n_arrows = args or self.VIEW_ARGS
        key = (self._version(), grid, lines, line_points, n_arrows)
        if self._view_cache is None or self._view_cache[0] != key:
            view = self._view(grid, lines, line_points, n_arrows)
            view["step"] = self.step
            self._view_cache = (key, view)
        return self._view_cache[1]

    def _view(self, grid: int, lines: int, line_points: int, n_arrows: int) -> dict[str, Any]:
        m = self.model
        x0, x1, y0, y1 = self.extent
        with torch.no_grad():
            fake = decode(m, self.z_view).numpy()
        xx, yy = np.meshgrid(np.linspace(x0, x1, grid), np.linspace(y0, y1, grid))
        pts = torch.from_numpy(np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float32))
        heat = m.d_output(pts).numpy().reshape(grid, grid)
        u = torch.linspace(-2.5, 2.5, line_points)
        v = torch.linspace(-2.5, 2.5, lines)
        zs = torch.zeros(2 * lines, line_points, m.config.n_latent)
        for i, c in enumerate(v):
            zs[i, :, 0], zs[i, :, 1] = u, c
            zs[lines + i, :, 0], zs[lines + i, :, 1] = c, u
        manifold = decode(m, zs.view(-1, m.config.n_latent)).numpy().reshape(
            2 * lines, line_points, 2)
        with torch.enable_grad():
            p, g = m.g_gradients(self.z_view[:n_arrows])
        label, rng = heat_meaning(self.config.loss)
        return {"real": self.real_view, "fake": fake, "heat": heat, "heat_label": label,
                "heat_range": rng, "manifold": manifold, "arrow_points": p.numpy(),
                "arrow_vectors": g.numpy(), "extent": self.extent}

    def stats(self, n: int = M.N_MODE_SAMPLES) -> dict[str, Any]:
        """Modes captured and high-quality share of n fresh samples (see :func:`evaluate_2d`).
        Kept until the model changes."""
        with self._locked():
            return self._cached_stats(n)

    def _cached_stats(self, n: int = M.N_MODE_SAMPLES) -> dict[str, Any]:
        key = (self._version(), n)
        if self._stats_cache is None or self._stats_cache[0] != key:
            self._stats_cache = (key, evaluate_2d(self.model, self.data, n))
        return self._stats_cache[1]

    def snapshot(self) -> dict[str, Any]:
        """One consistent reading for the page (under the lock, between two training chunks):
        the view (``view["step"]``: the step it shows), the mode statistics, the counters, the
        last losses and the speed. While playing it computes nothing: the trainer thread keeps
        the latest view and statistics (:attr:`VIEW_EVERY_S`, :attr:`STATS_EVERY_S`)."""
        with self._locked():
            live = self.playing
            self._view_wanted = True  # no frame is computed that no page reads
            drawn = self._view_cache
            view = (drawn[1] if live and drawn and drawn[0][1:] == self.VIEW_ARGS
                    else self._cached_view())
            stats = (self._stats_cache[1] if live and self._stats_cache
                     else self._cached_stats())
            return {"view": view, "stats": stats, "step": self.step,
                    "d_updates": self.d_updates, "g_updates": self.g_updates,
                    "config": self.config, "losses": dict(self.history[-1]) if self.history
                    else {}, "steps_per_second": self.steps_per_second,
                    "playing": self.playing, "error": self.error}


_PLAYING: "weakref.WeakSet[Lab2D]" = weakref.WeakSet()
"""Labs whose trainer thread was started (stopped when the interpreter exits)."""


@atexit.register
def _pause_every_lab() -> None:
    """Stop the trainer threads before the interpreter goes (a daemon thread killed inside a
    torch call aborts the process)."""
    for lab in list(_PLAYING):
        lab.pause(timeout=2.0)


def _lab_thread_setup() -> None:
    """The lab's trainer thread: one torch thread, and a lower scheduling priority than the
    page's threads (as a training job's, :data:`unsup.jobs.JOB_NICENESS`), so the UI stays
    responsive. Linux schedules threads one by one; elsewhere the priority is left as it is."""
    from unsup.jobs import lower_thread_priority

    torch.set_num_threads(1)
    lower_thread_priority()


# -- train on demand ----------------------------------------------------------------------------
def job_config(kind: str, loss: str, data: str, **overrides) -> dict[str, Any]:
    """The config a train-on-demand run uses: the loss's recipe (images) or the lab defaults
    (2-D), with ``overrides``."""
    LOSS_LABELS[loss]  # KeyError for an unknown loss
    if kind == "gan2d":
        base: dict[str, Any] = {"loss": loss}
        if loss in ("wgan", "wgan-gp"):
            base["d_steps"] = 5
        if loss == "wgan":
            base.update(optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5)
    else:
        base = dict(IMAGE_RECIPES[loss], loss=loss, image_size=image_size_of(data))
    base.update(overrides)
    return base


def estimate_step_seconds(kind: str, data: str, config: dict, n: int = 4) -> float:
    """Seconds per training step of this config, measured now on this machine (a fresh model,
    after 2 warm-up steps; the job's own steps run at about this rate when the cores are as
    busy as now)."""
    from unsup.train import time_steps

    model = make_model(kind, **config)
    if kind == "pggan":  # time the full-size stage, where it spends most steps (an upper bound)
        model.step_ = 10 * model.config.grow_steps
    if kind == "gan2d":
        batch = data_2d("ring", n=max(model.batch_size, 64))[torch.arange(model.batch_size)]
    else:
        s = image_size_of(data)
        batch = torch.rand(model.batch_size, 1, s, s, generator=torch.Generator().manual_seed(0))
    return time_steps(model, lambda i: batch, n=n, warmup=2)


def _density_image(points: np.ndarray, extent, size: int = 96) -> np.ndarray:
    x0, x1, y0, y1 = extent
    h, _, _ = np.histogram2d(points[:, 1], points[:, 0], bins=size, range=[[y0, y1], [x0, x1]])
    img = np.log1p(h)[::-1]
    return (img / img.max() if img.max() > 0 else img).astype(np.float32)


UPLOAD_SIZES = (28, 32)
"""Sides an image GAN can train on uploaded images at (two x2 upsamplings from side/4)."""


def training_spec(*, kind: str = "gan2d", loss: str = "ns", steps: int = 5_000,
                  data: str = "ring", points=None, owner: str = "", resume=None,
                  images: np.ndarray | None = None, data_label: str | None = None,
                  **overrides):
    """A :class:`unsup.jobs.JobSpec` that trains a GAN: a 2-D GAN on the ring, the grid or
    clicked ``points``; an image GAN (DCGAN, progressive GAN, VAE-GAN) on MNIST, the 8×8 digits
    or the user's ``images`` (n, c, s, s) in [0, 1] with s = 28 or 32 (kept with the run; every
    10th is held out), with the loss's recipe and ``overrides`` (e.g. ``pack``, ``width``).
    ``resume``: a user run's weights to continue for ``steps`` more steps."""
    from unsup.recipes import runs

    def check(x: np.ndarray) -> None:
        if kind == "gan2d":
            raise ValueError("uploaded images train an image GAN, not a 2-D GAN")
        if x.ndim != 4 or x.shape[-1] not in UPLOAD_SIZES or x.shape[-2] != x.shape[-1] or \
                x.shape[1] not in (1, 3):
            raise ValueError(f"uploaded images must be (n, 1 or 3, s, s) with s in "
                             f"{UPLOAD_SIZES}; got {tuple(x.shape)}")
        if len(x) < 10:
            raise ValueError(f"a GAN needs at least 10 images to learn from; got {len(x)}")

    prev = runs.resumed(resume)
    if prev is not None:
        kind = prev.card.get("kind", kind)
        if kind == "gan2d" and prev.data.get("name") not in DATA_2D:
            points, data = prev.data.get("means"), "points"
    run = runs.plan(resume, data=data, images=images, label=data_label, check=check)
    data = "points" if data == "points" else run.data
    cfg = run.config or job_config(kind, loss, "mnist" if run.upload else data, **overrides)
    if run.upload and run.resume is None:
        cfg.update(image_size=int(run.images[0].shape[-1]),
                   n_channels=int(run.images[0].shape[1]))
    extra = f", pack {cfg['pack']}" if cfg.get("pack", 1) > 1 else ""
    where = {"points": "clicked points", "upload": data_label or "your images"}.get(data, data)
    x_held, load = None, None
    if kind == "gan2d":
        dataset = data_2d(data, points)
        dcard = dataset.card()
    elif run.upload:
        dataset, x_held, _, dcard = run.split_upload("gan")
    else:
        dataset, dcard = None, image_data_card(data)
        load = functools.partial(image_data, data)

    def preview(model):
        if kind == "gan2d":
            pts = samples(model, 2_000, seed=1).numpy()
            return [_density_image(pts, plane_extent(dataset.means, dataset.sigma))]
        out = samples(model, 16, seed=1).clamp(0, 1)
        return [im[0].numpy() if im.shape[0] == 1 else im.permute(1, 2, 0).numpy()
                for im in out]

    def finish(model, job):
        job.phase("measuring on held-out data")
        if kind == "gan2d":
            return evaluate_2d(model, dataset, seeds=EVAL_SEEDS)
        if x_held is not None:
            return evaluate_upload(model, x_held)
        return evaluate_images(model, n=5_000, data=data)

    return run.spec(title=f"{KIND_LABELS[kind]} {LOSS_LABELS[loss]}{extra} on {where}, "
                          f"{steps:,} steps",
                    model=lambda x: make_model(kind, **cfg), data=dataset, load=load,
                    reading=f"reading the {data} images", data_card=dcard, steps=steps,
                    page="gan", owner=owner, checkpoint_every=max(200, int(steps) // 5),
                    preview=preview, finish=finish,
                    again=lambda path, more: training_spec(steps=int(more), resume=path,
                                                           owner=owner))


def evaluate_upload(model, x_held: torch.Tensor, n: int = 1_000,
                    seeds=EVAL_SEEDS) -> dict[str, Any]:
    """A GAN trained on the user's images, measured on their held-out tenth: the Fréchet
    distance between ``n`` samples and the held-out images in the digit classifier's feature
    space (grey, 28 px; meaningful as a relative number for any images), and the sharpness of
    the samples beside that of the held-out images; the mean over the noise seeds ``seeds``
    (each seed's value in ``per_seed``)."""
    fh, _ = _features(x_held)
    runs = []
    for seed in seeds:
        x = samples(model, n, int(seed)).clamp(0, 1)
        fs, _ = _features(x)
        runs.append({"fd_heldout": round(M.frechet_distance(fs, fh), 4),
                     "sharpness": round(sharpness(x), 4),
                     "sharpness_heldout": round(sharpness(x_held), 4),
                     "n_heldout": int(len(x_held)),
                     "heldout": f"every 10th of your images ({len(x_held)})"})
    return S.combine(runs, seeds, ("fd_heldout", "sharpness"),
                     digits={"fd_heldout": 4, "sharpness": 4})


# -- home card ----------------------------------------------------------------------------------
def thumbnail():
    """The home card: samples of the shipped DCGAN (a sample grid), else the ring's samples."""
    from PIL import Image

    from unsup import checkpoints, paths
    from unsup.viz.images import grid, to_pil

    path = paths.SHIPPED_DIR / "dcgan-mnist-ns"
    if checkpoints.weights_path(path).exists():
        model = checkpoints.load(path)
        imgs = samples(model, 40, seed=7)
        tile = grid(imgs, 8, pad=1).convert("RGB")
        return tile.resize((320, 200), Image.Resampling.LANCZOS)
    model = checkpoints.load(paths.SHIPPED_DIR / "gan-ring-pac2")
    pts = samples(model, 5_000, seed=7).numpy()
    img = _density_image(pts, (-1.6, 1.6, -1.0, 1.0), size=200)
    return to_pil(1.0 - img).convert("RGB").resize((320, 200))


FAMILY = Family(
    name="gan",
    label="GANs (2-D lab and digits)",
    models=tuple(MODEL_CLASSES.values()),
    kind_labels=KIND_LABELS,
    presets=PRESETS,
    build=build,
    evaluate=evaluate,
    data=DATA,
    page=PageInfo("gan", "GAN sample grids", ":material/casino:", "app_pages/gan.py",
                  "Counterfeiter against police: the lecture's seven GAN losses live in a 2-D "
                  "lab, mode collapse measured, and digits from a DCGAN.",
                  "unsup.recipes.gan:thumbnail", order=40),
    warm=("unsup.recipes.gan", "unsup.ui.gan", "unsup.viz.gan"),
    headline=("modes", "hq", "fd", "fd_ratio", "classes_covered", "confident_share"),
    bench=("bench_gan.py",),
)

__all__ = ["FAMILY", "Lab2D", "LOSSES", "PRESETS", "evaluate", "training_spec"]
