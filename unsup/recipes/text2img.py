"""Text to image on dSprites (issue 24, part 3): StackGAN draws a sprite from a sentence.

Two shipped models (presets of the ``ganapps`` family):

- ``t2i-reader``: the measuring instrument, a :class:`~unsup.models.sprite_reader.SpriteReader`
  trained on real dSprites (the training split) to read back shape, scale and position;
- ``t2i-dsprites``: the two-stage :class:`~unsup.models.stackgan.StackGAN`, trained on the
  training split *minus every sprite of a held-out caption combination* (32 of the 162
  combinations of shape x scale x position cell, :data:`unsup.data.captions.HELDOUT_COMBOS`),
  with captions in English and Thai drawn afresh each step.

Held-out numbers (:func:`evaluate_stackgan`): 1,000 sentences naming held-out combinations
(half English, half Thai; shape, scale and position always named, the angle in half of them),
one image each; the reader's accuracy on shape, scale level and position cell (both bins right)
for stage I (its 32x32 sketch enlarged to 64x64 bilinearly) and stage II, beside chance; and the
Fréchet distance, in the reader's feature space, between each stage's images and real sprites of
the same sentences (lower is sharper and more real), with the real-vs-real floor.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import torch

from unsup.families import Preset
from unsup.models.sprite_reader import SpriteReader, SpriteReaderConfig
from unsup.models.stackgan import StackGAN, StackGANConfig

STACKGAN = StackGAN.kind
READER = SpriteReader.kind
DATA = {"dsprites": "dSprites with English and Thai captions (64×64)"}
N_EVAL = 1_000
"""Sentences of held-out combinations every text-to-image number is measured on."""
EVAL_SEED = 2025
"""Seed of those sentences and of the images drawn for them."""
N_READER_EVAL = 5_000
"""Held-out real sprites the reader's own accuracy is measured on."""

T2I = dict(image_size=64, embed_dim=64, text_dim=64, ca_dim=16, z_dim=16, kl_weight=0.1,
           g_width=32, g2_width=32, n_res=2, d_width=16, d_projection=True,
           stage1_steps=5_000, lr=2e-4, lr_d=2e-4, batch_size=64)
"""The shipped StackGAN: 5,000 steps of stage I, then 4,000 of stage II. KL weight 0.1 and a
projection term in the discriminators. Measured while choosing (stage I alone, held-out
sentences): with the paper's λ = 1 and the sentence only concatenated, every factor at chance
after 1,000 steps; λ = 0.1, still at chance after 600 (CA's KL at 0.02 nats); + projection,
position cells read right 19.7% after 1,500 steps; + the louder text embedding of
:class:`~unsup.models.stackgan.TextEncoder`, 48.3%."""
READER_CFG = dict(image_size=64, width=32, n_features=128, degrade=0.5, lr=1e-3,
                  lr_decay_at=2_000, batch_size=128)
"""The reader: 2,000 steps at Adam 1e-3, then 600 at 1e-4. Measured while choosing it (constant
rate, 1,500 steps): shape 90.9%, scale 92.5%, x and y bins 100% on held-out real sprites."""

PRESETS = (
    Preset("t2i-reader", "Sprite reader (measuring instrument)",
           "A small CNN trained on real dSprites to read a sprite's shape, scale and position "
           "back: it scores what the text-to-image model draws.", READER, 2_600,
           dict(READER_CFG), "dsprites", checkpoint_every=500),
    Preset("t2i-dsprites", "StackGAN on dSprites (English + Thai)",
           "Two-stage text-to-image GAN (Zhang et al. 2017): a sentence's learnt word "
           "embeddings, conditioning augmentation, a 32×32 sketch, then the 64×64 image; "
           "matching-aware discriminators. Trained on captions in both languages, never on "
           "the 32 held-out combinations.", STACKGAN, 9_000, dict(T2I), "dsprites",
           checkpoint_every=1_000),
)
KIND_LABELS = {STACKGAN: "Text to image (StackGAN)",
               READER: "Sprite reader (shape, scale and position of a sprite)"}


