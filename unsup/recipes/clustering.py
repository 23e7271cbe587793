"""The clustering family: no models of its own. It clusters and maps what the other families
learnt — the same digits as raw pixels, as PCA coefficients and as the code of every trained
encoder in the app (autoencoder, VAE, β-VAE family, the user's runs) — and ships the UMAP atlases
of the shipped encoders, so that they appear at once (``python -m unsup train atlas-<model>``
rebuilds one; UMAP is slow to start here, see :mod:`unsup.metrics.clustering`).

- Representations: :func:`representations` (pixels, PCA-k fitted on the training digits, codes).
- The MNIST table: :func:`clustering_table` (NMI / ARI of every method on every representation).
- 2-D toys: :func:`toy_points`, :func:`points_from_drawing`, :func:`points_from_rows`.
- Atlases: :func:`atlas_data` (which images a model's map shows), :func:`find_atlas` (a stored
  map: shipped, or computed earlier on this machine), :func:`atlas_work` (a new UMAP as a
  background job), :func:`train` (the CLI's presets).
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from unsup import checkpoints, families, fileio, paths
from unsup.data.images import binarize, load_split
from unsup.families import Family, PageInfo, Preset
from unsup.metrics import clustering as C

ATLAS_DIR = paths.SHIPPED_DIR / "atlas"
"""Shipped atlases: ``<model>.npz`` (2-D coordinates, float16) + ``<model>.json`` (its card)."""

ATLAS_FORMAT = "unsup-atlas/1"
DSPRITES_ATLAS_N = 1_000
"""Held-out dSprites images a dSprites model's atlas shows (a seeded sample)."""
DSPRITES_ATLAS_SEED = 0
MIN_UMAP_POINTS = 10
"""Fewer images than this get no UMAP (its neighbour graph needs a few neighbours each)."""
MNIST_CLASSES = [str(d) for d in range(10)]
SPLITS = {"test": "the 500 MNIST test digits (held out: no encoder and no PCA saw them)",
          "train": "the 4,500 MNIST training digits (the encoders and PCA were fitted on them, "
                   "without labels)"}


# -- encoders ------------------------------------------------------------------------------------
def has_encoder(kind: str) -> bool:
    """True if the registered model class of ``kind`` has ``encode`` (image -> code) and does
    not say otherwise (``codes_images = False``: a flow's ``encode`` maps points or images to
    its base space with a log-determinant, not to a code for the atlas)."""
    try:
        cls = families.model_class(kind)
    except KeyError:
        return False
    return callable(getattr(cls, "encode", None)) and getattr(cls, "codes_images", True)


def encoder_entries() -> list[checkpoints.Entry]:
    """Every loadable model (shipped, then the user's runs) whose model has ``encode``."""
    return [e for e in checkpoints.list_models() if has_encoder(e.kind)]


def input_shape(card: dict) -> tuple[int, int]:
    """(image side, channels) a card's encoder takes."""
    cfg = card.get("config") or {}
    return int(cfg.get("image_size", 0)), int(cfg.get("n_channels", 1))


def is_mnist_encoder(entry: checkpoints.Entry) -> bool:
    """An encoder that takes 28x28 grey images (so it can encode the MNIST digits)."""
    return input_shape(entry.card) == (28, 1)


def binary_input(card: dict) -> bool:
    """Models trained on a built-in set saw binarized images (x > 0.5); others grey ones."""
    return ((card.get("data") or {}).get("name") or "") in ("mnist", "digits8", "dsprites")


