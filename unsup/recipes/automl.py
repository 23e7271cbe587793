"""AutoML: Optuna searches the VAE's settings (part of the "Evolution & AutoML" page).

Two presets:

- ``automl-vae``: a 30-minute TPE search with median pruning over the convolutional VAE's latent
  size, width, depth, dense units, learning rate, batch size and β (:class:`VAESearch`, one trial
  a step). Each trial trains on 4,000 of the 4,500 MNIST training digits and reports its −ELBO
  on the other 500 (the *validation* split); the 500 test digits are never seen by the search.
  The study is kept in ``checkpoints/automl-vae.db`` (SQLite) beside the search's card.
- ``automl-vae-best``: the search's best settings retrained on all 4,500 training digits for as
  many steps as the shipped, hand-tuned ``vae-mnist-16d``, then measured like it on the 500 test
  digits; the card holds both numbers and their difference.

``python -m unsup train automl-vae`` with ``UNSUP_STUDY_STORAGE`` set to a SQLAlchemy URL (e.g.
``postgresql+psycopg2://user:password@host/db``) joins the study kept there instead: run it on
several machines and they search together (each is a *worker*; see :func:`study_storage`).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from unsup import checkpoints, paths
from unsup.data.images import binarize, load_split, resize_images, stratified_split
from unsup.families import Family, Preset
from unsup.models.automl import SearchedVAE, SearchedVAEConfig
from unsup.recipes.automl_search import (SearchConfig, VAESearch, open_study, quiet_optuna,
                                         sqlite_url)

DATA = {"mnist": "MNIST: each trial trains on 4,000 training digits and is validated on the "
                 "other 500 (the 500 test digits are never used by the search)"}
N_VALID = 500
"""Validation digits, taken from the 4,500 training digits (50 of every class)."""
VALID_SEED = 1
"""Seed of the validation split (the train/test split uses its own, fixed seed)."""
SHIPPED_VAE = "vae-mnist-16d"
"""The hand-tuned model the search's best settings are compared with."""
SEARCH_NAME, BEST_NAME = "automl-vae", "automl-vae-best"
KIND_SEARCH, KIND_VAE = "automl_search", "searched_vae"
MAX_TRIALS = 200
"""Trials the shipped search may run; its 30-minute budget ends it long before."""


def _shipped_vae_preset() -> Preset:
    from unsup.recipes import vae as V

    return next(p for p in V.PRESETS if p.name == SHIPPED_VAE)


def _fixed() -> dict[str, Any]:
    """What every searched VAE shares with the hand-tuned one: 28×28 grey digits and its
    one-pixel shift augmentation (the search does not choose it: trials are too short to see
    the overfitting it prevents over a full run)."""
    from unsup.recipes.vae import DEFAULTS

    return {"image_size": 28, "n_channels": 1, "shift": int(DEFAULTS["shift"])}


SEARCH = dict(study_name=SEARCH_NAME, steps_per_trial=1_000, report_every=100,
              budget_seconds=1800.0, n_startup_trials=10, pruner="median", prune_startup=5,
              prune_warmup=200)
"""The shipped search: 1,000 VAE steps a trial, a report every 100, 30 minutes of trials."""

PRESETS = (
    Preset(SEARCH_NAME, "AutoML: a 30-minute search over the VAE's settings",
           "Optuna's TPE sampler with median pruning picks the convolutional VAE's latent size, "
           "width, depth, dense units, learning rate, batch size and β; each trial trains 1,000 "
           "steps on 4,000 MNIST training digits and reports its −ELBO on 500 others every 100 "
           "steps; 30 minutes of trials on one core. The study is kept in an Optuna SQLite "
           "storage beside this card.", KIND_SEARCH, MAX_TRIALS, dict(SEARCH), "mnist",
           checkpoint_every=1),
    Preset(BEST_NAME, "The search's best VAE, retrained",
           "The best settings of the automl-vae study retrained on the 4,500 training digits for "
           "as many steps as the hand-tuned vae-mnist-16d (6,000), then measured like it on the "
           "500 test digits.", KIND_VAE, 6_000, {}, "mnist", checkpoint_every=1_000,
           options={"search": SEARCH_NAME, "compare": SHIPPED_VAE}),
)


