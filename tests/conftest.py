"""Shared test set-up: the repo root on sys.path, and user/cache folders in a temp dir so tests
never touch the user's own runs."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_TMP = Path(tempfile.mkdtemp(prefix="unsup-tests-"))
os.environ.setdefault("UNSUP_RUNS_DIR", str(_TMP / "runs"))
# The cache (MNIST split as .npz, PyThaiNLP data) is safe to share between runs.
os.environ.setdefault("UNSUP_CACHE_DIR", str(Path(tempfile.gettempdir()) / "unsup-test-cache"))
os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.chdir(ROOT)


def _one_thread_then_stop_jobs(monkeypatch, page: str):
    """One torch thread, in the tests and in the jobs they start (a job otherwise takes every
    core, which crawls when the cores are shared); jobs of ``page`` still running at the end of
    a test are stopped, so that the next test sees the form, not a job panel."""
    import torch

    from unsup import jobs

    torch.set_num_threads(1)
    monkeypatch.setattr(jobs, "_yield_to_ui", lambda *a, **k: torch.set_num_threads(1))
    yield
    runner = jobs.get_runner()
    for j in runner.list():
        if j.page == page and j.active:
            runner.stop(j.id)
            runner.wait(j.id, timeout=120)


@pytest.fixture()
def torch_one_thread():
    """One torch thread for the test: on shared cores two threads spin against other work."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture()
def cyclegan_one_thread(monkeypatch):
    """:func:`_one_thread_then_stop_jobs` for the CycleGAN page's tests."""
    yield from _one_thread_then_stop_jobs(monkeypatch, "cyclegan")


def wait_for_estimate(at, timeout: float = 300.0) -> str:
    """The Train form's estimate caption, once the background timing has finished (the form
    says it is timing until then; the page thread never times steps itself)."""
    import time as _time

    t0 = _time.monotonic()
    while True:
        caps = [c.value for c in at.caption if "measured on this machine" in c.value]
        if caps:
            return caps[0]
        assert any("timing a few steps" in c.value for c in at.caption)
        assert _time.monotonic() - t0 < timeout, "the step timing never finished"
        _time.sleep(0.2)
        at.run()


def one_seed_matches_the_card(card: dict, recomputed: dict, seed: int, keys, *,
                              rel: float = 1e-6, abs_tol: float = 0.0) -> dict:
    """A shipped card's sampled metrics, verified by recomputing ONE of its evaluation seeds.

    Recomputing every seed of every shipped model took ~11 of the suite's 31 minutes, so a
    quality test recomputes one seed (rotated over the models, so every seed is exercised) and
    checks that (1) the card lists that seed, (2) its value in the card's ``per_seed`` equals the
    recomputation for every key of ``keys`` and (3) the card's number is the mean of its
    ``per_seed``. The card's metrics are returned; the bars are then checked on the mean and on
    every seed, as before."""
    import numpy as np

    seeds = [int(s) for s in card["seeds"]]
    assert seed in seeds, (seed, seeds)
    i = seeds.index(seed)
    for k in keys:
        per = card["per_seed"][k]
        assert len(per) == len(seeds), k
        assert recomputed[k] == pytest.approx(per[i], rel=rel, abs=abs_tol), (k, seed, per)
        assert card[k] == pytest.approx(float(np.mean(per)), rel=1e-3, abs=1e-4), (k, per)
    return card


@pytest.fixture
def one_torch_thread():
    """Run the test on one torch thread (as the jobs' measurements do), restoring the count."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def wait_job(runner, job: str, timeout: float = 300.0):
    """The job's snapshot once it has ended (done, failed or stopped) and saved its last step;
    polls the runner's state (no fixed wait), failing after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = runner.get(job)
        if snap.status in ("done", "failed", "stopped") and not snap.saving:
            return snap
        time.sleep(0.1)
    raise AssertionError("the job did not end")
