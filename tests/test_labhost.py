"""The 2-D lab's trainer process (issue 21, part 15): a playing lab trains in a process of its
own and comes back, with what it trained, when paused; if that process fails the lab goes on
in the page's process and says so; nothing crashes."""

from __future__ import annotations

import gc
import time

import pytest

from unsup.recipes import gan as R
from unsup.recipes import labhost
from unsup.recipes.labhost import LiveLab


def wait_for(cond, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "the state was not reached"
        time.sleep(0.02)


@pytest.fixture()
def own_host(monkeypatch):
    """A trainer process of this test's own (closed after it)."""
    monkeypatch.setattr(labhost, "_HOST", None)
    yield
    h = labhost._HOST
    if h is not None:
        h.close()


def small_lab() -> LiveLab:
    return LiveLab(R.data_2d("ring", None, n=2_000), **vars(R.G.Toy2DGANConfig.tiny()))


def test_play_moves_the_lab_to_the_trainer_process_and_pause_brings_it_back(own_host):
    lab = small_lab()
    assert lab.play()
    wait_for(lambda: lab.play() and lab.in_process)  # moved once the process was ready
    h = labhost.host(start=False)
    assert h.proc.pid != labhost.os.getpid() and h.proc.poll() is None
    mark = lab.step
    wait_for(lambda: lab.play() and lab.step > mark + 20)
    assert lab.apply(loss="ls") is False and lab.config.loss == "ls"  # applied there, live
    snap = lab.snapshot()
    assert snap["playing"] and snap["config"].loss == "ls" and snap["view"]["heat"].shape
    lab.pause()
    assert not lab.in_process and not lab.playing
    step = lab.step
    assert step >= snap["step"] and lab.local.config.loss == "ls"
    assert lab.local.model._opt_d is not None  # the optimizers came back with their state
    lab.train(2)
    assert lab.step == step + 2
    time.sleep(0.2)
    assert lab.step == step + 2  # paused means paused


def test_a_failed_trainer_process_leaves_a_working_lab(own_host):
    lab = small_lab()
    wait_for(lambda: lab.play() and lab.in_process)
    labhost.host(start=False).proc.kill()
    labhost.host(start=False).proc.wait(10)
    snap = lab.snapshot()  # no crash: the lab goes on here (from step 0) and says why
    assert not lab.in_process and "trainer process failed" in lab.note
    assert snap["view"]["heat"].shape
    assert lab.play()
    wait_for(lambda: lab.play() and lab.step > 5)
    assert not lab.in_process  # not moved to a failed process
    lab.pause()


def test_switched_off_the_lab_plays_in_a_thread(monkeypatch, own_host):
    monkeypatch.setenv(labhost.ENV, "0")
    lab = small_lab()
    assert lab.play()
    wait_for(lambda: lab.play() and lab.step > 5)
    assert not lab.in_process and labhost._HOST is None
    lab.pause()
    assert not lab.playing


def test_a_lab_whose_page_is_gone_is_dropped_from_the_trainer_process(own_host):
    lab = small_lab()
    wait_for(lambda: lab.play() and lab.in_process)
    h, lab_id = labhost.host(start=False), lab.id
    assert h.call(lab_id, "read", "playing")["playing"]
    del lab
    gc.collect()
    with pytest.raises(KeyError):
        h.call(lab_id, "read", "playing")


def test_a_lab_whose_trainer_process_was_replaced_goes_on_here(own_host):
    """A playing lab left in a process that failed and was replaced later: its next call (to
    the old process, or the new one that does not know it) leaves a working lab here."""
    lab = small_lab()
    wait_for(lambda: lab.play() and lab.in_process)
    old = labhost.host(start=False)
    old.proc.kill()
    old.proc.wait(10)
    labhost._HOST = labhost.Host()  # a replacement, as host() makes one a minute later
    try:
        snap = lab.snapshot()
        assert snap["view"]["heat"].shape and not lab.in_process
        assert "trainer process failed" in lab.note
    finally:
        labhost._HOST.close()
