"""Normalizing flows (issue 23): the 2-D flows of the "Normalizing flows" page, their presets,
their held-out evaluation, the page's train-on-demand job and the home card's picture.

A flow's density is exact, so on the GAN lab's point sets — Gaussian mixtures whose density is
known — its held-out log-likelihood can be set against the true density's on the same points:
the gap is the KL divergence KL(p ‖ q) estimated on fresh points (nats per point, 0 = perfect).
Beside it, the GAN lab's protocol on samples (modes captured, share of high-quality samples),
so a flow and a GAN are compared on the same numbers.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from unsup.data import toy2d
from unsup.families import Family, PageInfo, Preset
from unsup.metrics import gan as M
from unsup.metrics import seeds as S
from unsup.models.flow2d import Flow2D, Flow2DConfig, mixture_log_prob
from unsup.models.dlvae import DLVAE
from unsup.models.glow import Glow, GlowConfig
from unsup.recipes import bounds as B

KIND = "flow2d"
GLOW = "glow"
KIND_LABELS = {KIND: "2-D flow (neural spline flow)", GLOW: "Glow (digits)",
               B.KIND: "VAE for 8-bit digits (likelihood bounds)"}
DATA = {"ring": "Ring of 8 Gaussians (σ 0.01)", "grid": "5×5 grid of Gaussians (σ 0.05)",
        "mnist": "MNIST digits (8-bit grey, 28×28)", "moons": "Two moons (100 Gaussians along two arcs, σ 0.1)"}
EVAL_SEEDS = (0, 1, 2)
"""The card's sampled numbers are means over these seeds (fresh held-out points and samples)."""
N_HELDOUT = 5_000
"""Fresh points of the true mixture whose log-likelihood is measured (per seed)."""
HELDOUT_SEED = 10_000
"""Held-out points are drawn with seed HELDOUT_SEED + the evaluation seed (the training set is
drawn with the data set's own seed, 0)."""
SAMPLED = ("ll", "ll_true", "gap", "modes", "hq", "modes_any")
DIGITS = {"ll": 4, "ll_true": 4, "gap": 4, "modes": 2, "modes_any": 2, "hq": 4}
RECIPE = dict(transforms=6, hidden=64, bins=16, lr=1e-3, batch_size=512)
"""The shipped flows' settings (measured here: the ring's gap fell to 0.14 nats in 1,000
steps, the grid's to 0.18 in 1,500)."""
PRESETS = (
    Preset("flow-ring", "Spline flow on the ring", "A neural spline flow (6 rational-quadratic "
           "spline transforms, 2 × 64 hidden units, 16 bins) fitted by maximum likelihood to the "
           "ring of 8 Gaussians (σ 0.01), the GAN lab's mode-collapse benchmark.", KIND, 3_000,
           dict(RECIPE), "ring", checkpoint_every=1_000),
    Preset("flow-grid", "Spline flow on the grid", "The same flow on the 5×5 grid of Gaussians "
           "(σ 0.05).", KIND, 3_000, dict(RECIPE), "grid", checkpoint_every=1_000),
    Preset("flow-moons", "Spline flow on two moons", "The same flow on two moons (scikit-learn's "
           "arcs, as 100 Gaussians of σ 0.1 along them: a known density).", KIND, 3_000,
           dict(RECIPE), "moons", checkpoint_every=1_000),
)
GLOW_RECIPE = dict(image_size=28, n_levels=2, n_steps=8, hidden=64, lr=2e-3, warmup=50,
                   decay_start=6_000, decay_end=12_000, batch_size=64, logit_alpha=1e-4,
                   scale_floor=0.1)
