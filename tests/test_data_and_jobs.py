"""The fixed data split and background training jobs."""

import time

import numpy as np
import torch

from unsup import checkpoints
from unsup.data.images import binarize, load_split, stratified_split
from unsup.jobs import JobSpec, ThreadRunner
from unsup.models.vae import ConvVAE, VAEConfig


def test_mnist_split_is_fixed_stratified_and_disjoint():
    s = load_split("mnist")
    assert s.x_train.shape == (4500, 1, 28, 28) and s.x_test.shape == (500, 1, 28, 28)
    assert np.bincount(s.y_test).tolist() == [50] * 10
    assert np.bincount(s.y_train).tolist() == [450] * 10
    assert 0.0 <= s.x_train.min() and s.x_train.max() <= 1.0
    tr, te = stratified_split(np.repeat(np.arange(10), 500), 0.1, 0)
    assert not set(tr) & set(te) and len(tr) + len(te) == 5000
    assert s.fingerprint() == load_split("mnist").fingerprint()
    b = binarize(s.x_test)
    assert set(np.unique(b)) <= {0.0, 1.0}


def test_digits8_split():
    s = load_split("digits8")
    assert s.x_train.shape[1:] == (1, 8, 8) and len(s.y_train) + len(s.y_test) == 1797


def tiny_spec(steps, title="tiny", **kw):
    data = (torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0)) > 0.5).float()

    def build():
        return ConvVAE(VAEConfig.tiny()), data, {"title": title}

    return JobSpec(title=title, build=build, steps=steps,
                   preview=lambda m: [m.sample(4, seed=0)[0, 0].numpy()], **kw)


def test_job_runs_in_background_and_checkpoints(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    runner = ThreadRunner()
    job_id = runner.submit(tiny_spec(30, checkpoint_every=10))
    snap = runner.wait(job_id, timeout=120)
    assert snap.status == "done" and snap.step == 30 and snap.history and snap.previews
    assert snap.checkpoint.exists()
    entries = [e for e in checkpoints.list_models("conv_vae") if e.source == "user"]
    assert len(entries) == 1 and entries[0].card["step"] == 30


def test_stop_keeps_the_last_checkpoint_and_resume_continues(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    runner = ThreadRunner()
    job_id = runner.submit(tiny_spec(100_000))
    while (runner.get(job_id).step or 0) < 20:
        time.sleep(0.02)
    runner.stop(job_id)
    snap = runner.wait(job_id, timeout=60)
    assert snap.status == "stopped" and 20 <= snap.step < 100_000
    saved = checkpoints.load(snap.checkpoint, optimizer=True)
    assert saved.step_ == snap.step
    # an app restart forgets jobs, not runs: a new runner resumes from the folder
    data = (torch.rand(64, 1, 8, 8) > 0.5).float()
    spec = JobSpec("resume", lambda: (checkpoints.load(snap.checkpoint, optimizer=True), data, {}),
                   steps=10, run_dir=snap.run_dir)
    again = ThreadRunner()
    snap2 = again.wait(again.submit(spec), timeout=60)
    assert snap2.status == "done" and snap2.step == snap.step + 10
    assert checkpoints.load(snap.checkpoint).step_ == snap.step + 10


def test_a_failing_job_reports_instead_of_raising(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))

    def build():
        raise ValueError("no images in this upload")

    runner = ThreadRunner()
    snap = runner.wait(runner.submit(JobSpec("bad", build, steps=5)), timeout=30)
    assert snap.status == "failed" and "no images" in snap.error


def test_two_jobs_run_side_by_side_each_with_its_own_state(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    runner = ThreadRunner()
    a = runner.submit(tiny_spec(40, title="alice", owner="A"))
    b = runner.submit(tiny_spec(20, title="bob", owner="B"))
    sa, sb = runner.wait(a, 120), runner.wait(b, 120)
    assert (sa.title, sa.step, sb.title, sb.step) == ("alice", 40, "bob", 20)
    assert [j.title for j in runner.list(owner="B")] == ["bob"]
    assert sa.run_dir != sb.run_dir


def test_training_on_uploaded_images_measures_on_held_out_images(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    from unsup.recipes.vae import training_spec as vae_training_spec

    imgs = np.random.default_rng(0).random((30, 1, 28, 28)).astype(np.float32)
    spec = vae_training_spec(n_latent=4, epochs=2, images=imgs)
    runner = ThreadRunner()
    snap = runner.wait(runner.submit(spec), timeout=300)
    assert snap.status == "done", snap.error
    card = checkpoints.load(snap.checkpoint).card_
    assert card["metrics"]["n_test"] == 3 and "10th" in card["metrics"]["heldout"]
    assert card["data"]["name"] == "upload" and card["config"]["n_latent"] == 4
