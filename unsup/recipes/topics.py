"""The topic-model family: LDA (and pLSA) over the built-in listing corpus. Presets of the shipped
models, their training and held-out evaluation, the K sweep, and the page's background fits (which
run on the shared job runner and save into the runs folder like every other model)."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from unsup import paths
from unsup.families import Family, PageInfo, Preset
from unsup.metrics.topics import coherence, topic_recovery
from unsup.models import topics as tm
from unsup.text import Corpus

HELDOUT_SEED = 1_000  # the corpus seed for held-out documents of the built-in corpus
HELDOUT_N = 1_000
SWEEP = (4, 6, 8, 10, 12, 15, 20)


def _p(lang: str, label: str) -> Preset:
    return Preset(f"topics-{lang}-5000", f"LDA, K=10, on 5,000 built-in {label} listings (seed 0)",
                  "Topics of the built-in listing corpus (unsup.data.listings).", "topics", 200,
                  {"n_topics": 10}, f"listings-{lang}", checkpoint_every=0,
                  options={"lang": lang, "n": 5000, "seed": 0, "sweep": SWEEP})


PRESETS = (_p("th", "Thai"), _p("en", "English"), _p("mixed", "Thai-English"))
DATA = {"listings-th": "built-in Thai listings", "listings-en": "built-in English listings",
        "listings-mixed": "built-in Thai + English listings"}


def preset_config(preset: Preset, iterations: int | None = None) -> tm.TopicConfig:
    return tm.TopicConfig(**{**preset.config, "iterations": int(iterations or preset.steps)})


def gloss(label: str) -> str | None:
    """An English gloss of a Thai topic label when the label is one of the built-in corpus's
    theme names (the names the shipped models carry), else None."""
    from unsup.data.listings import THEMES

    names = {t[1]: t[2] for t in THEMES}
    return names.get(str(label).strip())


def name_topics(model: tm.TopicModel, n: int = 3, lam: float = 0.6) -> list[str]:
    """A first name for each topic of a user's fit: its ``n`` most relevant words (the page
    lets the user rename them)."""
    return [" · ".join(w for w, _ in model.top_words(k, n, lam)) for k in range(model.n_topics)]


def builtin_corpus(lang: str = "th", n: int = 5000, seed: int = 0):
    from unsup.data.listings import generate

    return generate(n, seed=seed, lang=lang)


def builtin_table(lang: str = "th", n: int = 5000, seed: int = 0):
    """The built-in listings as a table, cached on disk (parquet in the cache folder) by the
    generator's own source and map data, so a cold page open reads it instead of generating it
    again (about 1 s of a 2-core machine for 5,000 listings); any change to the generator makes
    a new file."""
    import hashlib

    import pandas as pd

    from unsup.data import basemap, listings

    h = hashlib.sha256()
    for f in (Path(listings.__file__), Path(basemap.__file__), *sorted(
            Path(basemap.__file__).parent.glob("geo/*.geojson"))):
        h.update(f.read_bytes())
    path = paths.cache_dir() / "listings" / f"{lang}-{n}-{seed}-{h.hexdigest()[:12]}.parquet"
    if path.exists():
        try:
            df = pd.read_parquet(path)
            if "date" in df:  # parquet keeps milliseconds; the generator makes seconds
                df["date"] = df["date"].astype("datetime64[s]")
            return df
        except Exception:  # noqa: BLE001 - a damaged cache file is simply made again
            pass
    df = builtin_corpus(lang, n, seed).df
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        df.to_parquet(tmp)
        os.replace(tmp, path)
    except OSError:
        pass  # no cache: generated again next time
    return df


def shipped_path(name: str) -> Path:
    return paths.SHIPPED_DIR / f"{name}.safetensors"


KINDS = (tm.LDA.kind, tm.PLSA.kind)
"""The card kinds of the topic learners (LDA, pLSA)."""


def fit_topics(corpus: Corpus, config: tm.TopicConfig, *, on_progress: tm.ProgressFn | None = None,
               should_stop: Callable[[], bool] | None = None,
               learner: tm.TopicLearner | None = None,
               checkpoint_path: str | Path | None = None, card: dict | None = None):
    """Fit the learner ``config.method`` names on ``corpus`` through the one training loop
    (:func:`unsup.train.fit`): one EM iteration (pLSA) or one block of Gibbs sweeps (LDA) a
    step, Stop honoured between steps, a checkpoint at ``checkpoint_path`` when it ends or is
    stopped. ``learner``: a loaded checkpoint to resume (it holds its corpus). Returns
    (learner, :class:`unsup.train.FitResult`); ``on_progress(fraction, message, losses)`` as
    :func:`tm.prepare` calls it (the first 30% are the tokenizing)."""
    from unsup.train import fit

    if learner is None:
        learner = tm.learner_class(config)(config).attach(corpus)
    total = learner.n_steps()
    plsa = isinstance(learner, tm.PLSA)
    n_used = 0 if plsa else int(learner.doc_ids.numel())

    def progress(p) -> None:
        if on_progress is None:
            return
        ll = -float(p.losses.get("-loglik/word", float("nan")))
        if plsa:
            msg = f"EM step {p.step}/{config.iterations}, log-lik/word {ll:.3f}"
        else:
            msg = (f"Gibbs sweep {tm.lda_sweeps(learner.config, n_used, p.step)}/"
                   f"{config.iterations}, log-lik/word {ll:.3f}")
        frac = 0.3 + 0.7 * min(1.0, p.step / max(1, total))
        try:
            on_progress(frac, msg, dict(p.losses))
        except TypeError:  # a two-argument callback
            on_progress(frac, msg)

    result = fit(learner, learner.data(), steps=max(0, total - int(learner.step_)),
                 on_progress=progress, should_stop=should_stop, checkpoint_path=checkpoint_path,
                 card=card, log_every=1, device="cpu")
    return learner, result


def load_model(path: str | Path) -> tm.TopicModel:
    """The fitted topic model in a checkpoint: a ``.safetensors`` (the one loader,
    :func:`unsup.checkpoints.load`) or an older ``.npz`` (plain arrays, read without pickle)."""
    from unsup import checkpoints

    path = Path(path)
    if path.suffix == ".npz":
        return tm.load(path)
    try:
        learner = checkpoints.load(path)
    except checkpoints.CheckpointError as exc:
        raise tm.TopicModelError(str(exc)) from None
    if not isinstance(learner, tm.TopicLearner):
        raise tm.TopicModelError(f"{path.name} holds a {learner.kind}, not a topic model.")
    return learner.topic_model()


def model_from_bytes(data: bytes, name: str = "the file") -> tm.TopicModel:
    """A topic model uploaded as bytes: a ``.safetensors`` exported by the page (or any topic
    checkpoint), or an older ``.npz``; raises :class:`tm.TopicModelError` with a message for
    the user. Nothing is unpickled."""
    from unsup import checkpoints

    if len(data) > tm.MAX_MODEL_BYTES:
        raise tm.TopicModelError(f"{name} is {len(data) / 2**20:.0f} MB; the limit is "
                                 f"{tm.MAX_MODEL_BYTES / 2**20:.0f} MB.")
    if data[:2] == b"PK" and b"card.npy" in data[:4096] or name.endswith(".npz"):
        return tm.from_bytes(data, name)
    try:
        tensors, card = checkpoints.read_checkpoint_bytes(data)
        if card.get("kind") not in KINDS:
            raise tm.TopicModelError(f"{name} holds a {card.get('kind')!r} model, not a topic "
                                     "model.")
        learner = checkpoints.build_model(card, tensors)
    except checkpoints.CheckpointError as exc:
        raise tm.TopicModelError(f"{name}: {exc}") from None
    return learner.topic_model()


def model_bytes(model: tm.TopicModel) -> bytes:
    """``model`` as one ``.safetensors`` file (fitted state, card embedded, labels included)."""
    from unsup import checkpoints

    learner = tm.learner_class(model.config).from_topic_model(model)
    keep = {k: v for k, v in model.card_.items() if not k.startswith("_")}
    card = {**keep, **checkpoints.make_card(learner, step=learner.step_, extra={
        k: keep[k] for k in ("metrics", "data", "command", "title", "description", "name",
                             "seconds", "created") if k in keep}), "labels": list(model.labels_)}
    return checkpoints.to_bytes(learner, card)


def label_topics(model: tm.TopicModel, truth) -> list[str]:
    """Name learned topics after the generator themes they match (the page lets users rename)."""
    rec = topic_recovery(model.topic_word_, model.vocab_, truth)
    names = dict(zip(truth.themes, truth.labels))
    return [names[rec["theme_of"][k]] if k in rec["theme_of"] else f"Topic {k}"
            for k in range(model.n_topics)]


def k_sweep(corpus: Corpus, ks: list[int], config: tm.TopicConfig, heldout: float = 0.2,
            with_plsa: bool = True, on_progress: tm.ProgressFn | None = None,
            should_stop: Callable[[], bool] | None = None) -> list[dict]:
    """For each K: LDA (and pLSA) on 80% of the documents; coherence (C_V, NPMI of the top 10
    words, on the training documents) and held-out perplexity on the other 20%."""
    tr, te = tm.split_docs(len(corpus.docs), heldout, config.seed)
    train = Corpus(vocab=corpus.vocab, docs=[corpus.docs[i] for i in tr], df=corpus.df,
                   index=corpus.index)
    test = [corpus.docs[i] for i in te]
    X = train.counts()
    rows = []
    jobs = [(k, m) for k in ks for m in (("lda", "plsa") if with_plsa else ("lda",))]
    for j, (k, method) in enumerate(jobs):
        cfg = replace(config, n_topics=int(k), method=method)
        learner, res = fit_topics(train, cfg, should_stop=should_stop)
        if res.stopped:
            raise InterruptedError("stopped")
        model = learner.topic_model()
        coh = coherence(model.top_ids(10), X)
        theta = model.doc_topic_.astype(np.float64)
        rows.append({"k": int(k), "method": method, "c_v": float(coh["c_v"].mean()),
                     "npmi": float(coh["npmi"].mean()),
                     "perplexity_heldout": model.perplexity(test),
                     "perplexity_train": float(np.exp(-model.log_likelihood(X, theta) / X.sum()))})
        if on_progress:
            on_progress((j + 1) / len(jobs), f"K={k} {method} done")
    return rows




def train(preset: Preset, *, steps: int | None = None, out_dir: str | Path | None = None,
          on_progress: Callable | None = None, device: str | None = None,
          sweep: bool = True) -> Path:
    """Fit a shipped preset (``python -m unsup train <name>``) through :func:`unsup.train.fit`
    and write it into ``checkpoints/`` (or ``out_dir``): ``<name>.safetensors`` (the fitted
    model, compact) + ``<name>.json``. Returns the weights path. ``steps`` overrides the number
    of Gibbs sweeps. ``device`` is ignored (the samplers run on the CPU)."""
    from unsup import checkpoints
    from unsup.recipes import train_command

    o = preset.options
    cfg = preset_config(preset, steps)
    t0 = time.perf_counter()
    listings = builtin_corpus(o["lang"], o["n"], o["seed"])
    corpus = tm.prepare(listings.df["text"].tolist(), cfg)

    def progress(fraction, message, losses=None):
        if on_progress is None:
            print(f"{fraction:6.1%}  {message}", flush=True)

    learner, _ = fit_topics(corpus, cfg, on_progress=progress)
    model = learner.topic_model()
    model.labels_ = label_topics(model, listings.truth)
    seconds = time.perf_counter() - t0
    model.card_ = {"data": {"lang": o["lang"], "n": o["n"], "seed": o["seed"]}}
    metrics = heldout_metrics(model)
    metrics["c_v"] = float(coherence(model.top_ids(10), corpus.counts())["c_v"].mean())
    metrics["hdp"] = tm.suggest_k_hdp(corpus, seed=o["seed"])
    metrics["recovery_train"] = float(topic_recovery(model.topic_word_, model.vocab_,
                                                     listings.truth)["mean"])
    if sweep:
        metrics["sweep"] = k_sweep(corpus, list(o.get("sweep", SWEEP)),
                                   replace(cfg, iterations=100))
    card = checkpoints.make_card(
        learner, step=learner.step_, metrics=metrics, seconds=seconds, title=preset.title,
        description=preset.description, command=train_command(preset.name, steps, out_dir),
        data={"corpus": "unsup.data.listings.generate", "lang": o["lang"], "n": o["n"],
              "seed": o["seed"], "fingerprint": listings.fingerprint(),
              "n_words": corpus.n_words},
        extra={"name": preset.name, "labels": list(model.labels_),
               "sweeps": learner.sweeps if isinstance(learner, tm.LDA) else None,
               "seconds_total": round(time.perf_counter() - t0, 2)})
    out = Path(out_dir) if out_dir else paths.SHIPPED_DIR
    return checkpoints.save(learner, out / preset.name, card, optimizer=False, compact=True)


def heldout_metrics(model: tm.TopicModel) -> dict[str, Any]:
    """Perplexity, coherence and recovery of the generator's themes on held-out built-in
    listings: a corpus drawn with another seed (``HELDOUT_SEED`` + the training seed)."""
    data = model.card_.get("data", {})
    lang, seed = data.get("lang", "th"), int(data.get("seed", 0))
    held = builtin_corpus(lang, HELDOUT_N, HELDOUT_SEED + seed)
    docs = model.encode(held.df["text"].tolist())
    X = tm.docs_to_counts(docs, len(model.vocab_))
    coh = coherence(model.top_ids(10), X)
    return {"perplexity_heldout": model.perplexity(docs),
            "c_v_heldout": float(coh["c_v"].mean()), "npmi_heldout": float(coh["npmi"].mean()),
            "recovery_cosine": float(topic_recovery(model.topic_word_, model.vocab_,
                                                    held.truth)["mean"]),
            "heldout": {"n": HELDOUT_N, "seed": HELDOUT_SEED + seed}}


def evaluate(model: tm.TopicModel) -> dict[str, Any]:
    """``python -m unsup eval``: a built-in-corpus model's held-out metrics, recomputed. A model
    fitted on a user's file has no ground truth: only its held-out perplexity on that file's
    held-out rows is kept by the fit that made it, and is returned as stored."""
    data = model.card_.get("data", {})
    if data.get("corpus") != "unsup.data.listings.generate":
        return {k: v for k, v in (model.card_.get("metrics") or {}).items()}
    t0 = time.perf_counter()
    out = heldout_metrics(model)
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def thumbnail():
    """The topic-map page: built-in listings around Bangkok, Pattaya, Hua Hin and Khao Yai as
    dots coloured by dominant topic (from the shipped model), beside the topics' shares."""
    from PIL import Image, ImageDraw

    from unsup.data.listings import generate
    from unsup.viz.topics import hex_to_rgb, topic_colors

    W, H = 320, 200
    img = Image.new("RGB", (W, H), (250, 250, 247))
    draw = ImageDraw.Draw(img)
    path = shipped_path("topics-th-5000")
    if not path.exists():
        draw.text((12, 90), "Topic maps: train topics-th-5000", fill=(90, 90, 90))
        return img
    from safetensors import safe_open

    with safe_open(str(path), "np") as f:
        theta = np.asarray(f.get_tensor("doc_topic"), np.float32)
    df = generate(len(theta), seed=0, lang="th").df
    dom = theta.argmax(1)
    colors = [tuple(hex_to_rgb(c)) for c in topic_colors(theta.shape[1])]
    # left: the Gulf of Thailand's north (Bangkok, Pattaya, Hua Hin, Khao Yai), equirectangular
    x0, x1, y0, y1 = 6, 194, 6, H - 6
    lon0, lon1, lat0, lat1 = 99.45, 102.25, 12.35, 15.0
    lon, lat = df["lon"].to_numpy(), df["lat"].to_numpy()
    inside = (lon > lon0) & (lon < lon1) & (lat > lat0) & (lat < lat1)
    px = x0 + (lon - lon0) / (lon1 - lon0) * (x1 - x0)
    py = y1 - (lat - lat0) / (lat1 - lat0) * (y1 - y0)
    draw.rounded_rectangle((x0 - 4, y0 - 4, x1 + 4, y1 + 4), radius=8, fill=(238, 243, 248))
    rng = np.random.default_rng(0)
    jitter = rng.normal(0, 2.0, (len(px), 2))
    for i in np.flatnonzero(inside)[np.argsort(theta[inside].max(1))]:
        x, y = px[i] + jitter[i, 0], py[i] + jitter[i, 1]
        draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=colors[dom[i]])
    # right: topic shares as bars
    share = theta.mean(0)
    order = np.argsort(-share)
    bx0, bx1 = 206, W - 8
    bh = (H - 20) / len(order)
    for j, k in enumerate(order):
        y = 10 + j * bh
        w = (bx1 - bx0) * share[k] / share.max()
        draw.rounded_rectangle((bx0, y + 2, bx0 + w, y + bh - 2), radius=3, fill=colors[k])
    return img


