"""The 2-D lab's trainer process (issue 21, part 15): training and drawing independent.

A playing lab trains in a process of its own, so the page's process (Streamlit, which draws the
canvas and serves every session) and the trainer never wait for each other's interpreter lock:
a slow redraw never slows training, and training never slows a redraw. :class:`LiveLab` is what
the page holds: the same methods and readings as :class:`unsup.recipes.gan.Lab2D`. While
paused it is a plain :class:`Lab2D` in the page's process (a click on "One step" computes there,
in milliseconds); ``play()`` moves the lab (networks, optimizers, counters) to the trainer
process and ``pause()`` brings it back, so training continues where it was.

The trainer process is one per server (:func:`host`), started on the first Play and shared by
every session's lab (each lab has its own trainer thread there). It is a child of the server:
it ends with it (its end of the pipe closes), and a lab whose page is gone is dropped. While it
starts (about 2 s: importing torch), and if it ever fails, the lab plays in a thread of the
page's process instead, as it did before, and moves over once the process is ready; nothing the
user trained is lost either way. ``UNSUP_LAB_PROCESS=0`` keeps every lab in the page's process.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import pickle
import subprocess
import sys
import threading
import time
import weakref
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import Any

from unsup.recipes.gan import Lab2D

ENV = "UNSUP_LAB_PROCESS"
CALL_TIMEOUT_S = 30.0
"""A call to the trainer process that gets no answer within this long marks it as failed (the
lab goes on in the page's process)."""
START_TIMEOUT_S = 120.0
"""How long the trainer process may take to start (import torch) before it counts as failed."""


def enabled() -> bool:
    return os.environ.get(ENV, "1") != "0"


# -- the trainer process ----------------------------------------------------------------------
def _answer(conn: Connection, ok: bool, value: Any) -> None:
    try:
        conn.send((ok, value))
    except Exception as exc:  # noqa: BLE001 - an answer that cannot be sent becomes an error
        conn.send((False, RuntimeError(f"{type(value).__name__} could not be sent: {exc}")))


def serve(conn: Connection) -> None:
    """The trainer process's loop: one request at a time, ``(lab id, method, args)``; labs by
    id. Ends when the server's end of the pipe closes."""
    import torch

    from unsup.jobs import JOB_NICENESS

    torch.set_num_threads(1)
    try:  # below the server's own threads, as a training job is
        os.setpriority(os.PRIO_PROCESS, 0, max(os.getpriority(os.PRIO_PROCESS, 0),
                                               JOB_NICENESS))
    except (AttributeError, OSError):
        pass
    labs: dict[int, Lab2D] = {}
    conn.send((True, "ready"))
    while True:
        try:
            lab_id, method, args = conn.recv()
        except (EOFError, OSError):
            break
        try:
            if method == "put":
                labs[lab_id] = pickle.loads(args[0])
                result = None
            elif method in ("take", "drop"):
                lab = labs.pop(lab_id, None)
                if lab is not None:
                    lab.pause()
                result = pickle.dumps(lab) if method == "take" and lab is not None else None
            elif method == "set":
                setattr(labs[lab_id], *args)
                result = None
            elif method == "read":  # several attributes at once
                lab = labs[lab_id]
                result = {name: getattr(lab, name) for name in args}
            elif method in ("play", "pause", "apply", "snapshot"):
                lab = labs[lab_id]
                result = (getattr(lab, method)(**args[0]) if method == "apply"
                          else getattr(lab, method)())
            else:
                raise ValueError(f"unknown request {method!r}")
        except Exception as exc:  # noqa: BLE001 - sent back and raised in the page's process
            _answer(conn, False, exc)
            continue
        _answer(conn, True, result)
    for lab in labs.values():
        lab.pause(timeout=2.0)


class HostError(RuntimeError):
    """The trainer process is not there (starting, failed or ended)."""


class Host:
    """The server's end of the trainer process: calls are sent one at a time."""

    def __init__(self):
        ours, theirs = Pipe()
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "unsup.recipes.labhost", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL)
        theirs.close()
        self._conn = ours
        self._lock = threading.Lock()
        self.ready = threading.Event()
        self.failed: str | None = None
        self.started = time.monotonic()
        threading.Thread(target=self._wait_ready, daemon=True, name="lab-host-start").start()

    def _wait_ready(self) -> None:
        with self._lock:
            try:
                if self._conn.poll(START_TIMEOUT_S) and self._conn.recv() == (True, "ready"):
                    self.ready.set()
                    return
                self._fail("it did not start")
            except (EOFError, OSError) as exc:
                self._fail(f"it ended while starting ({exc})")

    def _fail(self, why: str) -> None:
        self.failed = why
        try:
            self._conn.close()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()

    @property
    def usable(self) -> bool:
        return self.ready.is_set() and self.failed is None

    def call(self, lab_id: int, method: str, *args) -> Any:
        if not self.usable:
            raise HostError(self.failed or "the trainer process is starting")
        with self._lock:
            try:
                self._conn.send((lab_id, method, args))
                if not self._conn.poll(CALL_TIMEOUT_S):
                    self._fail(f"no answer to {method} within {CALL_TIMEOUT_S:.0f} s")
                    raise HostError(self.failed)
                ok, value = self._conn.recv()
            except (EOFError, OSError, pickle.PicklingError) as exc:
                if self.failed is None:
                    self._fail(f"{type(exc).__name__}: {exc}")
                raise HostError(self.failed) from exc
        if not ok:
            raise value
        return value

    def close(self) -> None:
        self._fail("closed")
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