"""Glow on the digits: two scales of 8 steps, 64 hidden channels (155,200 parameters); lr 2e-3
with 50 warm-up steps; logit input (GlowConfig.logit_alpha 1e-4, the default). Held-out bits/dim
measured here (1 thread, 0.31 s a step): 2.86 at step 0 (ActNorm initialised), 1.53 / 1.41 /
1.36 / 1.30 after 150 / 300 / 600 / 900 steps; with the input only centred (openai/glow's) it
was 3.12 / 2.76 / 2.64 after 200 / 300 / 400 steps. 6,000 steps at a constant lr (the first
shipped Glow) ended at 1.208; the learning rate now falls to 0 along a half cosine over steps
6,000-12,000. The coupling scale is kept above 0.1 (``scale_floor``): with the plain sigmoid the
second shipped Glow (1.170 bits/dim) had scales of 1e-3 at a few pixels, and 12 of 500 held-out
digits came back from float32 with a pixel off by more than 1e-4 (up to 0.04); with the floor,
1.168 bits/dim and 499 of 500 (worst 1.006e-4); with the coupling's inverse rounded once
(:meth:`unsup.models.glow.AffineCoupling.reverse`), all 500 (worst 8.6e-5)."""
GLOW_PRESET = Preset(
    "glow-mnist", "Glow on MNIST digits", "Glow (Kingma & Dhariwal 2018): multi-scale (2 levels "
    "of 8 steps of actnorm, invertible 1×1 convolution and affine coupling, its scale kept "
    "above 0.1), on the 4,500 "
    "training digits at 8 bits, dequantized with uniform noise; exact bits/dim on the 500 held-out "
    "digits (input through a logit, as RealNVP). Batches of 64, Adam 2e-3, falling to 0 along a "
    "half cosine over the second half of the 12,000 steps.",
    GLOW, 12_000, dict(GLOW_RECIPE), "mnist", checkpoint_every=1_000)
PRESETS = PRESETS + (GLOW_PRESET,) + B.PRESETS
GLOW_SEEDS = (0, 1, 2)
"""Dequantization-noise seeds of the held-out bits/dim, and sample seeds of the digit check."""
N_GLOW_SAMPLES = 1_000
CONFIDENT = 0.9
"""A sample is "readable" when the digit classifier gives its class at least this probability
(the issue's rule)."""
COMPARE = {"ring": "gan-ring-pac2", "grid": "gan-grid-pac2", "moons": "gan-moons-pac2"}
"""The shipped GAN of the GAN lab on the same point set, set beside each flow."""


# -- model and data -----------------------------------------------------------------------------
def data_2d(name: str, points=None, n: int = toy2d.N_TRAIN) -> toy2d.Mixture2D:
    from unsup.recipes.gan import data_2d as gan_data

    return gan_data(name, points, n=n)


def make_model(data: toy2d.Mixture2D, **config) -> Flow2D:
    """A flow for ``data`` (its standardisation measured on the training points)."""
    names = {f.name for f in dataclasses.fields(Flow2DConfig)}
    x = data.points
    cfg = {k: v for k, v in config.items() if k in names}
    cfg.update(center=[round(float(v), 6) for v in x.mean(0)],
               spread=[round(float(v), 6) for v in x.std(0)])
    return Flow2D(Flow2DConfig(**cfg))


def build(preset: Preset):
    if preset.kind == B.KIND:
        return B.build(preset)
    if preset.kind == GLOW:
        x = glow_train_images()
        return Glow(GlowConfig(**preset.config)), x, glow_data_card(x)
    data = data_2d(preset.data)
    return make_model(data, **preset.config), data, data.card()


def glow_train_images() -> torch.Tensor:
    """The 4,500 MNIST training digits, 8-bit grey in [0, 1] (a flow models the pixel values)."""
    from unsup.data.images import grey_digits

    return grey_digits("train")


def glow_test_images() -> torch.Tensor:
    """The 500 held-out MNIST digits, 8-bit grey in [0, 1]."""
    from unsup.data.images import grey_digits

    return grey_digits("test")


def glow_data_card(x: torch.Tensor) -> dict[str, Any]:
    from unsup.data.images import grey_digits_card

    return grey_digits_card(x)


def evaluate_glow(model: Glow, seeds=GLOW_SEEDS, n: int = N_GLOW_SAMPLES,
                  check=lambda: None) -> dict[str, Any]:
    """Held-out numbers of a Glow, recomputed: exact bits/dim of the 500 held-out digits
    (``bpd``, lower is better; one dequantization-noise draw per seed), and of ``n`` samples
    at T = 0.7 the share the digit classifier reads with probability ≥ 0.9 (``readable``,
    higher is better) and the digit classes that appear (``classes_covered``). Means over
    ``seeds`` with ``per_seed``."""
    from unsup.recipes.gan import digit_classifier

    x = glow_test_images()
    clf = digit_classifier()
    runs = []
    for s in seeds:
        check()  # a job's Stop, between the pieces
        with torch.no_grad():
            bpd = float(model.bits_per_dim(x, noise_seed=int(s)).double().mean())
            check()
            imgs = model.sample(n, temperature=0.7, seed=int(s))
        _, probs = M.classifier_features(clf, imgs)
        labels = probs.argmax(1)
        runs.append({"bpd": round(bpd, 4),
                     "readable": round(float((probs.max(1) >= CONFIDENT).mean()), 4),
                     "classes_covered": M.classes_covered(labels), "n_samples": n,
                     "n_heldout": int(len(x)), "temperature": 0.7})
    return S.combine(runs, [int(s) for s in seeds], ("bpd", "readable", "classes_covered"),
                     digits={"bpd": 4, "readable": 4, "classes_covered": 2})


