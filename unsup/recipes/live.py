"""A model trained live while a page watches: :class:`LiveFit`.

``play()`` trains the model in a background thread, in chunks of about :attr:`CHUNK_S` seconds
through :func:`unsup.train.fit` (so a live run is the same training as a job's), until
``pause()``; between two chunks the thread refreshes what the page draws (``view(model)``, at
most every :attr:`VIEW_EVERY_S`, only once the page has read the last one) and a held-out probe
(``probe(model)``, every :attr:`PROBE_EVERY_S`, kept as a curve). The page only reads
:meth:`snapshot`: it never trains or computes a view itself. Each ``play()`` is also the page's
heartbeat: the thread pauses itself when the page has not called for :attr:`HEARTBEAT_S`.
Used by the normalizing-flows page; the GAN lab has its own, richer lab (:mod:`unsup.recipes.gan`,
:mod:`unsup.recipes.labhost`).
"""

from __future__ import annotations

import atexit
import collections
import threading
import time
import weakref
from typing import Any, Callable

import torch


class LiveFit:
    HEARTBEAT_S = 10.0
    CHUNK_S = 0.15
    """The trainer holds the lock for about this long at a time (each ``fit`` call costs a few
    ms of set-up, so chunks of several steps)."""
    VIEW_EVERY_S = 0.3
    PROBE_EVERY_S = 1.0
    RATE_WINDOW_S = 3.0

    def __init__(self, model, data, view: Callable[[Any], dict],
                 probe: Callable[[Any], dict] | None = None):
        self.model, self.data = model, data
        self._view_fn, self._probe_fn = view, probe
        self.lock = threading.Lock()
        self._waiting = 0  # page calls waiting for the lock (the trainer lets them in first)
        self._waiting_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._polled = 0.0
        self._view: dict | None = None
        self._view_step = -1
        self._view_wanted = True
        self._viewed_at = self._probed_at = 0.0
        self.probes: list[tuple[int, dict]] = []
        self.losses: dict[str, float] = {}
        self.error: str | None = None
        self._marks: collections.deque = collections.deque()

    @property
    def step(self) -> int:
        return int(self.model.step_)

    @property
    def playing(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive()

    def play(self) -> bool:
        """Train in the background until :meth:`pause` (each call is the page's heartbeat);
        False while :attr:`error` says why it stopped by itself."""
        self._polled = time.monotonic()
        if self.error is not None:
            return False
        if not self.playing:
            self._stop = threading.Event()
            self._marks.clear()
            self._thread = threading.Thread(target=self._run, args=(self._stop,), daemon=True,
                                             name="live-fit")
            _PLAYING.add(self)
            self._thread.start()
        return True

    def pause(self, timeout: float = 5.0) -> None:
        t, self._thread = self._thread, None
        self._stop.set()
        if t is not None and t is not threading.current_thread():
            t.join(timeout)

    def _page_lock(self):
        """The lock for a page call, taken ahead of the trainer's next chunk."""
        import contextlib

        @contextlib.contextmanager
        def held():
            with self._waiting_lock:
                self._waiting += 1
            try:
                self.lock.acquire()
            finally:
                with self._waiting_lock:
                    self._waiting -= 1
            try:
                yield
            finally:
                self.lock.release()

        return held()

    def train(self, n: int) -> None:
        """n steps now, on the caller's thread (a paused model's "one step")."""
        with self._page_lock():
            self._train(n)

    def _train(self, n: int) -> None:
        from unsup.train import fit

        with torch.enable_grad():
            res = fit(self.model, self.data, steps=int(n), device="cpu", log_every=max(1, n))
        if res.history:
            self.losses = dict(res.history[-1])

    def _run(self, stop: threading.Event) -> None:
        from unsup.jobs import lower_thread_priority
        from unsup.train import DivergedError

        torch.set_num_threads(1)
        lower_thread_priority()
        n = 1
        while not stop.is_set() and time.monotonic() - self._polled <= self.HEARTBEAT_S:
            while self._waiting and not stop.is_set():
                time.sleep(0.0005)  # a page call is waiting: let it in first (a lock is not fair)
            with self.lock:
                t0 = time.perf_counter()
                try:
                    self._train(n)
                except DivergedError as exc:
                    self.error = str(exc)
                    break
                except Exception as exc:  # noqa: BLE001 - reported on the page
                    self.error = f"training stopped: {type(exc).__name__}: {exc}"
                    break
                dt = time.perf_counter() - t0
                now = time.monotonic()
                self._marks.append((now, self.step))
                while len(self._marks) > 2 and now - self._marks[1][0] > self.RATE_WINDOW_S:
                    self._marks.popleft()
                try:
                    if self._view_wanted and now - self._viewed_at >= self.VIEW_EVERY_S:
                        self._viewed_at, self._view_wanted = now, False
                        self._refresh_view()
                    if self._probe_fn is not None and now - self._probed_at >= \
                            self.PROBE_EVERY_S:
                        self._probed_at = now
                        self._probe()
                except Exception as exc:  # noqa: BLE001 - reported on the page
                    self.error = f"drawing stopped: {type(exc).__name__}: {exc}"
                    break
            n = int(max(1, min(200, round(n * min(4.0, self.CHUNK_S / max(dt, 1e-4))))))

    def _refresh_view(self) -> None:
        self.model.eval()
        try:
            with torch.no_grad():
                self._view = self._view_fn(self.model)
        finally:
            self.model.train()
        self._view_step = self.step

    def _probe(self) -> None:
        if self.probes and self.probes[-1][0] == self.step:
            return
        self.model.eval()
        try:
            with torch.no_grad():
                self.probes.append((self.step, self._probe_fn(self.model)))
        finally:
            self.model.train()
        del self.probes[:-500]

    @property
    def steps_per_second(self) -> float | None:
        m = self._marks
        if self.playing and len(m) >= 2 and m[-1][0] > m[0][0]:
            return (m[-1][1] - m[0][1]) / (m[-1][0] - m[0][0])
        return None

    def snapshot(self) -> dict[str, Any]:
        """One consistent reading for the page: the latest view (computed here only when
        nothing has drawn the current step, e.g. while paused), the probes, the last losses and
        the measured speed."""
        with self._page_lock():
            self._view_wanted = True
            if self._view is None or (not self.playing and self._view_step != self.step):
                self._refresh_view()
            if self._probe_fn is not None and not self.playing and \
                    (not self.probes or self.probes[-1][0] != self.step):
                self._probe()
            return {"view": self._view, "view_step": self._view_step, "step": self.step,
                    "probes": list(self.probes), "losses": dict(self.losses),
                    "steps_per_second": self.steps_per_second, "playing": self.playing,
                    "error": self.error}


_PLAYING: "weakref.WeakSet[LiveFit]" = weakref.WeakSet()
"""Live fits whose thread was started (stopped when the interpreter exits)."""


@atexit.register
def _pause_every_fit() -> None:
    """Stop the trainer threads before the interpreter goes (a daemon thread killed inside a
    torch call can abort the process)."""
    for live in list(_PLAYING):
        live.pause(timeout=2.0)