_HOST: Host | None = None
_HOST_LOCK = threading.Lock()


def host(start: bool = True) -> Host | None:
    """The server's trainer process (started on first use when ``start``; a failed one is
    replaced at most once a minute)."""
    global _HOST
    with _HOST_LOCK:
        if _HOST is not None and _HOST.failed is not None and start and \
                time.monotonic() - _HOST.started > 60:
            _HOST = None
        if _HOST is None and start and enabled():
            _HOST = Host()
        return _HOST


# -- what the page holds ----------------------------------------------------------------------
_IDS = itertools.count(1)


def _drop(lab_id: int) -> None:
    h = host(start=False)
    if h is not None and h.usable:
        try:
            h.call(lab_id, "drop")
        except Exception:  # noqa: BLE001 - the session is gone; nothing to report to
            pass


class LiveLab:
    """A :class:`Lab2D` that trains in the trainer process while playing (see the module's
    text). Same methods and readings as a :class:`Lab2D`; ``local`` is the lab itself while it
    is here (paused, or playing in a thread while the trainer process starts)."""

    READINGS = ("step", "d_updates", "g_updates", "playing", "error", "steps_per_second",
                "config", "history", "trained", "train_seconds")

    def __init__(self, data, **settings):
        self._init(Lab2D(data, **settings))

    @classmethod
    def from_model(cls, model, data) -> "LiveLab":
        lab = cls.__new__(cls)
        lab._init(Lab2D.from_model(model, data))
        return lab

    def _init(self, lab: Lab2D) -> None:
        self.local: Lab2D | None = lab
        self.data = lab.data
        self.id = next(_IDS)
        self._remote = False  # the lab is in the trainer process
        self._where: Host | None = None  # ... this one
        self._lock = threading.RLock()
        self._speed_limit: float | None = None
        self._last_config = lab.config
        self.note: str | None = None
        """Why the lab trains in the page's process (the trainer process failed), or None."""
        weakref.finalize(self, _drop, self.id)

    # -- moving between the processes ----------------------------------------------------------
    def _host(self) -> Host | None:
        h = host()
        if h is not None and h.failed is not None and self.note is None:
            self.note = f"training in the page's process: the trainer process failed ({h.failed})"
        return h

    def _to_host(self, h: Host) -> None:
        lab = self.local
        lab.pause()
        try:
            h.call(self.id, "put", pickle.dumps(lab))
            h.call(self.id, "set", "speed_limit", self._speed_limit)
            h.call(self.id, "play")
        except HostError:
            lab.play()  # trains on here
            return
        self.local, self._remote, self._where = None, True, h

    def _back(self) -> Lab2D:
        """The lab here (from the trainer process if it is there); not playing."""
        if self._remote:
            try:
                data = self._where.call(self.id, "take")
                lab = pickle.loads(data)
            except (HostError, KeyError, AttributeError, TypeError) as exc:
                raise RuntimeError(f"the lab was lost with the trainer process ({exc}); press "
                                   "Reset") from exc
            self.local, self._remote = lab, False
        return self.local

    def _remote_call(self, method: str, *args) -> Any:
        """A call to the lab in the trainer process that holds it; HostError (the lab now
        restarted here, with a note) when that process failed or no longer knows the lab."""
        try:
            return self._where.call(self.id, method, *args)
        except (HostError, KeyError) as exc:
            self._remote = False
            self.local = self.local or self._lost(exc)
            raise HostError(str(exc)) from exc

    def _lost(self, exc: Exception) -> Lab2D:
        self.note = f"the trainer process failed ({exc}); training restarted here from step 0"
        return Lab2D(self.data, **dataclasses.asdict(self._last_config))

    # -- the Lab2D interface ---------------------------------------------------------------------
    def play(self) -> bool:
        with self._lock:
            if self._remote:
                try:
                    return self._remote_call("play")
                except HostError:
                    return self.local.play()
            lab = self.local
            if lab.error is not None:
                return False
            h = self._host() if enabled() else None
            if h is not None and h.usable:
                self._to_host(h)
                return True
            return lab.play()  # in a thread here until the trainer process is ready

    def pause(self, timeout: float = 5.0) -> None:
        with self._lock:
            if self._remote:
                self._back()
            self.local.pause(timeout)

    def _here(self) -> Lab2D:
        with self._lock:
            lab = self._back()
            lab.pause()
            return lab

    def train(self, n: int):
        return self._here().train(n)

    def d_step(self):
        return self._here().d_step()

    def g_step(self):
        return self._here().g_step()

    def view(self, *args, **kwargs):
        return self._here().view(*args, **kwargs)

    def stats(self, *args, **kwargs):
        return self._here().stats(*args, **kwargs)

    def apply(self, **settings) -> bool:
        with self._lock:
            if self._remote:
                try:
                    return self._remote_call("apply", settings)
                except HostError:
                    pass
            return self.local.apply(**settings)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            if self._remote:
                try:
                    snap = self._remote_call("snapshot")
                    self._last_config = snap["config"]
                    if snap["playing"] is False and snap["error"] is not None:
                        self._back()  # stopped by itself (diverged): the lab comes back
                    return snap
                except HostError:
                    pass
            snap = self.local.snapshot()
            self._last_config = snap["config"]
            return snap

    @property
    def speed_limit(self) -> float | None:
        return self._speed_limit

    @speed_limit.setter
    def speed_limit(self, value: float | None) -> None:
        with self._lock:
            if value == self._speed_limit:
                return
            self._speed_limit = value
            if self._remote:
                try:
                    self._remote_call("set", "speed_limit", value)
                except HostError:
                    pass
            if self.local is not None:
                self.local.speed_limit = value

    @property
    def in_process(self) -> bool:
        """Whether the lab is training in the trainer process now."""
        return self._remote

    def read(self) -> dict[str, Any]:
        """The lab's counters and settings (one call to the trainer process while there)."""
        with self._lock:
            if self._remote:
                try:
                    return self._remote_call("read", *self.READINGS)
                except HostError:
                    pass
            return {name: getattr(self.local, name) for name in self.READINGS}

    def __getattr__(self, name: str) -> Any:  # step, playing, config, error, d_updates, …
        if name in LiveLab.READINGS:
            return self.read()[name]
        raise AttributeError(name)


if __name__ == "__main__":  # the trainer process: python -m unsup.recipes.labhost <fd>
    serve(Connection(int(sys.argv[1])))