FAMILY = Family(
    name="topics",
    label="Topic models (LDA, pLSA)",
    models=(tm.LDA, tm.PLSA),
    kind_labels={tm.LDA.kind: "topic model", tm.PLSA.kind: "topic model (pLSA)"},
    presets=PRESETS,
    evaluate=evaluate,
    load=load_model,
    train=train,
    data=DATA,
    page=PageInfo("topics", "Topic maps", ":material/map:", "app_pages/topic_maps.py",
                  "LDA over Thai and English property listings, drawn on a map, with trends "
                  "and niches.", "unsup.recipes.topics:thumbnail", order=10),
    warm=("unsup.recipes.topics", "unsup.ui.topics"),
    headline=("recovery_cosine", "npmi_heldout", "perplexity_heldout"),
    bench=("bench_topics.py",),
)


# -- the page's background fits on the user's own listings ---------------------------------------
TABLE_FILE = "listings.parquet"
"""A fit of the user's file keeps the cleaned table with the model, so that the page can show it
again after a restart (and a resume fits exactly the same texts)."""
MODEL = "model"  # the run's checkpoint: model.safetensors + model.json (+ optimizer file)


def detect_lang(texts: list[str]) -> str:
    thai = np.mean([any("\u0e00" <= ch <= "\u0e7f" for ch in t[:200]) for t in texts[:500]])
    return "th" if thai > 0.5 else "en"