# -- data -------------------------------------------------------------------------------------------
def split_indices(name: str = "mnist") -> tuple[np.ndarray, np.ndarray]:
    """Rows of the built-in training split that trials train on and that validate them."""
    y = load_split(name).y_train
    n_valid = N_VALID if name == "mnist" else max(1, len(y) // 9)
    return stratified_split(y, n_valid / len(y), VALID_SEED)


def search_data(name: str = "mnist") -> tuple[torch.Tensor, torch.Tensor]:
    """(training images of the trials, validation images), binarized like the VAEs' data."""
    split = load_split(name)
    size = 28 if name == "mnist" else split.x_train.shape[-1]
    x = binarize(resize_images(split.x_train, size))
    fit_rows, valid_rows = split_indices(name)
    return (torch.from_numpy(np.ascontiguousarray(x[fit_rows])),
            torch.from_numpy(np.ascontiguousarray(x[valid_rows])))


def data_card(name: str = "mnist") -> dict[str, Any]:
    split = load_split(name)
    fit_rows, valid_rows = split_indices(name)
    return {"name": name, "label": DATA.get(name, name), "fingerprint": split.fingerprint(),
            "binarize": "x > 0.5", "n_train": int(len(fit_rows)), "n_valid": int(len(valid_rows)),
            "valid_seed": VALID_SEED, "test_used": False}


# -- storage ----------------------------------------------------------------------------------------
def study_file(weights: str | Path) -> Path:
    """The SQLite file of the study whose search checkpoint is ``weights``."""
    return checkpoints.weights_path(weights).with_suffix(".db")


def study_storage(weights: str | Path) -> tuple[str, str | None]:
    """(storage URL, worker name) of a search saved at ``weights``: ``UNSUP_STUDY_STORAGE`` (a
    SQLAlchemy URL shared by several machines; each is a worker named by its host and run
    folder) or, by default, the SQLite file beside the checkpoint (no worker name)."""
    url = os.environ.get("UNSUP_STUDY_STORAGE", "").strip()
    if url:
        import socket

        where = checkpoints.weights_path(weights).resolve().parent
        return url, os.environ.get("UNSUP_STUDY_WORKER") or f"{socket.gethostname()}:{where}"
    return sqlite_url(study_file(weights)), None


def figures_file(weights: str | Path) -> Path:
    """Optuna's figures of a finished search, drawn by the command that made it (plotly JSON):
    the page shows them without importing Optuna or reading the study."""
    return checkpoints.weights_path(weights).with_suffix(".figures.json")


def write_figures(weights: str | Path, study, stored: dict[str, float] | None) -> Path:
    import json

    from unsup.fileio import atomic_write_json

    figs = {k: json.loads(f.to_json()) for k, f in figures(study, stored).items()}
    for f in figs.values():  # the page draws in Streamlit's theme: plotly's (~9 kB) is not kept
        f.get("layout", {}).pop("template", None)
    out = figures_file(weights)
    atomic_write_json(out, figs)
    return out


def shipped_study_url() -> str | None:
    """The shipped study's storage URL (None: not shipped)."""
    f = study_file(paths.SHIPPED_DIR / SEARCH_NAME)
    return sqlite_url(f) if f.exists() else None


# -- building, training, measuring ------------------------------------------------------------------
def best_settings(card: dict[str, Any]) -> dict[str, Any]:
    """The VAE config of a search card's best trial (its parameters + the shared settings)."""
    m = card.get("metrics") or {}
    params = m.get("best_params")
    if not params:
        raise checkpoints.CheckpointError(
            f"the search {card.get('name') or SEARCH_NAME} has no finished trial yet")
    fixed = (card.get("config") or {}).get("fixed") or _fixed()
    return {**fixed, **params, "seed": 0}


def build(preset: Preset):
    if preset.kind == KIND_SEARCH:
        model = VAESearch(SearchConfig(**{**preset.config,
                                          "fixed": preset.config.get("fixed") or _fixed()}))
        x_fit, x_valid = search_data(preset.data)
        model.attach(x_train=x_fit, x_valid=x_valid)
        # fit feeds a search nothing: each trial reads the images it was attached
        return model, torch.zeros(1_024, 1), data_card(preset.data)
    from unsup.data.images import training_tensor
    from unsup.recipes import vae as V

    search = checkpoints.weights_path(paths.SHIPPED_DIR / preset.options["search"])
    if not search.exists():
        raise checkpoints.CheckpointError(
            f"the retrain needs the shipped search first: python -m unsup train "
            f"{preset.options['search']} --out checkpoints")
    cfg = SearchedVAEConfig(**{**best_settings(checkpoints.read_card(search)), **preset.config})
    return SearchedVAE(cfg), training_tensor(preset.data, cfg.image_size, binary=True), \
        V.data_card(preset.data)


def importances(study) -> dict[str, float]:
    """fANOVA importance of each setting for the validation −ELBO (Hutter et al. 2014; Optuna's
    default evaluator, seeded), over the finished trials; {} with fewer than 3."""
    import optuna
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(done) < 3:
        return {}
    try:
        imp = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    except (RuntimeError, ValueError):
        return {}
    return {k: round(float(v), 4) for k, v in imp.items()}


def store_importances(study) -> None:
    """Keep the importances in the study (a user attribute), so a page draws them without
    fitting fANOVA's forest on its own thread."""
    imp = importances(study)
    if imp:
        study.set_user_attr("importances", imp)


def trial_rows(study) -> list[dict[str, Any]]:
    """One plain row per trial of ``study``: number, state, value, steps trained, seconds,
    settings, and for an interrupted one the trial that ran it again."""
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of"): t.number for t in trials
               if t.user_attrs.get("retry_of") is not None}
    rows = []
    for t in trials:
        state = t.state.name
        steps = max(t.intermediate_values) if t.intermediate_values else 0
        value = t.value if t.value is not None else (
            t.intermediate_values[steps] if t.intermediate_values else None)
        rows.append({"trial": t.number, "state": state,
                     "diverged": bool(t.user_attrs.get("diverged", False)),
                     "value": None if value is None or not math.isfinite(value) else round(
                         float(value), 3),
                     "steps": int(steps), "seconds": t.user_attrs.get("seconds"),
                     "retry_of": t.user_attrs.get("retry_of"),
                     "run_again_as": retried.get(t.number),
                     **{k: (round(v, 6) if isinstance(v, float) else v)
                        for k, v in t.params.items()}})
    return rows


