"""The keypoint family: registry record, a tiny preset trained through ``train_preset`` and
evaluated, the evaluation on known answers, the views (warps, redraw, heat-maps), the
train-on-demand job on faces and on uploaded images, and the page's figures."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from unsup import checkpoints, families, recipes
from unsup.families import Preset
from unsup.jobs import ThreadRunner
from unsup.models.keypoints import KeypointConfig, KeypointModel
from unsup.recipes import keypoints as R
from unsup.train import fit
from unsup.viz import keypoints as viz

TINY = dict(n_keypoints=3, image_size=16, width=4, batch_size=8)


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny_model():
    model = R.make_model(**TINY)
    fit(model, R.pairs_of(R.faces("train", 16)), steps=4, device="cpu")
    model.eval()
    return model


# -- the registry record ---------------------------------------------------------------------
def test_the_keypoint_family_is_registered_with_its_page_and_preset():
    fam = families.get("keypoints")
    assert fam.kinds == ("keypoints",)
    assert families.model_class("keypoints") is KeypointModel
    assert fam.page.key == "keypoints" and fam.page.ready and fam.page.order == 50
    from unsup.ui.registry import all_pages

    assert [p for p in all_pages() if p.key == "keypoints"] == [fam.page]  # no "coming" copy
    preset = fam.preset("keypoints-faces")
    assert preset.kind == "keypoints" and preset.data == "faces"
    assert preset.config["n_keypoints"] == 10 and preset.config["image_size"] == 64
    model, data, card = fam.build(preset)
    assert model.config.n_keypoints == 10 and model.config.image_size == 64
    batch = data[torch.arange(2)]
    assert tuple(batch.shape) == (2, 2, 3, 64, 64)  # (source, target) pairs
    assert not torch.equal(batch[:, 0], batch[:, 1])  # two different warps
    assert card["name"] == "faces" and card["split"] == "train" and "pairs" in card


# -- a tiny preset, end to end -------------------------------------------------------------------
@pytest.fixture
def tiny_preset(monkeypatch):
    p = Preset("keypoints-tiny", "Tiny keypoints", "a test preset", "keypoints", 6, dict(TINY),
               "faces", checkpoint_every=3)
    monkeypatch.setattr(R.FAMILY, "presets", R.PRESETS + (p,))
    return p


def test_train_preset_trains_evaluates_and_loads_back(tiny_preset, tmp_path):
    path = recipes.train_preset("keypoints-tiny", steps=4, out_dir=tmp_path)
    assert path == tmp_path / "keypoints-tiny.safetensors"
    card = checkpoints.read_card(path)
    assert card["kind"] == "keypoints" and card["step"] == 4
    assert card["command"] == "python -m unsup train keypoints-tiny --steps 4"
    m = card["metrics"]
    assert {"error", "mean_shape", "random", "equivariance", "error_vs_mean_shape"} <= set(m)
    assert m["heldout"] == "1,000 held-out generated faces" and m["n_fit"] == R.N_FIT
    assert len(card["extra_metrics"]["per_landmark"]) == 5
    # a model of 4 steps is no better than chance: near both baselines
    assert m["error"] > 0.6 * m["mean_shape"] and m["random"] > 0.6 * m["mean_shape"]
    # the preset's own step count; eval recomputes the card's numbers (read-only)
    path = recipes.train_preset("keypoints-tiny", out_dir=tmp_path)
    model = checkpoints.load(path)
    assert model.step_ == 6 and model.config.n_keypoints == 3
    entry = checkpoints.Entry("keypoints-tiny", path, checkpoints.read_card(path), "user")
    again = recipes.evaluate_entry(entry)
    assert again["error"] == checkpoints.read_card(path)["metrics"]["error"]
    assert again["equivariance"] == checkpoints.read_card(path)["metrics"]["equivariance"]


# -- evaluation on known answers -----------------------------------------------------------------
def test_keypoints_on_the_landmarks_themselves_score_zero(tiny_model, monkeypatch):
    """A detector that returns the annotated landmarks (an oracle) has no error; the baselines
    are the data's, the same whatever the detector."""
    x_fit, lm_fit, x_held, lm_held = R.eval_faces(16, 300, 200)
    truth = {id(x_fit): lm_fit, id(x_held): lm_held}
    monkeypatch.setattr(R, "keypoints_of", lambda model, x: truth[id(x)])
    fit_ = R.landmark_fit(tiny_model, 300, 200)
    assert fit_["error"] < 1e-6 and np.allclose(fit_["pred"], lm_held, atol=1e-9)
    assert fit_["mean_shape"] > 25  # pose varies: the mean face is a poor guess
    assert np.allclose(fit_["per_landmark"], 0, atol=1e-6)