FIT_FILE = "fit.json"  # what a fit of the user's file was asked to do (to resume it later)


def user_fit(df, cfg: tm.TopicConfig, file_name: str):
    """A background fit of the user's table ``df`` (with a ``text`` column): returns
    (title, work, resume, run_dir) for :meth:`unsup.jobs.ThreadRunner.submit_work`. The table and
    the settings are written to the run folder first. The fit trains through
    :func:`unsup.train.fit`; a Stop saves a resumable checkpoint of the step it ended at
    (``model.safetensors``, card ``finished: false``) so that ``resume()`` continues it (also
    after an app restart, see :func:`stopped_fits`); the finished model is saved over it, compact,
    with ``finished: true``."""
    from unsup import fileio
    from unsup.jobs import fresh_run_dir

    df = df.reset_index(drop=True)
    with fresh_run_dir(f"topics-{file_name}") as run_dir:  # removed if the disk is full
        df.to_parquet(run_dir / TABLE_FILE)
        fileio.atomic_write_json(run_dir / FIT_FILE, {"file": file_name,
                                                      "config": cfg.to_dict()})
    return _fit_job(run_dir, df, cfg, file_name)


def _fit_job(run_dir: Path, df, cfg: tm.TopicConfig, file_name: str):
    from unsup import checkpoints
    from unsup.data.listings import corpus_fingerprint

    title = f"{'pLSA' if cfg.method == 'plsa' else 'LDA'} K={cfg.n_topics} on {file_name}"
    texts = df["text"].astype(str).tolist()
    path = run_dir / MODEL

    def make_work(resuming: bool):
        def work(progress, should_stop):
            t0 = time.perf_counter()
            corpus = tm.prepare(texts, cfg, on_progress=progress)
            if corpus.n_words < 2:
                raise ValueError("Too few words are left after stopwords and the document-"
                                 "frequency limits; lower 'Min. documents per word' or raise "
                                 "'Max. share'.")
            learner, before = None, 0.0
            if resuming:  # the stopped step's checkpoint: corpus, sampler, step, all in it
                learner = checkpoints.load(path, optimizer=True)
                before = float(learner.card_.get("seconds") or 0.0)
                kept = (learner.card_.get("data") or {}).get("fingerprint")
                if kept and kept != corpus_fingerprint(texts):
                    raise ValueError(
                        f"The table kept in {run_dir.name} is no longer the one this fit "
                        "started on (its texts' fingerprint changed), so it cannot be resumed. "
                        "Fit the file again.")
            data = {"file": file_name, "n": len(df), "table": TABLE_FILE,
                    "lang": detect_lang(texts), "fingerprint": corpus_fingerprint(texts)}
            card = {"name": run_dir.name, "title": title, "data": data, "finished": False,
                    "seconds": before}
            try:
                learner, result = fit_topics(corpus, cfg, on_progress=progress,
                                             should_stop=should_stop, learner=learner,
                                             checkpoint_path=path, card=card)
            except InterruptedError:  # an OSError too: a Stop the runner ended, not a disk
                raise
            except OSError as exc:
                raise OSError(f"the fitted model could not be saved to {run_dir} ({exc}); "
                              "free some disk space and fit again") from None
            if result.stopped:  # its checkpoint (model.safetensors, resumable) is saved
                raise InterruptedError(f"stopped after {learner.step_} steps")
            try:
                model = learner.topic_model()
                final = checkpoints.make_card(
                    learner, step=learner.step_, data=data, title=title, metrics={},
                    seconds=before + time.perf_counter() - t0,
                    extra={"name": run_dir.name, "labels": name_topics(model),
                           "finished": True})
                saved = checkpoints.save(learner, path, final, optimizer=False, compact=True)
            except OSError as exc:
                raise OSError(f"the fitted model could not be saved to {run_dir} ({exc}); "
                              "free some disk space and fit again") from None
            return {"path": str(saved)}

        return work

    def resume():
        return f"{title} (resumed)", make_work(True)

    return title, make_work(False), resume, run_dir


