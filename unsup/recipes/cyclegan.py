"""The CycleGAN family: unpaired image-to-image translation (Zhu et al. 2017) on the two built-in
domain pairs of :mod:`unsup.data.domains` (MNIST ↔ MNIST-M digits; photo patches ↔ the same
patches in "winter") or on two uploaded image sets, plus the two domain classifiers that measure
whether a translated digit keeps its label.

Presets of the shipped checkpoints, how a preset builds its model and data, the held-out
evaluation, the page's train-on-demand job (built-in pairs or two uploaded ZIPs, with a measured
time estimate) and the home card's thumbnail.

Step times measured here (one training step of 16 unpaired pairs at 32 px, both generators then
both discriminators; 2 cores already busy with two other trainings, so upper bounds of what an
idle machine does):

=========================================  ==========  ===================================
generator filters / residual blocks         1 thread    2 threads (cores already busy)
=========================================  ==========  ===================================
16 / 2                                      0.18 s      0.54 s
16 / 3 (the presets)                        0.26-0.28 s 2.9 s (oversubscribed)
24 / 3                                      0.58 s      10.7 s (oversubscribed)
32 / 3                                      0.50-0.80 s 4.5 s (oversubscribed)
domain classifier, width 32, batch 64       0.11 s      0.37 s
=========================================  ==========  ===================================

Two threads were slower than one only because both cores already ran other trainings (on 2 idle
cores the issue measured 0.27 s a step for one 32-filter generator). The presets are sized on the
one-thread times, which an idle 2-core machine beats: ``cyclegan-photo`` (16 filters, 3 blocks,
5,000 steps) takes about 5,000 x 0.27 s = 23 minutes on one busy thread, ``cyclegan-digits``
(10,000 steps) twice that; the two classifiers (2,000 steps) about 4 minutes each.

Normalisation, measured on held-out images after 300 steps of the preset (16 filters, 3 blocks;
one run each, so a direction, not a verdict):

==========  ====================================  ====================================
norm        digits: label kept A→B / B→A, cycle B  photos: cycle A / B, paired error A→B
==========  ====================================  ====================================
instance    92.0% / 64.8%, 0.138                   0.227 / 0.126, 0.168 (baseline 0.269)
batch       38.0% / 58.8%, 0.326                   0.099 / 0.082, 0.089
none        10.0% / 14.4%, 0.135                   0.100 / 0.082, 0.213
==========  ====================================  ====================================

Instance normalisation (the reference's default) erases a patch's overall colour after the first
convolution, which costs little on digits (black background, white strokes) and much on photo
patches, many of them smooth; batch normalisation keeps colour but, in eval mode, normalises with
running statistics pooled over everything a generator sees in training (its own domain's images
for the identity term, the other domain's and its partner's outputs), which on the digit pair,
whose domains differ most, hurt. So ``cyclegan-digits`` keeps instance normalisation and
``cyclegan-photo`` uses batch normalisation (both are options of the reference's ``--norm``).
At 450 steps the instance-normalised digit model kept 92.4% of labels A→B and 64.8% B→A, with
cycle L1 0.026 (A) and 0.142 (B): the B→A label and the B cycle are the parts the full 5,000-step
budget must still improve (the quality tests check them on the shipped checkpoint).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from unsup.data import domains as D
from unsup.families import Family, PageInfo, Preset
from unsup.metrics import cyclegan as M
from unsup.models.cyclegan import CycleGAN
from unsup.models.domain_classifier import DomainClassifier
from unsup.recipes.runs import UploadStore

KIND_LABELS = {"cyclegan": "CycleGAN", "domain_classifier": "domain classifier"}
"""Display name of each kind of this family."""
MODEL_CLASSES = {"cyclegan": CycleGAN, "domain_classifier": DomainClassifier}

DATA = {"digits": "MNIST ↔ MNIST-M (digits over photo patches), 32 px",
        "photos": "photo patches ↔ the same patches in winter, 32 px"}
"""Built-in domain pairs (name -> label)."""

PUBLISHED = (
    # (method, task, label accuracy %, source)
    ("PixelDA", "MNIST → MNIST-M", 98.2, "Bousmalis et al. 2017, table 1"),
    ("CyCADA", "MNIST → USPS", 95.6, "Hoffman et al. 2018, table 2"),
    ("CyCADA, pixel-level only", "SVHN → MNIST", 70.0,
     "Hoffman et al. 2018 (about 70%, before its semantic loss)"),
)
"""Published label accuracies of translated digits under a target-domain classifier. Not the
same digits, classifiers or image sizes as here: anchors, not a leaderboard."""

LABEL_KEPT_TARGET = 0.90
"""The issue's bar: translated digits keep their label at least this often, both ways."""
CYCLE_L1_BOUND = 0.10
"""A trained model's held-out cycle L1 (mean |F(G(x)) - x| over [0, 1] values) must stay under
this, both ways. An untrained model's is far above (measured 0.54 on digits A; every card holds
``cycle_l1_untrained_a/b``, the same measure of a fresh model of the same config)."""

