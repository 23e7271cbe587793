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
    monkeypatch.setattr(jobs, "_yield_to_ui", lambda *a, **k: torch.set_num_threads(1))
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


# -- part 6: every family's run resumes after an app restart ----------------------------------
def _faces(n: int, size: int = 16) -> np.ndarray:
    from unsup.recipes import keypoints as K

    return K.faces("heldout", size)[np.arange(n)].numpy()


def _specs(family: str):
    """(new spec of N steps, make_spec(weights, more) of the page, N, more, steps per unit of
    "more") of a tiny run of ``family``; runs on uploads where the family trains on them (a VAE
    counts epochs: 2 more epochs of 270 images in batches of 128 are 5 steps)."""
    rng = np.random.default_rng(1)
    if family == "gan2d":
        from unsup.recipes import gan as R

        return (R.training_spec(kind="gan2d", steps=20, data="ring"),
                lambda p, more: R.training_spec(steps=more, resume=p), 20, 15, 1)
    if family == "gan-upload":
        from unsup.recipes import gan as R

        imgs = (rng.random((12, 1, 28, 28)) > 0.7).astype(np.float32)
        return (R.training_spec(kind="dcgan", steps=4, images=imgs, width=8,
                                data_label="my squiggles"),
                lambda p, more: R.training_spec(steps=more, resume=p), 4, 3, 1)
    if family == "keypoints-upload":
        from unsup.recipes import keypoints as R

        return (R.training_spec(n_keypoints=3, steps=4, images=_faces(30), width=4,
                                batch_size=8, data_label="my faces"),
                lambda p, more: R.training_spec(steps=more, resume=p), 4, 3, 1)
    if family == "cyclegan-upload":
        from unsup.recipes import cyclegan as R

        a = rng.random((20, 3, 32, 32)).astype(np.float32)
        b = (rng.random((20, 3, 32, 32)) ** 3).astype(np.float32)
        return (R.training_spec(steps=3, g_filters=8, n_blocks=1, images_a=a, images_b=b,
                                labels=("noise", "dark noise")),
                lambda p, more: R.training_spec(steps=more, resume=p), 3, 2, 1)
    if family == "vae-upload":
        from unsup.recipes import vae as R

        imgs = (rng.random((300, 1, 28, 28)) > 0.7).astype(np.float32)  # 270 train: 3 steps
        return (R.training_spec(n_latent=2, epochs=1, images=imgs, data_label="my squiggles"),
                lambda p, more: R.training_spec(epochs=more, resume=p), 3, 2, 5 / 2)
    if family == "betavae":
        from unsup.recipes import betavae as R

        return (R.training_spec(kind="betavae", steps=3),
                lambda p, more: R.training_spec(steps=more, resume=p), 3, 2, 1)
    if family == "flow2d-points":
        from unsup.recipes import flows as R

        return (R.training_spec(data="points", points=[[0, 0], [1, 1]], steps=6,
                                transforms=2, hidden=8, batch_size=64),
                lambda p, more: R.training_spec(steps=more, resume=p), 6, 4, 1)
    if family == "glow-upload":
        from unsup.recipes import flows as R

        imgs = (rng.random((40, 1, 28, 28)) > 0.7).astype(np.float32)  # 36 train, 4 held out
        return (R.glow_training_spec(steps=4, images=imgs, data_label="my squiggles",
                                     n_steps=1, hidden=8, batch_size=8),
                lambda p, more: R.glow_training_spec(steps=more, resume=p), 4, 3, 1)
    if family == "sr-upload":
        from unsup.recipes import ganapps as R

        imgs = rng.random((30, 3, 64, 64)).astype(np.float32)  # 27 train, 3 held out
        return (R.training_spec(steps=4, images=imgs, data_label="my pictures", width=8,
                                n_blocks=1, batch_size=4),
                lambda p, more: R.training_spec(steps=more, resume=p), 4, 3, 1)
    if family == "inpaint-upload":
        from unsup.recipes import ganapps as R

        imgs = rng.random((30, 1, 28, 28)).astype(np.float32)  # 27 train, 3 held out
        return (R.inpaint_training_spec(steps=4, images=imgs, data_label="my squiggles",
                                        gan=True, width=8, n_dilated=1, batch_size=4),
                lambda p, more: R.inpaint_training_spec(steps=more, resume=p), 4, 3, 1)
    raise KeyError(family)