def _stopped_card(run_dir: Path) -> dict | None:
    """The card of a run's resumable, unfinished checkpoint (None: there is none)."""
    from unsup import checkpoints

    w = checkpoints.weights_path(run_dir / MODEL)
    try:
        card = checkpoints.read_card(w) if w.exists() else None
    except checkpoints.CheckpointError:
        return None
    if card is None or card.get("finished", True) or not checkpoints.resumable(w):
        return None
    return card


def stopped_fits() -> list[tuple[Path, dict]]:
    """Fits of the user's files that were stopped and can be resumed (newest first): their run
    folders hold the table, the settings and a resumable checkpoint that is not finished.
    ``done`` counts Gibbs sweeps (LDA) or EM steps (pLSA)."""
    import json

    out = []
    for d in sorted(paths.runs_dir().glob("*/"), key=lambda p: -p.stat().st_mtime):
        if not ((d / TABLE_FILE).exists() and (d / FIT_FILE).exists()):
            continue
        card = _stopped_card(d)
        if card is None:
            continue
        try:
            meta = json.loads((d / FIT_FILE).read_text(encoding="utf-8"))
            cfg = tm.TopicConfig.from_dict(meta["config"])
            step = int(card.get("step", 0))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        n = int((card.get("data") or {}).get("n") or 0)
        done = step if cfg.method == "plsa" else tm.lda_sweeps(cfg, n, step)
        out.append((d, {**meta, "done": int(done)}))
    return out