def summary(study) -> dict[str, Any]:
    """The headline numbers of a study (what the search's card keeps)."""
    rows = trial_rows(study)
    by = {s: [r for r in rows if r["state"] == s] for s in ("COMPLETE", "PRUNED", "FAIL")}
    ran = by["COMPLETE"] + by["PRUNED"]
    secs = [float(r["seconds"]) for r in ran if r["seconds"] is not None]
    out: dict[str, Any] = {
        "n_trials": len(ran), "n_complete": len(by["COMPLETE"]), "n_pruned": len(by["PRUNED"]),
        "n_diverged": sum(r["diverged"] for r in by["PRUNED"]),
        "n_interrupted": len(by["FAIL"]),
        "search_seconds": round(sum(secs), 1),
        "seconds_per_trial": round(sum(secs) / len(secs), 1) if secs else None,
        "seconds_per_complete_trial": round(float(np.mean(
            [r["seconds"] for r in by["COMPLETE"] if r["seconds"] is not None])), 1)
        if by["COMPLETE"] else None,
    }
    if by["COMPLETE"]:
        best = study.best_trial
        out.update(best_valid_neg_elbo_nats=round(float(best.value), 3), best_trial=best.number,
                   best_params={k: (round(v, 6) if isinstance(v, float) else v)
                                for k, v in best.params.items()})
    return out


def attached(model: VAESearch) -> VAESearch:
    """A loaded search with its storage beside its checkpoint (or the shared one)."""
    if model.storage_url is None and model.path_ is not None:
        url, _ = study_storage(model.path_)
        if url.startswith("sqlite") and not study_file(model.path_).exists():
            raise checkpoints.CheckpointError(
                f"the study of {model.path_.name} ({study_file(model.path_).name}) is missing")
        model.attach(url)
    return model