FAMILIES = ["gan2d", "gan-upload", "keypoints-upload", "cyclegan-upload", "vae-upload",
            "betavae", "flow2d-points", "glow-upload", "sr-upload",
            "inpaint-upload"]


@pytest.mark.parametrize("family", FAMILIES)
def test_a_run_resumes_from_disk_in_a_fresh_runner(runs, family):
    """Train N steps, forget the runner (an app restart), find the run on disk, resume M more
    steps in a new runner: the step counter ends at N + M, in the same run folder, on the same
    stored images for a run on uploads."""
    spec, make_spec, n, more, per = _specs(family)
    spec.finish = None  # the held-out measurement is not what is tested here
    first = ThreadRunner()
    snap = first.wait(first.submit(spec), 300)
    assert snap.status == "done", snap.error
    assert checkpoints.read_card(snap.checkpoint)["step"] == n
    del first  # the app restarts: no job remembers the run

    mine = [e for e in checkpoints.list_models() if e.source == "user"]
    assert [e.path for e in mine] == [snap.checkpoint]
    assert checkpoints.resumable(mine[0].path)
    resumed = make_spec(mine[0].path, more)
    assert resumed.run_dir == snap.run_dir
    resumed.finish = None
    if family.endswith("upload"):
        stored = next(snap.run_dir.glob("*.npz"))
        _, data, card = resumed.build()  # the stored images are found again
        assert card["data"]["sha"] == checkpoints.read_card(snap.checkpoint)["data"]["sha"]
        assert stored.exists() and len(data) > 0
    runner = ThreadRunner()
    again = runner.wait(runner.submit(resumed), 300)
    assert again.status == "done", again.error
    assert again.start_step == n and again.step == n + more * per
    back = checkpoints.load(again.checkpoint, optimizer=True)
    assert back.step_ == n + more * per and again.checkpoint == snap.checkpoint
    assert [e.path for e in checkpoints.list_models() if e.source == "user"] == [snap.checkpoint]


def test_a_resumed_2d_gan_equals_an_unbroken_run(runs):
    """Resume is exact for the jobs too: 20 + 15 steps from disk give the weights of 35 in one."""
    from unsup.recipes import gan as R

    runner = ThreadRunner()
    first = R.training_spec(kind="gan2d", steps=20, data="ring")
    first.finish = None
    snap = runner.wait(runner.submit(first), 120)
    spec = R.training_spec(steps=15, resume=snap.checkpoint)
    spec.finish = None
    fresh = ThreadRunner()
    resumed = fresh.wait(fresh.submit(spec), 120)
    straight_spec = R.training_spec(kind="gan2d", steps=35, data="ring")
    straight_spec.finish = None
    straight = runner.wait(runner.submit(straight_spec), 120)
    a = checkpoints.load(resumed.checkpoint).state_dict()
    b = checkpoints.load(straight.checkpoint).state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


PAGES = {  # family -> (page file, job key, section key)
    "gan-upload": ("gan.py", "gan", "gan_section"),
    "keypoints-upload": ("keypoints.py", "keypoints", "kp_section"),
    "cyclegan-upload": ("cyclegan.py", "cyclegan", "cg_section"),
    "vae-upload": ("vae_sliders.py", "vae", "vae_section"),
    "betavae": ("beta_vae.py", "beta-vae", "bv_section"),
    "flow2d-points": ("flows.py", "flows", "fl_section"),
    "glow-upload": ("flows.py", "flows", "fl_section"),
}
STATE = {"glow-upload": {"ft_what": "Glow on images"}}  # the form's other choices


