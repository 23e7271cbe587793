"""The CycleGAN family: registry record, presets trained through ``train_preset`` on a tiny
budget and loaded back, evaluation on known cases, uploaded image sets kept with their run, the
train-on-demand job (and its resume), the timelapse, the thumbnail and the page's figures."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from torch import nn

from unsup import checkpoints, families, recipes
from unsup.checkpoints import CheckpointError
from unsup.families import Preset
from unsup.jobs import ThreadRunner
from unsup.models.cyclegan import CycleGAN
from unsup.models.domain_classifier import DomainClassifier, DomainClassifierConfig
from unsup.recipes import cyclegan as R
from unsup.train import fit
from unsup.viz import cyclegan as viz

TINY = dict(g_filters=4, d_filters=4, n_blocks=1, batch_size=4, n_steps_constant=3,
            n_steps_decay=3, timelapse_frames=4, timelapse_every=2, timelapse_samples=4)


pytestmark = pytest.mark.usefixtures("cyclegan_one_thread")  # tests/conftest.py


@pytest.fixture
def tiny_presets(monkeypatch):
    """Two tiny presets added to the family for this test (the shipped ones stay as they are)."""
    extra = (Preset("cyclegan-tiny-digits", "tiny", "a tiny test preset", "cyclegan", 6,
                    dict(TINY), "digits", checkpoint_every=4),
             Preset("cyclegan-tiny-clf", "tiny classifier", "a tiny test preset",
                    "domain_classifier", 80, dict(width=8, batch_size=32), "digits",
                    checkpoint_every=0, options={"domain": "b"}))
    monkeypatch.setattr(R.FAMILY, "presets", R.PRESETS + extra)
    return extra


def quiet(p):
    pass


# -- the registry record ---------------------------------------------------------------------
def test_the_family_is_registered_with_its_page_presets_and_kinds():
    fam = families.get("cyclegan")
    assert fam.kinds == ("cyclegan", "domain_classifier")
    assert families.model_class("cyclegan") is CycleGAN
    assert families.model_class("domain_classifier") is DomainClassifier
    assert fam.page.key == "cyclegan" and fam.page.ready and fam.page.order == 60
    names = [p.name for p in fam.presets]
    assert names == ["cyclegan-clf-mnist", "cyclegan-clf-mnistm", "cyclegan-clf-mnist-s1",
                     "cyclegan-clf-mnistm-s1", "cyclegan-clf-mnist-s2", "cyclegan-clf-mnistm-s2",
                     "cyclegan-clf-domain", "cyclegan-clf-domain-s1", "cyclegan-clf-domain-s2",
                     "cyclegan-digits", "cyclegan-photo"]
    from unsup.ui.registry import COMING

    assert "cyclegan" not in {p.key for p in COMING}  # the real page replaced "coming"
    for p in fam.presets:
        model, data, card = fam.build(p)
        assert model.kind == p.kind and len(data) > 0 and card["name"] == p.data
        assert card["fingerprint"] == R.load_pair(p.data).fingerprint()
        if p.kind == "cyclegan":
            c = model.config
            assert (c.lambda_cycle, c.lambda_identity, c.pool_size, c.lr, c.beta1) == (
                10.0, 0.5, 50, 2e-4, 0.5)  # the reference's recipe
            assert c.n_steps_constant + c.n_steps_decay == p.steps
            assert c.norm == {"digits": "instance", "photos": "batch"}[p.data]  # as measured
            assert tuple(data[torch.arange(2)].shape) == (2, 2, 3, 32, 32)
            a, b = model.timelapse_sources()
            assert a.shape == b.shape == (4, 3, 32, 32)
        else:
            assert data.shape[1] == 1 + 3 * 32 * 32 and card["domain"] == p.options["domain"]
            if p.options["domain"] == "ab":  # the A-vs-B judge: real training images of both
                assert model.config.n_classes == 2 and len(data) == card["n_train"] == (
                    card["n_train_a"] + card["n_train_b"])
                assert set(data[:, 0].long().tolist()) == {0, 1}
            else:
                assert model.config.seed == int(p.name.rsplit("-s", 1)[1]) \
                    if p.name.endswith(("-s1", "-s2")) else model.config.seed == 0


def test_cli_lists_the_presets(capsys):
    from unsup.__main__ import main as cli

    assert cli(["presets"]) == 0
    out = capsys.readouterr().out
    for name in ("cyclegan-digits", "cyclegan-photo", "cyclegan-clf-mnist", "cyclegan-clf-mnistm"):
        assert name in out


def test_timelapse_sources_are_one_digit_each():
    pair = R.load_pair("digits")
    a, b = R.timelapse_sources(pair, 4)
    clf_labels = [int(pair.y_a_test[i]) for i in R._first_of_each(pair.y_a_test,
                                                                 R.N_TIMELAPSE_DIGITS)]
    assert clf_labels == list(R.N_TIMELAPSE_DIGITS)
    np.testing.assert_array_equal(a[1], pair.a_test[np.flatnonzero(pair.y_a_test == 3)[0]])
    photos = R.load_pair("photos")
    pa, pb = R.timelapse_sources(photos, 3)
    np.testing.assert_array_equal(pa[-1], photos.a_test[-1])
    with pytest.raises(ValueError, match="32 px only"):
        R.load_pair("digits", 64)


# -- presets through train_preset ------------------------------------------------------------
def test_a_tiny_cyclegan_preset_trains_evaluates_and_loads_back(tiny_presets, tmp_path,
                                                                monkeypatch):
    clf_b = DomainClassifier(DomainClassifierConfig(width=4, batch_size=32))
    pair = R.load_pair("digits")
    fit(clf_b, clf_b.pack(torch.tensor(pair.b_train), torch.tensor(pair.y_b_train)), steps=20,
        device="cpu")
    clf_b.eval()
    monkeypatch.setattr(R, "classifiers", lambda: (None, clf_b))
    path = recipes.train_preset("cyclegan-tiny-digits", out_dir=tmp_path, on_progress=quiet,
                                device="cpu")
    model = checkpoints.load(path)
    assert isinstance(model, CycleGAN) and model.step_ == 6
    card = model.card_
    assert card["command"] == "python -m unsup train cyclegan-tiny-digits"
    m = card["metrics"]
    assert m["n_a"] == m["n_b"] == 250 and m["pair"] == "digits"
    assert 0 < m["cycle_l1_a"] < 1 and 0 < m["cycle_l1_b"] < 1
    assert m["identity_baseline_ab"] == pytest.approx(
        float(np.abs(pair.a_test - pair.b_of_a_test).mean()), rel=1e-3)
    assert "label_kept_ab" in m and "label_kept_ba" not in m  # only B's classifier given
    assert "flips_ab" in card["extra_metrics"]
    # the timelapse travels in the checkpoint: frames at 0, 2, 4, 6
    steps, frames = model.timelapse_frames()
    assert steps == [0, 2, 4, 6] and tuple(frames.shape) == (4, 2, 4, 3, 32, 32)
    # `eval` recomputes the same numbers from the file
    again = recipes.evaluate_entry(checkpoints.Entry("x", path, card, "user"))
    assert again["cycle_l1_a"] == m["cycle_l1_a"] and again["label_kept_ab"] == m["label_kept_ab"]


def test_a_tiny_classifier_preset_measures_its_own_domain(tiny_presets, tmp_path):
    path = recipes.train_preset("cyclegan-tiny-clf", out_dir=tmp_path, on_progress=quiet,
                                device="cpu")
    model = checkpoints.load(path)
    assert isinstance(model, DomainClassifier) and model.step_ == 80
    m = model.card_["metrics"]
    assert m["n_test"] == 250 and m["domain"] == "b"
    assert m["test_accuracy"] > 0.5  # 80 steps of an 8-channel net: far above chance (0.1)
    pair = R.load_pair("digits")
    want = float((model.predict(torch.tensor(pair.b_test)) == torch.tensor(pair.y_b_test))
                 .float().mean())
    assert m["test_accuracy"] == pytest.approx(want, abs=1e-4)


# -- evaluation on known cases ---------------------------------------------------------------
class Negate(nn.Module):
    def forward(self, x):
        return -x


class Oracle:
    """A 'classifier' that returns the labels it was given (for the first n images)."""

    def __init__(self, y):
        self.y = torch.tensor(np.asarray(y))

    def predict(self, x):
        return self.y[:len(x)]


def test_an_identity_translator_scores_the_baselines(monkeypatch):
    pair = R.load_pair("digits")
    model = CycleGAN(dataclasses.replace(R.new_cyclegan(pair, **TINY).config,
                                         timelapse_frames=0))
    model.g_ab, model.g_ba = nn.Identity(), nn.Identity()
    clf = Oracle(pair.y_a_test), Oracle(pair.y_b_test)
    monkeypatch.setattr(R, "classifiers", lambda: (clf[1], clf[0]))
    s = R.evaluate_cyclegan(model, pair)
    assert s["cycle_l1_a"] == pytest.approx(0.0, abs=1e-6)
    assert s["identity_l1_b"] == pytest.approx(0.0, abs=1e-6)
    assert s["paired_error_ab"] == pytest.approx(s["identity_baseline_ab"], abs=1e-6)
    assert s["paired_error_ba"] == pytest.approx(s["identity_baseline_ba"], abs=1e-6)
    assert s["label_kept_ab"] == s["label_kept_ab_input"] == s["label_kept_ab_truth"] == 1.0
    assert s["cycle_l1_bound"] == R.CYCLE_L1_BOUND
    model.g_ab = Negate()  # an inverting G_AB: the cycle now fails by |1 - 2x|
    s = R.evaluate_cyclegan(model, pair)
    want = float(np.abs(1 - 2 * pair.a_test).mean())
    assert s["cycle_l1_a"] == pytest.approx(want, rel=1e-4)


@pytest.mark.parametrize("name", ["digits", "photos"])
def test_an_untrained_shipped_config_fails_the_cycle_bound(name):
    pair = R.load_pair(name)
    model = R.new_cyclegan(pair, **R.RECIPE)
    s = R.evaluate_cyclegan(model, pair)
    assert s["cycle_l1_a"] > R.CYCLE_L1_BOUND and s["cycle_l1_b"] > R.CYCLE_L1_BOUND
    assert s["cycle_l1_untrained_a"] == pytest.approx(s["cycle_l1_a"], abs=1e-4)
    if name == "digits" and R.missing_classifiers():
        assert "cyclegan-clf" in s["label_kept_missing"]


# -- uploads kept with the run ---------------------------------------------------------------
def _sets(n_a=25, n_b=22, size=8, seed=0):
    g = np.random.default_rng(seed)
    return (g.random((n_a, 3, size, size)).astype(np.float32),
            (g.random((n_b, 3, size, size)) ** 2).astype(np.float32))


def test_upload_pair_holds_out_every_tenth_image():
    a, b = _sets()
    pair = R.upload_pair(a, b)
    assert len(pair.a_test) == 3 and len(pair.b_test) == 3
    np.testing.assert_array_equal(pair.a_test[1], a[10])
    assert len(pair.a_train) == 22 and pair.b_of_a_test is None and pair.y_a_test is None


def test_run_images_are_saved_checked_and_refused_when_changed(tmp_path):
    a, b = _sets()
    digest = R.save_run_images(tmp_path, a, b)
    a2, b2 = R.load_run_images(tmp_path, digest)
    np.testing.assert_array_equal(a2, a)
    np.testing.assert_array_equal(b2, b)
    with pytest.raises(CheckpointError, match="hash changed"):
        R.load_run_images(tmp_path, "0" * 16)
    with pytest.raises(CheckpointError, match="missing"):
        R.load_run_images(tmp_path / "nowhere", digest)
    (tmp_path / R.DATA_FILE).write_bytes(b"not an npz")
    with pytest.raises(CheckpointError, match="cannot be read"):
        R.load_run_images(tmp_path, digest)


def test_too_few_or_mismatched_uploads_are_refused_with_the_reason():
    a, b = _sets(n_a=5)
    with pytest.raises(ValueError, match="domain A has 5 readable images; upload at least 20"):
        R.training_spec(images_a=a, images_b=b, steps=10)
    a, _ = _sets()
    _, b = _sets(size=12)
    with pytest.raises(ValueError, match="one size"):
        R.training_spec(images_a=a, images_b=b, steps=10)


def test_train_on_uploads_as_a_job_then_resume_past_the_schedule():
    a, b = _sets(size=16)
    runner = ThreadRunner()
    spec = R.training_spec(images_a=a, images_b=b, steps=6, g_filters=4, n_blocks=1,
                           image_size=16, labels=("cats", "dogs"))
    assert spec.title == "CycleGAN cats ↔ dogs, 6 steps"
    job = runner.wait(runner.submit(spec), timeout=300)
    assert job.status == "done", job.error
    model = checkpoints.load(job.checkpoint)
    card = model.card_
    assert card["data"]["name"] == "upload" and card["data"]["domains"] == ["cats", "dogs"]
    assert card["metrics"]["n_a"] == 3 and "paired_error_ab" not in card["metrics"]
    assert job.previews and job.previews[0].ndim == 3  # rows: A, G_AB(A), B, G_BA(B)
    # the page measures the run on its own held-out images, read back from the run folder
    s = R.evaluate_cyclegan(model)
    assert s["pair"] == "upload" and s["cycle_l1_a"] == card["metrics"]["cycle_l1_a"]
    assert R.domain_labels(model) == ("cats", "dogs")
    # resume 4 more steps past the schedule's end (6): it becomes a 10-step run's
    more = runner.wait(runner.submit(spec.resume(job.checkpoint, 4)), timeout=300)
    assert more.status == "done", more.error
    resumed = checkpoints.load(more.checkpoint)
    assert resumed.step_ == 10
    assert (resumed.config.n_steps_constant, resumed.config.n_steps_decay) == (5, 5)
    assert resumed.lr_at(8) > 0 and resumed.lr_at(10) < resumed.lr_at(8)
    steps, _ = resumed.timelapse_frames()
    assert steps[0] == 0 and steps[-1] == 10


def test_step_time_estimate_is_measured():
    cfg = R.job_config(100, g_filters=4, n_blocks=1)
    assert cfg["n_steps_constant"] + cfg["n_steps_decay"] == 100
    assert cfg["timelapse_every"] * (cfg["timelapse_frames"] - 1) >= 100
    assert 0 < R.estimate_step_seconds(cfg, n=1) < 60


def test_translate_all_returns_translation_cycle_and_identity():
    pair = R.load_pair("photos")
    model = R.new_cyclegan(pair, **TINY)
    out = R.translate_all(model, pair.b_test[:3], "b")
    assert set(out) == {"input", "translation", "cycle", "identity"}
    np.testing.assert_allclose(out["translation"], model.translate_ba(
        torch.tensor(pair.b_test[:3])).numpy())
    np.testing.assert_allclose(out["identity"], model.translate_ab(
        torch.tensor(pair.b_test[:3])).numpy())
    with pytest.raises(ValueError, match="source"):
        R.translate_all(model, pair.b_test[:1], "c")


def test_thumbnail_is_a_home_card():
    img = R.thumbnail()
    assert img.size == (320, 200) and img.mode == "RGB"


# -- figures -------------------------------------------------------------------------------
def test_residual_known_answer_and_shape_check():
    x = np.zeros((3, 2, 2), np.float32)
    y = np.zeros((3, 2, 2), np.float32)
    y[:, 0, 0] = 0.3
    y[0, 1, 1] = 0.9
    r = viz.residual(x, y)
    assert r.shape == (2, 2)
    assert r[0, 0] == pytest.approx(0.6) and r[1, 1] == pytest.approx(0.6) and r[0, 1] == 0
    with pytest.raises(ValueError, match="differ in shape"):
        viz.residual(x, y[:, :1])


def test_image_rows_and_timelapse_image_sizes():
    img = viz.image_rows([np.zeros((3, 3, 4, 4)), np.ones((2, 4, 4))], pad=1)
    assert img.size == (3 * 5 + 1, 2 * 5 + 1)
    assert img.getpixel((1, 6)) == (255, 255, 255)  # a grey image in an RGB row
    frames = np.zeros((5, 2, 3, 4, 4), np.float32)
    t = viz.timelapse_image([0, 1, 2, 3, 4], frames, np.ones((2, 3, 4, 4)), scale=2, pad=1)
    assert t.width == 2 * (6 * 5 + 1)
    with pytest.raises(ValueError, match="steps"):
        viz.timelapse_image([0, 1], frames, np.ones((2, 3, 4, 4)))


def test_label_kept_bars_json():
    fig = viz.label_kept_bars([("model", 0.95, 0.5), ("PixelDA", 0.982, None)], 0.9)
    spec = json.loads(fig.to_json())
    assert [t["name"] for t in spec["data"]] == ["A → B", "B → A"]
    assert spec["data"][0]["y"] == [95.0, pytest.approx(98.2)]
    assert spec["data"][1]["y"] == [50.0, None]
    assert spec["layout"]["shapes"][0]["y0"] == 90.0


def test_display_order_shows_the_more_varied_half_of_photos_first():
    """Digits: a fixed shuffle. Photos and uploads: the same shuffle with the images whose pixels
    vary most (at or above the median spread) first, so the page opens on a textured patch."""
    rng = np.random.default_rng(0)
    flat = np.full((6, 3, 8, 8), 0.5, np.float32) + rng.normal(0, 0.01, (6, 3, 8, 8))
    busy = rng.random((6, 3, 8, 8)).astype(np.float32)
    x = np.concatenate([flat, busy])  # indices 6..11 are the varied ones
    order = R.display_order(12, x)
    assert sorted(order.tolist()) == list(range(12))
    assert set(order[:6].tolist()) == set(range(6, 12))
    shuffle = R.display_order(12).tolist()
    assert order[:6].tolist() == [i for i in shuffle if i >= 6]  # still in the fixed shuffle
    assert np.array_equal(R.display_order(12), R.display_order(12))