# -- data ------------------------------------------------------------------------------------------
class SpriteRows:
    """dSprites items as training rows (b, 5 + 64·64): the five factor indices, then the image
    (rendered on demand). ``indices``: the published indices of the items."""

    def __init__(self, indices: np.ndarray, size: int = 64):
        self.indices = np.asarray(indices, dtype=np.int64)
        self.size = int(size)

    def __len__(self) -> int:
        return len(self.indices)

    def factors(self, idx) -> np.ndarray:
        from unsup.data import dsprites as D

        i = idx.numpy() if isinstance(idx, torch.Tensor) else np.asarray(idx)
        return D.index_to_factors(self.indices[i.astype(np.int64).reshape(-1)])

    def __getitem__(self, idx) -> torch.Tensor:
        from unsup.data import dsprites as D

        f = self.factors(idx)
        return torch.cat([torch.as_tensor(f, dtype=torch.float32),
                          D.render(f, self.size).flatten(1)], 1)


@lru_cache(maxsize=2)
def train_indices(captioned: bool) -> np.ndarray:
    """The published indices of the training split of dSprites; with ``captioned``, without
    any sprite of a held-out caption combination (what the StackGAN learns from)."""
    from unsup.data import captions as C
    from unsup.data import dsprites as D

    idx = D.DSprites("train").global_index(np.arange(len(D.DSprites("train"))))
    if captioned:
        idx = idx[~C.is_heldout_combo(D.index_to_factors(idx))]
    return idx


def data_card(captioned: bool) -> dict[str, Any]:
    import hashlib

    from unsup.data import captions as C
    from unsup.data import dsprites as D

    idx = train_indices(captioned)
    h = hashlib.sha256(D.DSprites("train").fingerprint().encode())
    h.update(idx[::101].tobytes())
    card: dict[str, Any] = {"name": "dsprites", "label": DATA["dsprites"], "n": int(len(idx)),
                            "size": 64, "heldout": {"n": D.HELDOUT_SIZE, "seed": D.HELDOUT_SEED}}
    if captioned:
        h.update(repr(sorted(C.HELDOUT_COMBOS)).encode() + "|".join(C.VOCAB).encode())
        card["heldout_combos"] = len(C.HELDOUT_COMBOS)
        card["vocab_size"] = C.VOCAB_SIZE
    card["fingerprint"] = h.hexdigest()[:16]
    return card


def build(preset: Preset):
    if preset.kind == READER:
        return (SpriteReader(SpriteReaderConfig(**preset.config)),
                SpriteRows(train_indices(False)), data_card(False))
    return (StackGAN(StackGANConfig(**preset.config)), SpriteRows(train_indices(True)),
            data_card(True))


# -- the instrument --------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def reader() -> SpriteReader:
    """The shipped sprite reader."""
    from unsup import checkpoints, paths

    path = paths.SHIPPED_DIR / "t2i-reader"
    if not checkpoints.weights_path(path).exists():
        raise ValueError("The sprite reader that scores text to image is not there: train it "
                         "first (python -m unsup train t2i-reader --out checkpoints).")
    m = checkpoints.load(path)
    m.eval()
    return m


def bins(factors: np.ndarray) -> dict[str, np.ndarray]:
    """shape, scale level, x bin, y bin and cell (x bin + 3 y bin) of factor rows (n, 5)."""
    from unsup.data import captions as C

    f = np.asarray(factors)
    xb, yb = C.x_bin(f[:, 3]), C.y_bin(f[:, 4])
    return {"shape": f[:, 0], "scale": f[:, 1], "x": xb, "y": yb, "cell": xb + 3 * yb}


def read_images(model: SpriteReader, x: torch.Tensor) -> tuple[dict[str, np.ndarray],
                                                               np.ndarray]:
    """What the reader sees in images x (n, 1, 64, 64): ({shape, scale, x, y, cell}, features
    (n, d) float64). 32x32 images are enlarged bilinearly first."""
    if x.shape[-1] != 64:
        x = torch.nn.functional.interpolate(x, size=(64, 64), mode="bilinear",
                                            align_corners=False)
    r = model.read(x)
    f = np.zeros((len(x), 5), dtype=np.int64)
    f[:, 0], f[:, 1] = r["shape"].numpy(), r["scale"].numpy()
    f[:, 3], f[:, 4] = r["pos_x"].numpy(), r["pos_y"].numpy()
    return bins(f), r["features"].double().numpy()