def _page(file: str, section_key: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / file), default_timeout=300)
    at.session_state[section_key] = "Train"
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


@pytest.mark.parametrize("family", list(PAGES))
def test_the_train_section_resumes_a_run_left_on_disk(runs, family, monkeypatch):
    """A run trained before the app restarted (no job of this process knows it) is offered with
    its step in the page's Train section; Resume starts a job that continues it in its own folder
    (on its stored images) for the steps asked."""
    from unsup.jobs import get_runner
    from unsup.recipes import betavae

    # the resumed β-VAE job measures itself when it ends: one seed on a quarter of the images
    # here (the full 3-seed measurement is ~1 min and is checked by test_betavae_quality.py)
    full = betavae.evaluate
    monkeypatch.setattr(betavae, "evaluate", lambda m: full(m, seeds=(0,), fast=True))

    file, key, section_key = PAGES[family]
    spec, _, n, _, per = _specs(family)
    spec.finish = None
    snap = _submit(spec)
    assert snap.status == "done", snap.error
    at = _page(file, section_key, **STATE.get(family, {}))
    assert not at.exception, at.exception
    pick = at.selectbox(key=f"{key}_disk_pick")
    assert len(pick.options) == 1  # the run, with its step
    assert f"{n:,} steps" in pick.options[0] and "your run" in pick.options[0]
    more = 2
    at.number_input(key=f"{key}_disk_more").set_value(more).run()
    at.button(key=f"{key}_disk_resume").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    jobs = [j for j in get_runner().list() if j.page == key and j.run_dir == snap.run_dir]
    assert len(jobs) == 1, "Resume started no job"
    done = get_runner().wait(jobs[0].id, 300)
    assert done.status == "done", done.error
    want = n + int(np.ceil(more * per))
    assert done.start_step == n and done.step == want
    assert checkpoints.read_card(snap.checkpoint)["step"] == want


def _submit(spec):
    runner = ThreadRunner()
    return runner.wait(runner.submit(spec), 300)


# -- part 11: a full disk gets a message, never a crash or an empty run folder ------------------
def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device",
                  str(Path.home() / ".unsup" / "runs" / "x" / ".data.npz.tmp"))


def _zip(images: np.ndarray) -> bytes:
    import zipfile

    from PIL import Image

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i, x in enumerate(images):
            png = io.BytesIO()
            a = (np.asarray(x).transpose(1, 2, 0) * 255).round().astype(np.uint8)
            Image.fromarray(a if a.shape[-1] == 3 else a[..., 0]).save(png, format="PNG")
            zf.writestr(f"img{i:03d}.png", png.getvalue())
    return buf.getvalue()


def _said_disk_full(at, runs: Path) -> None:
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error).replace("\\", "")
    assert "disk is full" in errors, errors
    assert str(runs) not in errors and str(Path.home()) not in errors and ".unsup" not in errors
    assert not [d for d in runs.iterdir()], "a run folder was left behind"


def test_a_full_disk_when_a_gan_on_uploads_starts(runs, monkeypatch):
    from unsup.jobs import get_runner

    rng = np.random.default_rng(2)
    imgs = (rng.random((12, 1, 28, 28)) > 0.7).astype(np.float32)
    at = _page("gan.py", "gan_section")
    at.selectbox(key="gt_kind").set_value("dcgan").run()
    at.selectbox(key="gt_data_dcgan").set_value("upload").run()
    at.file_uploader(key="gt_files").set_value(("mine.zip", _zip(imgs), "application/zip")).run()
    assert not at.exception, at.exception
    monkeypatch.setattr("unsup.fileio.atomic_write_bytes", _enospc)
    before = len(get_runner().list())
    at.button(key="gt_start").click().run()
    _said_disk_full(at, runs)
    assert len(get_runner().list()) == before  # no job started


