"""Background topic-model jobs (fits, K sweeps) for the topic-map page.

LDA is not a torch :class:`unsup.models.base.Model`, so it does not go through
:mod:`unsup.jobs`; this is the same idea, smaller: a process-wide registry of jobs, each a daemon
thread running ``work(progress, should_stop)`` and keeping a thread-safe snapshot (status,
fraction, message, result or error). At most one topic job computes at a time (the others wait as
"queued"), so on a 2-core machine the page keeps a core. A job outlives its browser session; the
page keeps the job id in ``st.query_params`` to reattach after a refresh.
"""

from __future__ import annotations

import copy
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from typing import Any, Callable

Work = Callable[[Callable[[float, str], None], Callable[[], bool]], Any]


@dataclass
class TopicJob:
    id: str
    title: str
    status: str = "queued"  # queued | running | done | stopped | failed
    fraction: float = 0.0
    message: str = ""
    result: Any = None
    error: str | None = None
    started: float = 0.0
    seconds: float = 0.0

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")


_LOCK = threading.Lock()
_JOBS: dict[str, TopicJob] = {}
_STOPS: dict[str, threading.Event] = {}
_SLOT = threading.Semaphore(1)


def submit(title: str, work: Work) -> str:
    """Start ``work(progress, should_stop)`` in a thread; returns the job id."""
    job_id = uuid.uuid4().hex[:10]
    with _LOCK:
        _JOBS[job_id] = TopicJob(job_id, title)
        _STOPS[job_id] = threading.Event()
    threading.Thread(target=_run, args=(job_id, work), daemon=True,
                     name=f"unsup-topics-{job_id}").start()
    return job_id


def get(job_id: str | None) -> TopicJob | None:
    """A copy of the job's state (the result object itself is shared, not copied)."""
    with _LOCK:
        job = _JOBS.get(job_id or "")
        return None if job is None else copy.copy(job)


def stop(job_id: str) -> None:
    ev = _STOPS.get(job_id)
    if ev is not None:
        ev.set()


def wait(job_id: str, timeout: float = 600.0) -> TopicJob:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        job = get(job_id)
        if job is None or not job.active:
            return job
        time.sleep(0.05)
    raise TimeoutError(f"topic job {job_id} still running after {timeout} s")


def _set(job_id: str, **fields: Any) -> None:
    with _LOCK:
        job = _JOBS[job_id]
        for k, v in fields.items():
            setattr(job, k, v)


def _run(job_id: str, work: Work) -> None:
    stop_ev = _STOPS[job_id]
    with _SLOT:
        if stop_ev.is_set():
            _set(job_id, status="stopped")
            return
        t0 = time.perf_counter()
        _set(job_id, status="running", started=time.time())

        def progress(fraction: float, message: str) -> None:
            _set(job_id, fraction=float(min(1.0, max(0.0, fraction))), message=message,
                 seconds=time.perf_counter() - t0)
            time.sleep(0)  # let the page's threads in

        try:
            result = work(progress, stop_ev.is_set)
            _set(job_id, status="done", fraction=1.0, result=result,
                 seconds=time.perf_counter() - t0)
        except InterruptedError:
            _set(job_id, status="stopped", seconds=time.perf_counter() - t0)
        except Exception as exc:  # shown in the page, never raised into it
            traceback.print_exc()
            _set(job_id, status="failed", error=f"{type(exc).__name__}: {exc}",
                 seconds=time.perf_counter() - t0)