def evaluate_reader(model: SpriteReader, check=lambda: None) -> dict[str, Any]:
    """The reader's accuracy on real held-out sprites (higher is better): shape, scale level,
    x and y level, x and y bin, cell."""
    from unsup.data import dsprites as D

    idx = D.heldout_indices()[:N_READER_EVAL]
    f = D.index_to_factors(idx)
    check()
    x = D.render(f)
    r = model.read(x)
    truth = bins(f)
    pred_f = np.stack([r["shape"].numpy(), r["scale"].numpy(), f[:, 2], r["pos_x"].numpy(),
                       r["pos_y"].numpy()], 1)
    pred = bins(pred_f)
    out = {f"acc_{k}": round(float((pred[k] == truth[k]).mean()), 4) for k in truth}
    out["acc_pos_x_level"] = round(float((pred_f[:, 3] == f[:, 3]).mean()), 4)
    out["acc_pos_y_level"] = round(float((pred_f[:, 4] == f[:, 4]).mean()), 4)
    out.update(n_heldout=int(len(idx)), data="dsprites")
    return out


# -- the held-out sentences ------------------------------------------------------------------------
@lru_cache(maxsize=2)
def eval_set(n: int = N_EVAL, seed: int = EVAL_SEED, heldout: bool = True
             ) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """(factor rows (n, 5) of real sprites, their sentences, their languages): each row a
    random sprite of a held-out combination (``heldout``) or of a training one, its sentence
    naming shape, scale and position (the angle in every other one), in English for the first
    half and Thai for the second."""
    from unsup.data import captions as C
    from unsup.data import dsprites as D

    rng = np.random.default_rng(seed)
    pool = D.heldout_indices() if heldout else train_indices(True)
    pf = D.index_to_factors(pool)
    keep = C.is_heldout_combo(pf) if heldout else np.ones(len(pool), bool)
    rows = pf[keep][rng.choice(int(keep.sum()), size=n, replace=False)]
    texts, langs = [], []
    for i, row in enumerate(rows):
        lang = "en" if i < n // 2 else "th"
        mention = ("shape", "scale", "position") + (("orientation",) if i % 2 else ())
        texts.append(C.describe(row, lang, rng, mention=mention))
        langs.append(lang)
    return rows, tuple(texts), tuple(langs)


def draw(model: StackGAN, texts, seed: int = EVAL_SEED, batch: int = 250
         ) -> tuple[torch.Tensor, torch.Tensor]:
    """One image per sentence: (stage I (n, 1, 32, 32), stage II (n, 1, 64, 64))."""
    from unsup.data import captions as C

    ones, twos = [], []
    for i in range(0, len(texts), batch):
        ids = C.encode(list(texts[i:i + batch]))
        a, b = model.generate(ids, seed=seed + i)
        ones.append(a)
        twos.append(b)
    return torch.cat(ones), torch.cat(twos)


CHANCE = {"shape": 1 / 3, "scale": 1 / 6, "cell": 1 / 9, "x": 1 / 3, "y": 1 / 3}


def evaluate_stackgan(model: StackGAN, check=lambda: None, n: int = N_EVAL) -> dict[str, Any]:
    """Held-out numbers of a StackGAN (see the module docstring): per stage, the reader's
    accuracy per factor on images drawn for sentences of held-out combinations, and the Fréchet
    distance to real sprites of the same sentences; the same accuracies on sentences of
    training combinations, and the real-vs-real floor of the distance."""
    from unsup.data import dsprites as D
    from unsup.metrics import gan as G

    rd = reader()
    out: dict[str, Any] = {}
    for split in ("heldout", "seen"):
        rows, texts, langs = eval_set(n, EVAL_SEED, split == "heldout")
        check()
        x1, x2 = draw(model, texts)
        truth = bins(rows)
        real_feats = read_images(rd, D.render(rows))[1] if split == "heldout" else None
        if split == "heldout":
            held_feats = real_feats
        for stage, x in (("1", x1), ("2", x2)):
            check()
            pred, feats = read_images(rd, x)
            pre = f"s{stage}_" if split == "heldout" else f"seen_s{stage}_"
            for k in ("shape", "scale", "x", "y", "cell"):
                out[f"{pre}acc_{k}"] = round(float((pred[k] == truth[k]).mean()), 4)
            if split == "heldout":
                th = np.asarray(langs) == "th"
                out[f"{pre}acc_all"] = round(float(np.mean(
                    (pred["shape"] == truth["shape"]) & (pred["scale"] == truth["scale"])
                    & (pred["cell"] == truth["cell"]))), 4)
                for lang, sel in (("en", ~th), ("th", th)):
                    for k in ("shape", "scale", "cell"):
                        out[f"{pre}acc_{k}_{lang}"] = round(
                            float((pred[k][sel] == truth[k][sel]).mean()), 4)
                out[f"{pre}fd"] = float(f"{G.frechet_distance(feats, real_feats):.4g}")
    # The floor: real sprites of other draws of the same held-out combinations, against the
    # real sprites of the held-out sentences (their features, read above).
    rows_b = eval_set(n, EVAL_SEED + 1, True)[0]
    check()
    fb = read_images(rd, D.render(rows_b))[1]
    out["real_fd"] = float(f"{G.frechet_distance(fb, held_feats):.4g}")
    out.update({f"chance_{k}": round(v, 4) for k, v in CHANCE.items()})
    out.update(n_heldout=int(n), data="dsprites", eval_seed=EVAL_SEED)
    return out