CLASSIFIER_PRESETS = {"a": "cyclegan-clf-mnist", "b": "cyclegan-clf-mnistm"}
"""The shipped domain classifiers of the digit pair (domain -> preset name)."""
JUDGE_PRESET = "cyclegan-clf-domain"
"""The shipped A-vs-B judge of the digit pair: a classifier of which *domain* an image belongs
to (0 = A, MNIST; 1 = B, MNIST-M), trained on the real training images of both domains only, so
the held-out images (and their translations) it judges are images it never saw."""
INSTRUMENT_SEEDS = (0, 1, 2)
"""Seeds of the measuring instruments: each digit classifier and the A-vs-B judge are trained
three times, with these seeds (the digit classifiers of seeds 1 and 2 smaller, see
:data:`SECOND_OPINION`), so a score read through them is reported with the spread that the
choice of instrument alone causes (seed 0 is the headline instrument)."""


def instrument_name(base: str, seed: int) -> str:
    """Preset name of an instrument trained with ``seed`` (seed 0 keeps the plain name)."""
    return base if seed == 0 else f"{base}-s{seed}"

STEPS = 5_000
"""Steps of the shipped photo CycleGAN (batches of 16; half at lr 2e-4, half decaying to 0)."""
DIGIT_STEPS = 10_000
"""Steps of the shipped digit CycleGAN: twice the photo pair's, the same halves (constant, then
decaying to 0). Measured (λ_B = 2, 250 held-out digits each way): after 5,000 steps it kept
93.2% of labels A → B and 89.2% B → A; after 10,000, 95.6% and 93.6%, with cycle L1 of B
0.120 (0.125 at 5,000) and paired error B → A 0.033 (0.040). The same recipe with seed 1 (not
shipped; run once to see the spread): 95.2% and 90.8%, cycle B 0.127; the CLI rerun on 2 idle
threads: 97.2% and 92.0%, cycle B 0.118, in 19.4 minutes end to end (the issue allows 30;
``bench/bench_cyclegan.py`` measures the step time)."""
CLF_STEPS = 2_000
"""Steps of each shipped domain classifier (batches of 64). Measured (width 32, one thread):
the MNIST-M classifier reads 95.6% of the held-out MNIST-M digits after 500 steps, 96.8% after
1,000 (and 94.8% of the paired truth B(a))."""

TIMELAPSE = dict(timelapse_frames=26, timelapse_every=200, timelapse_samples=4)
"""The shipped models keep G_AB and G_BA of 4 fixed held-out images of each domain every 200
steps (26 frames over 5,000 steps: steps 0, 200, ..., 5,000; the digit pair's 10,000 steps
every 400)."""
RECIPE = dict(g_filters=16, d_filters=16, n_blocks=3, d_layers=2, batch_size=16,
              norm="instance", n_steps_constant=STEPS // 2, n_steps_decay=STEPS - STEPS // 2,
              **TIMELAPSE)
"""The shipped recipe: the reference's losses and optimiser (cycle 10, identity 0.5, pool of 50,
Adam 2e-4, β₁ 0.5, linear decay over the second half), 16 base filters and 3 residual blocks
(one-thread step: 0.26-0.28 s at 32 px)."""
LAMBDA_B_DIGITS = 2.0
"""λ_B of the digit pair (the reference's --lambda_B; λ_A stays 10). A digit over a photograph
holds far more than the digit: with λ_B = 10, G_AB(G_BA(b)) must rebuild the photograph, so
G_BA hides it in the clean digit it draws, as extra strokes that change what the digit reads as
(measured: 29% of held-out digits flipped B → A). The digit itself is taught to G_BA by the other
cycle, G_BA(G_AB(a)) = a, which needs no hidden information. Measured (5,000 steps, 250 held-out
digits each way; label kept A → B / B → A, cycle L1 of B against 0.289 untrained):

- λ_B = 10: 91.6% / 71.2%, cycle B 0.115;
- λ_B = 1: 88.4% / 93.2%, cycle B 0.148;
- λ_B = 2 (shipped): 93.2% / 89.2%, cycle B 0.125; paired error A → B 0.247, B → A 0.040
  (identity baselines 0.354 and 0.347); trained for :data:`DIGIT_STEPS` = 10,000 steps instead,
  95.6% / 93.6%, cycle B 0.120, paired errors 0.240 and 0.033.

Three runs, one seed each; 250 digits give each share a standard error of about 2 points."""
NORM = {"digits": "instance", "photos": "batch", "upload": "batch"}
"""Normalisation of each pair's models (see the module docstring's measurements); uploaded
sets are usually photographs, so they get the photo pair's."""