def evaluate(model) -> dict[str, Any]:
    """A search: its study's numbers (trials, pruned, best validation −ELBO and settings, time
    per trial) and the fANOVA importances. A retrained VAE: the VAE family's held-out numbers on
    the 500 test digits, and the hand-tuned VAE's −ELBO measured the same way beside them."""
    if isinstance(model, VAESearch):
        study = attached(model).study
        out = summary(study)
        out["extra_metrics"] = {"trials": trial_rows(study), "importances": importances(study)}
        return out
    from unsup.metrics.elbo import elbo_terms
    from unsup.recipes import vae as V

    out = dict(V.evaluate(model))
    shipped = checkpoints.weights_path(paths.SHIPPED_DIR / SHIPPED_VAE)
    if shipped.exists():
        ref = checkpoints.load(shipped)
        x_test, _ = V.heldout_of(ref)
        ref_value = float(elbo_terms(ref, x_test, seed=0)["neg_elbo"])
        out.update(shipped_name=SHIPPED_VAE, shipped_step=int(ref.step_),
                   shipped_test_neg_elbo_nats=round(ref_value, 3),
                   difference_nats=round(out["test_neg_elbo_nats"] - ref_value, 3))
    out["step"] = int(model.step_)
    return out


def _print_trial(p) -> None:
    losses = " ".join(f"{k} {v:.3f}" for k, v in p.losses.items())
    print(f"trial {p.step}/{p.total}  {p.seconds:7.1f}s  {losses}", flush=True)


def train(preset: Preset, *, steps: int | None = None, out_dir: str | Path | None = None,
          on_progress: Callable | None = None, device: str | None = None) -> Path:
    """``python -m unsup train automl-vae|automl-vae-best`` into ``checkpoints/`` (or
    ``out_dir``): the search (its study in ``<name>.db`` beside the card, or the shared storage
    of ``UNSUP_STUDY_STORAGE``) until its time budget is spent or ``steps`` trials have run; or
    the retrain of its best settings. Rerun, an unfinished run continues from its checkpoint
    (the search: from its study, with no trial lost or repeated). Returns the weights path."""
    from unsup.recipes import print_progress, train_command
    from unsup.train import best_path, fit

    out = Path(out_dir) if out_dir else paths.SHIPPED_DIR
    out.mkdir(parents=True, exist_ok=True)
    path = checkpoints.weights_path(out / preset.name)
    n_steps = int(preset.steps if steps is None else steps)
    model, data, dcard = build(preset)
    search = isinstance(model, VAESearch)
    seconds = 0.0
    if search:
        url, worker = study_storage(path)
        if worker:
            model.config.worker = worker
        if not checkpoints.resumable(path) and worker is None:
            study_file(path).unlink(missing_ok=True)  # a new search: a new study
    if checkpoints.resumable(path):
        loaded = checkpoints.load(path, optimizer=True)
        if search:
            loaded.attach(x_train=model.x_train, x_valid=model.x_valid)
        model = loaded
        seconds = float(model.card_.get("seconds") or 0.0)
        print(f"resuming {preset.name} from step {model.step_}", flush=True)
    if search:
        model.attach(url)
        model.after_trial = store_importances
    command = train_command(preset.name, steps, out_dir)
    card = {"title": preset.title, "description": preset.description, "data": dcard,
            "command": command, "seconds": seconds, "extra": {"name": preset.name}}
    t0 = time.perf_counter()
    left = max(0, n_steps - int(model.step_))
    if left and not (search and model.budget_spent):
        fit(model, data, steps=left, checkpoint_every=preset.checkpoint_every,
            checkpoint_path=path, card=card,
            on_progress=on_progress or (_print_trial if search else print_progress()),
            should_stop=(lambda: model.budget_spent) if search else None,
            log_every=1 if search else 100, device=None if search else device)
    train_seconds = seconds + time.perf_counter() - t0
    model = checkpoints.load(path)
    if search:
        attached(model).attach(url)
    model.card_ = {**card, "kind": model.kind, "step": model.step_}
    t1 = time.perf_counter()
    metrics = dict(evaluate(model))
    extra_metrics = metrics.pop("extra_metrics", None)
    final = checkpoints.make_card(
        model, step=model.step_, metrics=metrics, data=dcard, command=command,
        seconds=train_seconds, title=preset.title, description=preset.description,
        extra={"name": preset.name, "threads": torch.get_num_threads(),
               "device": str(model.device), "eval_seconds": round(time.perf_counter() - t1, 1),
               **({"study": study_file(path).name, "figures": figures_file(path).name}
                  if search and url.startswith("sqlite") else {}),
               **({"extra_metrics": extra_metrics} if extra_metrics else {})})
    saved = checkpoints.save(model, path, final, optimizer=False, compact=True)
    if search:
        write_figures(path, model.study, (extra_metrics or {}).get("importances"))
    best = best_path(path)
    for f in (best, best.with_suffix(".json")):
        f.unlink(missing_ok=True)
    return saved


