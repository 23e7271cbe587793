"""AutoML on the learner contract: an Optuna search over a VAE's settings, one trial a step.

:class:`VAESearch` is a learner like any other (:func:`unsup.train.fit` runs it, saves it, stops
and resumes it), but its state lives in an Optuna study, kept in an RDB storage (a SQLite file by
default; any SQLAlchemy URL, e.g. PostgreSQL, lets several machines work on one study). One
``train_step`` is one trial:

1. a TPE sampler (Bergstra et al. 2011, "Algorithms for hyper-parameter optimization") proposes
   the VAE's latent size, width, depth, dense units, learning rate, batch size and β, seeded from
   the step (``self.rng``), so the same history gives the same proposal;
2. the VAE (:class:`SearchedVAE`) trains ``steps_per_trial`` steps on the training split, and
   every ``report_every`` steps its −ELBO on the validation split is reported to the study;
3. the pruner (median, or Hyperband: Li et al. 2018) ends a trial whose curve is worse than the
   others' at the same step; a trial that diverges is pruned too (TPE then counts it as bad);
4. the trial is told COMPLETE with its last validation −ELBO (nats per image, lower is better).

Resume without losing or repeating a trial: a Stop during a trial (checked before every step of
the VAE) marks the trial FAIL and enqueues its exact parameters again (user attribute
``retry_of``), so the next step runs that trial to its end before any new proposal; a process
that died inside a trial leaves it RUNNING, and the next step of the same worker does the same to
it. FAIL trials are ignored by TPE and by the pruners, so an interrupted and resumed search
proposes exactly what an uninterrupted one does.

A time budget ends the search: once the trials have used ``budget_seconds``, further steps do
nothing (the search has converged in the sense of the learner contract).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from unsup.metrics.elbo import elbo_terms
from unsup.models.automl import SearchedVAE, SearchedVAEConfig
from unsup.models.base import Model, register
from unsup.train import DivergedError, fit


# -- the search ------------------------------------------------------------------------------------
@dataclass
class SearchConfig:
    """Configuration of :class:`VAESearch` (stored in the card; the search space too)."""

    study_name: str = "automl-vae"
    """Name of the study in the storage (several searches can share one database)."""
    storage: str = ""
    """SQLAlchemy URL of the study's storage; "" = a SQLite file beside the checkpoint (the
    recipe attaches it)."""
    worker: str = ""
    """Name of this searcher among those sharing the study (its RUNNING trials are its own to
    recover); mixed into the sampler's seed so two workers never propose in lockstep."""
    steps_per_trial: int = 1_000
    """VAE training steps of a trial that is not pruned."""
    report_every: int = 100
    """VAE steps between two validation −ELBO reports (the pruner decides at each)."""
    budget_seconds: float = 1800.0
    """Seconds of search (trials and the sampler's, pruner's and storage's work around them)
    after which further steps do nothing (0: no limit). A trial in progress is finished."""
    n_startup_trials: int = 10
    """Random trials before TPE starts modelling good and bad settings."""
    pruner: str = "median"
    """"median" (prune a trial below the median of earlier trials at the same step) or
    "hyperband"."""
    prune_startup: int = 5
    """Finished trials before the median pruner prunes anything."""
    prune_warmup: int = 200
    """VAE steps of a trial before it can be pruned."""
    latent_range: tuple = (4, 64)
    """Latent size range (log-uniform integers)."""
    width_choices: tuple = (8, 16, 32, 48)
    """Channels of the first convolution (the second has twice as many)."""
    hidden_choices: tuple = (128, 256, 512)
    """Dense units."""
    depth_range: tuple = (1, 3)
    """Dense layers per side, range (integers)."""
    lr_range: tuple = (3e-4, 1e-2)
    """Adam learning rate range (log-uniform)."""
    batch_choices: tuple = (32, 64, 128, 256)
    """Images per VAE step."""
    beta_range: tuple = (0.5, 1.5)
    """Weight of the KL term while training (the reported −ELBO always weighs it 1)."""
    fixed: dict | None = None
    """VAE settings every trial shares (image size, channels, shift augmentation); None: the
    VAE family's defaults."""
    seed: int = 0
    """Seed of the proposals and of every trial's VAE (weights, batches, noise): trials differ
    by their settings only."""

    @classmethod
    def tiny(cls, **overrides) -> "SearchConfig":
        """A very small search for tests: 8×8 images, a few steps per trial."""
        values = dict(steps_per_trial=12, report_every=4, budget_seconds=0.0, n_startup_trials=2,
                      prune_startup=1, prune_warmup=4, latent_range=(2, 4),
                      width_choices=(2, 4), hidden_choices=(8, 16), depth_range=(1, 2),
                      batch_choices=(8, 16),
                      fixed={"image_size": 8, "n_channels": 1, "shift": 0})
        values.update(overrides)
        return cls(**values)


STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")


