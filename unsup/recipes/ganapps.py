"""GAN applications (issue 24): what a GAN loss added to a task buys, and what it costs.

Super-resolution x4 (Ledig et al. 2017) on two built-in sets, each with two shipped models from
the same generator:

- ``sr-digits-srresnet`` / ``sr-faces-srresnet``: pixel loss only (SRResNet). It minimises the
  mean squared error, which is what PSNR scores, so it wins PSNR, and its outputs are the blurred
  average of every high-res image that fits the low-res input;
- ``sr-digits-srgan`` / ``sr-faces-srgan``: SRGAN, started from the SRResNet's weights (as the
  paper does) and trained on pixel + content + adversarial loss. The content loss compares
  features of a network of the project's own, because VGG weights cannot be downloaded: for the
  digits the shipped digit classifier's first two convolutions, for the faces the first three
  blocks of the shipped keypoint model's image encoder (trained without labels on the faces).

Held-out numbers (:func:`evaluate`, the same for every model and for the bicubic baseline):
PSNR and SSIM (scikit-image), for the digits the shipped classifier's accuracy on the outputs
(readability), and the Fréchet distance between the set of outputs and the set of real
held-out images in a feature space (realism; the classifier's penultimate layer for digits,
statistics of the keypoint encoder's feature maps for faces). Against the 2,000 *training*
images instead, even the real held-out digits were at 433 (bicubic 1,035): the classifier's
features of digits it was trained on differ from those of new ones, a floor that would swamp
the comparison.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from unsup.families import Family, PageInfo, Preset
from unsup.models import inpaint as IP
from unsup.models import superres as SR
from unsup.models.inpaint import InpaintConfig, Inpainter
from unsup.models.superres import SRConfig, SuperResolution
from unsup.recipes import text2img as T2I

KIND = SR.SuperResolution.kind
DATA = {"digits": "MNIST digits, 28×28 grey (7×7 → 28×28)",
        "faces": "generated faces, 64×64 colour (16×16 → 64×64)"}
"""The built-in sets of the super-resolution and inpainting sections."""
N_FACES_TRAIN = 6_000
N_HELDOUT = 500
"""Held-out images every number is measured on (the 500 held-out digits; the first 500 of the
1,000 held-out faces)."""

DIGITS_SR = dict(image_size=28, n_channels=1, scale=4, width=32, n_blocks=6, batch_size=32,
                 lr=1e-3, shift=2, lr_decay_at=5_000, lr_decay=0.2)
"""SRResNet on digits: 195k parameters, batches of 32, Adam 1e-3 falling x0.2 at step 5,000;
training digits rolled by up to 2 px (without it the generator overfits the 4,500 digits:
25.6 dB on training digits, 21.7 on held-out ones)."""
DIGITS_GAN = dict(DIGITS_SR, lr=1e-4, lr_d=2e-4, lr_decay_at=0, adversarial_weight=0.02,
                  content_weight=0.1, content="digits", d_width=16)
"""SRGAN on digits, from the SRResNet's weights: pixel + 0.1 x content + 0.02 x adversarial,
Adam 1e-4 (G) / 2e-4 (D). Measured while choosing it: with 5e-3 and a discriminator twice as
wide the realism gain was half as large (Fréchet distance 0.59x SRResNet's, not 0.33x)."""
FACES_SR = dict(image_size=64, n_channels=3, scale=4, width=32, n_blocks=6, batch_size=16,
                lr=1e-3, shift=0, lr_decay_at=2_000, lr_decay=0.2)
"""SRResNet on faces: the same generator for colour, batches of 16, no shift (rolling would wrap
a face's background around)."""
FACES_GAN = dict(FACES_SR, lr=1e-4, lr_d=2e-4, lr_decay_at=0, adversarial_weight=1e-3,
                 content_weight=0.05, content="faces", d_width=16)
"""SRGAN on faces, from the faces SRResNet, with the paper's adversarial weight 1e-3: a face's
pixel loss is some 25x smaller than a digit's (37 dB against 22), and the digits' 0.02 would
outweigh it 70 to 1 at the first step."""

PRESETS = (
    Preset("sr-digits-srresnet", "SRResNet ×4 on digits",
           "Super-resolution 7×7 → 28×28 on the 4,500 training digits: an EDSR-style residual "
           "generator (6 blocks, 32 channels) that starts as bicubic interpolation, trained on "
           "the pixel loss (mean squared error) alone.", KIND, 6_000, dict(DIGITS_SR), "digits",
           checkpoint_every=1_000),
    Preset("sr-digits-srgan", "SRGAN ×4 on digits",
           "The same generator, started from sr-digits-srresnet and trained against a "
           "discriminator: pixel loss + 0.1 × content loss in the digit classifier's features "
           "(VGG's cannot be downloaded) + 0.02 × adversarial loss.", KIND, 1_000,
           dict(DIGITS_GAN), "digits", checkpoint_every=250,
           options={"init_from": "sr-digits-srresnet"}),
    Preset("sr-faces-srresnet", "SRResNet ×4 on faces",
           "Super-resolution 16×16 → 64×64 on the 6,000 generated training faces, pixel loss "
           "only.", KIND, 2_500, dict(FACES_SR), "faces", checkpoint_every=500),
    Preset("sr-faces-srgan", "SRGAN ×4 on faces",
           "Started from sr-faces-srresnet: pixel loss + 0.05 × content loss in the keypoint "
           "model's encoder features (trained without labels on the faces) + 0.001 × "
           "adversarial loss.", KIND, 600, dict(FACES_GAN), "faces", checkpoint_every=200,
           options={"init_from": "sr-faces-srresnet"}),
)
INPAINT = Inpainter.kind
INPAINT_DIGITS_CE = dict(image_size=28, n_channels=1, width=16, n_down=2, n_dilated=4,
                         mask="square", hole=12, lr=1e-3, lr_decay_at=3_600, lr_decay=0.2,
                         batch_size=32)
"""Context encoder on digits (pixel loss in a random 12×12 hole): measured while choosing it,
held-out classifier accuracy on the filled digits 0.940 after 3,600 steps, 0.942 after 4,800
with the rate ×0.2 from 3,600 (mean fill 0.790, originals 0.988)."""
INPAINT_DIGITS_GL = dict(INPAINT_DIGITS_CE, adversarial_weight=0.005, adv_start=3_600,
                         d_width=16, lr_d=2e-4)
"""The same completion network, then jointly with a global + local discriminator from step
3,600 (Iizuka et al.'s schedule: the completion network alone first)."""
INPAINT_FACES_CE = dict(image_size=64, n_channels=3, width=16, n_down=2, n_dilated=4,
                        mask="quarter", lr=1e-3, lr_decay_at=2_400, lr_decay=0.2, batch_size=16)
"""Context encoder on faces: a random quarter (a square of half the side anywhere). Measured
while choosing it (constant rate): hole PSNR 16.3 / 17.8 / 18.6 dB after 400 / 1,200 / 2,000
steps (mean fill 15.3, nearest training face 16.1)."""
INPAINT_FACES_GL = dict(INPAINT_FACES_CE, adversarial_weight=1e-3, adv_start=2_400,
                        d_width=16, lr_d=2e-4)
"""The same, then 300 steps jointly with the global + local discriminator at weight 1e-3: at
the digits' 5e-3 (from step 2,000 of 2,300) the fills turned into striped, hair-coloured
blobs and the hole PSNR fell to 17.8 dB."""
MASK_SEED = 2024
"""Seed of the held-out masks every inpainting number is measured with."""
PRESETS = PRESETS + (
    Preset("inpaint-digits-ce", "Context encoder on digits",
           "Fills a random 12×12 hole of a digit from the rest: a dilated-convolution "
           "completion network (Iizuka et al. 2017, scaled down) trained on the squared error "
           "inside the hole alone, 4,800 steps.", INPAINT, 4_800, dict(INPAINT_DIGITS_CE),
           "digits", checkpoint_every=800),
    Preset("inpaint-digits", "Global + local GAN inpainting on digits",
           "The same completion network, trained alone for 3,600 steps, then 800 steps jointly "
           "with a discriminator that judges the whole digit and a crop around the hole "
           "(Iizuka et al. 2017), adversarial weight 0.005.", INPAINT, 4_400,
           dict(INPAINT_DIGITS_GL), "digits", checkpoint_every=800),
    Preset("inpaint-faces-ce", "Context encoder on faces",
           "Fills a random quarter of a generated face from the rest: the completion network "
           "trained on the squared error inside the hole alone, 2,700 steps.", INPAINT, 2_700,
           dict(INPAINT_FACES_CE), "faces", checkpoint_every=500),
    Preset("inpaint-faces", "Global + local GAN inpainting on faces",
           "The same completion network, trained alone for 2,400 steps, then 300 jointly with "
           "the global + local discriminator, adversarial weight 0.001.", INPAINT, 2_700,
           dict(INPAINT_FACES_GL), "faces", checkpoint_every=500),
)
PRESETS = PRESETS + T2I.PRESETS
KIND_LABELS = {KIND: "Super-resolution (SRResNet / SRGAN)",
               INPAINT: "Inpainting (context encoder, global + local GAN)", **T2I.KIND_LABELS}


# -- data ----------------------------------------------------------------------------------------
class U8Images:
    """Images kept as 8-bit (n, c, s, s) and handed out as float32 in [0, 1]: the 6,000 training
    faces take 74 MB instead of 295."""

    def __init__(self, x: torch.Tensor):
        self.u8 = (x.clamp(0, 1) * 255).round().to(torch.uint8)

    def __len__(self) -> int:
        return len(self.u8)

    def __getitem__(self, idx) -> torch.Tensor:
        return self.u8[idx].float() / 255.0

    @property
    def shape(self):
        return self.u8.shape


def _quantize(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round() / 255.0


@lru_cache(maxsize=2)
def train_images(name: str) -> U8Images:
    """The training images of a built-in set (8-bit)."""
    if name == "digits":
        from unsup.data.images import grey_digits

        return U8Images(grey_digits("train"))
    if name == "faces":
        from unsup.data.faces import Faces

        return U8Images(Faces("train", 64)[np.arange(N_FACES_TRAIN)])
    raise ValueError(f"unknown data set {name!r}; built in: {', '.join(DATA)}")


@lru_cache(maxsize=2)
def heldout_images(name: str) -> torch.Tensor:
    """The N_HELDOUT held-out images of a built-in set, 8-bit values as float32 in [0, 1]."""
    if name == "digits":
        from unsup.data.images import grey_digits

        return _quantize(grey_digits("test")[:N_HELDOUT])
    if name == "faces":
        from unsup.data.faces import Faces

        return _quantize(Faces("heldout", 64)[np.arange(N_HELDOUT)])
    raise ValueError(f"unknown data set {name!r}; built in: {', '.join(DATA)}")


@lru_cache(maxsize=1)
def heldout_labels() -> np.ndarray:
    from unsup.data.images import load_split

    return np.asarray(load_split("mnist").y_test[:N_HELDOUT], dtype=np.int64)


def data_card(name: str) -> dict[str, Any]:
    import hashlib

    x = train_images(name).u8
    return {"name": name, "label": DATA[name], "n": int(len(x)), "size": int(x.shape[-1]),
            "heldout": {"n": N_HELDOUT},
            "fingerprint": hashlib.sha256(x.numpy().tobytes()).hexdigest()[:16]}


def data_name(model: SuperResolution) -> str:
    """The built-in set a model's images look like: its card's data, else its shape."""
    name = ((getattr(model, "card_", None) or {}).get("data") or {}).get("name")
    if name in DATA:
        return name
    return "faces" if model.config.n_channels == 3 else "digits"


# -- the content networks (registered with the model module) ---------------------------------------
@lru_cache(maxsize=1)
def digit_classifier():
    from unsup.recipes.gan import digit_classifier as load

    return load()


@lru_cache(maxsize=1)
def keypoint_model():
    from unsup import checkpoints, paths

    m = checkpoints.load(paths.SHIPPED_DIR / "keypoints-faces")
    m.eval()
    return m


def digits_content() -> torch.nn.Module:
    """The digit classifier's conv, ReLU, pool, conv, ReLU: (b, 64, 14, 14) features."""
    return SR.classifier_trunk(digit_classifier(), 5)


def faces_content() -> torch.nn.Module:
    """The keypoint model's image encoder, its first three blocks (full resolution, then half):
    (b, 32, 32, 32) features of a (b, 3, 64, 64) face. The keypoint model learnt them without
    labels, to rebuild a face from another view of it."""
    import copy

    trunk = copy.deepcopy(keypoint_model().encoder[:3])
    trunk.eval()
    trunk.requires_grad_(False)
    return trunk


SR.CONTENT_NETS.setdefault("digits", digits_content)
SR.CONTENT_NETS.setdefault("faces", faces_content)


# -- building ---------------------------------------------------------------------------------------
def make_model(config: dict, init_from: str | Path | None = None) -> SuperResolution:
    """A model of ``config`` (fields of :class:`SRConfig`), its generator copied from the model
    at ``init_from`` (a shipped name or a weights path) when given: SRGAN starts from SRResNet."""
    names = {f.name for f in dataclasses.fields(SRConfig)}
    model = SuperResolution(SRConfig(**{k: v for k, v in config.items() if k in names}))
    if init_from:
        from unsup import checkpoints, paths

        src = Path(init_from)
        if not src.is_absolute() and not src.exists():
            src = paths.SHIPPED_DIR / str(init_from)
        if not checkpoints.weights_path(src).exists():
            raise ValueError(
                f"SRGAN starts from an SRResNet's weights, and {src.name} is not there: train it "
                f"first (python -m unsup train {src.name} --out checkpoints).")
        base = checkpoints.load(src)
        if (base.config.image_size, base.config.n_channels, base.config.width,
                base.config.n_blocks) != (model.config.image_size, model.config.n_channels,
                                          model.config.width, model.config.n_blocks):
            raise ValueError(f"{src.name} has another generator shape than this model")
        model.generator.load_state_dict(base.generator.state_dict())
    return model


def build(preset: Preset):
    if preset.kind in T2I.KIND_LABELS:
        return T2I.build(preset)
    if preset.kind == INPAINT:
        return (Inpainter(InpaintConfig(**preset.config)), train_images(preset.data),
                data_card(preset.data))
    model = make_model(preset.config, preset.options.get("init_from"))
    card = data_card(preset.data)
    if preset.options.get("init_from"):
        card = {**card, "init_from": preset.options["init_from"]}
    return model, train_images(preset.data), card


# -- measuring --------------------------------------------------------------------------------------
def _batched(fn, x: torch.Tensor, batch: int = 100) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([fn(x[i:i + batch]) for i in range(0, len(x), batch)])


def features(name: str, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray | None]:
    """(realism features (n, d), digit-class probabilities (n, 10) or None) of images x: for
    digits the classifier's penultimate layer (128), for faces the mean and the standard
    deviation over the image of each of the keypoint encoder's 32 half-resolution feature maps
    (64: the spread is what blur takes away)."""
    from unsup.metrics.gan import classifier_features

    if name == "digits":
        return classifier_features(digit_classifier(), x)
    enc = keypoint_model().encoder[:3]

    def stats(b):
        h = enc(b.to(keypoint_model().device)).flatten(2)  # (b, 32, 32*32)
        return torch.cat([h.mean(2), h.std(2)], 1).cpu()

    return _batched(stats, x).double().numpy(), None


def score(name: str, out: torch.Tensor, truth: torch.Tensor, labels=None,
          truth_feats: np.ndarray | None = None) -> dict[str, float]:
    """PSNR (dB) and SSIM of ``out`` against ``truth`` (means over images, higher is better),
    the Fréchet distance between the features of ``out`` and of ``truth`` (realism: how far
    the outputs lie, as a set, from the real images; 0 for the real images themselves, lower is
    better) and, for digits, the classifier's accuracy on ``out`` against ``labels``."""
    from unsup.metrics import gan as G
    from unsup.metrics import images as IM

    feats, probs = features(name, out)
    if truth_feats is None:
        truth_feats = features(name, truth)[0]
    r = {"psnr": round(float(np.mean(IM.psnr(out, truth))), 3),
         "ssim": round(float(np.mean(IM.ssim(out, truth))), 4),
         "fd": float(f"{G.frechet_distance(feats, truth_feats):.4g}")}
    if probs is not None and labels is not None:
        r["acc"] = round(float((probs.argmax(1) == np.asarray(labels)).mean()), 4)
    return r


@lru_cache(maxsize=2)
def mean_image(name: str) -> torch.Tensor:
    """The per-pixel mean of a set's training images (c, s, s): the mean-fill baseline."""
    return train_images(name).u8.float().mean(0) / 255.0


def heldout_masks(name: str, n: int = N_HELDOUT) -> torch.Tensor:
    """The standard held-out masks (n, 1, s, s), seed MASK_SEED: a random 12×12 square on
    digits, a random quarter (a square of half the side) on faces."""
    g = torch.Generator().manual_seed(MASK_SEED)
    if name == "faces":
        return IP.quarter_masks(n, 64, g)
    return IP.random_square_masks(n, 28, 12, g)


def pooled_hole_psnr(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR (dB) of the mean squared error over every hole pixel of the set (a per-image mean
    would be +inf wherever a baseline fills a blank background hole exactly)."""
    m = IP.binarize_mask(mask).expand_as(a).double()
    mse = float(((a.double() - b.double()).pow(2) * m).sum() / m.sum())
    return 10.0 * float(np.log10(1.0 / mse))


def evaluate_inpaint(model: Inpainter, check=lambda: None) -> dict[str, Any]:
    """Held-out numbers of an inpainting model with the standard masks: PSNR inside the hole
    (pooled over the set; higher is better) of the model, mean fill and the nearest training
    image; for digits the classifier's accuracy on the originals, the masked digits (hole
    black), the filled ones and both baselines' (higher is better)."""
    name = "faces" if model.config.n_channels == 3 else "digits"
    truth = heldout_images(name)
    mask = heldout_masks(name, len(truth))
    check()
    outs = {"model": _batched_pair(model.fill, truth, mask)}
    outs["mean"] = IP.mean_fill(truth, mask, mean_image(name))
    check()
    outs["nearest"] = IP.nearest_fill(truth, mask, train_images(name)[torch.arange(
        len(train_images(name)))])
    r: dict[str, Any] = {}
    for k, out in outs.items():
        r["hole_psnr" if k == "model" else f"{k}_hole_psnr"] = round(
            pooled_hole_psnr(out, truth, mask), 3)
    if name == "digits":
        from unsup.metrics.gan import classifier_features

        labels = heldout_labels()
        check()
        for k, x in [("truth", truth), ("masked", truth * (1 - mask)), *outs.items()]:
            acc = float((classifier_features(digit_classifier(), x)[1].argmax(1) == labels
                         ).mean())
            r["acc" if k == "model" else f"{k}_acc"] = round(acc, 4)
        r["acc_ratio"] = round(r["acc"] / r["truth_acc"], 4)
    r.update(n_heldout=int(len(truth)), data=name, mask_seed=MASK_SEED,
             mask=("a random 12×12 square" if name == "digits" else
                   "a random quarter (a square of half the side)"))
    return r


def _batched_pair(fn, x: torch.Tensor, m: torch.Tensor, batch: int = 100) -> torch.Tensor:
    return torch.cat([fn(x[i:i + batch], m[i:i + batch]) for i in range(0, len(x), batch)])


def evaluate(model, check=lambda: None) -> dict[str, Any]:
    """Held-out numbers of a model, recomputed: a super-resolution model's with the bicubic
    baseline's and the ground truth's beside them (``bicubic_*``, ``truth_*``, see the module
    docstring); an inpainting model's, :func:`evaluate_inpaint`."""
    if isinstance(model, Inpainter):
        return evaluate_inpaint(model, check)
    if isinstance(model, (T2I.StackGAN, T2I.SpriteReader)):
        return T2I.evaluate(model, check)
    name = data_name(model)
    truth = heldout_images(name)
    if truth.shape[1:] != (model.config.n_channels, model.config.image_size,
                           model.config.image_size):
        raise ValueError("this model's images are not the shape of a built-in set")
    labels = heldout_labels() if name == "digits" else None
    low = SR.downscale(truth, model.config.scale)
    model.eval()
    check()
    out = _batched(model.upscale, low)
    t_feats, t_probs = features(name, truth)
    check()
    r = score(name, out, truth, labels, t_feats)
    check()
    b = score(name, SR.bicubic_up(low, model.config.scale), truth, labels, t_feats)
    r.update({f"bicubic_{k}": v for k, v in b.items()})
    if t_probs is not None:
        r["truth_acc"] = round(float((t_probs.argmax(1) == labels).mean()), 4)
    r.update(n_heldout=int(len(truth)), data=name, scale=int(model.config.scale))
    return r


# -- what the page shows ------------------------------------------------------------------------------
def restore(model: SuperResolution, hi: torch.Tensor) -> dict[str, torch.Tensor]:
    """The row of the comparison for high-res images ``hi`` (b, c, s, s): their low-res input,
    bicubic, the model's output (all (b, c, s, s) except ``low``)."""
    low = SR.downscale(hi, model.config.scale)
    return {"low": low, "bicubic": SR.bicubic_up(low, model.config.scale),
            "out": model.upscale(low), "truth": hi}


def comparison(name: str, models: dict, x: torch.Tensor) -> dict[str, Any]:
    """What the section shows of one image x (1, c, s, s): ``images`` (low-res input enlarged
    with nearest neighbours, bicubic, SRResNet, SRGAN, original; each (c, s, s)), their
    ``labels``, ``low_side``, and ``numbers``: each restoration's PSNR / SSIM against the
    original and, for digits, the classifier's reading (class, probability), also of the
    original. ``models``: {False: the pixel-loss model, True: the SRGAN}."""
    from unsup.metrics import images as IM

    torch.set_num_threads(1)
    rows = {g: restore(m, x) for g, m in models.items()}
    r0 = rows[False]
    near = torch.nn.functional.interpolate(r0["low"], scale_factor=r0["out"].shape[-1] //
                                           r0["low"].shape[-1], mode="nearest")
    outs = {"bicubic": r0["bicubic"], "SRResNet": r0["out"], "SRGAN": rows[True]["out"]}
    numbers: dict[str, dict[str, Any]] = {}
    for k, out in outs.items():
        numbers[k] = {"psnr": float(IM.psnr(out, x)[0]), "ssim": float(IM.ssim(out, x)[0])}
    if name == "digits":
        with torch.no_grad():
            clf = digit_classifier()
            for k, img in [*outs.items(), ("ground truth", x)]:
                probs = torch.softmax(clf(img.to(clf.device)), 1)[0]
                numbers.setdefault(k, {}).update(reads=int(probs.argmax()),
                                                  prob=float(probs.max()))
    return {"images": [near[0], r0["bicubic"][0], r0["out"][0], rows[True]["out"][0], x[0]],
            "labels": ["low-res input", "bicubic", "SRResNet", "SRGAN", "ground truth"],
            "low_side": int(r0["low"].shape[-1]), "numbers": numbers}


HALVES = ("left", "right", "top", "bottom")


def page_mask(name: str, kind: str, seed: int = 0, painted: np.ndarray | None = None
              ) -> torch.Tensor:
    """A mask (1, 1, s, s) for the section: "square" (the standard random hole of the set:
    12×12 on digits, a quarter on faces, from ``seed``), one of :data:`HALVES`, or "painted"
    (``painted`` (s, s) in [0, 1], binarised at 0.5)."""
    s = 64 if name == "faces" else 28
    if kind == "painted":
        if painted is None:
            raise ValueError("nothing painted yet")
        return IP.binarize_mask(torch.as_tensor(np.asarray(painted, np.float32)).view(1, 1, s, s))
    if kind in HALVES:
        m = torch.zeros(1, 1, s, s)
        h = s // 2
        region = {"left": (slice(None), slice(0, h)), "right": (slice(None), slice(h, None)),
                  "top": (slice(0, h), slice(None)), "bottom": (slice(h, None), slice(None))}
        m[0, 0][region[kind]] = 1.0
        return m
    g = torch.Generator().manual_seed(int(seed))
    return IP.quarter_masks(1, s, g) if name == "faces" else IP.random_square_masks(1, s, 12, g)


def inpaint_comparison(name: str, models: dict, x: torch.Tensor, mask: torch.Tensor,
                       nearest_from: torch.Tensor | None = None,
                       nearest: torch.Tensor | None = None) -> dict[str, Any]:
    """What the inpainting section shows of one image x (1, c, s, s) with ``mask`` (1, 1, s,
    s): ``images`` (the masked input with its hole grey, mean fill, nearest training image
    when ``nearest_from`` (its training images) is given, each model of ``models`` {label:
    model}, the original; each (c, s, s)), their ``labels``, and ``numbers`` per label: PSNR
    inside the hole and, for digits, the classifier's reading (class, probability)."""
    torch.set_num_threads(1)
    m = IP.binarize_mask(mask)
    shown = x * (1 - m) + 0.5 * m
    fills = {"mean fill": IP.mean_fill(x, m, mean_image(name))}
    if nearest is not None:  # found already (:func:`nearest_filled`, off the page's thread)
        fills["nearest training image"] = nearest
    elif nearest_from is not None:
        fills["nearest training image"] = IP.nearest_fill(x, m, nearest_from)
    for label, model in models.items():
        fills[label] = model.fill(x, m)
    numbers: dict[str, dict[str, Any]] = {
        k: {"hole_psnr": pooled_hole_psnr(v, x, m)} for k, v in fills.items()}
    if name == "digits":
        with torch.no_grad():
            clf = digit_classifier()
            for k, img in [("masked", x * (1 - m)), *fills.items(), ("original", x)]:
                probs = torch.softmax(clf(img.to(clf.device)), 1)[0]
                numbers.setdefault(k, {}).update(reads=int(probs.argmax()),
                                                  prob=float(probs.max()))
    return {"images": [shown[0], *[v[0] for v in fills.values()], x[0]],
            "labels": ["masked", *fills, "original"], "numbers": numbers,
            "hole_share": float(m.mean())}


def nearest_filled(name: str, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The nearest-training-image fill of x (1, c, s, s) with ``mask`` over all of a set's
    training images (about a second for the 6,000 faces: the page asks for it in the
    background)."""
    torch.set_num_threads(1)
    train = train_images(name)
    return IP.nearest_fill(x, mask, train[torch.arange(len(train))])


def recipe_of(name: str, gan: bool) -> dict:
    """The shipped recipe of a set ("digits" or "faces"), pixel-only or SRGAN."""
    if name == "faces":
        return dict(FACES_GAN if gan else FACES_SR)
    return dict(DIGITS_GAN if gan else DIGITS_SR)


def shipped_srresnet(name: str) -> str:
    return f"sr-{name}-srresnet"


def is_adversarial(card: dict) -> bool:
    return float(((card or {}).get("config") or {}).get("adversarial_weight") or 0) > 0


# -- train on demand --------------------------------------------------------------------------------
JOB_STEPS = {False: 1_000, True: 300}
"""The Train form's defaults: an SRResNet of 1,000 steps (about 1.5 min on digits, 3 min on
faces, alone on 2 cores), an SRGAN of 300 (from the shipped SRResNet)."""


def _check_images(images) -> None:
    """The uploads a job of this page trains on: 28×28 grey or 64×64 colour, at least 20."""
    if images.ndim != 4 or images.shape[1:] not in ((1, 28, 28), (3, 64, 64)):
        raise ValueError("The models of this page train on 28×28 grey images (like the digits) "
                         f"or 64×64 colour ones (like the faces); these are "
                         f"{tuple(images.shape[1:])}.")
    if len(images) < 20:
        raise ValueError(f"Training here needs at least 20 images to learn from and to hold "
                         f"some out; {len(images)} given.")


def training_spec(*, data: str = "digits", gan: bool = False, steps: int | None = None,
                  images: np.ndarray | None = None, data_label: str | None = None,
                  owner: str = "", resume=None, **overrides):
    """A job that trains an SRResNet (``gan`` False) or an SRGAN (started from the shipped
    SRResNet of the same image shape) on a built-in set or on the user's ``images`` ((n, 1, 28,
    28) grey or (n, 3, 64, 64) colour in [0, 1]; every 10th held out); ``resume``: a user run's
    weights to continue; ``overrides``: fields of :class:`SRConfig` (a new run). The learning
    rate stays constant (Resume adds steps)."""
    from unsup.recipes import runs

    run = runs.plan(resume, data=data, images=images, label=data_label, check=_check_images)
    if run.upload:
        x, x_held, label, dcard = run.split_upload("sr")
        name = "faces" if x.shape[1] == 3 else "digits"
    else:
        if run.data not in DATA:
            raise ValueError(f"unknown data set {run.data!r}; built in: {', '.join(DATA)}")
        name, x_held = run.data, None
        x, label, dcard = train_images(name), DATA[name].split(",")[0], data_card(name)
    if run.config is not None:
        gan = float(run.config.get("adversarial_weight") or 0) > 0
    cfg = {**recipe_of(name, gan), **overrides, **(run.config or {}), "lr_decay_at": 0}
    init = shipped_srresnet(name) if gan and run.resume is None else None
    if init:
        from unsup import checkpoints, paths

        if not checkpoints.weights_path(paths.SHIPPED_DIR / init).exists():
            raise ValueError(f"An SRGAN here starts from the shipped SRResNet {init}, which is "
                             f"not there: train it first (python -m unsup train {init} --out "
                             "checkpoints).")
        dcard = {**dcard, "init_from": init}
    steps = int(JOB_STEPS[gan] if steps is None else steps)
    which = "SRGAN" if gan else "SRResNet"

    def preview(model):
        from unsup.viz.images import grid

        truth = heldout_images(name)[:4] if x_held is None else x_held[:4]
        r = restore(model, truth)
        return [np.asarray(grid(torch.cat([r["bicubic"], r["out"], r["truth"]]), len(truth),
                                pad=1), dtype=np.float32) / 255]

    def finish(model, job):
        if x_held is None:
            job.phase(f"measuring on the {N_HELDOUT} held-out images")
            return evaluate(model, check=job.check)
        job.phase(f"measuring on your held-out images ({len(x_held)})")
        from unsup.metrics import images as IM

        low = SR.downscale(x_held, model.config.scale)
        out, bic = model.upscale(low), SR.bicubic_up(low, model.config.scale)
        return {"psnr": round(float(np.mean(IM.psnr(out, x_held))), 3),
                "ssim": round(float(np.mean(IM.ssim(out, x_held))), 4),
                "bicubic_psnr": round(float(np.mean(IM.psnr(bic, x_held))), 3),
                "bicubic_ssim": round(float(np.mean(IM.ssim(bic, x_held))), 4),
                "n_heldout": int(len(x_held)), "data": name,
                "heldout": f"every 10th of your images ({len(x_held)})"}

    return run.spec(title=f"{which} ×4 on {label}, {steps:,} steps",
                    model=lambda data: make_model(cfg, init), data=x, data_card=dcard,
                    steps=steps, page="gan-apps", owner=owner,
                    checkpoint_every=max(50, steps // 5), preview=preview, finish=finish,
                    again=lambda path, more: training_spec(steps=int(more), resume=path,
                                                           owner=owner))


INPAINT_JOB_STEPS = 1_000
"""The Train form's default for an inpainting model: about 2 minutes on digits, 5 on faces."""