JUDGE_STEPS = 500
"""Steps of each A-vs-B judge (batches of 64, width 8): telling a clean digit from one over a
photograph is easy; measured, the three judges (seeds 0-2) assign 99.4-99.8% of the 500 held-out
images to their own domain."""


SECOND_OPINION = dict(width=16, steps=1_000)
"""The digit classifiers of instrument seeds 1 and 2: independently trained second opinions,
half the width and half the steps of the headline ones (seed 0). Training the full recipe twice
more per domain (2,000 steps of a width-32 network) did not fit the machine's budget; a smaller
network with another seed is still an independent reader, and the spread of a score over the
three readers says how much of it depends on the instrument."""


def _clf(domain: str, name: str, title: str, description: str, seed: int = 0) -> Preset:
    config, steps = dict(width=32, seed=seed), CLF_STEPS
    if seed:
        name, title = instrument_name(name, seed), f"{title}, second opinion (seed {seed})"
        description += (f" A second opinion for the spread: seed {seed}, width "
                        f"{SECOND_OPINION['width']}, {SECOND_OPINION['steps']:,} steps.")
        config, steps = dict(width=SECOND_OPINION["width"], seed=seed), SECOND_OPINION["steps"]
    return Preset(name, title, description, "domain_classifier", steps, config, "digits",
                  checkpoint_every=500, options={"domain": domain})


def _judge(seed: int = 0) -> Preset:
    return Preset(instrument_name(JUDGE_PRESET, seed),
                  "A-vs-B judge of the digit pair" + (f", seed {seed}" if seed else ""),
                  "Measuring instrument: tells a domain-A image (MNIST digit) from a domain-B one "
                  "(MNIST-M: a digit over a photograph). Trained on the 2,250 + 2,250 real "
                  "training images of the two domains only; it judges whether a translation "
                  "A → B looks like B (and B → A like A).", "domain_classifier", JUDGE_STEPS,
                  dict(width=8, n_classes=2, seed=seed), "digits", checkpoint_every=0,
                  options={"domain": "ab"})


_CLF_TEXT = {
    "a": ("Digit classifier of domain A (MNIST, 32 px)",
          "Measuring instrument: reads the digits CycleGAN translates into domain A. Trained on "
          "the 2,250 domain-A training digits only."),
    "b": ("Digit classifier of domain B (MNIST-M, 32 px)",
          "Measuring instrument: reads the digits CycleGAN translates into domain B. Trained on "
          "the 2,250 domain-B training images only (other digits, other photographs than the "
          "held-out ones)."),
}

