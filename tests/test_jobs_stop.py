"""Issue 21, parts 2, 3 and 8: Stop takes effect during every phase of a job (model building,
a step that does not end, the held-out measurement) without waiting for the job's thread; the
job panel shows the phase and a ticking clock before the first step; a run that diverges (also a
resumed one, also a GAN) never replaces its last good weights and ends "diverged", not
"Finished". State-based: each test waits for a state, with generous bounds."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from unsup import checkpoints
from unsup import jobs
from unsup.jobs import JobSpec, ThreadRunner
from unsup.models.vae import ConvVAE, VAEConfig
from unsup.train import DivergedError, best_path, fit

DATA = (torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0)) > 0.5).float()


@pytest.fixture(autouse=True)
def _runs(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))


def _wait_for(predicate, timeout: float = 60.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("state not reached in time")


# -- part 2: Stop ---------------------------------------------------------------------------
def test_a_stop_during_model_building_ends_the_job_between_the_builds_sub_steps():
    done = []

    def build(job):
        for i in range(200):  # 200 sub-steps of 0.1 s: 20 s if nobody stops it
            job.phase(f"preparing part {i + 1} of 200")
            time.sleep(0.1)
            done.append(i)
        return ConvVAE(VAEConfig.tiny()), DATA, {}

    runner = ThreadRunner()
    job_id = runner.submit(JobSpec("slow build", build, steps=10))
    _wait_for(lambda: len(done) >= 3)
    runner.stop(job_id)
    snap = runner.wait(job_id, timeout=15)
    assert snap.status == "stopped" and snap.checkpoint is None and not snap.resumable
    time.sleep(0.3)
    assert len(done) < 200  # ended inside build, not after it returned
    assert snap.error is None


class _StuckStep(ConvVAE):
    """A model whose step ``stuck_at`` does not return until the test lets it (a first step
    that takes a minute on a loaded machine)."""

    release = threading.Event()
    entered = threading.Event()
    stuck_at = 0

    def train_step(self, batch):
        if self.step_ == self.stuck_at:
            self.entered.set()
            self.release.wait(60)
        return super().train_step(batch)


def test_stop_ends_a_job_whose_thread_is_stuck_in_one_long_step_and_the_step_is_still_saved():
    _StuckStep.release, _StuckStep.entered = threading.Event(), threading.Event()
    _StuckStep.stuck_at = 20
    model = _StuckStep(VAEConfig.tiny())
    runner = ThreadRunner()
    job_id = runner.submit(JobSpec("stuck", lambda: (model, DATA, {}), steps=1_000,
                                   checkpoint_every=10,
                                   resume=lambda path, more: JobSpec(
                                       "stuck, resumed",
                                       lambda: (checkpoints.load(path, optimizer=True), DATA,
                                                {}),
                                       steps=int(more), run_dir=path.parent)))
    assert _StuckStep.entered.wait(60)
    last = runner.get(job_id).run_dir / "model.safetensors"
    saved_step = checkpoints.read_card(last)["step"]
    assert saved_step == 20
    runner.stop(job_id)
    # the runner ends it on its own, while the step is still running
    snap = runner.wait(job_id, timeout=getattr(jobs, "STOP_GRACE", 2.0) + 10)
    assert snap.status == "stopped" and not _StuckStep.release.is_set()
    assert snap.checkpoint == last and snap.step == saved_step and snap.resumable
    # its training slot was given back: a job in another folder starts although the old
    # thread lives on
    other = runner.submit(JobSpec("next", lambda: (ConvVAE(VAEConfig.tiny()), DATA, {}),
                                  steps=5))
    assert runner.wait(other, timeout=60).status == "done"
    assert runner.get(job_id).saving  # the panel says the step in progress is being saved
    # Resume now: the new job waits for the old thread, which still owns the run folder
    resumed = runner.resume(job_id, 5)
    _wait_for(lambda: "waiting for the stopped run" in (runner.get(resumed).phase or ""))
    # the step returns: the old thread saves the step it was in (no trained step is lost),
    # starts no other, and the snapshot shows the newer checkpoint
    _StuckStep.release.set()
    _wait_for(lambda: runner.get(job_id).step == saved_step + 1)
    assert checkpoints.read_card(last)["step"] == saved_step + 1
    assert runner.get(job_id).status == "stopped"
    _wait_for(lambda: not runner.get(job_id).saving)
    # then the resumed job continues from that step in the same folder
    snap = runner.wait(resumed, timeout=60)
    assert snap.status == "done" and snap.step == saved_step + 1 + 5
    assert checkpoints.read_card(last)["step"] == saved_step + 1 + 5


def test_a_stop_during_the_held_out_measurement_keeps_the_trained_weights():
    measured = []

    def finish(model, job):
        for i in range(200):  # a 20-s measurement in sub-steps
            job.check()
            time.sleep(0.1)
            measured.append(i)
        return {"never": 1.0}

    runner = ThreadRunner()
    job_id = runner.submit(JobSpec("measured", lambda: (ConvVAE(VAEConfig.tiny()), DATA, {}),
                                   steps=30, finish=finish, resume=lambda path, more: None))
    _wait_for(lambda: len(measured) >= 3)
    assert runner.get(job_id).phase.startswith("measuring")
    runner.stop(job_id)
    snap = runner.wait(job_id, timeout=15)
    assert snap.status == "stopped" and len(measured) < 200
    assert snap.checkpoint is not None and snap.resumable
    card = checkpoints.read_card(snap.checkpoint)
    assert card["step"] == 30 and "never" not in (card.get("metrics") or {})
    assert checkpoints.load(snap.checkpoint).step_ == 30


def test_a_queued_job_stops_at_once():
    gate = threading.Event()

    def build(job):
        while not gate.is_set():
            job.check()
            time.sleep(0.05)
        return ConvVAE(VAEConfig.tiny()), DATA, {}

    runner = ThreadRunner(max_running=1)
    first = runner.submit(JobSpec("first", build, steps=5))
    _wait_for(lambda: runner.get(first).status == "running")
    second = runner.submit(JobSpec("second", build, steps=5))
    assert runner.get(second).status == "queued"
    runner.stop(second)
    assert runner.get(second).status == "stopped"  # no wait for the first job to end
    gate.set()
    assert runner.wait(first, timeout=60).status == "done"


# -- part 3: the phase and a ticking clock before the first step ------------------------------
def test_the_status_line_shows_the_phase_and_a_clock_that_ticks_before_the_first_step():
    from unsup.ui.training import status_line

    gate = threading.Event()

    def build(job):
        job.phase("reading your 40 images")
        while not gate.is_set():
            job.check()
            time.sleep(0.05)
        return ConvVAE(VAEConfig.tiny()), DATA, {}

    runner = ThreadRunner()
    job_id = runner.submit(JobSpec("slow start", build, steps=5))
    _wait_for(lambda: runner.get(job_id).phase == "reading your 40 images")
    first = runner.get(job_id)
    _wait_for(lambda: runner.get(job_id).seconds >= first.seconds + 1.0, timeout=30)
    later = runner.get(job_id)
    assert later.step == later.start_step == 0  # no step yet
    line = status_line(later)
    assert "reading your 40 images" in line and f"{later.seconds:.0f} s" in line
    assert later.seconds >= 1.0
    gate.set()
    assert runner.wait(job_id, timeout=60).status == "done"


def test_the_job_panel_shows_the_phase_with_seconds_before_the_first_step():
    from streamlit.testing.v1 import AppTest

    from unsup.jobs import get_runner

    gate = threading.Event()

    def build(job):
        job.phase("building the model")
        while not gate.is_set():
            job.check()
            time.sleep(0.05)
        return ConvVAE(VAEConfig.tiny()), DATA, {}

    def page():
        from unsup.ui.training import job_panel

        job_panel("probe")

    runner = get_runner()
    job_id = runner.submit(JobSpec("probe job", build, steps=5))
    try:
        _wait_for(lambda: runner.get(job_id).phase == "building the model")
        _wait_for(lambda: runner.get(job_id).seconds >= 1.5, timeout=30)
        at = AppTest.from_function(page, default_timeout=60)
        at.query_params["job_probe"] = job_id
        at.run()
        assert not at.exception
        text = " ".join(str(p.proto.text) for p in at.get("progress"))
        assert "building the model" in text
        secs = int(text.split("building the model · ")[1].split(" s")[0])
        assert secs >= 1
    finally:
        runner.stop(job_id)
        gate.set()
        runner.wait(job_id, timeout=60)


def test_fit_reports_the_first_step_at_once():
    seen = []
    fit(ConvVAE(VAEConfig.tiny()), DATA, steps=25, on_progress=lambda p: seen.append(p.step),
        log_every=10, device="cpu")
    assert seen[:3] == [1, 10, 20]


# -- part 8: divergence -----------------------------------------------------------------------
def _good_run(path, steps=60):
    m = ConvVAE(VAEConfig.tiny(lr=3e-3))
    fit(m, DATA, steps=steps, checkpoint_path=path, checkpoint_every=20, device="cpu",
        log_every=5)
    with torch.no_grad():
        return float(m.loss(DATA)["loss"])


def _loss_of(path) -> float:
    with torch.no_grad():
        return float(checkpoints.load(path).loss(DATA)["loss"])


@pytest.mark.parametrize("more", [400, 15])
def test_a_resumed_run_that_diverges_keeps_its_good_weights(tmp_path, more):
    good = _good_run(tmp_path / "m")
    for f in (best_path(tmp_path / "m"), best_path(tmp_path / "m").with_suffix(".json")):
        f.unlink(missing_ok=True)  # an app run may have no "best" copy: the card carries it
    m = checkpoints.load(tmp_path / "m", optimizer=True)
    assert m.card_["watch"]["key"] == "loss"
    for g in m.optimizers()["adam"].param_groups:
        g["lr"] = 1000.0
    with pytest.raises(DivergedError, match="diverged"):
        fit(m, DATA, steps=more, checkpoint_path=tmp_path / "m", checkpoint_every=5,
            device="cpu", log_every=5)
    kept = checkpoints.load(tmp_path / "m")
    assert kept.step_ == 60 and _loss_of(tmp_path / "m") < 1.5 * good
    if best_path(tmp_path / "m").exists():  # a "best" copy, if any, is not the diverged run's
        assert _loss_of(best_path(tmp_path / "m")) < 1.5 * good


def test_a_resumed_job_that_diverges_fails_as_diverged_and_keeps_the_last_good_checkpoint():
    runner = ThreadRunner()
    first = runner.wait(runner.submit(JobSpec(
        "good", lambda: (ConvVAE(VAEConfig.tiny(lr=3e-3)), DATA, {}), steps=60,
        checkpoint_every=20)), timeout=120)
    assert first.status == "done"
    good = _loss_of(first.checkpoint)

    def build():
        m = checkpoints.load(first.checkpoint, optimizer=True)
        for g in m.optimizers()["adam"].param_groups:
            g["lr"] = 1000.0
        return m, DATA, {}

    snap = runner.wait(runner.submit(JobSpec("resumed at lr 1000", build, steps=200,
                                             checkpoint_every=20, run_dir=first.run_dir)),
                       timeout=120)
    assert snap.status == "failed" and "diverged" in snap.error
    assert checkpoints.load(first.checkpoint).step_ == 60
    assert _loss_of(first.checkpoint) < 1.5 * good


def test_a_gan_whose_losses_explode_ends_diverged_and_keeps_its_last_good_checkpoint(tmp_path):
    from unsup.recipes.gan import data_2d, make_model

    data = data_2d("ring")
    m = make_model("gan2d", loss="ns")
    fit(m, data, steps=40, checkpoint_path=tmp_path / "g", checkpoint_every=20, device="cpu")
    m = checkpoints.load(tmp_path / "g", optimizer=True)
    for opt in m.optimizers().values():
        for g in opt.param_groups:
            g["lr"] = 1e3
    with pytest.raises(DivergedError, match="diverged"):
        fit(m, data, steps=2_000, checkpoint_path=tmp_path / "g", checkpoint_every=20,
            device="cpu")
    kept = checkpoints.load(tmp_path / "g")
    assert kept.step_ == 40
    assert all(bool(torch.isfinite(p).all()) and float(p.detach().abs().max()) < 1e3
               for p in kept.parameters())