def test_the_random_detector_baseline_is_near_the_mean_shape():
    cfg = tuple(sorted(dataclasses.asdict(KeypointConfig(**TINY)).items()))
    rand = R.random_baseline(cfg, 300, 200)
    _, lm_fit, _, lm_held = R.eval_faces(16, 300, 200)
    from unsup.metrics.keypoints import mean_shape_error

    ms = mean_shape_error(lm_fit, lm_held)
    assert 0.6 * ms < rand < 1.2 * ms  # random features explain little of the pose


def test_evaluate_reports_every_number_lower_is_better(tiny_model):
    out = R.evaluate(tiny_model, n_fit=300, n_held=200)
    # the card keeps the fitted regressor: the page redraws its landmarks without refitting
    reg = R.regressor_from(out["extra_metrics"])
    fit_ = R.landmark_fit(tiny_model, 300, 200)
    assert np.allclose(reg.predict(fit_["keypoints"]), fit_["pred"])
    assert R.regressor_from({}) is None
    assert out["n_fit"] == 300 and out["n_heldout"] == 200
    assert out["error_vs_mean_shape"] == pytest.approx(out["error"] / out["mean_shape"],
                                                       abs=1e-3)
    assert 0 < out["equivariance"] < 50  # % of the image width


def test_an_unwarped_tile_has_no_equivariance_error(tiny_model):
    x = R.faces("heldout", 16)[np.arange(1)].numpy()[0]
    w = R.warp_series(tiny_model, x, [-20.0, 0.0, 20.0], elastic=0.03, seed=3, original=1)
    assert w["images"].shape == (3, 3, 16, 16)
    assert w["detected"].shape == w["expected"].shape == (3, 3, 2)
    assert np.allclose(w["images"][1], x, atol=1e-5)  # the identity warp leaves the face
    assert w["errors"][1] < 1e-3 and (w["errors"][[0, 2]] > 0).all()
    # without rotation the elastic part alone still warps the other tiles
    e = R.warp_series(tiny_model, x, [0.0, 0.0, 0.0], elastic=0.05, seed=3, original=1)
    assert np.allclose(e["images"][1], x, atol=1e-5) and not np.allclose(e["images"][0], x)
    # the reported error is the mean dot-ring distance in % of the image width (2 units)
    d = np.linalg.norm(w["detected"][0] - w["expected"][0], axis=-1).mean()
    assert w["errors"][0] == pytest.approx(100 * d / 2)


def test_redraw_follows_the_points_and_heatmaps_are_distributions(tiny_model):
    x = R.faces("heldout", 16)[np.arange(1)].numpy()[0]
    kp = R.keypoints_of(tiny_model, x[None])[0]
    a = R.redraw(tiny_model, x, kp)
    assert a.shape == (3, 16, 16) and 0 <= a.min() and a.max() <= 1
    moved = kp.copy()
    moved[0] = (-0.8, 0.7)
    b = R.redraw(tiny_model, x, moved)
    with torch.no_grad():  # the generator's image of the face with its parts at the points
        want = tiny_model.render(torch.from_numpy(x)[None], torch.tensor(moved[None],
                                                                        dtype=torch.float32))
    assert np.allclose(b, want[0].numpy(), atol=1e-6)
    assert np.abs(b - a).max() > 0  # (an untrained generator barely uses the maps)
    assert np.array_equal(R.redraw(tiny_model, x, kp), a)  # deterministic (eval mode)
    hm = R.heatmaps_of(tiny_model, x)
    assert hm.shape == (3, 4, 4) and np.allclose(hm.sum((1, 2)), 1.0)