# -- the page's search job --------------------------------------------------------------------------
JOB_PAGE = "automl"
"""The job key of the page's search (its panel and the Jobs view; the page file is the
evolution family's)."""


def training_spec(*, trials: int = 30, steps_per_trial: int = 400, budget_minutes: float = 30.0,
                  owner: str = "", resume: str | Path | None = None, data: str = "mnist",
                  search: dict | None = None):
    """A background search like the shipped one (``trials`` at most, ``budget_minutes`` of
    trials, ``steps_per_trial`` VAE steps each), its study in the run folder (``model.db``).
    ``resume``: a search run's checkpoint to continue with ``trials`` more (its study, its
    settings and the time it has left). ``data`` and ``search`` (fields of
    :class:`SearchConfig`) change the images and the search space (tests: 8×8 digits)."""
    from unsup.jobs import NO_JOB, JobSpec, fresh_run_dir
    from unsup.recipes import runs

    trials = int(trials)
    if trials < 1:
        raise ValueError("a search needs at least one trial")
    prev = runs.resumed(resume)
    if prev is not None and prev.card.get("kind") != KIND_SEARCH:
        raise ValueError("that run is not a model search")
    title = (prev.title if prev is not None else
             f"Model search: up to {trials} trials of {int(steps_per_trial)} steps, "
             f"{budget_minutes:g} min")
    if prev is None:
        if int(steps_per_trial) < 1 or budget_minutes <= 0:
            raise ValueError("a trial needs at least one step and the search some minutes")
        with fresh_run_dir(title) as run_dir:
            pass
    else:
        run_dir = prev.run_dir
    weights = run_dir / "model.safetensors"
    url = sqlite_url(study_file(weights))
    cfg = SearchConfig(**{**SEARCH, "study_name": "search", "fixed": _fixed(),
                          "steps_per_trial": int(steps_per_trial),
                          "report_every": max(1, min(100, int(steps_per_trial) // 5)),
                          "prune_warmup": max(1, int(steps_per_trial) // 5),
                          "budget_seconds": float(budget_minutes) * 60.0, **(search or {})})
    if prev is not None:
        data = (prev.data.get("name") or data)
    dcard = data_card(data)

    def build(job=NO_JOB):
        job.phase("reading the digits (training and validation splits)")
        x_fit, x_valid = search_data(data)
        if prev is not None:
            m, card = runs.load_to_resume(prev, job)
            if m.budget_spent:  # more trials asked for: a new budget of the same length
                m.state[2], m.state[4] = 0.0, 0.0
        else:
            job.phase("creating the study")
            m = VAESearch(cfg)
            card = runs.build_card(title, dcard)
            # a step-0 checkpoint: a Stop inside the first trial can be resumed too
            checkpoints.save(m, weights, checkpoints.make_card(
                m, step=0, title=title, data=dcard, extra={"origin": "app"}))
        if not study_file(weights).exists():
            create_study_file(study_file(weights), cfg.study_name)
        m.attach(url, x_train=x_fit, x_valid=x_valid)
        m.should_stop = job.stop_requested
        m.after_trial = store_importances
        job.phase("starting the first trial")
        return m, torch.zeros(1_024, 1), card

    def finish(m, job):
        job.phase("summing up the study")
        return {k: v for k, v in evaluate(attached(m)).items()}

    return JobSpec(title=title, build=build, steps=trials, run_dir=run_dir, checkpoint_every=1,
                   owner=owner, finish=finish, page=JOB_PAGE, resume_unit="trials",
                   resume=lambda path, more: training_spec(trials=int(more), resume=path,
                                                           owner=owner))


def create_study_file(path: Path, name: str) -> None:
    """A SQLite file holding the empty study ``name``, made under another name and then
    renamed: a page that reads a running search's study (:func:`job_study_url`) never opens a
    file whose tables are still being created (two threads creating them at once fail)."""
    part = path.with_name(path.name + ".part")
    import optuna

    part.unlink(missing_ok=True)
    quiet_optuna()
    storage = optuna.storages.RDBStorage(sqlite_url(part))
    optuna.create_study(study_name=name, storage=storage, direction="minimize")
    storage.engine.dispose()  # no connection left on the file before it is renamed
    os.replace(part, path)


def job_study_url(run_dir: Path | None) -> str | None:
    """The storage URL of a page search's run folder (None: no study there yet)."""
    if run_dir is None:
        return None
    f = study_file(Path(run_dir) / "model.safetensors")
    return sqlite_url(f) if f.exists() else None


# -- what the page shows of a study ---------------------------------------------------------------
class StoredImportances:
    """An Optuna importance evaluator that returns importances computed earlier (kept in the
    study or the card), so Optuna's own importance figure is drawn without refitting."""

    def __init__(self, values: dict[str, float]):
        self.values = dict(values)

    def evaluate(self, study, params=None, *, target=None) -> dict[str, float]:
        keys = params if params is not None else list(self.values)
        return dict(sorted(((k, float(self.values.get(k, 0.0))) for k in keys),
                           key=lambda kv: kv[1], reverse=True))


def figures(study, stored: dict[str, float] | None = None) -> dict[str, Any]:
    """Optuna's own plotly figures of ``study``: optimisation history, intermediate values (the
    pruned trials' curves end early), parallel coordinates and parameter importances (from
    ``stored`` or the study's kept importances; left out while there are none)."""
    import optuna.visualization as ov
    from optuna.importance._base import BaseImportanceEvaluator

    quiet_optuna()
    out: dict[str, Any] = {}
    done = [t for t in study.get_trials(deepcopy=False) if t.state.name in ("COMPLETE", "PRUNED")]
    if not done:
        return out
    y = "validation −ELBO, nats (lower is better)"
    out["history"] = ov.plot_optimization_history(study, target_name=y)
    out["intermediate"] = ov.plot_intermediate_values(study)
    out["intermediate"].update_layout(xaxis_title="VAE training steps of the trial",
                                      yaxis_title=y, showlegend=False)
    if any(t.state.name == "COMPLETE" for t in done):
        out["parallel"] = ov.plot_parallel_coordinate(study, target_name=y)
    imp = stored if stored is not None else study.user_attrs.get("importances")
    if imp:
        class _Kept(StoredImportances, BaseImportanceEvaluator):
            pass

        out["importances"] = ov.plot_param_importances(
            study, evaluator=_Kept(imp), target_name="validation −ELBO")
    return out


def warm_figures() -> None:
    """Draw the figures once on a three-trial study in an in-memory SQLite storage, at the app's
    warm-up: the first use of plotly's figure classes and of an Optuna RDB storage (SQLAlchemy,
    its schema check) cost about 1.3 s and 0.5 s (measured in a fresh process), which would
    otherwise land on the page thread at a running search's first live poll."""
    import optuna

    quiet_optuna()
    storage = optuna.storages.RDBStorage("sqlite:///:memory:")
    study = optuna.create_study(storage=storage, study_name="warm-up", direction="minimize")
    lr = optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)
    for i in range(3):
        study.add_trial(optuna.trial.create_trial(
            params={"lr": 1e-3 * (i + 1)}, distributions={"lr": lr}, value=100.0 - i,
            intermediate_values={100: 110.0 - i, 200: 100.0 - i}))
    figures(study, {"lr": 1.0})


FAMILY = Family(
    name="automl",
    label="AutoML (a model search)",
    models=(VAESearch, SearchedVAE),
    kind_labels={KIND_SEARCH: "Optuna search over the VAE's settings",
                 KIND_VAE: "VAE with the searched settings"},
    presets=PRESETS,
    build=build,
    evaluate=evaluate,
    load=None,
    train=train,
    data=DATA,
    page=None,  # drawn on the evolution family's page "Evolution & AutoML"
    # Optuna's figures: its first import (~0.6 s) would land on the first poll of a running
    # search's live figures
    warm=("unsup.recipes.automl", "optuna.visualization", "unsup.recipes.automl:warm_figures"),
    headline=("n_trials", "n_pruned", "best_valid_neg_elbo_nats", "test_neg_elbo_nats",
              "difference_nats"),
    bench=("bench_automl.py",),
)

__all__ = ["FAMILY", "PRESETS", "evaluate", "training_spec"]