def resume_fit(run_dir: Path):
    """(title, work, resume, run_dir) continuing a stopped fit found by :func:`stopped_fits`."""
    import json

    import pandas as pd

    meta = json.loads((Path(run_dir) / FIT_FILE).read_text(encoding="utf-8"))
    cfg = tm.TopicConfig.from_dict(meta["config"])
    try:
        df = pd.read_parquet(Path(run_dir) / TABLE_FILE)
    except (OSError, ValueError) as exc:  # gone, or not a table any more
        raise ValueError(f"The table kept in {Path(run_dir).name} cannot be read "
                         f"({type(exc).__name__}), so this fit cannot be resumed. Fit the file "
                         "again.") from None
    title, _, resume, run_dir = _fit_job(Path(run_dir), df, cfg, meta["file"])
    new_title, work = resume()
    return new_title, work, resume, run_dir


def saved_fits():
    """The user's finished fits that kept their table (newest first), as checkpoint entries."""
    from unsup import checkpoints

    return [e for e in checkpoints.list_models(KINDS) if e.source == "user"
            and (e.path.parent / TABLE_FILE).exists() and e.card.get("finished", True)]


def load_fit(path: str | Path):
    """(model, table) of a saved fit of the user's file."""
    import pandas as pd

    path = Path(path)
    return load_model(path), pd.read_parquet(path.parent / TABLE_FILE)


def sweep_work(texts: list[str], config: tm.TopicConfig, ks: list[int], out: Path):
    """A background K sweep (+ HDP) whose result is written to ``out`` (JSON), not kept in
    memory: the page reads it back, also after a refresh."""
    from unsup import fileio

    def work(progress, should_stop):
        corpus = tm.prepare(texts, config)
        rows = k_sweep(corpus, ks, config, on_progress=progress, should_stop=should_stop)
        fileio.atomic_write_json(out, {"sweep": rows,
                                       "hdp": tm.suggest_k_hdp(corpus, seed=config.seed)})
        return {"path": str(out)}

    return work