def evaluate(model, check=lambda: None) -> dict[str, Any]:
    if isinstance(model, SpriteReader):
        return evaluate_reader(model, check)
    return evaluate_stackgan(model, check)


# -- what the page shows ---------------------------------------------------------------------------
EXAMPLES = ("a small square near the bottom right, turned 45 degrees",
            "a tiny square at the top",
            "หัวใจขนาดเล็ก ใกล้มุมซ้ายบน",
            "วงรีใหญ่มาก ตรงกลาง หมุน 90 องศา",
            "a huge purple ellipse on the left")
"""The section's example sentences (English, Thai, and one with a word the model does not
know). The first names a held-out combination (small square, bottom right): what the page opens
on is a sentence the model never trained on."""


def reading_names(r: dict) -> dict[str, str]:
    """What a :func:`unsup.data.captions.read` result names, in words: {factor: value}."""
    from unsup.data import captions as C
    from unsup.data import dsprites as D

    out = {}
    if r.get("shape") is not None:
        out["shape"] = D.SHAPES[r["shape"]]
    if r.get("scale") is not None:
        out["scale"] = f"{C.SCALE_NAMES[r['scale']]} ({C.SCALE_VALUES[r['scale']]})"
    if r.get("x") is not None or r.get("y") is not None:
        x = C.X_NAMES[r["x"]] if r.get("x") is not None else "centre"
        y = C.Y_NAMES[r["y"]] if r.get("y") is not None else "middle"
        out["position"] = "centre" if (x, y) == ("centre", "middle") else f"{y} {x}"
    if r.get("orientation") is not None:
        out["angle"] = f"{r['orientation'] * C.DEGREES_PER_LEVEL}°"
    return out