def mixture_of(model) -> toy2d.Mixture2D | None:
    """The mixture a 2-D model's card says it was trained on (the GAN lab's reader)."""
    from unsup.recipes.gan import mixture_of as read

    return read(model)


# -- held-out evaluation -------------------------------------------------------------------------
def _evaluate_once(model: Flow2D, data: toy2d.Mixture2D, seed: int) -> dict[str, Any]:
    held = data.sample(N_HELDOUT, seed=HELDOUT_SEED + seed)
    with torch.no_grad():
        ll = float(model.log_prob(torch.from_numpy(held)).double().mean())
    ll_true = float(mixture_log_prob(held, data.means, data.sigma).mean())
    x = model.sample(M.N_MODE_SAMPLES, seed=seed).numpy()
    s = M.mode_stats(x, data.means, data.sigma)
    papers = M.mode_stats(x, data.means, data.sigma, min_count=1)
    return {"ll": round(ll, 4), "ll_true": round(ll_true, 4), "gap": round(ll_true - ll, 4),
            "modes": s["modes"], "n_modes": s["n_modes"], "hq": round(s["hq"], 4),
            "modes_any": papers["modes"], "n_samples": M.N_MODE_SAMPLES, "n_heldout": N_HELDOUT,
            "extra_metrics": {"mode_counts": s["counts"]}}


def evaluate(model: Flow2D, data: toy2d.Mixture2D | None = None, seeds=EVAL_SEEDS
             ) -> dict[str, Any]:
    """Held-out numbers, recomputed: the mean log-likelihood (nats per point) of N_HELDOUT fresh
    points of the true mixture under the flow (``ll``, higher is better) and under the true
    density (``ll_true``), their gap (``gap`` = KL(p ‖ q) estimated, ≥ 0 up to sampling error,
    lower is better), and the GAN lab's protocol on 2,500 samples (``modes`` with ≥ 20
    high-quality samples, ``modes_any`` with ≥ 1, ``hq`` the share within 3σ of a mode). Each a
    mean over ``seeds`` with ``per_seed``."""
    if isinstance(model, Glow):
        return evaluate_glow(model)
    if isinstance(model, DLVAE):
        return B.evaluate(model)
    data = data or mixture_of(model) or toy2d.ring(n=16)
    model.eval()
    runs = [_evaluate_once(model, data, int(s)) for s in seeds]
    return S.combine(runs, [int(s) for s in seeds], SAMPLED, digits=DIGITS,
                     extra_keys=("mode_counts",))


# -- what the page draws ---------------------------------------------------------------------------
def extent_of(data: toy2d.Mixture2D) -> tuple[float, float, float, float]:
    from unsup.recipes.gan import plane_extent

    return plane_extent(data.means, data.sigma)


def base_grid(lines: int = 11, points: int = 60, half: float = 2.5) -> torch.Tensor:
    """A lattice of lines in the base space: ``lines`` horizontal and as many vertical ones over
    [-half, half]², ``points`` points each, (2·lines·points, 2)."""
    u = torch.linspace(-half, half, points)
    v = torch.linspace(-half, half, lines)
    rows = [torch.stack([u, torch.full_like(u, float(c))], 1) for c in v]
    cols = [torch.stack([torch.full_like(u, float(c)), u], 1) for c in v]
    return torch.cat(rows + cols)