@torch.no_grad()
def encode(model, x: np.ndarray, batch: int = 500) -> np.ndarray:
    """Codes (n, d) float32 of images x (n, c, s, s): the posterior mean of each."""
    model.eval()
    out = []
    for s in range(0, len(x), batch):
        xb = torch.from_numpy(np.ascontiguousarray(x[s:s + batch], dtype=np.float32))
        out.append(model.encode(xb.to(model.device)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def model_input(card: dict, x: np.ndarray) -> np.ndarray:
    return binarize(x) if binary_input(card) else np.asarray(x, dtype=np.float32)


# -- representations of the MNIST split ------------------------------------------------------------
@dataclass
class Representation:
    """The same n images as rows of ``X`` (n, dims): pixels, PCA coefficients or a code."""

    key: str
    label: str
    X: np.ndarray
    note: str = ""

    @property
    def dims(self) -> int:
        return int(self.X.shape[1])


def mnist(split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """Grey MNIST images (n, 1, 28, 28) in [0, 1] and labels of ``split`` ("test" or "train")."""
    s = load_split("mnist")
    if split not in SPLITS:
        raise KeyError(f"split must be one of {list(SPLITS)}, not {split!r}")
    return (s.x_test, s.y_test) if split == "test" else (s.x_train, s.y_train)


@lru_cache(maxsize=2)
def mnist_pca(n_components: int = 100) -> C.PCABasis:
    """PCA of the 4,500 training digits' pixels (no labels used)."""
    s = load_split("mnist")
    return C.pca_basis(s.x_train.reshape(len(s.x_train), -1), n_components)


def pixel_rep(split: str) -> Representation:
    x, _ = mnist(split)
    return Representation("pixels", "raw pixels", x.reshape(len(x), -1).astype(np.float32),
                          "grey values in [0, 1]; distance = pixel-wise L2")


def pca_rep(split: str, k: int) -> Representation:
    x, _ = mnist(split)
    basis = mnist_pca(max(100, int(k)))
    return Representation(f"pca-{k}", f"PCA, {k} components",
                          basis.transform(x.reshape(len(x), -1), k).astype(np.float32),
                          "principal components of the 4,500 training digits")


def code_rep(entry: checkpoints.Entry, model, split: str) -> Representation:
    x, _ = mnist(split)
    z = encode(model, model_input(entry.card, x))
    whose = "shipped" if entry.source == "shipped" else "your run"
    return Representation(entry.name, f"{entry.title} ({whose})", z,
                          f"{z.shape[1]}-D code (posterior mean) of {entry.kind}")


def code_problem(X: np.ndarray) -> str | None:
    """Why these codes (n, d) cannot be clustered or mapped, in words; None when they can.
    A diverged model encodes to NaN or infinity, which K-means, mixtures, PCA and UMAP refuse."""
    X = np.asarray(X)
    if X.ndim != 2 or len(X) == 0:
        return "it gives no codes"
    bad = int((~np.isfinite(X).all(axis=1)).sum())
    if bad:
        return (f"its codes are not numbers (NaN or infinite) for {bad:,} of {len(X):,} images — "
                "the model diverged in training")
    return None


def clustering_table(reps: list[Representation], y: np.ndarray, *, k: int = 10, seed: int = 0,
                     methods: tuple[str, ...] = tuple(C.METHODS), alpha: float = 1.0,
                     on_cell: Callable[[int, int, str], None] | None = None) -> list[dict]:
    """NMI and ARI (higher is better) of every clustering method on every representation.

    One row per (representation, method): ``nmi``, ``ari`` (None where the method was left out:
    a full covariance above :data:`~unsup.metrics.clustering.FULL_MAX_DIMS` dimensions),
    ``k`` the clusters used (the DP mixture's suggestion, capped at 2k), ``seconds``, ``note``;
    ``skipped``: why a representation was not clustered at all (codes that are not numbers, see
    :func:`code_problem`), else absent.
    ``on_cell(done, total, what)`` reports progress. Fixed seeds: the table is reproducible.
    """
    rows, total, done = [], len(reps) * len(methods), 0
    for rep in reps:
        problem = code_problem(rep.X)
        for m in methods:
            if on_cell:
                on_cell(done, total, f"{C.METHODS[m]} on {rep.label}")
            row = {"representation": rep.label, "key": rep.key, "dims": rep.dims,
                   "method": C.METHODS[m], "method_key": m, "nmi": None, "ari": None,
                   "k": None, "seconds": 0.0, "note": ""}
            if problem:
                row.update(note=f"skipped: {problem}", skipped=problem)
            elif m == "gmm_full" and rep.dims > C.FULL_MAX_DIMS:
                row["note"] = (f"left out: a full covariance in {rep.dims} dimensions has "
                               f"{rep.dims * (rep.dims + 1) // 2:,} numbers per cluster")
            else:
                t0 = time.perf_counter()
                cl = C.fit_clusters(rep.X, m, k, seed=seed, alpha=alpha)
                row.update(C.scores(y, cl.labels), k=cl.n_clusters, note=cl.note,
                           seconds=round(time.perf_counter() - t0, 3))
            rows.append(row)
            done += 1
    if on_cell:
        on_cell(done, total, "done")
    return rows


def table_summary(rows: list[dict]) -> dict[str, Any]:
    """What the table's caption states, computed from it: the best cell, and K-means on raw
    pixels against K-means on the best learned code (both NMI)."""
    scored = [r for r in rows if r["nmi"] is not None]
    if not scored:
        return {}
    best = max(scored, key=lambda r: r["nmi"])
    km = {r["key"]: r for r in scored if r["method_key"] == "kmeans"}
    codes = [r for k, r in km.items() if k != "pixels" and not k.startswith("pca-")]
    out: dict[str, Any] = {"best": best, "pixels": km.get("pixels")}
    if codes:
        out["best_code"] = max(codes, key=lambda r: r["nmi"])
    out["codes_beating_pixels"] = [r["representation"] for r in codes
                                   if km.get("pixels") and r["nmi"] > km["pixels"]["nmi"]]
    out["n_codes"] = len(codes)
    return out


# -- 2-D toys -----------------------------------------------------------------------------------
TOYS = {"blobs": "Blobs", "aniso": "Anisotropic blobs", "moons": "Two moons",
        "draw": "Points you draw", "table": "Points you type"}
ANISO = np.array([[0.6, -0.6], [-0.4, 0.8]])
"""The linear map that stretches the anisotropic blobs (scikit-learn's clustering example)."""
MAX_TOY_POINTS = 2_000


def separated_centres(k: int, seed: int = 0, min_gap: float = 5.0, box: float = 8.0
                      ) -> np.ndarray:
    """k centres in [-box, box]² at least ``min_gap`` apart (seeded rejection sampling; the box
    grows if they do not fit)."""
    rng = np.random.default_rng(seed)
    centres: list[np.ndarray] = []
    tries = 0
    while len(centres) < k:
        c = rng.uniform(-box, box, 2)
        if all(np.linalg.norm(c - o) >= min_gap for o in centres):
            centres.append(c)
        tries += 1
        if tries > 2_000:
            box, tries = box * 1.2, 0
    return np.array(centres)


def toy_points(kind: str, n: int = 300, k: int = 3, seed: int = 0, spread: float = 0.8
               ) -> tuple[np.ndarray, np.ndarray]:
    """A seeded 2-D point set and the group each point was drawn from.

    ``blobs``: k round Gaussians (σ = ``spread``) with centres at least 5 apart (well separated
    for σ ≤ 1); ``aniso``: the same centres with twice the spread, sheared by :data:`ANISO`
    (long, slanted clusters that K-means cuts across);
    ``moons``: two interleaved half circles (scikit-learn's make_moons, noise ``spread``/8).
    """
    rng = np.random.default_rng(seed)
    n = int(min(max(n, 2), MAX_TOY_POINTS))
    if kind in ("blobs", "aniso"):
        centres = separated_centres(int(k), seed)
        y = np.arange(n) % int(k)
        noise = spread * rng.standard_normal((n, 2))
        if kind == "aniso":  # twice the spread, then sheared: long thin clusters side by side
            X = (centres[y] + 2.0 * noise) @ ANISO * 1.6
        else:
            X = centres[y] + noise
        return X, y.astype(np.int64)
    if kind == "moons":
        from sklearn.datasets import make_moons

        X, y = make_moons(n, noise=spread / 8, random_state=seed)
        return X * 4.0, y.astype(np.int64)
    raise KeyError(f"unknown toy {kind!r}; known: blobs, aniso, moons")


def points_from_drawing(img: np.ndarray, n: int = 300, seed: int = 0) -> np.ndarray:
    """Points sampled from the ink of a drawing (h, w) in [0, 1] (white ink on black): up to
    ``n`` inked pixels, jittered within their pixel, in coordinates 0..10 with y up."""
    img = np.asarray(img, dtype=np.float64)
    ys, xs = np.nonzero(img > 0.5)
    if len(xs) == 0:
        return np.zeros((0, 2))
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(xs), size=min(int(n), len(xs)), replace=False)
    h, w = img.shape
    jit = rng.uniform(0, 1, (len(pick), 2))
    px = (xs[pick] + jit[:, 0]) / w * 10.0
    py = (1.0 - (ys[pick] + jit[:, 1]) / h) * 10.0
    return np.stack([px, py], 1)


def points_from_rows(rows: list[dict]) -> tuple[np.ndarray, list[str]]:
    """Typed points: each row's ``x`` and ``y``; a row that is not two finite numbers is left
    out and named in the returned problems (its row number counts from 1)."""
    def empty(v) -> bool:
        return v is None or (isinstance(v, float) and np.isnan(v)) or v == ""

    pts, problems = [], []
    for i, r in enumerate(rows, start=1):
        if empty(r.get("x")) and empty(r.get("y")):
            continue  # an empty new row
        try:
            x, y = float(r.get("x")), float(r.get("y"))
        except (TypeError, ValueError):
            problems.append(f"Row {i}: x = {r.get('x')!r}, y = {r.get('y')!r} are not two "
                            "numbers; that row was left out. Type a number in both columns.")
            continue
        if not (np.isfinite(x) and np.isfinite(y)):
            problems.append(f"Row {i}: x and y must be finite numbers; that row was left out.")
            continue
        pts.append((x, y))
    return np.array(pts, dtype=np.float64).reshape(-1, 2), problems


# -- atlases -------------------------------------------------------------------------------------
@dataclass
class AtlasData:
    """The images a model's atlas shows: ``x`` (n, c, s, s) grey for display, ``x_in`` what the
    encoder takes, ``labels`` (n,) or None, and for dSprites every factor (n, 5)."""

    source: str  # "mnist", "dsprites" or "own"
    x: np.ndarray
    x_in: np.ndarray
    labels: np.ndarray | None
    label_name: str
    class_names: list[str] | None
    description: str
    factors: dict[str, np.ndarray] = field(default_factory=dict)
    factor_names: dict[str, list[str]] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(np.ascontiguousarray(self.x_in, dtype=np.float32).tobytes()
                              ).hexdigest()[:16]


def atlas_data(card: dict, model=None) -> AtlasData:
    """Which images a model's atlas maps: the MNIST test digits for a 28x28 grey encoder, a
    seeded sample of the held-out dSprites for a 64x64 dSprites model, else the model's own
    held-out images (``model`` needed)."""
    size, channels = input_shape(card)
    data_name = (card.get("data") or {}).get("name")
    if (size, channels) == (28, 1) and data_name != "upload":
        x, y = mnist("test")
        return AtlasData("mnist", x, model_input(card, x), y, "digit", MNIST_CLASSES,
                         "the 500 MNIST test digits (held out from training)")
    if data_name == "dsprites":
        from unsup.data import dsprites as D

        held = D.DSprites("heldout", size=size)
        rows = np.sort(np.random.default_rng(DSPRITES_ATLAS_SEED).choice(
            len(held), DSPRITES_ATLAS_N, replace=False))
        x = held[torch.as_tensor(rows)].numpy()
        f = held.factors(rows)
        factors = {name: f[:, j] for j, name in enumerate(D.FACTOR_LABELS)}
        names = {"shape": list(D.SHAPES)}
        return AtlasData("dsprites", x, x, f[:, 0].astype(np.int64), "shape", list(D.SHAPES),
                         f"{DSPRITES_ATLAS_N:,} held-out dSprites images (seeded sample)",
                         factors, names)
    if model is None:
        raise ValueError("this model's atlas needs the model to find its held-out images")
    from unsup.recipes.vae import heldout_of

    x, label = heldout_of(model)
    x = x.numpy()
    return AtlasData("own", x, x, None, "", None, label)


def file_sha(path: str | Path) -> str:
    """sha256 (16 hex digits) of the weights in a safetensors file — tensor names, shapes and
    bytes, not the card in its metadata (re-measuring a model's metrics does not change what
    its atlas shows) — cached by path, size and modification time."""
    st = Path(path).stat()
    return _file_sha(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=64)
def _file_sha(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        head = fh.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else 0
        try:
            header = json.loads(fh.read(n)) if 0 < n < size else None
        except ValueError:
            header = None
        if isinstance(header, dict):
            header.pop("__metadata__", None)
            h.update(json.dumps(header, sort_keys=True).encode())
        else:  # not safetensors: the whole file
            fh.seek(0)
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def umap_params(n_neighbors: int = 15, min_dist: float = 0.1, seed: int = 0,
                n_epochs: int | None = None) -> dict:
    return {"n_neighbors": int(n_neighbors), "min_dist": float(min_dist), "seed": int(seed),
            "n_epochs": None if n_epochs is None else int(n_epochs)}


def cache_atlas_path(model_sha: str, data_fp: str, params: dict) -> Path:
    """Where a UMAP atlas computed on this machine is kept (derived data: the cache folder)."""
    key = hashlib.sha256(json.dumps([model_sha, data_fp, params], sort_keys=True).encode()
                         ).hexdigest()[:16]
    return paths.cache_dir() / "atlas" / f"{key}.npz"


def write_atlas(path: Path, coords: np.ndarray, card: dict) -> Path:
    """``path`` (.npz: float16 coordinates) and its card beside it (.json), both atomic."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(buf, umap=np.asarray(coords, dtype=np.float16))
    fileio.atomic_write_bytes(path, buf.getvalue())
    fileio.atomic_write_json(path.with_suffix(".json"), card)
    return path


def read_atlas(path: Path) -> tuple[np.ndarray, dict]:
    with np.load(path, allow_pickle=False) as z:
        coords = np.asarray(z["umap"], dtype=np.float32)
    card = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    return coords, card


def find_atlas(entry: checkpoints.Entry, data: AtlasData, params: dict | None = None
               ) -> tuple[np.ndarray | None, dict, str]:
    """A stored UMAP atlas of this model on these images: the shipped one (default
    parameters), else one computed earlier on this machine with ``params``.

    Returns (coords or None, its card, a note): a stored atlas is only used when it was made from
    exactly these weights and these images (hashes in its card); otherwise the note says why not.
    """
    params = params or umap_params()
    sha = file_sha(entry.path)
    note = ""
    shipped = ATLAS_DIR / f"{entry.name}.npz"
    if entry.source == "shipped" and shipped.exists() and params == umap_params():
        try:
            coords, card = read_atlas(shipped)
        except (OSError, ValueError, KeyError) as exc:
            note = f"the shipped atlas {shipped.name} is unreadable ({type(exc).__name__})"
        else:
            if card.get("model_sha256") != sha:
                note = ("the shipped atlas was made from other weights of this model (its "
                        "checkpoint changed since)")
            elif (card.get("data") or {}).get("fingerprint") != data.fingerprint:
                note = "the shipped atlas was made from other images"
            elif len(coords) != len(data.x):
                note = "the shipped atlas has another number of points"
            else:
                return coords, card, "shipped"
    cached = cache_atlas_path(sha, data.fingerprint, params)
    if cached.exists():
        try:
            coords, card = read_atlas(cached)
            if len(coords) == len(data.x):
                return coords, card, "computed earlier on this machine"
        except (OSError, ValueError, KeyError):
            pass
    return None, {}, note


def atlas_card(entry: checkpoints.Entry, data: AtlasData, params: dict, seconds: float,
               command: str | None) -> dict:
    umap = C.import_umap()
    return {"format": ATLAS_FORMAT, "model": entry.name, "model_title": entry.title,
            "model_sha256": file_sha(entry.path), "method": "umap", "params": params,
            "data": {"source": data.source, "description": data.description, "n": len(data.x),
                     "fingerprint": data.fingerprint},
            "command": command, "seconds": round(seconds, 2),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "umap_version": getattr(umap, "__version__", "?"),
            "placement": "new points: inverse-distance-weighted mean position of their 10 "
                         "nearest codes (never inverse_transform)"}


def compute_atlas(entry: checkpoints.Entry, params: dict,
                  progress: Callable[[float, str], None] = lambda f, m: None,
                  should_stop: Callable[[], bool] = lambda: False,
                  out: Path | None = None, command: str | None = None) -> Path:
    """Encode the model's atlas images and lay their codes out with UMAP; write the atlas to
    ``out`` (default: this machine's cache). Raises InterruptedError when asked to stop (checked
    between the phases: the layout itself cannot be interrupted)."""
    t0 = time.perf_counter()
    progress(0.02, f"loading {entry.title}")
    model = checkpoints.load(entry.path)
    data = atlas_data(entry.card, model)
    if len(data.x) < MIN_UMAP_POINTS:
        raise ValueError(f"A UMAP map needs at least {MIN_UMAP_POINTS} images; this model's "
                         f"atlas has {len(data.x)} ({data.description}). Use the PCA map.")
    progress(0.05, f"encoding {len(data.x):,} images")
    codes = encode(model, data.x_in)
    problem = code_problem(codes)
    if problem:
        raise ValueError(f"No map of {entry.title}: {problem}.")
    if should_stop():
        raise InterruptedError
    progress(0.08, "importing umap-learn (15-30 s the first time on this machine, then ~2 s)")
    C.import_umap()
    if should_stop():
        raise InterruptedError
    progress(0.3, "nearest-neighbour graph (numba compiles it on a machine's first UMAP)")
    coords = C.embed_umap(codes, n_neighbors=params["n_neighbors"], min_dist=params["min_dist"],
                          n_epochs=params.get("n_epochs"), seed=params["seed"],
                          on_epochs=lambda f: progress(0.4 + 0.55 * f,
                                                       f"laying out the map: {f:.0%} of epochs"))
    if should_stop():
        raise InterruptedError
    path = out or cache_atlas_path(file_sha(entry.path), data.fingerprint, params)
    card = atlas_card(entry, data, params, time.perf_counter() - t0, command)
    progress(0.98, "saving")
    return write_atlas(path, coords, card)


def atlas_work(entry: checkpoints.Entry, params: dict):
    """A work job (see :meth:`unsup.jobs.ThreadRunner.submit_work`) computing a UMAP atlas."""

    def work(progress, should_stop):
        torch.set_num_threads(1)
        return {"path": str(compute_atlas(entry, params, progress, should_stop))}

    return work


# -- the CLI's presets: the shipped atlases --------------------------------------------------------
SHIPPED_ENCODERS = ("vae-mnist-16d", "vae-mnist-2d", "ae-mnist-16d", "dae-mnist-16d",
                    "betavae-b1", "betavae-b4", "betatcvae-b6", "adagvae-b1", "adatcvae-b6")


def _atlas_preset(model: str) -> Preset:
    mnist_model = "mnist" in model
    return Preset(f"atlas-{model}", f"UMAP atlas of {model}",
                  f"UMAP (15 neighbours, min_dist 0.1, seed 0) of {model}'s codes of "
                  + ("the 500 MNIST test digits." if mnist_model else
                     f"{DSPRITES_ATLAS_N:,} held-out dSprites images."),
                  "atlas", 500, umap_params(), "mnist-test" if mnist_model else
                  "dsprites-heldout", checkpoint_every=0, options={"model": model})


PRESETS = tuple(_atlas_preset(m) for m in SHIPPED_ENCODERS)


def train(preset: Preset, *, steps: int | None = None, out_dir: str | Path | None = None,
          on_progress: Callable | None = None, device: str | None = None) -> Path:
    """``python -m unsup train atlas-<model>``: the shipped atlas of a shipped encoder, written
    to ``checkpoints/atlas/<model>.npz`` + ``.json`` (or ``out_dir``). ``steps`` overrides
    UMAP's optimisation epochs (500 by default for a few thousand points)."""
    model = preset.options["model"]
    entry = next((e for e in checkpoints.list_models() if e.name == model and
                  e.source == "shipped"), None)
    if entry is None:
        raise checkpoints.CheckpointError(
            f"The shipped model {model} is missing; train it first: python -m unsup train {model}")
    torch.set_num_threads(1)
    params = dict(preset.config)
    if steps is not None:
        params["n_epochs"] = int(steps)
    out = (Path(out_dir) if out_dir else ATLAS_DIR) / f"{model}.npz"
    last = [-1.0]

    def progress(fraction: float, message: str) -> None:
        if fraction < 0.4 or fraction - last[0] >= 0.1:  # phases, then every 10% of epochs
            print(f"{fraction:6.1%}  {message}", flush=True)
            last[0] = fraction

    from unsup.recipes import train_command

    command = train_command(preset.name, steps, out_dir)
    return compute_atlas(entry, params, progress, out=out, command=command)


def decode(model, z: np.ndarray) -> np.ndarray:
    """Images (n, c, s, s) an encoder model's decoder draws from codes ``z`` (d,) or (n, d)."""
    z = np.asarray(z)
    with torch.no_grad():
        return model.decode(torch.as_tensor(z, dtype=torch.float32).reshape(-1, z.shape[-1])
                            ).numpy()


def thumbnail():
    """The home card: the shipped UMAP atlas of the 16-D VAE's codes, coloured by digit."""
    from unsup.viz.clustering import atlas_thumbnail

    coords, _ = read_atlas(ATLAS_DIR / "vae-mnist-16d.npz")
    return atlas_thumbnail(coords, mnist("test")[1])


FAMILY = Family(
    name="clustering",
    label="Clustering & latent atlas (maps of the other families' codes)",
    presets=PRESETS,
    train=train,
    data={"mnist-test": "MNIST test digits (500)",
          "dsprites-heldout": f"held-out dSprites ({DSPRITES_ATLAS_N:,}, seeded sample)"},
    page=PageInfo("clustering", "Clustering & latent atlas", ":material/scatter_plot:",
                  "app_pages/clustering.py",
                  "K-means vs GMM vs the DP mixture on pixels, PCA and learned codes; a UMAP "
                  "atlas of any model's latent space.",
                  "unsup.recipes.clustering:thumbnail", order=70),
    warm=("sklearn.cluster", "sklearn.mixture", "unsup.recipes.clustering", "unsup.ui.clustering",
          "unsup.viz.clustering"),
    bench=("bench_clustering.py",),
)