def sentence_view(model: StackGAN, text: str, n: int = 6, seed: int = 0) -> dict[str, Any]:
    """What the section shows for one sentence: its ``tokens``, what it ``reads`` as (the
    lexicon's reading, :func:`unsup.data.captions.read`), whether its named combination was
    ``held_out`` of training (None unless shape, scale and position are all named), ``n``
    samples of each stage (``stage1`` (n, 1, 32, 32), ``stage2`` (n, 1, 64, 64); seed
    ``seed``; ``both``: stage I enlarged with nearest neighbours, then stage II), and for
    each stage-II sample what the shipped reader sees (``seen``: a list of
    {shape, scale, position} names, None when the reader is missing) and ``agree``: for each
    sample, whether every factor the sentence names is the one the reader sees."""
    from unsup.data import captions as C
    from unsup.data import dsprites as D

    torch.set_num_threads(1)
    tokens = C.tokenize(text)
    r = C.read(text)
    x1, x2 = model.generate(C.encode([text] * int(n)), seed=int(seed))
    held = None
    if r.get("shape") is not None and r.get("scale") is not None and (
            r.get("x") is not None or r.get("y") is not None):
        row = np.array([[r["shape"], r["scale"], 0,
                         C.X_BINS[1 if r.get("x") is None else r["x"]][0],
                         C.Y_BINS[1 if r.get("y") is None else r["y"]][0]]])
        held = bool(C.is_heldout_combo(row)[0])
    seen, agree = None, None
    try:
        rd = reader()
    except ValueError:
        rd = None
    if rd is not None:
        pred, _ = read_images(rd, x2)
        seen, agree = [], []
        for i in range(len(x2)):
            s = {"shape": D.SHAPES[int(pred["shape"][i])],
                 "scale": C.SCALE_NAMES[int(pred["scale"][i])],
                 "position": f"{C.Y_NAMES[int(pred['y'][i])]} {C.X_NAMES[int(pred['x'][i])]}"}
            ok = True
            if r.get("shape") is not None:
                ok &= int(pred["shape"][i]) == r["shape"]
            if r.get("scale") is not None:
                ok &= int(pred["scale"][i]) == r["scale"]
            if r.get("x") is not None or r.get("y") is not None:
                ok &= int(pred["x"][i]) == (1 if r.get("x") is None else r["x"])
                ok &= int(pred["y"][i]) == (1 if r.get("y") is None else r["y"])
            seen.append(s)
            agree.append(bool(ok))
    up = torch.nn.functional.interpolate(x1, size=x2.shape[-2:], mode="nearest")
    return {"tokens": tokens, "reads": r, "names": reading_names(r), "held_out": held,
            "stage1": x1, "stage2": x2, "both": torch.cat([up, x2]), "seen": seen,
            "agree": agree, "max_tokens": C.MAX_TOKENS}


def heldout_examples(k: int = 4) -> list[str]:
    """English names of the first ``k`` held-out combinations (for the section's caption)."""
    from unsup.data import captions as C

    return [C.combo_name(i) for i in sorted(C.HELDOUT_COMBOS)[:k]]


# -- train on demand -------------------------------------------------------------------------------
JOB_STEPS = 2_000
"""The Train form's default: 1,000 steps of stage I, then 1,000 of stage II (about 8 minutes
alone on 2 cores)."""


def training_spec(*, steps: int | None = None, owner: str = "", resume=None, **overrides):
    """A job that trains a StackGAN on the built-in captioned dSprites (the held-out
    combinations kept out): stage I for the first half of the steps, then stage II;
    ``resume``: a user run to continue (its stage switch stays where it was)."""
    from unsup.recipes import runs

    run = runs.plan(resume, data="dsprites", images=None, label=None, check=lambda x: None)
    steps = int(JOB_STEPS if steps is None else steps)
    cfg = {**T2I, **overrides, **(run.config or {})}
    if run.config is None:
        cfg["stage1_steps"] = steps // 2
    x, dcard = SpriteRows(train_indices(True)), data_card(True)

    def preview(model):
        from unsup.data import captions as C
        from unsup.viz.images import grid

        texts = list(EXAMPLES[:4])
        a, b = model.generate(C.encode(texts), seed=0)
        a = torch.nn.functional.interpolate(a, size=(64, 64), mode="nearest")
        return [np.asarray(grid(torch.cat([a, b]), len(texts), pad=1), dtype=np.float32) / 255]

    def finish(model, job):
        job.phase(f"measuring on {N_EVAL:,} sentences of held-out combinations")
        return evaluate_stackgan(model, check=job.check)

    return run.spec(title=f"StackGAN on captioned dSprites, {steps:,} steps",
                    model=lambda data: StackGAN(StackGANConfig(**cfg)), data=x, data_card=dcard,
                    steps=steps, page="gan-apps", owner=owner,
                    checkpoint_every=max(100, steps // 10), preview=preview, finish=finish,
                    again=lambda path, more: training_spec(steps=int(more), resume=path,
                                                           owner=owner))


def estimate_step_seconds(stage: int = 1, n: int = 3) -> float:
    """Seconds per training step of a StackGAN job at ``stage``, measured now (real steps)."""
    from unsup.train import time_steps

    model = StackGAN(StackGANConfig(**{**T2I, "stage1_steps": 0 if stage == 2 else 10 ** 9}))
    data = SpriteRows(train_indices(True)[:4_096])
    bs = model.batch_size
    return time_steps(model, lambda i: data[torch.arange(bs * i, bs * (i + 1)) % len(data)],
                      n=n, warmup=1)