def test_a_full_disk_when_a_cyclegan_on_uploads_starts(runs, monkeypatch):
    rng = np.random.default_rng(3)
    at = _page("cyclegan.py", "cg_section")
    at.radio(key="cg_tr_src").set_value("upload").run()
    for k in ("cg_tr_a", "cg_tr_b"):
        x = rng.random((20, 3, 32, 32)).astype(np.float32)
        at.file_uploader(key=k).set_value((f"{k}.zip", _zip(x), "application/zip")).run()
    assert not at.exception, at.exception
    monkeypatch.setattr("unsup.fileio.atomic_write_bytes", _enospc)
    at.button(key="cg_tr_start").click().run()
    _said_disk_full(at, runs)


@pytest.mark.parametrize("file,section_key,button", [
    ("keypoints.py", "kp_section", "kt_start"),
    ("beta_vae.py", "bv_section", None),
    ("vae_sliders.py", "vae_section", None),
])
def test_a_full_disk_when_a_run_on_built_in_data_starts(runs, monkeypatch, file, section_key,
                                                       button):
    """No run folder can even be made: the page says so instead of crashing."""
    from unsup import jobs

    at = _page(file, section_key)
    monkeypatch.setattr(jobs, "new_run_dir", _enospc)
    start = at.button(key=button) if button else next(b for b in at.button
                                                       if b.label == "Start training")
    start.click().run()
    _said_disk_full(at, runs)


def test_a_full_disk_mid_training_fails_the_job_and_keeps_the_last_checkpoint(runs,
                                                                             monkeypatch):
    """The save at step 10 meets a full disk: the job fails with a message naming the kept
    checkpoint (step 5) by its run folder only; that checkpoint is whole and resumable."""
    from unsup.recipes import gan as R

    real = checkpoints.atomic_write_bytes
    saves = []

    def fills_up(path, data):
        saves.append(Path(path).name)
        if saves.count("model.safetensors") > 1:  # the run's second checkpoint (step 10)
            _enospc()
        return real(path, data)

    monkeypatch.setattr(checkpoints, "atomic_write_bytes", fills_up)
    spec = R.training_spec(kind="gan2d", steps=20, data="ring")
    spec.checkpoint_every = 5
    runner = ThreadRunner()
    snap = runner.wait(runner.submit(spec), 120)
    assert snap.status == "failed"
    assert snap.error.startswith("The disk is full"), snap.error
    assert "(step 5) is kept" in snap.error, snap.error
    assert snap.run_dir.name in snap.error and str(runs) not in snap.error
    assert ".unsup" not in snap.error and "OSError" not in snap.error
    monkeypatch.setattr(checkpoints, "atomic_write_bytes", real)
    back = checkpoints.load(snap.run_dir / "model", optimizer=True)
    assert back.step_ == 5
    assert not list(snap.run_dir.glob(".*.tmp"))  # no half-written file left
    assert checkpoints.resumable(snap.run_dir / "model.safetensors")


# -- part 12: keypoint Metrics of an upload run whose images are gone ---------------------------
def test_keypoint_metrics_of_an_unmeasured_upload_run_whose_images_are_gone(runs):
    from unsup.recipes import keypoints as R

    spec = R.training_spec(n_keypoints=3, steps=4, images=_faces(30), width=4, batch_size=8,
                           data_label="my faces")
    spec.finish = None  # stopped before it was measured: its card holds no metrics
    snap = _submit(spec)
    assert snap.status == "done", snap.error
    assert not checkpoints.read_card(snap.checkpoint).get("metrics")
    (snap.run_dir / "data.npz").unlink()
    at = AppTest.from_file(str(ROOT / "app_pages" / "keypoints.py"), default_timeout=300)
    at.session_state["kp_section"] = "Metrics"
    at.session_state["kp_model"] = snap.run_dir.name
    at.run()
    assert not at.exception, at.exception
    assert [m.label for m in at.metric] == ["Equivariance error"]
    assert at.metric[0].value == "not measured (its data are gone)"
    said = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "are gone" in said and str(runs) not in said