def view(model: Flow2D, data: toy2d.Mixture2D, *, grid: int = 96, n_samples: int = 1_000,
         lines: int = 11, line_points: int = 60) -> dict[str, Any]:
    """What the page draws of a flow: its density on a grid x grid lattice, n samples (seed 0),
    the base lattice carried back through the flow one transform at a time (``stages``: arrays
    (lines·2, line_points, 2), from the base to the data), and the plane's extent."""
    ext = extent_of(data)
    model.eval()
    dens = model.density_grid(ext, grid)
    samples = model.sample(n_samples, seed=0).numpy()
    z = base_grid(lines, line_points)
    stages = [s.numpy().reshape(2 * lines, line_points, 2) for s in model.layers(z)]
    return {"density": dens, "samples": samples, "stages": stages, "extent": ext,
            "real": data.sample(n_samples, seed=1)}


# -- what the Glow section shows ---------------------------------------------------------------------
def glow_samples(model: Glow, n: int, temperature: float, seed: int) -> torch.Tensor:
    """n samples (n, 1, 28, 28) in [0, 1] at ``temperature`` (latents ~ N(0, T²I))."""
    return model.sample(n, temperature=float(temperature), seed=int(seed))


def glow_roundtrip(model: Glow, x: torch.Tensor) -> dict[str, Any]:
    """Invertibility made visible: an image (1, 1, s, s) in [0, 1] encoded to z and decoded
    back; the largest absolute pixel difference (``max_error``) and the image's exact bits/dim
    (one dequantization-noise draw, seed 0)."""
    with torch.no_grad():
        eps, _ = model.encode(x)
        back = model.decode(eps)
        bpd = float(model.bits_per_dim(x, noise_seed=0)[0])
    return {"back": back, "max_error": float((back - x).abs().max()), "bpd": bpd,
            "z_norm": float(model.flatten(eps).norm())}


def glow_interpolation(model: Glow, a: torch.Tensor, b: torch.Tensor, n: int = 8
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """(n images (n, 1, s, s) in [0, 1] decoded along the straight line between the latents of
    a and b (1, 1, s, s), finite (n,) bool). A flow is invertible in exact arithmetic, but its
    inverse can explode off the data (a coupling divides by a scale near 0; Behrmann et al.
    2021, "Understanding and mitigating exploding inverses"): an image whose decoding is not
    finite is returned black and flagged (measured: held-out digits #1 → #3 under the first
    shipped Glow, 2 of 8 steps, in float64 too)."""
    with torch.no_grad():
        za = model.flatten(model.encode(a)[0])
        zb = model.flatten(model.encode(b)[0])
        t = torch.linspace(0, 1, n)[:, None]
        y = model.decode(model.unflatten((1 - t) * za + t * zb))
        finite = torch.isfinite(y).flatten(1).all(1)
        return torch.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0).clamp(0, 1), finite


def bounds_sentence(flow_bpd: float, elbo_bpd: float, iwae_bpd: float, k=None) -> str:
    """One sentence computed from the flow's exact held-out bits/dim and a VAE's ELBO and IWAE
    bounds on the same digits (a bound's bits/dim are an upper bound on the VAE's true ones)."""
    ks = f"k = {int(k):,}" if k else "k samples"
    tight = elbo_bpd - iwae_bpd
    if flow_bpd < iwae_bpd:
        head = (f"Glow's exact {flow_bpd:.3f} bits/dim is {iwae_bpd - flow_bpd:.3f} below the "
                f"VAE's tightest bound ({iwae_bpd:.3f}): on what can be measured the flow wins, "
                f"though the VAE's true value, somewhere at or below its bound, cannot be "
                "computed")
    else:
        head = (f"The VAE's IWAE bound ({iwae_bpd:.3f}) is already {flow_bpd - iwae_bpd:.3f} "
                f"below Glow's exact {flow_bpd:.3f} bits/dim: even bounded, the VAE gives the "
                "held-out digits the higher likelihood")
    return (f"{head}. Importance weighting ({ks}) tightened the VAE's ELBO by {tight:.3f} "
            "bits/dim: a part of the gap a bound hides, which a flow does not have.")


# -- trained live on the page ----------------------------------------------------------------------
LIVE_SETTINGS = ("transforms", "hidden", "bins", "lr", "batch_size")
N_PROBE = 2_000
"""Fresh held-out points whose mean log-likelihood the live view tracks (seed PROBE_SEED)."""
PROBE_SEED = 20_000