def quiet_optuna() -> None:
    """Optuna logs every trial at INFO and warns that multivariate TPE is experimental; the
    search reports through the learner's losses instead."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def sqlite_url(path) -> str:
    """The SQLAlchemy URL of a SQLite file (absolute path)."""
    from pathlib import Path

    return "sqlite:///" + str(Path(path).resolve())


def open_study(url: str, name: str, *, create: bool = True):
    """The study ``name`` in the storage ``url`` (created when missing and ``create``)."""
    import optuna

    quiet_optuna()
    storage = optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(url))
    if create:
        return optuna.create_study(study_name=name, storage=storage, direction="minimize",
                                   load_if_exists=True)
    return optuna.load_study(study_name=name, storage=storage)


def _engine_kwargs(url: str) -> dict:
    # SQLite: wait for a writer of another thread/process instead of failing at once
    return {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}


@register("automl_search")
class VAESearch(Model):
    """The search (see the module docstring). Before training, :meth:`attach` its storage and
    data; ``should_stop`` (set by the caller, e.g. a job's stop flag) is checked before every
    VAE step of a trial.

    Buffers: ``state`` = [trials run by this searcher, best validation −ELBO it has seen,
    seconds its steps took, trials of them pruned, budget spent (1/0)].
    """

    config_class = SearchConfig
    monitor = None  # a trial's value jumps from setting to setting; nothing to watch

    def __init__(self, config: SearchConfig):
        super().__init__(config)
        if config.steps_per_trial < 1 or config.report_every < 1:
            raise ValueError("steps_per_trial and report_every must be at least 1")
        if config.pruner not in ("median", "hyperband"):
            raise ValueError(f"pruner must be 'median' or 'hyperband', got {config.pruner!r}")
        self.register_buffer("state", torch.tensor([0.0, math.inf, 0.0, 0.0, 0.0],
                                                   dtype=torch.float64))
        # nothing is optimized by gradient here; an optimizer over a frozen dummy keeps the
        # checkpoint format of every other learner
        self._dummy = nn.Parameter(torch.zeros(1), requires_grad=False)
        self._opts: dict[str, torch.optim.Optimizer] | None = None
        self.storage_url: str | None = config.storage or None
        self.x_train: torch.Tensor | None = None
        self.x_valid: torch.Tensor | None = None
        self.should_stop: Callable[[], bool] = lambda: False
        self.after_trial: Callable[[Any], None] | None = None  # e.g. importances, by the recipe
        self._study = None

    # -- set-up -----------------------------------------------------------------------------
    def attach(self, storage: str | None = None, *, x_train: torch.Tensor | None = None,
               x_valid: torch.Tensor | None = None) -> "VAESearch":
        """Where the study lives (a SQLAlchemy URL; the config's own URL wins when it has one)
        and the images trials train (``x_train``) and are validated on (``x_valid``)."""
        if storage is not None and not self.config.storage:
            self.storage_url, self._study = storage, None
        if x_train is not None:
            self.x_train = x_train
        if x_valid is not None:
            self.x_valid = x_valid
        return self

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self._opts is None:
            self._opts = {"none": torch.optim.SGD([self._dummy], lr=0.0)}
        return self._opts

    @property
    def study(self):
        if self._study is None:
            if not self.storage_url:
                raise ValueError("the search has no storage: attach one first")
            self._study = open_study(self.storage_url, self.config.study_name)
        return self._study

    @property
    def trials_run(self) -> int:
        return int(self.state[0])

    @property
    def best_value(self) -> float:
        return float(self.state[1])

    @property
    def budget_spent(self) -> bool:
        return bool(self.state[4] > 0)

    # -- one trial ----------------------------------------------------------------------------
    def suggest(self, trial) -> dict[str, Any]:
        """The trial's settings from the search space of the config."""
        c = self.config
        return {
            "n_latent": trial.suggest_int("n_latent", int(c.latent_range[0]),
                                          int(c.latent_range[1]), log=True),
            "width": trial.suggest_categorical("width", [int(v) for v in c.width_choices]),
            "depth": trial.suggest_int("depth", int(c.depth_range[0]), int(c.depth_range[1])),
            "hidden": trial.suggest_categorical("hidden", [int(v) for v in c.hidden_choices]),
            "lr": trial.suggest_float("lr", float(c.lr_range[0]), float(c.lr_range[1]), log=True),
            "batch_size": trial.suggest_categorical("batch_size",
                                                    [int(v) for v in c.batch_choices]),
            "beta": trial.suggest_float("beta", float(c.beta_range[0]), float(c.beta_range[1])),
        }

    def vae_config(self, params: dict[str, Any]) -> SearchedVAEConfig:
        """The VAE a trial with ``params`` trains (the shared settings, then the trial's)."""
        fixed = dict(self.config.fixed or {})
        return SearchedVAEConfig(**{**fixed, **params, "seed": int(self.config.seed)})

    def _sampler_and_pruner(self, seed: int):
        import optuna

        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=int(
            self.config.n_startup_trials), multivariate=True)
        c = self.config
        if c.pruner == "hyperband":
            pruner = optuna.pruners.HyperbandPruner(min_resource=int(c.report_every),
                                                    max_resource=int(c.steps_per_trial))
        else:
            pruner = optuna.pruners.MedianPruner(n_startup_trials=int(c.prune_startup),
                                                 n_warmup_steps=int(c.prune_warmup))
        return sampler, pruner

    def recover(self) -> list[int]:
        """This worker's trials left RUNNING by a process that ended inside them: marked FAIL
        and their parameters enqueued again (once). Returns their numbers."""
        from optuna.trial import TrialState

        study, out = self.study, []
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if t.user_attrs.get("worker") == self.config.worker:
                self._requeue(t)
                out.append(t.number)
        return out

    def _requeue(self, trial) -> None:
        """Mark ``trial`` (a running Trial or its stored FrozenTrial) FAIL and enqueue its exact
        parameters again, with ``retry_of`` naming it."""
        from optuna.trial import TrialState

        study = self.study
        study.tell(trial.number, state=TrialState.FAIL)
        study.enqueue_trial(dict(trial.params), user_attrs={"retry_of": trial.number})

    def validation_neg_elbo(self, vae: SearchedVAE) -> float:
        """−ELBO of the validation images (nats per image, β = 1, one posterior sample each
        from a fixed seed): what every trial reports, lower is better."""
        return float(elbo_terms(vae, self.x_valid, seed=0)["neg_elbo"])

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One trial (see the module docstring). Returns {"best_neg_elbo": best so far,
        "trial_neg_elbo": this trial's last validation −ELBO, "pruned": 1 if it was pruned,
        "trial_seconds"}; after the budget, the same numbers without running anything.
        Raises InterruptedError when ``should_stop`` turned true inside the trial (the trial
        is then enqueued again, see :meth:`_requeue`)."""
        st = self.state
        if self.budget_spent:
            return self._losses(float(st[1]), 0.0, 0.0)
        if self.x_train is None or self.x_valid is None:
            raise ValueError("the search has no data: attach x_train and x_valid first")
        from optuna.trial import TrialState

        t_step = time.perf_counter()
        study = self.study
        self.recover()
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=self.rng)) ^ (
            hash_text(self.config.worker) if self.config.worker else 0)
        study.sampler, study.pruner = self._sampler_and_pruner(seed)
        trial = study.ask()
        trial.set_user_attr("worker", self.config.worker)
        params = self.suggest(trial)
        t0 = time.perf_counter()
        c = self.config
        value, pruned, diverged = math.nan, False, False
        try:
            vae = SearchedVAE(self.vae_config(params))
            trial.set_user_attr("n_parameters", sum(p.numel() for p in vae.parameters()))
            done = 0
            while done < c.steps_per_trial:
                n = min(int(c.report_every), int(c.steps_per_trial) - done)
                try:
                    res = fit(vae, self.x_train, steps=n, should_stop=self.should_stop,
                              log_every=n)
                except DivergedError:
                    diverged = True
                    break
                if res.stopped:
                    raise InterruptedError("stopped inside a trial")
                done += n
                value = self.validation_neg_elbo(vae)
                if not math.isfinite(value):
                    diverged = True
                    break
                trial.report(value, done)
                if done < c.steps_per_trial and trial.should_prune():
                    pruned = True
                    break
        except BaseException:  # Stop, Ctrl-C, an error: the trial is run again, never lost
            self._requeue(trial)
            raise
        seconds = time.perf_counter() - t0
        trial.set_user_attr("seconds", round(seconds, 2))
        if diverged:
            trial.set_user_attr("diverged", True)
            study.tell(trial, state=TrialState.PRUNED)
            pruned = True
        elif pruned:
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, value)
            st[1] = min(float(st[1]), value)
        if self.after_trial is not None:
            self.after_trial(study)
        st[0] += 1
        st[2] += time.perf_counter() - t_step  # the trial and the search's own work around it
        st[3] += 1 if pruned else 0
        if c.budget_seconds and float(st[2]) >= float(c.budget_seconds):
            st[4] = 1.0
        return self._losses(value if math.isfinite(value) else float(st[1]), float(pruned),
                            seconds)

    def _losses(self, value: float, pruned: float, seconds: float) -> dict[str, float]:
        best = float(self.state[1])
        # finite numbers only (the loop treats a non-finite loss as divergence): before any
        # trial has finished, the best is this trial's value (0 if the first trial diverged
        # before its first report)
        if not math.isfinite(best):
            best = value if math.isfinite(value) else 0.0
        value = value if math.isfinite(value) else best
        return {"best_neg_elbo": best, "trial_neg_elbo": value, "pruned": pruned,
                "trial_seconds": seconds}


def hash_text(text: str) -> int:
    """A stable 31-bit hash of ``text`` (Python's own ``hash`` differs between processes)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & (2**31 - 1)