def test_nearest_landmarks_and_local_share_on_known_answers():
    lm = R.faces("heldout", 16).landmarks(np.arange(20)).numpy()
    kp = lm[:, [2, 0]] + np.array([0.01, 0.0])  # on the nose and the left eye, fixed offset
    near = R.nearest_landmarks(kp, lm)
    iod = np.linalg.norm(lm[:, 0] - lm[:, 1], axis=-1)
    assert [j for j, _, _ in near] == [2, 0]
    assert near[0][1] == pytest.approx(100 * np.mean(0.01 / iod), rel=1e-6)
    assert near[0][2] < 0.6  # steady offset: only the face-size normalisation varies
    change = np.zeros((16, 16))
    change[7:9, 7:9] = 1.0  # around the centre
    assert R.local_share(change, [[0.0, 0.0]], 0.25) == 1.0
    assert R.local_share(change, [[0.9, 0.9]], 0.25) == 0.0
    assert R.local_share(np.zeros((16, 16)), [[0, 0]]) == 0.0


# -- train on demand -------------------------------------------------------------------------------
def test_a_faces_job_saves_a_measured_checkpoint_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    spec = R.training_spec(n_keypoints=3, steps=6, image_size=16, width=4, batch_size=8)
    assert spec.title == "Keypoints K = 3 on cartoon faces, 6 steps" and spec.page == "keypoints"
    runner = ThreadRunner()
    snap = runner.wait(runner.submit(spec), timeout=300)
    assert snap.status == "done", snap.error
    assert len(snap.previews) == 8 and snap.previews[0].shape == (32, 32, 3)
    model = checkpoints.load(snap.checkpoint)
    assert model.step_ == 6 and model.config.n_keypoints == 3
    m = model.card_["metrics"]
    assert {"error", "mean_shape", "random", "equivariance"} <= set(m)
    again = R.training_spec(steps=4, resume=snap.checkpoint)
    snap2 = runner.wait(runner.submit(again), timeout=300)
    assert snap2.status == "done", snap2.error
    assert checkpoints.load(snap2.checkpoint).step_ == 10


