"""Issue 21, parts 4, 6, 11 and 12: the user's runs on disk. A run trained on uploads is listed
once (its stored images are data, not a checkpoint); every family's run resumes after an app
restart (a fresh job runner, the run found on disk); a full disk gets a message, never a crash or
an empty run folder; a keypoint run whose images are gone still opens its Metrics."""

from __future__ import annotations

import errno
import io
import json
import shutil
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from unsup import checkpoints, paths
from unsup.jobs import ThreadRunner
from unsup.models.vae import ConvVAE, VAEConfig

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """One torch thread here and in the jobs (the cores are shared); a fresh runs folder."""
    from unsup import jobs

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setattr(jobs, "_yield_to_ui", lambda: torch.set_num_threads(1))
    yield
    torch.set_num_threads(before)


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """An empty runs folder of this test's own (UNSUP_RUNS_DIR, as an app restart would see)."""
    root = tmp_path / "runs"
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(root))
    assert paths.runs_dir() == root
    return root


def _upload_run(root: Path, name: str = "20260101-000000-vae-my-pictures-ab12") -> Path:
    """A run folder as the app leaves it after training on uploads: the model (weights, card,
    optimizer state) and the uploaded images it keeps to resume on (data.npz), plus a CycleGAN's
    domains.npz for good measure."""
    from unsup.recipes import cyclegan as C
    from unsup.recipes import vae as V

    run = root / name
    run.mkdir(parents=True)
    rng = np.random.default_rng(0)
    imgs = (rng.random((20, 1, 28, 28)) > 0.7).astype(np.float32)
    digest = V.save_run_images(run, imgs)  # written first: the oldest file of the run
    C.save_run_images(run, rng.random((12, 3, 16, 16)).astype(np.float32),
                      rng.random((12, 3, 16, 16)).astype(np.float32))
    m = ConvVAE(VAEConfig.tiny(image_size=28))
    checkpoints.save(m, run / "model", checkpoints.make_card(
        m, step=3, title="VAE on my pictures", data={"name": "upload", "sha": digest},
        extra={"name": run.name}))
    return run


# -- part 4: a run on uploads is listed once, under its own name --------------------------------
def test_a_run_on_uploads_is_listed_once_and_its_data_is_not_a_broken_checkpoint(runs):
    run = _upload_run(runs)
    mine = [e for e in checkpoints.list_models(broken=True) if e.path.parent == run]
    assert [e.path.name for e in mine] == ["model.safetensors"]
    assert mine[0].problem is None and mine[0].name == run.name
    assert not mine[0].name.endswith("/model") and not mine[0].name.startswith("run:")
    assert [e.name for e in checkpoints.list_models("conv_vae") if e.source == "user"] == [
        run.name]
    assert not checkpoints.broken_runs()
    assert not checkpoints.broken_runs(("conv_vae",))
    assert checkpoints.find(run.name).path == run / "model.safetensors"


def test_the_cli_list_shows_an_upload_run_once_and_nothing_broken(runs):
    from unsup.__main__ import main

    run = _upload_run(runs)
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["list"]) == 0
    lines = [ln for ln in out.getvalue().splitlines() if run.name in ln]
    assert len(lines) == 1 and "BROKEN" not in out.getvalue(), out.getvalue()
    assert f"{run.name}/model" not in out.getvalue()
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["list", "--json"]) == 0
    listed = [e for e in json.loads(out.getvalue()) if e["source"] == "user"]
    assert [e["name"] for e in listed] == [run.name] and listed[0]["problem"] is None


def test_a_broken_run_is_named_by_its_folder_never_by_a_server_path(runs):
    run = _upload_run(runs)
    bad = runs / "20260101-000001-broken-cd34"
    bad.mkdir()
    (bad / "model.safetensors").write_bytes(b"\x80\x04junk")
    (bad / "data.npz").write_bytes(b"PK")  # its stored images, half written
    found = checkpoints.broken_runs()
    assert [e.path.parent for e in found] == [bad]  # neither data.npz is a checkpoint
    assert found[0].folder == bad.name and str(runs) not in found[0].problem
    at = AppTest.from_file(str(ROOT / "app_pages" / "vae_sliders.py"), default_timeout=180).run()
    assert not at.exception, at.exception
    box = next(e for e in at.expander if "could not be read" in e.label)
    assert box.label.startswith("1 run")
    shown = " ".join(c.value for c in box.caption)
    assert "broken" in shown and str(runs) not in shown.replace("\\", "")
    assert str(Path.home()) not in shown.replace("\\", "") and ".unsup" not in shown
    assert run.name not in shown  # the good run is not listed as broken


def test_a_runs_model_keeps_the_folder_name_beside_an_older_best_copy(runs):
    """A run that went bad keeps a best copy of an earlier step; the run's own model (its last
    checkpoint) keeps the run's name whatever the files' ages."""
    import os

    run = runs / "20260101-000000-vae-ab12"
    m = ConvVAE(VAEConfig.tiny(image_size=28))
    checkpoints.save(m, run / "model.best", checkpoints.make_card(m, step=2, title="best"),
                     optimizer=False)
    checkpoints.save(m, run / "model", checkpoints.make_card(m, step=5, title="last"))
    os.utime(run / "model.best.safetensors", (1e9, 1e9))  # the copy is the older file
    names = {e.path.name: e.name for e in checkpoints.list_models("conv_vae")}
    assert names["model.safetensors"] == run.name
    assert names["model.best.safetensors"] == f"run:{run.name}/model.best"