def live_fit(data: str = "ring", points=None, **settings):
    """A :class:`unsup.recipes.live.LiveFit` of a new flow on the ring, the grid or clicked
    ``points`` (``settings``: any of :data:`LIVE_SETTINGS`, default the shipped recipe). Its
    view is the density on a 56 x 56 lattice and 400 samples; its probe the mean
    log-likelihood of N_PROBE fresh points under the flow and under the true density."""
    from unsup.recipes.live import LiveFit

    unknown = set(settings) - set(LIVE_SETTINGS)
    if unknown:
        raise ValueError(f"unknown flow setting(s): {', '.join(sorted(unknown))}")
    dataset = data_2d(data, points, n=20_000)
    model = make_model(dataset, **{**RECIPE, **settings})
    ext = extent_of(dataset)
    held = dataset.sample(N_PROBE, seed=PROBE_SEED)
    held_t = torch.from_numpy(held)
    ll_true = float(mixture_log_prob(held, dataset.means, dataset.sigma).mean())

    def view(m):
        return {"density": m.density_grid(ext, 56), "samples": m.sample(400, seed=0).numpy(),
                "extent": ext}

    def probe(m):
        return {"ll": float(m.log_prob(held_t).double().mean()), "ll_true": ll_true}

    live = LiveFit(model, dataset, view, probe)
    live.settings = {**RECIPE, **settings}
    return live