def test_an_upload_job_learns_keypoints_only_and_keeps_its_images(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    images = R.faces("heldout", 16)[np.arange(30)].numpy()  # "my pictures", unlabelled
    spec = R.training_spec(n_keypoints=3, steps=4, images=images, data_label="my faces",
                           width=4, batch_size=8)
    assert "my faces" in spec.title
    runner = ThreadRunner()
    snap = runner.wait(runner.submit(spec), timeout=300)
    assert snap.status == "done", snap.error
    model = checkpoints.load(snap.checkpoint)
    card = model.card_
    assert card["data"]["name"] == "upload" and card["data"]["n_train"] == 27
    assert set(card["metrics"]) == {"equivariance", "n_heldout", "heldout"}  # no landmarks
    assert card["metrics"]["heldout"] == "every 10th of your images (3)"
    assert R.evaluate(model)["equivariance"] == card["metrics"]["equivariance"]
    snap2 = runner.wait(runner.submit(R.training_spec(steps=2, resume=snap.checkpoint)),
                        timeout=300)
    assert snap2.status == "done" and checkpoints.load(snap2.checkpoint).step_ == 6
    (Path(snap.checkpoint).parent / "data.npz").unlink()
    with pytest.raises(checkpoints.CheckpointError, match="gone"):
        R.training_spec(steps=2, resume=snap.checkpoint)


def test_bad_job_requests_are_refused_with_what_to_do():
    few = np.zeros((5, 3, 16, 16), np.float32)
    with pytest.raises(ValueError, match=f"upload at least {R.MIN_UPLOAD}"):
        R.training_spec(images=few)
    with pytest.raises(ValueError, match="n_keypoints"):
        R.training_spec(n_keypoints=0)
    with pytest.raises(ValueError, match="multiple of 4"):
        R.job_config(10, image_size=30)


def test_estimate_is_measured_per_config():
    small = R.estimate_step_seconds(R.job_config(3, image_size=16, width=4, batch_size=8), n=2)
    big = R.estimate_step_seconds(R.job_config(10, image_size=32, width=8, batch_size=16), n=2)
    assert 0 < small < big


def test_thumbnail_is_a_card_image():
    img = R.thumbnail()
    assert img.size == (320, 200)


# -- figures -----------------------------------------------------------------------------------
def test_tiles_figure_puts_each_keypoint_on_its_pixel_in_its_colour():
    imgs = np.zeros((3, 3, 8, 8), np.float32)
    s = 8
    # keypoint 0 at the centre of pixel (row 2, col 5), keypoint 1 at pixel (0, 0)
    p = np.array([[(2 * 5 + 1) / s - 1, (2 * 2 + 1) / s - 1], [-1 + 1 / s, -1 + 1 / s]])
    pts = np.repeat(p[None], 3, 0)
    fig = viz.tiles_figure(imgs, pts, ncols=2, ghosts=pts, labels=["a", "b", "c"])
    spec = json.loads(fig.to_json())
    names = [t.get("name") for t in spec["data"]]
    assert names == [None, "expected", "#1 (red)", "#2 (green)"]
    k0 = fig.data[2]
    assert k0.marker.color == viz.colour(0) and len(k0.x) == 3
    pad = 2  # tile origins: (pad, pad), (pad + s + pad, pad), (pad, pad + s + pad)
    assert np.allclose(k0.x, [pad + 5, 2 * pad + s + 5, pad + 5])
    assert np.allclose(k0.y, [pad + 2, pad + 2, 2 * pad + s + 2])
    assert len(fig.layout.annotations) == 3


def test_overlay_draws_each_keypoint_in_its_colour():
    img = np.full((3, 16, 16), 0.5, np.float32)
    pts = np.array([[-0.5, -0.5], [0.5, 0.5]])
    out = np.asarray(viz.overlay(img, pts, scale=4, radius=3))
    assert out.shape == (64, 64, 3)
    for k, (x, y) in enumerate(viz.to_pixels(pts, 16, 4)):
        assert tuple(out[int(y), int(x)]) == viz._rgb(viz.colour(k))
    assert tuple(out[2, 60]) == (128, 128, 128)  # away from the points: the image


def test_heatmap_tiles_and_change_map():
    hm = np.zeros((2, 4, 4))
    hm[0, 1, 2] = 1.0
    hm[1] = 1 / 16
    t = viz.heatmap_tiles(hm, size=16)
    assert t.shape == (2, 3, 16, 16)
    assert np.allclose(t[1].max((1, 2)), np.array(viz._rgb(viz.colour(1))) / 255)  # flat: full
    assert t[0, :, 4:8, 8:12].max() > 0 and t[0, :, :4].max() == 0
    a, b = np.zeros((3, 4, 4)), np.zeros((3, 4, 4))
    b[:, 1, 1] = 0.5
    c = viz.change_map(a, b)
    assert c.shape == (3, 4, 4) and c[0, 1, 1] == 1.0 and c[0].sum() == 1.0


def test_a_short_row_of_tiles_keeps_the_tile_size_of_a_full_row():
    """One uploaded image is drawn at the size of one tile of an 8-wide row, not blown up to the
    page's width: the figure is no taller than a full row's."""
    x = np.random.default_rng(0).random((8, 3, 64, 64)).astype(np.float32)
    one = viz.tiles_figure(x[:1], ncols=8)
    full = viz.tiles_figure(x, ncols=8)
    assert one.layout.height == full.layout.height <= 300