def inpaint_recipe(name: str, gan: bool) -> dict:
    """The shipped recipe of a set for a job: the context encoder, or the global + local GAN
    with its discriminators from the first step (a job has no separate pixel-only phase)."""
    cfg = dict(INPAINT_FACES_CE if name == "faces" else INPAINT_DIGITS_CE)
    cfg.update(lr_decay_at=0, adv_start=0)
    if gan:
        cfg.update(adversarial_weight=1e-3 if name == "faces" else 5e-3, d_width=16, lr_d=2e-4)
    return cfg


def inpaint_training_spec(*, data: str = "digits", gan: bool = False, steps: int | None = None,
                          images: np.ndarray | None = None, data_label: str | None = None,
                          owner: str = "", resume=None, **overrides):
    """A job that trains an inpainting model (context encoder, or with ``gan`` the global +
    local GAN) on a built-in set or the user's ``images`` (28×28 grey or 64×64 colour; every
    10th held out, with the set's standard masks); ``resume``: a user run to continue."""
    from unsup.recipes import runs

    run = runs.plan(resume, data=data, images=images, label=data_label, check=_check_images)
    if run.upload:
        x, x_held, label, dcard = run.split_upload("inpaint")
        name = "faces" if x.shape[1] == 3 else "digits"
    else:
        if run.data not in DATA:
            raise ValueError(f"unknown data set {run.data!r}; built in: {', '.join(DATA)}")
        name, x_held = run.data, None
        x, label, dcard = train_images(name), DATA[name].split(",")[0], data_card(name)
    cfg = {**inpaint_recipe(name, gan), **overrides, **(run.config or {})}
    names = {f.name for f in dataclasses.fields(InpaintConfig)}
    cfg = {k: v for k, v in cfg.items() if k in names}
    steps = int(INPAINT_JOB_STEPS if steps is None else steps)
    which = "Global + local GAN" if float(cfg.get("adversarial_weight") or 0) > 0 else \
        "Context encoder"

    def preview(model):
        from unsup.viz.images import grid

        truth = heldout_images(name)[:4] if x_held is None else x_held[:4]
        m = heldout_masks(name, len(truth))
        return [np.asarray(grid(torch.cat([truth * (1 - m) + 0.5 * m, model.fill(truth, m),
                                           truth]), len(truth), pad=1), dtype=np.float32) / 255]

    def finish(model, job):
        if x_held is None:
            job.phase(f"measuring on the {N_HELDOUT} held-out images")
            return evaluate_inpaint(model, check=job.check)
        job.phase(f"measuring on your held-out images ({len(x_held)})")
        m = heldout_masks(name, len(x_held))
        return {"hole_psnr": round(pooled_hole_psnr(model.fill(x_held, m), x_held, m), 3),
                "mean_hole_psnr": round(pooled_hole_psnr(IP.mean_fill(
                    x_held, m, x.mean(0)), x_held, m), 3),
                "n_heldout": int(len(x_held)), "data": name,
                "heldout": f"every 10th of your images ({len(x_held)})"}

    return run.spec(title=f"{which} inpainting on {label}, {steps:,} steps",
                    model=lambda data: Inpainter(InpaintConfig(**cfg)), data=x, data_card=dcard,
                    steps=steps, page="gan-apps", owner=owner,
                    checkpoint_every=max(50, steps // 5), preview=preview, finish=finish,
                    again=lambda path, more: inpaint_training_spec(steps=int(more),
                                                                   resume=path, owner=owner))


def estimate_inpaint_step_seconds(name: str, gan: bool, n: int = 3) -> float:
    from unsup.train import time_steps

    x = heldout_images(name)[:64]
    model = Inpainter(InpaintConfig(**inpaint_recipe(name, gan)))
    bs = model.batch_size
    return time_steps(model, lambda i: x[torch.arange(bs * i, bs * (i + 1)) % len(x)], n=n,
                      warmup=1)


def estimate_step_seconds(name: str, gan: bool, n: int = 3) -> float:
    """Seconds per training step of the Train form's job, measured now (real steps)."""
    from unsup.train import time_steps

    x = heldout_images(name)[:64]
    model = make_model(recipe_of(name, gan))
    bs = model.batch_size
    return time_steps(model, lambda i: x[torch.arange(bs * i, bs * (i + 1)) % len(x)], n=n,
                      warmup=1)


def thumbnail():
    """The home card: a held-out digit's low-res input, bicubic and SRGAN output."""
    from PIL import Image

    from unsup import checkpoints, paths
    from unsup.viz.images import to_pil

    truth = heldout_images("digits")[:3]
    path = paths.SHIPPED_DIR / "sr-digits-srgan"
    low = SR.downscale(truth, 4)
    rows = [torch.nn.functional.interpolate(low, scale_factor=4, mode="nearest"),
            SR.bicubic_up(low, 4)]
    if checkpoints.weights_path(path).exists():
        rows.append(checkpoints.load(path).upscale(low))
    card = Image.new("RGB", (320, 200), (14, 17, 23))
    for r, imgs in enumerate(rows):
        for c in range(3):
            tile = to_pil(imgs[c]).resize((60, 60), Image.NEAREST).convert("RGB")
            card.paste(tile, (20 + 100 * r, 10 + 62 * c))
    return card


FAMILY = Family(
    name="ganapps",
    label="GAN applications",
    models=(SuperResolution, Inpainter, T2I.StackGAN, T2I.SpriteReader),
    kind_labels=KIND_LABELS,
    presets=PRESETS,
    build=build,
    evaluate=evaluate,
    data={**DATA, **T2I.DATA},
    page=PageInfo("gan-apps", "GAN applications", ":material/auto_fix_high:",
                  "app_pages/gan_apps.py",
                  "A GAN loss added to a task: super-resolution and inpainting that look "
                  "real, at a cost in pixel accuracy.", "unsup.recipes.ganapps:thumbnail", order=45),
    warm=("unsup.recipes.ganapps", "unsup.data.captions:warm_up"),
    headline=("psnr", "ssim", "fd", "acc"),
    bench=("bench_ganapps.py",),
)

__all__ = ["FAMILY", "PRESETS", "evaluate", "inpaint_training_spec", "restore", "training_spec"]
