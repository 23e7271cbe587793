"""Background training jobs.

A page never trains on its own script thread: it submits a :class:`JobSpec` to the process-wide
runner (:func:`get_runner`) and polls :meth:`Runner.get` for a :class:`JobSnapshot` (progress,
loss history, preview images). A job lives in the process, not in the browser session, so it keeps
running across page switches and refreshes (pages keep the job id in ``st.query_params``). Its
checkpoints are written atomically into the user run folder (:func:`unsup.paths.runs_dir`), so
they are listed again after an app restart and can be resumed.

The runner is a small interface (submit / get / stop / list); :class:`ThreadRunner` is the
in-process implementation. A different backend (a subprocess pool, another machine) can replace it
without touching pages.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import os
import re
import shutil
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from unsup import checkpoints, paths
from unsup.checkpoints import CheckpointError
from unsup.models.base import Model
from unsup.train import Progress, fit

Work = Callable[[Callable[..., None], Callable[[], bool]], Any]
"""A job that is not a torch model fit (a topic model): ``work(progress, should_stop) ->
result``, with ``progress(fraction, message, losses=None)``. Its result must be small (paths,
a few numbers): what it made lives on disk, not in the runner."""

KEEP_FINISHED = 20
"""Ended jobs kept in memory (newest first); older ones are forgotten. Their checkpoints stay on
disk and in the model pickers."""

MAX_RUNNING = 2
"""Jobs that train at once in this process; more wait in a queue (shown as "queued")."""

PREVIEW_SECONDS = 1.0
"""How often (at most) a running job refreshes its preview images; a preview that takes long
(an image GAN recomputing its averaged generator's statistics on a loaded machine) is drawn less
often, so that previews never take more than about a fifth of the job's time."""

STOP_GRACE = 1.2
"""Seconds a job gets to honour Stop by itself (end its step, save, return). Past them the
runner ends the job as "stopped" on its own, with the last checkpoint on disk, without waiting
for the job's thread: that thread runs at a low priority and one step of it may take a minute on
a loaded machine (a CycleGAN's first step). The thread still finishes the step it is in and
saves it (no trained step is lost; the snapshot then shows the newer checkpoint), but starts no
other step, draws nothing and measures nothing. A job started in the same run folder (Resume)
waits for that save: one thread writes a run folder at a time."""


class JobContext:
    """What a job's ``build`` and ``finish`` see of their job: :meth:`phase` says what it does
    now (shown with a ticking clock in the job panel), :meth:`check` honours Stop between
    sub-steps by raising :class:`InterruptedError` (the runner then ends the job as "stopped",
    keeping the last checkpoint on disk)."""

    def __init__(self, runner: "ThreadRunner", job_id: str):
        self._runner, self._id = runner, job_id
        self._stop = runner._stops[job_id]

    def stop_requested(self) -> bool:
        """True once Stop was pressed (``fit``'s ``should_stop``: it then saves the step it
        finished and returns, also after the runner has already ended the job)."""
        return self._stop.is_set()

    def check(self) -> None:
        """Raise InterruptedError if Stop was pressed (call it between sub-steps)."""
        if self.stop_requested():
            raise InterruptedError("stopped")

    def phase(self, text: str) -> None:
        """Show ``text`` as what the job does now ("reading your 40 images", "building the
        model"); honours a pending Stop first."""
        self.check()
        self._runner._update(self._id, phase=text)


class _NoJob:
    """The context of a ``build``/``finish`` called outside a job (a test, a script): phases are
    not shown and nothing stops it."""

    def phase(self, text: str) -> None:
        pass

    def check(self) -> None:
        pass

    def stop_requested(self) -> bool:
        return False


NO_JOB = _NoJob()
"""Pass this (or nothing: recipes' builds default to it) to call a spec's build by hand."""


def _positional_args(fn: Callable) -> int:
    """How many positional arguments ``fn`` can take (0 for an uninspectable callable)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 0
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def _required_args(fn: Callable) -> int:
    """How many positional arguments without a default ``fn`` takes (0 for an uninspectable
    callable): a spec's ``build``/``finish`` take the :class:`JobContext` as their last one when
    they declare it (older zero-argument builds still work)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 0
    return sum(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in params)


@dataclass
class JobSpec:
    """What to train. ``build`` runs inside the job, off the page's thread.

    ``build(job)`` returns (model, data, card): a model (new, or loaded from a checkpoint with its
    optimizer state, to resume), its training data (see :class:`unsup.train.Indexable`) and card
    fields for the checkpoint (title, data fingerprint, command...). ``job`` is the
    :class:`JobContext`: ``job.phase("reading your 40 images")`` between sub-steps shows what it
    does and honours a Stop (a build that takes no argument is called without it; called by hand,
    a recipe's build defaults to :data:`NO_JOB`).
    ``preview(model)`` returns a few images (each (h, w) or (h, w, 3) float in [0, 1]) to show
    while training. ``finish(model)`` or ``finish(model, job)`` measures the trained model.
    """

    title: str
    build: Callable[[], tuple[Model, Any, dict]]
    steps: int
    preview: Callable[[Model], list[np.ndarray]] | None = None
    run_dir: Path | None = None  # None: a new folder under paths.runs_dir()
    checkpoint_every: int = 500
    owner: str = ""  # an opaque id of the session that started it
    finish: Callable[[Model], dict] | None = None  # held-out metrics, merged into the card
    page: str = ""  # the page (key) that trains it: the Jobs view links back to it
    resume: Callable[[Path, float], "JobSpec"] | None = None  # (checkpoint, more) -> new spec
    resume_unit: str = "steps"  # what ``more`` counts ("steps", "epochs", "sweeps")

    def __post_init__(self) -> None:
        # a job of 0 or fewer steps would save its untrained model and end "done"
        if isinstance(self.steps, bool) or int(self.steps) != self.steps or self.steps < 1:
            raise ValueError(f"a training job needs at least 1 step (got {self.steps!r})")


@dataclass(frozen=True)
class WorkSpec:
    """A work job as the runner keeps it for Resume (see :meth:`ThreadRunner.submit_work`):
    ``resume() -> (title, work)`` continues a stopped one in the same ``run_dir``."""

    title: str
    work: Callable
    owner: str = ""
    page: str = ""
    resume: Callable[[], tuple[str, Callable]] | None = None
    run_dir: Path | None = None


@dataclass
class JobSnapshot:
    """A copy of a job's state, safe to read on the page's thread."""

    id: str
    title: str
    status: str  # queued | running | done | stopped | failed
    step: int = 0
    start_step: int = 0
    total: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    previews: list[np.ndarray] = field(default_factory=list)
    error: str | None = None
    checkpoint: Path | None = None
    run_dir: Path | None = None
    seconds: float = 0.0
    owner: str = ""
    message: str = ""  # work jobs: what the job is doing now
    result: Any = None  # work jobs: what ``work`` returned
    done_fraction: float | None = None  # work jobs report their progress as a fraction
    page: str = ""
    phase: str = ""  # what the job does before its first step (building, loading data)
    train_seconds: float = 0.0  # seconds since the first training step (for the time left)
    stopping: bool = False  # Stop was pressed; it takes effect after the current step
    resumable: bool = False  # a stopped run that its page can continue
    saving: bool = False  # ended by the runner; its thread still saves the step it was in
    resume_unit: str = "steps"
    started: float = 0.0  # time.time() at submission

    @property
    def fraction(self) -> float:
        if self.done_fraction is not None:
            return self.done_fraction
        span = self.total - self.start_step
        return 0.0 if span <= 0 else min(1.0, (self.step - self.start_step) / span)

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def seconds_left(self) -> float | None:
        """Time left, from the rate of training steps alone (model building and data loading
        are not steps); None until there is a rate to go by."""
        if self.done_fraction is not None:
            f = self.done_fraction
            return None if f <= 0.02 or self.train_seconds <= 0 else (
                self.train_seconds * (1 - f) / f)
        done = self.step - self.start_step
        if done <= 0 or self.train_seconds <= 0:
            return None
        return (self.total - self.step) * self.train_seconds / done


def new_run_dir(title: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "run"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = paths.runs_dir() / f"{stamp}-{slug}-{uuid.uuid4().hex[:4]}"
    path.mkdir(parents=True, exist_ok=False)
    return path


@contextlib.contextmanager
def fresh_run_dir(title: str) -> Iterator[Path]:
    """A new run folder (:func:`new_run_dir`) for what must be on disk before a job starts (the
    uploaded images a run keeps); removed again when filling it fails (a full disk), so a failed
    start leaves no empty run folder behind."""
    path = new_run_dir(title)
    try:
        yield path
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def _is_write_failure(exc: BaseException) -> bool:
    from unsup.fileio import DISK_FULL, NOT_WRITABLE

    return isinstance(exc, OSError) and exc.errno in DISK_FULL + NOT_WRITABLE


def _write_failure(exc: OSError, run_dir: Path | None) -> str:
    """A job's message when a checkpoint could not be written (a full disk): what went wrong, and
    which checkpoint is kept (saves are atomic, so the previous one is whole), by the run's folder
    name only, never a server path."""
    from unsup.fileio import os_error_text

    msg = os_error_text(exc, "the latest checkpoint").rstrip(".")
    last = None if run_dir is None else run_dir / "model.safetensors"
    try:
        step = checkpoints.read_card(last).get("step") if last is not None and last.exists() \
            else None
    except CheckpointError:
        step = None
    if isinstance(step, int):
        msg += (f". The last checkpoint (step {step:,}) is kept in your run {run_dir.name}: "
                "resume it from the Train section once there is space")
    return msg


class ThreadRunner:
    """Runs each job in a daemon thread; at most ``MAX_RUNNING`` train at once."""

    def __init__(self, max_running: int = MAX_RUNNING):
        self._lock = threading.Lock()
        self._jobs: dict[str, JobSnapshot] = {}
        self._stops: dict[str, threading.Event] = {}
        self._slots = threading.Semaphore(max_running)
        self._specs: dict[str, JobSpec | WorkSpec] = {}  # job id -> its spec, for Resume
        self._ended: set[str] = set()  # jobs the runner ended (Stop not honoured in time)
        self._folders: dict[str, threading.Lock] = {}  # run folder -> held by the job writing it
        self._holding: set[str] = set()  # jobs that hold a training slot

    # -- the interface pages use ------------------------------------------------------------
    def submit(self, spec: JobSpec) -> str:
        job_id = uuid.uuid4().hex[:12]
        run_dir = spec.run_dir or new_run_dir(spec.title)
        with self._lock:
            self._prune()
            self._jobs[job_id] = JobSnapshot(job_id, spec.title, "queued", total=spec.steps,
                                             run_dir=run_dir, owner=spec.owner, page=spec.page,
                                             resume_unit=spec.resume_unit, started=time.time(),
                                             phase="waiting for a free training slot")
            self._stops[job_id] = threading.Event()
            self._specs[job_id] = spec
        threading.Thread(target=self._run, args=(job_id, spec, run_dir), daemon=True,
                         name=f"unsup-job-{job_id}").start()
        return job_id

    def submit_work(self, title: str, work: Work, owner: str = "", *, page: str = "",
                    resume: Callable[[], tuple[str, Work]] | None = None,
                    run_dir: Path | None = None) -> str:
        """Run ``work(progress, should_stop)`` as a job, for fits that are not a torch
        :class:`Model` (topic models, K sweeps). ``progress(fraction, message, losses=None)``
        updates the snapshot (``losses`` adds a point to its curves); ``work`` raises
        ``InterruptedError`` when it honours a stop (after saving what it can resume from);
        what it returns (small: paths and numbers) becomes ``snapshot.result``. ``resume()``
        -> (title, work) continues a stopped job."""
        job_id = uuid.uuid4().hex[:12]
        with self._lock:
            self._prune()
            self._jobs[job_id] = JobSnapshot(job_id, title, "queued", owner=owner,
                                             done_fraction=0.0, page=page, run_dir=run_dir,
                                             resume_unit="", started=time.time(),
                                             phase="waiting for a free slot")
            self._stops[job_id] = threading.Event()
            self._specs[job_id] = WorkSpec(title, work, owner, page, resume, run_dir)
        threading.Thread(target=self._run_work, args=(job_id, work), daemon=True,
                         name=f"unsup-work-{job_id}").start()
        return job_id

    @staticmethod
    def _copy(job: JobSnapshot) -> JobSnapshot:
        """A copy whose clock ticks: an active job's ``seconds`` count from its submission, also
        before its first step reports (model building, data loading, a slow first step)."""
        snap = copy.copy(job)
        if snap.status == "running":
            snap.seconds = max(snap.seconds, time.time() - snap.started)
        return snap

    def get(self, job_id: str | None) -> JobSnapshot | None:
        with self._lock:
            job = self._jobs.get(job_id or "")
            return None if job is None else self._copy(job)

    def stop(self, job_id: str) -> None:
        """Ask the job to stop. It saves and ends after the step (or sub-step) it is in; if it
        has not ended :data:`STOP_GRACE` seconds later, the runner ends it as "stopped" itself,
        keeping the last checkpoint on disk. A queued job ends at once."""
        ev = self._stops.get(job_id)
        if ev is None:
            return
        ev.set()
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or not job.active:
                return
            job.stopping = True
            queued = job.status == "queued"
        if queued:
            self._end_stopped(job_id)
        else:
            timer = threading.Timer(STOP_GRACE, self._end_stopped, args=(job_id,))
            timer.daemon = True
            timer.name = f"unsup-stop-{job_id}"
            timer.start()

    def _end_stopped(self, job_id: str) -> None:
        """End a job that has not honoured Stop in time (or is still queued): "stopped", with
        the checkpoint its run folder holds now (none for a new run stopped before its first
        save), its training slot given back. Its thread may still be inside one computation: a
        training step is still saved when it ends (see :meth:`_late_checkpoint`), nothing else
        is written and its other reports are ignored."""
        snap = self.get(job_id)
        if snap is None or not snap.active:
            return
        last = _kept_checkpoint(snap.run_dir)
        step = snap.step
        if last is not None:
            try:
                step = int(checkpoints.read_card(last).get("step") or step)
            except (CheckpointError, OSError, ValueError):
                pass
        spec = self._specs.get(job_id)
        resumable = (spec.resume is not None) if isinstance(spec, WorkSpec) else (
            spec is not None and spec.resume is not None and last is not None)
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or not job.active:
                return
            self._ended.add(job_id)
            job.status, job.stopping, job.phase = "stopped", False, ""
            job.saving = True  # until its thread has returned (see _execute)
            job.seconds = time.time() - job.started
            if job.done_fraction is None:
                job.step = step
                job.checkpoint = last
            job.resumable = resumable
        self._release_slot(job_id)

    def _late_checkpoint(self, job_id: str, path: Path | None, step: int) -> None:
        """A job the runner ended has saved the step it was in: show that newer checkpoint."""
        if path is None:
            return
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.active or job.done_fraction is not None:
                return
            job.checkpoint, job.step = path, int(step)
            spec = self._specs.get(job_id)
            job.resumable = getattr(spec, "resume", None) is not None

    def _folder_lock(self, run_dir: Path) -> threading.Lock:
        with self._lock:
            return self._folders.setdefault(str(Path(run_dir).resolve()), threading.Lock())

    def _ended_by_runner(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._ended

    def _release_slot(self, job_id: str) -> None:
        with self._lock:
            if job_id not in self._holding:
                return
            self._holding.discard(job_id)
        self._slots.release()

    def resume(self, job_id: str, more: float = 0) -> str:
        """Continue a stopped (or finished) job from its last checkpoint; returns the new id."""
        spec = self._specs.get(job_id)
        snap = self.get(job_id)
        if spec is None or snap is None or not snap.resumable:
            raise ValueError("this job cannot be resumed")
        if isinstance(spec, WorkSpec):
            new_title, new_work = spec.resume()
            return self.submit_work(new_title, new_work, spec.owner, page=spec.page,
                                    resume=spec.resume, run_dir=spec.run_dir)
        return self.submit(spec.resume(snap.checkpoint, more))

    def _prune(self) -> None:
        """Forget all but the newest KEEP_FINISHED ended jobs (called with the lock held)."""
        ended = sorted((j for j in self._jobs.values() if not j.active),
                       key=lambda j: j.started, reverse=True)
        for j in ended[KEEP_FINISHED:]:
            for table in (self._jobs, self._stops, self._specs):
                table.pop(j.id, None)
            self._ended.discard(j.id)

    def list(self, owner: str | None = None) -> list[JobSnapshot]:
        with self._lock:
            jobs = [self._copy(j) for j in self._jobs.values()]
        return [j for j in jobs if owner is None or j.owner == owner]

    def wait(self, job_id: str, timeout: float = 600.0) -> JobSnapshot:
        """Block until the job ends (for the CLI, tests and benchmarks)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            snap = self.get(job_id)
            if snap is None or not snap.active:
                return snap
            time.sleep(0.05)
        raise TimeoutError(f"job {job_id} still running after {timeout} s")

    # -- inside the job thread ----------------------------------------------------------------
    def _update(self, job_id: str, **fields: Any) -> None:
        """Change a job's snapshot (ignored once the runner has ended the job: see
        :meth:`_end_stopped`)."""
        with self._lock:
            if job_id in self._ended:
                return
            job = self._jobs[job_id]
            for k, v in fields.items():
                setattr(job, k, v)

    def _execute(self, job_id: str, body: Callable[[JobContext, float], None]) -> None:
        """What every job thread does around its ``body``: wait for a slot, honour an early
        stop, step aside for the UI, and turn any exception into a "failed" status. A Stop
        honoured inside (``InterruptedError``, raised by :meth:`JobContext.check` between
        sub-steps of the model building, the data preparation or the held-out measurement) ends
        it as "stopped", keeping whatever checkpoint its run folder holds."""
        stop = self._stops[job_id]
        self._slots.acquire()
        with self._lock:
            self._holding.add(job_id)
        try:
            if stop.is_set() or self._ended_by_runner(job_id):
                self._update(job_id, status="stopped", stopping=False, phase="")
                return
            running = self._running_jobs() + 1
            t0 = time.perf_counter()
            self._update(job_id, status="running", phase="starting")
            ctx = JobContext(self, job_id)
            folder = None  # this run folder's lock, once this thread holds it
            try:
                run_dir = self.get(job_id).run_dir
                if run_dir is not None:
                    lock = self._folder_lock(run_dir)
                    if not lock.acquire(blocking=False):
                        ctx.phase("waiting for the stopped run in this folder to save its "
                                  "last step")
                        while not lock.acquire(timeout=0.2):
                            ctx.check()
                    folder = lock
                _yield_to_ui(running)
                _prepare_torch(ctx)
                body(ctx, t0)
            except InterruptedError:
                snap = self.get(job_id)
                kept = _kept_checkpoint(snap.run_dir) if snap.done_fraction is None else None
                spec = self._specs.get(job_id)
                self._update(job_id, status="stopped", stopping=False, phase="",
                             seconds=time.time() - snap.started,
                             **({} if snap.done_fraction is not None else {
                                 "checkpoint": kept, "resumable": kept is not None and getattr(
                                     spec, "resume", None) is not None}))
            except Exception as exc:  # shown in the page, never raised into it
                if self._ended_by_runner(job_id):
                    return
                traceback.print_exc()
                msg = str(exc) if isinstance(exc, (FloatingPointError, CheckpointError)) else (
                    _write_failure(exc, self.get(job_id).run_dir) if _is_write_failure(exc)
                    else f"{type(exc).__name__}: {exc}")
                self._update(job_id, status="failed", error=msg, stopping=False, phase="",
                             seconds=time.time() - self.get(job_id).started)
            finally:
                if folder is not None:
                    folder.release()
        finally:
            with self._lock:
                if job_id in self._jobs:
                    self._jobs[job_id].saving = False  # this thread writes nothing more
            self._release_slot(job_id)

    def _running_jobs(self) -> int:
        with self._lock:
            return sum(j.status == "running" for j in self._jobs.values())

    def _run(self, job_id: str, spec: JobSpec, run_dir: Path) -> None:
        def body(job: JobContext, t0: float) -> None:
            job.phase("building the model and loading data")
            model, data, card = spec.build(job) if _positional_args(spec.build) else spec.build()
            start = int(getattr(model, "step_", 0))
            self._update(job_id, step=start, start_step=start, total=start + spec.steps)
            preview_at, preview_cost = [0.0], [0.0]

            job.phase("first step")

            def draw_preview() -> None:
                t = time.perf_counter()
                with torch.no_grad():
                    was = model.training
                    model.eval()
                    imgs = spec.preview(model)
                    model.train(was)
                preview_at[0] = time.perf_counter()
                preview_cost[0] = preview_at[0] - t
                self._update(job_id, previews=imgs)

            def on_progress(p: Progress) -> None:
                with self._lock:
                    if job_id in self._ended:
                        return
                    snap = self._jobs[job_id]
                    snap.step, snap.phase = p.step, "training"
                    snap.history = snap.history + [{"step": p.step, **p.losses}]
                    snap.seconds = time.time() - snap.started
                    snap.train_seconds = p.seconds
                wait = max(PREVIEW_SECONDS, 4 * preview_cost[0])
                if spec.preview is not None and time.perf_counter() - preview_at[0] > wait \
                        and not job.stop_requested():
                    draw_preview()
                time.sleep(0)  # let the page's threads in

            try:
                result = fit(model, data, steps=spec.steps, on_progress=on_progress,
                             should_stop=job.stop_requested,
                             checkpoint_every=spec.checkpoint_every,
                             checkpoint_path=run_dir / "model", card=card, log_every=10)
            except FloatingPointError:
                last = run_dir / "model.safetensors"
                self._update(job_id, checkpoint=last if last.exists() else None,
                             resumable=False)
                raise
            resumable = spec.resume is not None and result.checkpoint is not None
            if result.stopped and self._ended_by_runner(job_id):
                # Stop was not honoured within STOP_GRACE: the runner already ended the job,
                # and fit has now saved the step it was in; show that checkpoint
                self._late_checkpoint(job_id, result.checkpoint, int(model.step_))
                return
            if result.stopped:
                # a stopped run ends now, with the preview it showed last (its held-out numbers
                # are measured when a page needs them)
                self._update(job_id, status="stopped", checkpoint=result.checkpoint, phase="",
                             stopping=False, seconds=time.time() - self.get(job_id).started,
                             resumable=resumable)
                return
            # a finished one is measured first, its metrics embedded in its checkpoint; a Stop
            # meanwhile keeps the trained weights (saved by fit) and skips the measurement
            self._update(job_id, checkpoint=result.checkpoint, resumable=resumable)
            if spec.preview is not None:
                job.phase("drawing the preview")
                draw_preview()
            if spec.finish is not None and result.checkpoint is not None:
                job.phase("measuring on held-out data")
                card = {**model.card_, **checkpoints.read_card(result.checkpoint)}
                card["metrics"] = (spec.finish(model, job) if _required_args(spec.finish) > 1
                                   else spec.finish(model))
                job.check()
                checkpoints.save(model, result.checkpoint, card)  # metrics embedded too
            self._update(job_id, status="done", phase="", stopping=False,
                         seconds=time.time() - self.get(job_id).started)

        self._execute(job_id, body)

    def _run_work(self, job_id: str, work: Work) -> None:
        resumable = getattr(self._specs.get(job_id), "resume", None) is not None

        def body(ctx: JobContext, t0: float) -> None:
            def progress(fraction: float, message: str, losses: dict | None = None) -> None:
                with self._lock:
                    if job_id in self._ended:
                        return
                    job = self._jobs[job_id]
                    job.done_fraction = float(min(1.0, max(0.0, fraction)))
                    job.message, job.phase = message, ""
                    job.seconds = time.time() - job.started
                    job.train_seconds = time.perf_counter() - t0
                    if losses:
                        job.step += 1
                        job.history = job.history + [{"step": job.step, **losses}]
                time.sleep(0)  # let the page's threads in

            ctx.phase("starting")
            try:
                result = work(progress, ctx.stop_requested)
            except InterruptedError:
                self._update(job_id, resumable=resumable)
                raise
            self._update(job_id, status="done", done_fraction=1.0, result=result,
                         seconds=time.time() - self.get(job_id).started, stopping=False)

        self._execute(job_id, body)


JOB_NICENESS = 10
"""Scheduling priority of training threads: lower than the page's, so the UI stays responsive."""


def job_threads(running: int = 0) -> int:
    """Torch threads of a job: every core but one (the app's), shared with the other jobs that
    train (``running``); one on a 2-core machine. Two threads per job there were measured 10–25
    times slower than one on a busy machine (a 32-px CycleGAN step: 0.9–1.4 s with one thread,
    10–26 s with two, load average 3.5; each of a step's thousands of small operations waits for
    its slower, low-priority worker), and a step that slow is a Stop that takes a minute."""
    return max(1, ((os.cpu_count() or 1) - 1) // max(1, running))


def _kept_checkpoint(run_dir: Path | None) -> Path | None:
    """The "last" checkpoint a run folder holds now (None: nothing saved yet)."""
    last = None if run_dir is None else run_dir / "model.safetensors"
    return last if last is not None and last.exists() else None


def _prepare_torch(job: JobContext) -> None:
    """Import what PyTorch loads lazily on a process's first optimizer (``torch._dynamo``: 2–6 s,
    longer on a busy machine) under its own phase, so that the panel says why the first job of an
    app start waits, and a Stop meanwhile ends it (the import runs on; nothing is written)."""
    import sys

    if "torch._dynamo" not in sys.modules:
        job.phase("loading PyTorch's training code (once after each app start)")
        import torch._dynamo  # noqa: F401
        job.check()


def _yield_to_ui(running: int = 1) -> None:
    """Run this job thread (and the torch worker threads it starts, which inherit the setting) at
    a lower priority than the app's own threads: training uses the cores the pages leave idle and
    steps aside the moment a page reruns. Linux schedules threads individually, so
    ``setpriority`` on the thread id affects this thread only; elsewhere this is a no-op.
    ``running``: jobs training now, this one included (they share the cores, see
    :func:`job_threads`)."""
    torch.set_num_threads(job_threads(running))
    lower_thread_priority()


def lower_thread_priority() -> None:
    """Run the calling thread at :data:`JOB_NICENESS` (never raising its priority): Linux
    schedules threads one by one; elsewhere this is a no-op."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid),
                                                 JOB_NICENESS))
    except (AttributeError, OSError):
        pass


_RUNNER: ThreadRunner | None = None
_RUNNER_LOCK = threading.Lock()


def get_runner() -> ThreadRunner:
    """The process-wide runner (every session of the app shares it)."""
    global _RUNNER
    with _RUNNER_LOCK:
        if _RUNNER is None:
            _RUNNER = ThreadRunner()
        return _RUNNER
