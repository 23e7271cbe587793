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
"""How often (at most) a running job refreshes its preview images."""


@dataclass
class JobSpec:
    """What to train. ``build`` runs inside the job, off the page's thread.

    ``build()`` returns (model, data, card): a model (new, or loaded from a checkpoint with its
    optimizer state, to resume), its training data (see :class:`unsup.train.Indexable`) and card
    fields for the checkpoint (title, data fingerprint, command...). ``preview(model)`` returns a
    few images (each (h, w) or (h, w, 3) float in [0, 1]) to show while training.
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
        self._specs: dict[str, Any] = {}  # job id -> its JobSpec (or WorkSpec), for Resume

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
            self._specs[job_id] = (title, work, owner, page, resume, run_dir)
        threading.Thread(target=self._run_work, args=(job_id, work), daemon=True,
                         name=f"unsup-work-{job_id}").start()
        return job_id

    def get(self, job_id: str | None) -> JobSnapshot | None:
        with self._lock:
            job = self._jobs.get(job_id or "")
            return None if job is None else copy.copy(job)

    def stop(self, job_id: str) -> None:
        """Ask the job to stop; it takes effect after the step it is in (it saves first)."""
        ev = self._stops.get(job_id)
        if ev is not None:
            ev.set()
            with self._lock:
                if job_id in self._jobs and self._jobs[job_id].active:
                    self._jobs[job_id].stopping = True

    def resume(self, job_id: str, more: float = 0) -> str:
        """Continue a stopped (or finished) job from its last checkpoint; returns the new id."""
        spec = self._specs.get(job_id)
        snap = self.get(job_id)
        if spec is None or snap is None or not snap.resumable:
            raise ValueError("this job cannot be resumed")
        if isinstance(spec, tuple):  # a work job
            title, work, owner, page, resume, run_dir = spec
            new_title, new_work = resume()
            return self.submit_work(new_title, new_work, owner, page=page, resume=resume,
                                    run_dir=run_dir)
        return self.submit(spec.resume(snap.checkpoint, more))

    def _prune(self) -> None:
        """Forget all but the newest KEEP_FINISHED ended jobs (called with the lock held)."""
        ended = sorted((j for j in self._jobs.values() if not j.active),
                       key=lambda j: j.started, reverse=True)
        for j in ended[KEEP_FINISHED:]:
            for table in (self._jobs, self._stops, self._specs):
                table.pop(j.id, None)

    def list(self, owner: str | None = None) -> list[JobSnapshot]:
        with self._lock:
            jobs = [copy.copy(j) for j in self._jobs.values()]
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
        with self._lock:
            job = self._jobs[job_id]
            for k, v in fields.items():
                setattr(job, k, v)

    def _execute(self, job_id: str, body: Callable[[threading.Event, float], None]) -> None:
        """What every job thread does around its ``body``: wait for a slot, honour an early
        stop, step aside for the UI, and turn any exception into a "failed" status."""
        stop = self._stops[job_id]
        with self._slots:
            if stop.is_set():
                self._update(job_id, status="stopped")
                return
            _yield_to_ui()
            t0 = time.perf_counter()
            self._update(job_id, status="running", phase="building the model and loading data")
            try:
                body(stop, t0)
            except InterruptedError:
                self._update(job_id, status="stopped", seconds=time.perf_counter() - t0,
                             stopping=False, phase="")
            except Exception as exc:  # shown in the page, never raised into it
                traceback.print_exc()
                msg = str(exc) if isinstance(exc, (FloatingPointError, CheckpointError)) else (
                    _write_failure(exc, self.get(job_id).run_dir) if _is_write_failure(exc)
                    else f"{type(exc).__name__}: {exc}")
                self._update(job_id, status="failed", error=msg, stopping=False, phase="",
                             seconds=time.perf_counter() - t0)

    def _run(self, job_id: str, spec: JobSpec, run_dir: Path) -> None:
        def body(stop: threading.Event, t0: float) -> None:
            model, data, card = spec.build()
            start = int(getattr(model, "step_", 0))
            self._update(job_id, step=start, start_step=start, total=start + spec.steps)
            last_preview = [0.0]

            self._update(job_id, phase="training")

            def on_progress(p: Progress) -> None:
                with self._lock:
                    job = self._jobs[job_id]
                    job.step = p.step
                    job.history = job.history + [{"step": p.step, **p.losses}]
                    job.seconds = time.perf_counter() - t0
                    job.train_seconds = p.seconds
                now = time.perf_counter()
                if spec.preview is not None and now - last_preview[0] > PREVIEW_SECONDS:
                    last_preview[0] = now
                    with torch.no_grad():
                        was = model.training
                        model.eval()
                        imgs = spec.preview(model)
                        model.train(was)
                    self._update(job_id, previews=imgs)
                time.sleep(0)  # let the page's threads in

            try:
                result = fit(model, data, steps=spec.steps, on_progress=on_progress,
                             should_stop=stop.is_set, checkpoint_every=spec.checkpoint_every,
                             checkpoint_path=run_dir / "model", card=card, log_every=10)
            except FloatingPointError:
                last = run_dir / "model.safetensors"
                self._update(job_id, checkpoint=last if last.exists() else None,
                             resumable=False)
                raise
            previews = spec.preview(model) if spec.preview is not None else []
            # a stopped run ends now (its held-out numbers are measured when a page needs them);
            # a finished one is measured first, its metrics embedded in its checkpoint
            if spec.finish is not None and result.checkpoint is not None and not result.stopped:
                self._update(job_id, previews=previews, phase="measuring on held-out data")
                card = {**model.card_, **checkpoints.read_card(result.checkpoint)}
                card["metrics"] = spec.finish(model)
                checkpoints.save(model, result.checkpoint, card)  # metrics embedded too
            self._update(job_id, status="stopped" if result.stopped else "done",
                         checkpoint=result.checkpoint, previews=previews, phase="",
                         stopping=False, seconds=time.perf_counter() - t0,
                         resumable=spec.resume is not None and result.checkpoint is not None)

        self._execute(job_id, body)

    def _run_work(self, job_id: str, work: Work) -> None:
        resumable = self._specs.get(job_id, (None,) * 6)[4] is not None

        def body(stop: threading.Event, t0: float) -> None:
            def progress(fraction: float, message: str, losses: dict | None = None) -> None:
                with self._lock:
                    job = self._jobs[job_id]
                    job.done_fraction = float(min(1.0, max(0.0, fraction)))
                    job.message, job.phase = message, ""
                    job.seconds = job.train_seconds = time.perf_counter() - t0
                    if losses:
                        job.step += 1
                        job.history = job.history + [{"step": job.step, **losses}]
                time.sleep(0)  # let the page's threads in

            try:
                result = work(progress, stop.is_set)
            except InterruptedError:
                self._update(job_id, resumable=resumable)
                raise
            self._update(job_id, status="done", done_fraction=1.0, result=result,
                         seconds=time.perf_counter() - t0, stopping=False)

        self._execute(job_id, body)


JOB_NICENESS = 10
"""Scheduling priority of training threads: lower than the page's, so the UI stays responsive."""


def _yield_to_ui() -> None:
    """Run this job thread (and the torch worker threads it starts, which inherit the setting) at
    a lower priority than the app's own threads: training uses every core while the pages are
    idle and steps aside the moment a page reruns. Linux schedules threads individually, so
    ``setpriority`` on the thread id affects this thread only; elsewhere this is a no-op."""
    torch.set_num_threads(os.cpu_count() or 1)
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