# -- train on demand -------------------------------------------------------------------------------
def training_spec(*, data: str = "ring", points=None, steps: int = 2_000, owner: str = "",
                  resume=None, **overrides):
    """A job that fits a 2-D flow to the ring, the grid or clicked ``points``, with the
    shipped recipe and ``overrides``; ``resume``: a user run's weights to continue."""
    from unsup.recipes import runs

    prev = runs.resumed(resume)
    if prev is not None and prev.data.get("name") not in DATA:
        data, points = "points", prev.data.get("means")
    run = runs.plan(resume, data=data)
    name = "points" if data == "points" else run.data
    dataset = data_2d(name, points)
    cfg = {**RECIPE, **overrides}
    where = {"points": "clicked points"}.get(name, name)

    def preview(model):
        from unsup.viz.flows import density_image

        v = view(model, dataset, grid=64, n_samples=500)
        return [density_image(v["density"])]

    def finish(model, job):
        job.phase("measuring on held-out points")
        return evaluate(model, dataset)

    return run.spec(title=f"Spline flow on {where}, {int(steps):,} steps",
                    model=lambda x: make_model(x, **cfg), data=dataset,
                    data_card=dataset.card(), steps=steps, page="flows", owner=owner,
                    checkpoint_every=max(200, int(steps) // 5), preview=preview, finish=finish,
                    again=lambda path, more: training_spec(steps=int(more), resume=path,
                                                           owner=owner))


GLOW_JOB_STEPS = 1_000
"""The Train form's default for a Glow: about 5 minutes alone on 2 cores (0.31 s a step on one
thread); the shipped recipe was at 1.41 held-out bits/dim after 300 steps and 1.30 after 900."""


def glow_training_spec(*, steps: int = GLOW_JOB_STEPS, images: np.ndarray | None = None,
                       data_label: str | None = None, owner: str = "", resume=None,
                       **overrides):
    """A job that trains a Glow of the shipped recipe (and ``overrides``) on the MNIST training
    digits, or on the user's ``images`` (n, c, 28, 28) in [0, 1] (kept with the run; every 10th
    held out); ``resume``: a user run's weights to continue. Held-out bits/dim at the end (and,
    on the digits, the readable share of 1,000 samples at T = 0.7, one seed)."""
    from unsup.recipes import runs

    run = runs.plan(resume, data="mnist", images=images, label=data_label,
                    check=_check_glow_images)
    if run.upload:
        x, x_held, label, dcard = run.split_upload("glow")
    else:
        x, x_held = glow_train_images(), None
        label, dcard = "the MNIST digits", glow_data_card(x)
    cfg = {**GLOW_RECIPE, **(run.config or {}), **overrides,
           "n_channels": int(x.shape[1]), "image_size": int(x.shape[-1])}
    cfg = {k: v for k, v in cfg.items() if k in {f.name for f in dataclasses.fields(GlowConfig)}}
    cfg.update(decay_start=0, decay_end=0)  # a job keeps its learning rate (Resume adds steps)

    def preview(model):
        from unsup.viz.images import grid

        return [np.asarray(grid(model.sample(16, temperature=0.7, seed=0), 8, pad=1),
                           dtype=np.float32) / 255]

    def finish(model, job):
        if x_held is None:
            job.phase("measuring on the 500 held-out digits (bits/dim; 1,000 samples read by "
                      "the digit classifier)")
            return evaluate_glow(model, seeds=(0,), check=job.check)
        job.phase(f"measuring bits/dim on your held-out images ({len(x_held)})")
        bpd = float(model.bits_per_dim(x_held, noise_seed=0).double().mean())
        return {"bpd": round(bpd, 4), "n_heldout": int(len(x_held)),
                "heldout": f"every 10th of your images ({len(x_held)})"}

    return run.spec(title=f"Glow on {label}, {int(steps):,} steps",
                    model=lambda data: Glow(GlowConfig(**cfg)), data=x, data_card=dcard,
                    steps=steps, page="flows", owner=owner,
                    checkpoint_every=max(100, int(steps) // 5), preview=preview, finish=finish,
                    again=lambda path, more: glow_training_spec(steps=int(more), resume=path,
                                                                owner=owner))


def _check_glow_images(images) -> None:
    if images.ndim != 4 or images.shape[-1] % 4 or images.shape[-2] != images.shape[-1]:
        raise ValueError("A Glow of this page takes square images whose side divides by 4 "
                         f"(28×28); these are {tuple(images.shape[1:])}.")
    if len(images) < 20:
        raise ValueError(f"Glow needs at least 20 images to learn from and to hold some out; "
                         f"{len(images)} given.")


def estimate_glow_step_seconds(n: int = 3) -> float:
    """Seconds per training step of the page's Glow job, measured now (real steps)."""
    from unsup.train import time_steps

    x = glow_train_images()[:256]
    model = Glow(GlowConfig(**{**GLOW_RECIPE, "decay_start": 0, "decay_end": 0}))
    bs = model.batch_size
    return time_steps(model, lambda i: x[torch.arange(bs * i, bs * (i + 1)) % len(x)], n=n,
                      warmup=1)


def estimate_step_seconds(config: dict, data: str = "ring", n: int = 5) -> float:
    """Seconds per training step of a flow with ``config``, measured now (real steps)."""
    from unsup.train import time_steps

    ds = data_2d(data, n=4_096) if data in DATA else toy2d.ring(n=4_096)
    model = make_model(ds, **config)
    bs = model.batch_size
    return time_steps(model, lambda i: ds[torch.arange(bs * i, bs * (i + 1)) % len(ds)], n=n,
                      warmup=2)


# -- home card -------------------------------------------------------------------------------------
def thumbnail():
    """The home card: the shipped ring flow's density (or, before it is trained, the true
    ring's)."""
    from unsup import checkpoints, paths
    from unsup.viz.flows import density_image

    data = toy2d.ring(n=16)
    path = paths.SHIPPED_DIR / "flow-ring"
    if checkpoints.weights_path(path).exists():
        model = checkpoints.load(path)
        dens = model.density_grid(extent_of(data), 120)
    else:
        x0, x1, y0, y1 = extent_of(data)
        xx, yy = np.meshgrid(np.linspace(x0, x1, 120), np.linspace(y0, y1, 120))
        dens = np.exp(mixture_log_prob(np.stack([xx.ravel(), yy.ravel()], 1), data.means,
                                       data.sigma)).reshape(120, 120)
    from PIL import Image

    card = Image.new("RGB", (320, 200), (68, 1, 84))  # viridis' darkest: the square's frame
    card.paste(density_image(dens, size=200), (60, 0))
    return card


FAMILY = Family(
    name="flows",
    label="Normalizing flows",
    models=(Flow2D, Glow, DLVAE),
    kind_labels=KIND_LABELS,
    presets=PRESETS,
    build=build,
    evaluate=evaluate,
    data=DATA,
    page=PageInfo("flows", "Normalizing flows", ":material/water:", "app_pages/flows.py",
                  "Exact likelihood you can watch: an invertible network turns Gaussian noise "
                  "into the data, and every point's density is computed, not bounded.",
                  "unsup.recipes.flows:thumbnail", order=75),
    warm=("unsup.recipes.flows", "unsup.ui.flows", "unsup.viz.flows"),
    headline=("gap", "modes", "hq", "bpd", "readable", "elbo_bpd", "iwae_bpd"),
    bench=("bench_flows.py",),
)

__all__ = ["FAMILY", "PRESETS", "evaluate", "training_spec"]