PRESETS = (
    _clf("a", CLASSIFIER_PRESETS["a"], *_CLF_TEXT["a"]),
    _clf("b", CLASSIFIER_PRESETS["b"], *_CLF_TEXT["b"]),
    *(_clf(d, CLASSIFIER_PRESETS[d], *_CLF_TEXT[d], seed=s)
      for s in INSTRUMENT_SEEDS[1:] for d in ("a", "b")),
    *(_judge(s) for s in INSTRUMENT_SEEDS),
    Preset("cyclegan-digits", "CycleGAN, MNIST ↔ MNIST-M",
           "Zhu et al. 2017's CycleGAN (ResNet generators with upsample-then-convolve, PatchGAN "
           "discriminators, LS loss, cycle 10, identity 0.5, pool of 50, Adam 2e-4 with linear "
           "decay), 16 filters and 3 residual blocks, on unpaired MNIST digits and MNIST-M "
           "digits over photo patches, 32 px, 10,000 steps.", "cyclegan", DIGIT_STEPS,
           dict(RECIPE, norm=NORM["digits"], lambda_cycle_b=LAMBDA_B_DIGITS,
                n_steps_constant=DIGIT_STEPS // 2, n_steps_decay=DIGIT_STEPS - DIGIT_STEPS // 2,
                timelapse_every=DIGIT_STEPS // (TIMELAPSE["timelapse_frames"] - 1)), "digits",
           checkpoint_every=500),
    Preset("cyclegan-photo", "CycleGAN, photo ↔ winter",
           "The same CycleGAN and budget on unpaired patches of photographs and other patches "
           "in a documented \"winter\" style (greyer, lighter, colder, snow flecks), 32 px, "
           "with batch normalisation (instance normalisation erases a smooth patch's colour).",
           "cyclegan", STEPS, dict(RECIPE, norm=NORM["photos"]), "photos", checkpoint_every=500),
)

N_TIMELAPSE_DIGITS = (0, 3, 5, 7)
"""Which digit each of the 4 timelapse sources of the digit pair shows (one of each)."""

MIN_UPLOAD_IMAGES = 20
"""Images each uploaded domain needs (every 10th is held out for the metrics)."""
SIZES = (32, 64)
"""Image sizes the page trains at."""


# -- data ---------------------------------------------------------------------------------------
def pair_card(pair: D.DomainPair) -> dict[str, Any]:
    return {"name": pair.name, "label": DATA.get(pair.name, pair.name),
            "fingerprint": pair.fingerprint(), "image_size": pair.image_size,
            "domains": list(pair.labels), "n_train_a": int(len(pair.a_train)),
            "n_train_b": int(len(pair.b_train))}


def load_pair(name: str, size: int = 32) -> D.DomainPair:
    """A built-in pair at ``size`` px (the digit pair only at 32 px, its digits' own scale)."""
    if name == "digits" and size != 32:
        raise ValueError("the digit pair is built at 32 px only (28-px digits, padded)")
    return D.load_domains(name, size)


def _first_of_each(y: np.ndarray, labels) -> list[int]:
    return [int(np.flatnonzero(y == v)[0]) for v in labels]


def timelapse_sources(pair: D.DomainPair, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k fixed held-out images of each domain the timelapse follows: for digits one each of
    :data:`N_TIMELAPSE_DIGITS` (and more if k > 4), otherwise held-out images spread evenly."""
    def pick(x, y):
        if y is not None:
            wanted = list(N_TIMELAPSE_DIGITS) + [v for v in range(10)
                                                 if v not in N_TIMELAPSE_DIGITS]
            idx = _first_of_each(y, wanted[:k]) if k <= 10 else list(range(k))
        else:
            idx = list(np.linspace(0, len(x) - 1, k).round().astype(int))
        return np.stack([x[i % len(x)] for i in idx]).astype(np.float32)

    return pick(pair.a_test, pair.y_a_test), pick(pair.b_test, pair.y_b_test)


def make_model(kind: str, **config):
    cls = MODEL_CLASSES[kind]
    names = {f.name for f in dataclasses.fields(cls.config_class)}
    return cls(cls.config_class(**{k: v for k, v in config.items() if k in names}))


def new_cyclegan(pair: D.DomainPair, **config) -> CycleGAN:
    """A fresh CycleGAN for ``pair`` (its image size), its timelapse following held-out images."""
    model = make_model("cyclegan", **dict(config, image_size=pair.image_size))
    if model.config.timelapse_frames:
        a, b = timelapse_sources(pair, model.config.timelapse_samples)
        model.set_timelapse_sources(torch.from_numpy(a), torch.from_numpy(b))
    return model


def build(preset: Preset):
    pair = load_pair(preset.data)
    if preset.kind == "domain_classifier":
        domain = preset.options["domain"]
        if domain == "ab":  # the A-vs-B judge: label 0 = domain A, 1 = domain B
            x = np.concatenate([pair.a_train, pair.b_train])
            y = np.concatenate([np.zeros(len(pair.a_train), np.int64),
                                np.ones(len(pair.b_train), np.int64)])
        else:
            x, y = ((pair.a_train, pair.y_a_train) if domain == "a"
                    else (pair.b_train, pair.y_b_train))
        model = make_model("domain_classifier", **preset.config, image_size=pair.image_size)
        data = model.pack(torch.tensor(x), torch.tensor(y))
        card = dict(pair_card(pair), domain=domain, n_train=int(len(y)))
        return model, data, card
    model = new_cyclegan(pair, **preset.config)
    return model, pair.training_data(model.seed), pair_card(pair)


# -- the user's two image sets, kept with the run ------------------------------------------------
DATA_FILE = "domains.npz"
"""A run trained on uploaded images keeps both sets here (with their content hash), so that a
resume trains on the same images and the page measures on the same held-out ones."""


_STORE = UploadStore(DATA_FILE, ("a", "b"), shapes=True)
"""Both domains' uploaded images of a run (the hash covers their shapes too)."""


def save_run_images(run_dir: Path, a: np.ndarray, b: np.ndarray) -> str:
    return _STORE.save(run_dir, a, b)


def load_run_images(run_dir: Path, digest: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Both image sets a run was trained on; raises CheckpointError when gone or changed."""
    a, b = _STORE.load(run_dir, digest)
    return a, b


def upload_pair(a: np.ndarray, b: np.ndarray) -> D.DomainPair:
    """Two uploaded sets (n, 3, s, s) as an unpaired pair: every 10th image of each held out.
    No paired truth and no labels."""
    held_a = np.zeros(len(a), bool)
    held_a[::10] = True
    held_b = np.zeros(len(b), bool)
    held_b[::10] = True
    return D.DomainPair("upload", a_train=a[~held_a], b_train=b[~held_b], a_test=a[held_a],
                        b_test=b[held_b], b_of_a_test=None, a_of_b_test=None)


def heldout_pair(model) -> D.DomainPair:
    """The pair a model was trained on (its held-out images are what it is measured on): the
    built-in pair its card names, or its run's uploaded images."""
    data = (model.card_ or {}).get("data") or {}
    if data.get("name") == "upload":
        if model.path_ is None:
            from unsup.checkpoints import CheckpointError

            raise CheckpointError("this model's uploaded images are not known (no run folder)")
        return upload_pair(*load_run_images(Path(model.path_).parent, data.get("sha")))
    name = data.get("name") if data.get("name") in DATA else "digits"
    return load_pair(name, model.config.image_size if name != "digits" else 32)


def domain_labels(model) -> tuple[str, str]:
    """(domain A, domain B) display names of the pair a model translates."""
    data = (model.card_ or {}).get("data") or {}
    names = data.get("domains")
    if isinstance(names, (list, tuple)) and len(names) == 2:
        return str(names[0]), str(names[1])
    return D.PAIR_LABELS.get(data.get("name"), ("domain A", "domain B"))


# -- the measuring instruments ------------------------------------------------------------------
def _shipped_mtime(name: str) -> float | None:
    from unsup import checkpoints, paths

    p = checkpoints.weights_path(paths.SHIPPED_DIR / name)
    return p.stat().st_mtime if p.exists() else None


@functools.lru_cache(maxsize=16)
def _load_classifier(name: str, mtime: float):
    from unsup import checkpoints, paths

    clf = checkpoints.load(paths.SHIPPED_DIR / name)
    clf.eval()
    return clf


def classifiers() -> tuple[Any, Any]:
    """The shipped (domain-A, domain-B) digit classifiers; None for one not shipped yet."""
    out = []
    for d in ("a", "b"):
        mtime = _shipped_mtime(CLASSIFIER_PRESETS[d])
        out.append(None if mtime is None else _load_classifier(CLASSIFIER_PRESETS[d], mtime))
    return out[0], out[1]


def instruments() -> list[tuple[Any, Any, Any]]:
    """The shipped measuring instruments of the digit pair, one triple (digit classifier A,
    digit classifier B, A-vs-B judge) per seed of :data:`INSTRUMENT_SEEDS` whose three
    checkpoints are all shipped (seed 0 first)."""
    out = []
    for seed in INSTRUMENT_SEEDS:
        names = [instrument_name(CLASSIFIER_PRESETS["a"], seed),
                 instrument_name(CLASSIFIER_PRESETS["b"], seed),
                 instrument_name(JUDGE_PRESET, seed)]
        mtimes = [_shipped_mtime(n) for n in names]
        if all(m is not None for m in mtimes):
            out.append(tuple(_load_classifier(n, m) for n, m in zip(names, mtimes)))
    return out


def missing_classifiers() -> list[str]:
    """Commands that make the classifiers not shipped yet."""
    return [f"python -m unsup train {CLASSIFIER_PRESETS[d]}" for d in ("a", "b")
            if _shipped_mtime(CLASSIFIER_PRESETS[d]) is None]


# -- evaluation ---------------------------------------------------------------------------------
def evaluate_classifier(model: DomainClassifier) -> dict[str, Any]:
    """Accuracy on the held-out images of the classifier's own domain, and on the paired truth
    of the other domain's held-out digits (the images a perfect translator would produce):
    the ceiling of what label kept can show."""
    data = (model.card_ or {}).get("data") or {}
    domain = data.get("domain", "b")
    pair = load_pair("digits")
    if domain == "ab":  # the A-vs-B judge: which domain each held-out image belongs to
        judged_a = M.judged_as(model, pair.a_test, 0)
        judged_b = M.judged_as(model, pair.b_test, 1)
        return {"test_accuracy": round((judged_a + judged_b) / 2, 4),
                "a_judged_a": round(judged_a, 4), "b_judged_b": round(judged_b, 4),
                "truth_ab_judged_b": round(M.judged_as(model, pair.b_of_a_test, 1), 4),
                "truth_ba_judged_a": round(M.judged_as(model, pair.a_of_b_test, 0), 4),
                "n_test": int(len(pair.a_test) + len(pair.b_test)), "domain": domain}
    x, y = (pair.a_test, pair.y_a_test) if domain == "a" else (pair.b_test, pair.y_b_test)
    tx, ty = (pair.a_of_b_test, pair.y_b_test) if domain == "a" else (pair.b_of_a_test,
                                                                       pair.y_a_test)
    acc = M.label_kept(model, x, y)["accuracy"]
    truth = M.label_kept(model, tx, ty)["accuracy"]
    return {"test_accuracy": round(acc, 4), "truth_accuracy": round(truth, 4),
            "n_test": int(len(y)), "domain": domain}


def evaluate_cyclegan(model: CycleGAN, pair: D.DomainPair | None = None) -> dict[str, Any]:
    """Held-out metrics of a CycleGAN, recomputed (see :func:`unsup.metrics.cyclegan.evaluate`):
    cycle L1 both ways beside an untrained model of the same config and the bound
    :data:`CYCLE_L1_BOUND`; identity L1; paired error beside the identity baseline (built-in
    pairs); label kept both ways with the shipped domain classifiers (the digit pair, when
    they are shipped), beside the untranslated input and the paired truth."""
    pair = pair if pair is not None else heldout_pair(model)
    clf_a, clf_b = classifiers() if pair.name == "digits" else (None, None)
    tools = instruments() if pair.name == "digits" else []
    r = M.evaluate(model, pair, clf_a, clf_b, instruments=tools)
    fresh = CycleGAN(dataclasses.replace(model.config, timelapse_frames=0)).to(model.device)
    per = r.pop("per_instrument", None)
    out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()
           if not isinstance(v, list)}
    if per:
        # the joint measure: the headline value is read through the seed-0 instruments (those
        # of label kept); per_instrument keeps every instrument seed's, for the spread
        out["per_instrument"] = {k: [round(v, 4) for v in vals] for k, vals in per.items()
                                 if not k.startswith("kept_")}
        for k in ("judged_ab", "joint_ab", "joint_ab_input", "joint_ab_truth",
                  "judged_ba", "joint_ba", "joint_ba_input", "joint_ba_truth"):
            if k in out["per_instrument"]:
                out[k] = out["per_instrument"][k][0]
        for d in ("ab", "ba"):  # label kept through the other instruments too
            for suffix in ("", "_input", "_truth"):
                if f"kept_{d}{suffix}" in per:
                    out["per_instrument"][f"label_kept_{d}{suffix}"] = [
                        round(v, 4) for v in per[f"kept_{d}{suffix}"]]
        out["instrument_seeds"] = list(INSTRUMENT_SEEDS[:len(tools)])
    out["cycle_l1_untrained_a"] = round(M.cycle_l1(fresh, pair.a_test, "a"), 4)
    out["cycle_l1_untrained_b"] = round(M.cycle_l1(fresh, pair.b_test, "b"), 4)
    out["cycle_l1_bound"] = CYCLE_L1_BOUND
    out["pair"] = pair.name
    if pair.name == "digits" and (clf_a is None or clf_b is None):
        out["label_kept_missing"] = "; ".join(missing_classifiers())
    extra = {k: v for k, v in r.items() if isinstance(v, list)}
    if extra:
        out["extra_metrics"] = extra
    return out


def evaluate(model) -> dict[str, Any]:
    if model.kind == "domain_classifier":
        return evaluate_classifier(model)
    return evaluate_cyclegan(model)


# -- translation helpers (the page's) -----------------------------------------------------------
def display_order(n: int, images: np.ndarray | None = None) -> np.ndarray:
    """The order the page shows n held-out images in: a fixed shuffle (the digit test halves
    are sorted by class, so their first images are all zeros); given the ``images`` (photos,
    uploads), the same shuffle with the more varied half first (standard deviation of the
    pixels at or above the median), so the page opens on a flower or a cat's face rather than
    a flat patch of sky, and still on several photographs."""
    perm = np.random.default_rng(15).permutation(n)
    if images is None:
        return perm
    x = np.asarray(images[:n], dtype=np.float32).reshape(n, -1)
    sd = x.std(axis=1)
    rich = sd[perm] >= np.median(sd)
    return np.concatenate([perm[rich], perm[~rich]])


@torch.no_grad()
def translate_all(model: CycleGAN, x: np.ndarray | torch.Tensor, source: str
                  ) -> dict[str, np.ndarray]:
    """Everything the page shows for images ``x`` (n, c, s, s) of domain ``source``: the
    translation, the cycle reconstruction and the identity mapping (the generator that maps
    *into* ``source`` applied to x), as arrays in [0, 1]."""
    x = torch.tensor(np.asarray(x, np.float32))  # a copy: held-out arrays are read-only
    if source == "a":
        fake = model.translate_ab(x)
        rec = model.translate_ba(fake)
        idt = model.translate_ba(x)
    elif source == "b":
        fake = model.translate_ba(x)
        rec = model.translate_ab(fake)
        idt = model.translate_ab(x)
    else:
        raise ValueError(f"source must be 'a' or 'b', got {source!r}")
    return {"input": x.numpy(), "translation": fake.cpu().numpy(),
            "cycle": rec.cpu().numpy(), "identity": idt.cpu().numpy()}


def predict_labels(x: np.ndarray, domain: str) -> np.ndarray | None:
    """The shipped classifier of ``domain``'s digits read ``x`` (None if not shipped)."""
    clf = classifiers()[0 if domain == "a" else 1]
    if clf is None or x.shape[-1] != clf.config.image_size:
        return None
    return clf.predict(torch.tensor(np.asarray(x, np.float32))).numpy()


# -- train on demand ----------------------------------------------------------------------------
def job_config(steps: int, *, g_filters: int = 16, n_blocks: int = 3, image_size: int = 32,
               frames: int = 16, norm: str = "instance") -> dict[str, Any]:
    """The config of a train-on-demand run: the shipped recipe with the chosen width, blocks and
    normalisation, its decay over the second half of ``steps`` and a timelapse of ``frames``
    frames."""
    steps = max(1, int(steps))
    return dict(RECIPE, g_filters=int(g_filters), d_filters=int(g_filters),
                n_blocks=int(n_blocks), image_size=int(image_size), norm=str(norm),
                n_steps_constant=steps // 2, n_steps_decay=steps - steps // 2,
                timelapse_frames=int(frames),
                timelapse_every=max(1, math.ceil(steps / max(1, frames - 1))))


def estimate_step_seconds(config: dict, n: int = 3) -> float:
    """Seconds per training step of this config, measured now on this machine (a fresh model,
    after one warm-up step, on random images; the job's own steps run at about this rate when
    the cores are as busy as now)."""
    from unsup.train import time_steps

    model = make_model("cyclegan", **dict(config, timelapse_frames=0))
    s, c = model.config.image_size, model.config.n_channels
    batch = torch.rand(model.batch_size, 2, c, s, s, generator=torch.Generator().manual_seed(0))
    return time_steps(model, lambda i: batch, n=n, warmup=1)


def preview_image(model: CycleGAN) -> np.ndarray:
    """The job's live preview: the fixed sources and their translations, one (h, w, 3) image
    (rows: A, G_AB(A), B, G_BA(B))."""
    from unsup.viz.cyclegan import image_rows

    a, b = model.timelapse_sources()
    if not len(a):
        return np.zeros((8, 8, 3), np.float32)
    rows = [a.numpy(), model.translate_ab(a).cpu().numpy(), b.numpy(),
            model.translate_ba(b).cpu().numpy()]
    return np.asarray(image_rows(rows, pad=1), dtype=np.float32) / 255.0


def training_spec(*, data: str = "digits", steps: int = 2_000, g_filters: int = 16,
                  n_blocks: int = 3, image_size: int = 32, norm: str | None = None,
                  images_a: np.ndarray | None = None,
                  images_b: np.ndarray | None = None, labels: tuple[str, str] | None = None,
                  owner: str = "", resume=None):
    """A :class:`unsup.jobs.JobSpec` that trains a CycleGAN like the shipped ones on a built-in
    pair (``data``) or on two uploaded image sets ``images_a``/``images_b`` (n, 3, s, s) in
    [0, 1], which are kept with the run. ``norm``: the generators' and discriminators'
    normalisation (default: :data:`NORM` of the pair). ``resume``: a user run's weights to
    continue for
    ``steps`` more steps (past the end of its learning-rate schedule, it gets the schedule of a
    run planned for the new total: constant for half, then decaying to 0 at the new end).
    Raises CheckpointError when a resumed run's images are gone, ValueError when
    an upload is too small."""
    from unsup.recipes import runs

    def check(a: np.ndarray, b: np.ndarray) -> None:
        for which, x in (("A", a), ("B", b)):
            if len(x) < MIN_UPLOAD_IMAGES:
                raise ValueError(f"domain {which} has {len(x)} readable images; upload at least "
                                 f"{MIN_UPLOAD_IMAGES} (every 10th is held out to measure the "
                                 "model).")
        if a.shape[1:] != b.shape[1:] or a.shape[1] != 3:
            raise ValueError(f"both image sets must be RGB of one size; got {a.shape[1:]} and "
                             f"{b.shape[1:]}")

    if (images_a is None) != (images_b is None):  # one domain uploaded: the other has none
        check(*(np.zeros((0, 3, 1, 1)) if x is None else x for x in (images_a, images_b)))
    run = runs.plan(resume, data=data, store=_STORE, check=check,
                    images=None if images_a is None else (images_a, images_b))
    if run.resume is not None:
        image_size = int(run.config.get("image_size", image_size))
    if run.upload:
        labels = tuple((run.resume.data.get("domains") if run.resume is not None else labels)
                       or ("domain A", "domain B"))
        pair = upload_pair(*run.images)
        title = f"CycleGAN {labels[0]} ↔ {labels[1]}, {steps:,} steps"
        digest = run.keep_uploads(run.resume.title if run.resume is not None else title)
        dcard = {"name": "upload", "label": f"{labels[0]} ↔ {labels[1]} (your images)",
                 "sha": digest, "fingerprint": digest, "file": DATA_FILE,
                 "domains": list(labels), "image_size": int(pair.image_size),
                 "n_train_a": int(len(pair.a_train)), "n_train_b": int(len(pair.b_train))}
    else:
        pair = load_pair(run.data if run.resume is None or run.data in DATA else "digits",
                         image_size)
        dcard = pair_card(pair)
        title = (f"CycleGAN {pair.labels[0]} ↔ {pair.labels[1]}, {g_filters} filters, "
                 f"{steps:,} steps")
    cfg = job_config(steps, g_filters=g_filters, n_blocks=n_blocks, image_size=pair.image_size,
                     norm=norm or NORM.get(pair.name, "instance"))

    def resumed(model, more: int) -> None:
        c = model.config
        end = int(model.step_) + more
        if end > c.n_steps_constant + c.n_steps_decay:
            # the schedule of a run planned for the new total (else the rate stays 0)
            c.n_steps_constant, c.n_steps_decay = end // 2, end - end // 2

    def finish(model, job):
        job.phase("measuring on held-out data")
        out = evaluate_cyclegan(model, pair)
        out.pop("extra_metrics", None)
        return out

    return run.spec(title=title, model=lambda p: new_cyclegan(p, **cfg), data=pair,
                    fed=lambda model, p: p.training_data(model.seed), resumed=resumed,
                    reading=f"preparing the {len(pair.a_train):,} + {len(pair.b_train):,} "
                            "training images",
                    data_card=dcard, steps=steps, page="cyclegan", owner=owner,
                    checkpoint_every=max(100, int(steps) // 5), finish=finish,
                    preview=lambda model: [preview_image(model)],
                    again=lambda path, more: training_spec(steps=int(more), resume=path,
                                                           owner=owner))


# -- home card ----------------------------------------------------------------------------------
def thumbnail():
    """The home card: held-out digits and their translations by the shipped ``cyclegan-digits``
    (rows: MNIST, G_AB, MNIST-M, G_BA); before it is shipped, the two domains themselves."""
    from PIL import Image, ImageDraw

    from unsup import checkpoints, paths
    from unsup.viz.cyclegan import image_rows

    pair = load_pair("digits")
    a, b = pair.a_test[display_order(len(pair.a_test))[:8]], pair.b_test[
        display_order(len(pair.b_test))[:8]]
    path = paths.SHIPPED_DIR / "cyclegan-digits"
    if checkpoints.weights_path(path).exists():
        model = checkpoints.load(path)
        rows = [a, translate_all(model, a, "a")["translation"], b,
                translate_all(model, b, "b")["translation"]]
        note = "MNIST -> MNIST-M above, back below"
    else:
        rows = [a, b]
        note = "MNIST (top) and MNIST-M (bottom)"
    img = image_rows(rows, pad=1).convert("RGB")
    img = img.resize((320, round(320 * img.height / img.width)), Image.Resampling.NEAREST)
    canvas = Image.new("RGB", (320, 200), (30, 30, 30))
    canvas.paste(img, (0, max(0, (186 - img.height) // 2)))
    ImageDraw.Draw(canvas).text((4, 186), note, fill=(255, 210, 90))
    return canvas


FAMILY = Family(
    name="cyclegan",
    label="CycleGAN (unpaired translation)",
    models=(CycleGAN, DomainClassifier),
    kind_labels=KIND_LABELS,
    presets=PRESETS,
    build=build,
    evaluate=evaluate,
    data=DATA,
    page=PageInfo("cyclegan", "CycleGAN", ":material/sync_alt:", "app_pages/cyclegan.py",
                  "Image-to-image translation without paired data: digits ↔ MNIST-M and "
                  "photos ↔ winter, with the labels a translation keeps measured.",
                  "unsup.recipes.cyclegan:thumbnail", order=60),
    warm=("unsup.recipes.cyclegan", "unsup.ui.cyclegan", "unsup.viz.cyclegan"),
    headline=("label_kept_ab", "label_kept_ba", "cycle_l1_a", "cycle_l1_b", "test_accuracy"),
    bench=("bench_cyclegan.py",),
)

__all__ = ["FAMILY", "PRESETS", "evaluate", "training_spec"]
