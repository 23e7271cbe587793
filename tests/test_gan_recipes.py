"""The GAN family: registry record, the 2-D lab's state (live settings, single D/G updates,
what it draws), image helpers (samples, slerp, nearest training images), evaluation on known
cases, the train-on-demand job, and the page's figures."""

from __future__ import annotations

import json
import os
import threading
import time

import numpy as np
import pytest
import torch

from unsup import checkpoints, families
from unsup.data import toy2d
from unsup.jobs import ThreadRunner
from unsup.models import gan as G
from unsup.recipes import gan as R
from unsup.train import fit
from unsup.viz import gan as viz


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def ring_small():
    return toy2d.ring(n=2_048, seed=3)


def tiny_settings(**kw):
    return dict(dict(g_hidden=16, g_layers=2, d_hidden=16, d_layers=2, batch_size=64), **kw)


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _same(a, module):
    return all(torch.equal(x, y.detach()) for x, y in zip(a, module.parameters()))


# -- the registry record ---------------------------------------------------------------------
def test_the_gan_family_is_registered_with_its_page_and_presets():
    fam = families.get("gan")
    assert fam.kinds == ("gan2d", "dcgan", "pggan", "vaegan")
    assert families.model_class("dcgan") is G.DCGAN
    assert fam.page.key == "gan" and fam.page.ready and fam.page.order == 40
    names = {p.name for p in fam.presets}
    assert {"gan-ring-pac2", "gan-ring-collapse", "gan-grid-pac2", "dcgan-mnist-ns"} <= names
    for p in fam.presets:
        model, data, card = fam.build(p)
        assert model.kind == p.kind and len(data) > 0 and card["name"] == p.data
        if p.kind == "gan2d":
            assert card["n_modes"] == {"ring": 8, "grid": 25, "moons": 100}[p.data]
        else:
            assert tuple(data.shape[1:]) == (1, 28, 28) and float(data.max()) <= 1.0
            assert card["binarize"] is None  # GANs learn grey levels


# -- the 2-D lab -----------------------------------------------------------------------------
def test_lab_trains_like_fit(ring_small):
    """The lab's steps are fit's steps: same weights as a preset-style run of the settings."""
    lab = R.Lab2D(ring_small, **tiny_settings())
    lab.train(7)
    lab.train(5)
    ref = G.Toy2DGAN(G.Toy2DGANConfig(**tiny_settings()))
    fit(ref, ring_small, steps=12, device="cpu")
    assert lab.step == 12 and lab.d_updates == 12 and lab.g_updates == 12
    for a, b in zip(lab.model.state_dict().values(), ref.state_dict().values()):
        assert torch.equal(a, b)
    assert lab.steps_per_second and lab.steps_per_second > 0
    assert {"d_loss", "g_loss"} <= set(lab.history[-1])


def test_lab_one_d_update_moves_only_d_and_one_g_update_only_g(ring_small):
    lab = R.Lab2D(ring_small, **tiny_settings())
    g0, d0 = _params(lab.model.generator), _params(lab.model.discriminator)
    before = lab.view()
    lab.d_step()
    assert _same(g0, lab.model.generator) and not _same(d0, lab.model.discriminator)
    after_d = lab.view()
    assert np.array_equal(before["fake"], after_d["fake"])  # G's points did not move
    assert not np.array_equal(before["heat"], after_d["heat"])  # D's verdict did
    d1 = _params(lab.model.discriminator)
    lab.g_step()
    assert _same(d1, lab.model.discriminator) and not _same(g0, lab.model.generator)
    after_g = lab.view()
    assert np.array_equal(after_d["heat"], after_g["heat"])
    assert not np.array_equal(after_d["fake"], after_g["fake"])
    assert (lab.d_updates, lab.g_updates, lab.step) == (1, 1, 0)


def test_lab_settings_apply_live_or_restart(ring_small):
    lab = R.Lab2D(ring_small, **tiny_settings())
    lab.train(3)
    assert lab.apply(lr_g=1e-3, lr_d=2e-3, d_steps=2, loss="wgan-gp") is False
    assert lab.step == 3  # kept training state
    assert lab.model._opt_g.param_groups[0]["lr"] == 1e-3
    assert lab.model._opt_d.param_groups[0]["lr"] == 2e-3
    lab.train(2)
    assert lab.d_updates == 3 + 2 * 2 and lab.step == 5
    assert lab.apply(optimizer="sgd") is False
    lab.train(1)
    assert isinstance(lab.model._opt_d, torch.optim.SGD)
    assert lab.apply(g_hidden=8) is True and lab.step == 0  # new networks
    assert lab.model.generator[0].out_features == 8
    assert lab.apply(loss="began") is True  # BEGAN's D is an autoencoder
    with pytest.raises(ValueError, match="choose one of"):
        lab.apply(loss="hinge")
    with pytest.raises(ValueError, match="minibatch_features=0"):
        lab.apply(minibatch_features=4)  # with BEGAN
    with pytest.raises(ValueError, match="unknown lab setting"):
        lab.apply(colour="red")
    assert lab.config.loss == "began"  # a refused change leaves the lab as it was


def test_lab_minibatch_discrimination_can_switch_to_a_gradient_penalty(ring_small):
    lab = R.Lab2D(ring_small, **tiny_settings(minibatch_features=3))
    lab.train(2)
    lab.apply(loss="dragan")  # needs the twice-differentiable minibatch layer
    out = lab.train(2)
    assert np.isfinite(out["gp"])


def test_lab_view_is_what_the_canvas_needs(ring_small):
    lab = R.Lab2D(ring_small, **tiny_settings(pack=2))
    v = lab.view(grid=20, lines=5, line_points=12, n_arrows=30)
    assert v["heat"].shape == (20, 20) and v["heat_range"] == (0.0, 1.0)
    assert 0.0 <= v["heat"].min() and v["heat"].max() <= 1.0  # NS: D(x) is a probability
    assert v["manifold"].shape == (10, 12, 2)
    assert v["arrow_points"].shape == v["arrow_vectors"].shape == (30, 2)
    assert v["real"].shape == (R.Lab2D.N_VIEW, 2) and v["fake"].shape == (R.Lab2D.N_VIEW, 2)
    x0, x1, y0, y1 = v["extent"]
    assert x0 < -1.0 and x1 > 1.0 and y0 < -1.0 and y1 > 1.0  # the ring fits
    # the manifold's first line is G along z_1 from -2.5 to 2.5 at z_2 = -2.5
    z = torch.stack([torch.linspace(-2.5, 2.5, 12), torch.full((12,), -2.5)], 1)
    assert np.allclose(v["manifold"][0], R.decode(lab.model, z).numpy(), atol=1e-6)
    lab.apply(loss="wgan")
    label, rng = R.heat_meaning("wgan")
    assert rng is None and "critic" in label


def test_lab_trains_in_a_thread_whose_gradients_are_off(ring_small):
    """The pages' model loader turns gradients off for its thread; the lab must still train."""
    lab = R.Lab2D(ring_small, **tiny_settings())
    with torch.no_grad():
        lab.train(2)
        lab.d_step()
        lab.g_step()
        v = lab.view()
        assert np.abs(v["arrow_vectors"]).sum() > 0
        assert R.estimate_step_seconds("gan2d", "ring", tiny_settings()) > 0
    assert lab.step == 2


def test_lab_from_a_model_continues_it(ring_small):
    m = G.Toy2DGAN(G.Toy2DGANConfig(**tiny_settings(pack=2)))
    fit(m, ring_small, steps=4, device="cpu")
    lab = R.Lab2D.from_model(m, ring_small)
    assert lab.step == 4 and lab.config.pack == 2
    assert np.array_equal(lab.view()["fake"], R.decode(m, lab.z_view).numpy())
    lab.train(1)
    assert m.step_ == 4  # the original is not touched


# -- the lab's background trainer (issue 21, parts 1 and 15) ------------------------------------
def _wait_for(cond, timeout: float = 120.0) -> None:
    """Wait for a state (generous deadline: the machine may be loaded)."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "the state was not reached"
        time.sleep(0.01)


def _hammer(lab, rounds: int) -> None:
    """What the page does while the lab trains: change settings (live ones, and one that
    rebuilds the networks), read the view and the modes, make single updates."""
    losses = ("mm", "wgan-gp", "ls", "dragan", "wgan", "ns")
    for i in range(rounds):
        lab.apply(loss=losses[i % len(losses)], lr_g=(1e-3, 5e-4)[i % 2], d_steps=1 + i % 2,
                  optimizer=("adam", "rmsprop")[(i // 6) % 2])
        if i % 25 == 24:
            lab.apply(g_hidden=(16, 8)[(i // 25) % 2])  # new networks mid-training
        lab.view(grid=12, lines=3, line_points=5, n_arrows=10)
        lab.stats(n=200)
        (lab.d_step, lab.g_step, lambda: lab.train(1))[i % 3]()


def test_lab_calls_from_two_threads_interleave_safely(ring_small):
    """Issue 21.1: the app's rerun (applying a changed loss) and the auto-refreshing canvas
    trained the same model at once: "a tensor modified in place during backward". Every call
    takes the lab's lock, so a thread that trains and one that changes settings, draws and
    single-steps never meet inside a step."""
    lab = R.Lab2D(ring_small, **tiny_settings())
    errors: list[BaseException] = []
    stop = threading.Event()

    def trainer():
        try:
            while not stop.is_set():
                lab.train(2)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    t = threading.Thread(target=trainer, daemon=True)
    t.start()
    try:
        _hammer(lab, 150)
    finally:
        stop.set()
        t.join(60)
    assert not errors, errors
    assert lab.step > 0 and lab.d_updates > 0


def test_lab_background_trainer_and_page_calls_interleave_safely(ring_small):
    """The same with the lab's own trainer thread (Play): settings apply between its chunks;
    it keeps training through them and reports no error."""
    lab = R.Lab2D(ring_small, **tiny_settings())
    lab.play()
    try:
        _wait_for(lambda: lab.play() and lab.step > 0)
        for _ in range(3):
            lab.play()  # the page's heartbeat
            _hammer(lab, 50)
        assert lab.error is None and lab.playing
        before = lab.step
        _wait_for(lambda: lab.play() and lab.step > before)  # still training after all that
        snap = lab.snapshot()
        assert snap["playing"] and snap["step"] >= before and snap["config"] == lab.config
        assert snap["view"]["heat"].shape == (48, 48) and snap["stats"]["n_modes"] == 8
    finally:
        lab.pause()


def test_pausing_stops_the_lab_thread_and_so_does_a_silent_page(ring_small):
    lab = R.Lab2D(ring_small, **tiny_settings())
    assert not lab.playing
    lab.play()
    thread = lab._thread
    _wait_for(lambda: lab.play() and lab.step >= 3 and lab.steps_per_second is not None)
    if hasattr(os, "getpriority"):  # a lower priority than the page's threads, as jobs have
        from unsup.jobs import JOB_NICENESS

        assert os.getpriority(os.PRIO_PROCESS, thread.native_id) >= JOB_NICENESS
    lab.pause()
    assert not lab.playing and not thread.is_alive()
    step = lab.step
    lab.view()
    time.sleep(0.3)
    assert lab.step == step  # nothing trains after Pause
    # an abandoned tab: no heartbeat for HEARTBEAT_S and the thread ends by itself
    lab.HEARTBEAT_S = 0.5
    lab.play()
    thread = lab._thread
    _wait_for(lambda: not thread.is_alive())
    assert not lab.playing
    lab.play()  # the page is back: training goes on
    assert lab.playing
    lab.pause()


def test_a_diverged_loss_stops_the_lab_thread_with_its_reason(ring_small, monkeypatch):
    from unsup.train import DivergedError

    lab = R.Lab2D(ring_small, **tiny_settings())

    def diverge(n):
        raise DivergedError("training diverged at step 1 (a loss became nan)")

    monkeypatch.setattr(lab, "_train", diverge)
    lab.play()
    _wait_for(lambda: not lab.playing)
    assert "diverged" in lab.error and lab.snapshot()["error"] == lab.error
    assert lab.play() is False and not lab.playing  # not again with the same settings
    monkeypatch.undo()
    lab.apply(lr_g=1e-4)  # a change clears it
    assert lab.error is None and lab.play() is True
    lab.pause()


def test_lab_calls_compute_with_one_torch_thread_and_restore_the_count(ring_small, monkeypatch):
    """Issue 21.15: "One step" took 8.7 s on a loaded machine: with two OpenMP threads on two
    busy cores, one step of this small network took seconds. A page call computes with one
    thread and gives the caller its own count back."""
    lab = R.Lab2D(ring_small, **tiny_settings())
    seen = []
    train = lab._train
    monkeypatch.setattr(lab, "_train", lambda n: (seen.append(torch.get_num_threads()),
                                                  train(n))[1])
    torch.set_num_threads(2)
    lab.train(1)
    assert seen == [1] and torch.get_num_threads() == 2


def test_the_lab_speed_limit_holds(ring_small):
    lab = R.Lab2D(ring_small, **tiny_settings())
    lab.speed_limit = 20.0
    lab.play()
    try:
        _wait_for(lambda: lab.play() and lab.step >= 1)
        t0, s0 = time.monotonic(), lab.step
        time.sleep(1.0)
        lab.play()
        rate = (lab.step - s0) / (time.monotonic() - t0)
        assert rate <= 20.0 * 1.5 + 2  # a cap, not a speed claim
    finally:
        lab.pause()


def test_evaluate_2d_counts_modes_of_a_known_generator():
    """A generator collapsed by construction: G maps every z to one ring mode."""
    ring = toy2d.ring(n=64)
    m = G.Toy2DGAN(G.Toy2DGANConfig.tiny())
    with torch.no_grad():
        for p in m.generator.parameters():
            p.zero_()
        m.generator[-1].bias.copy_(torch.tensor(ring.means[2], dtype=torch.float32))
    out = R.evaluate_2d(m, ring)
    assert out["modes"] == 1 and out["modes_any"] == 1 and out["hq"] == 1.0
    assert out["extra_metrics"]["mode_counts"][2] == 2_500


def test_the_card_evaluation_measures_every_sampled_metric_over_three_noise_seeds():
    """Issue 21.17: what training writes in a card (the family's ``evaluate``) is the mean over
    the evaluation's noise seeds, each seed's value kept beside it."""
    m = G.Toy2DGAN(G.Toy2DGANConfig.tiny())
    m.card_ = {"data": {"name": "ring"}}
    out = R.evaluate(m)
    assert out["seeds"] == list(R.EVAL_SEEDS) and len(R.EVAL_SEEDS) >= 3
    for key in R.SAMPLED_2D:
        values = out["per_seed"][key]
        assert len(values) == 3 and out[key] == pytest.approx(np.mean(values), abs=0.01)
    one = [R.evaluate_2d(m, seed=s)["hq"] for s in R.EVAL_SEEDS]
    assert out["per_seed"]["hq"] == [round(v, 4) for v in one]


# -- images --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_dcgan():
    torch.manual_seed(0)
    return G.DCGAN(G.DCGANConfig(width=4, n_latent=8, batch_size=8))


def test_samples_are_seeded_and_chunking_changes_nothing(tiny_dcgan):
    a = R.samples(tiny_dcgan, 12, seed=5, chunk=5)
    b = R.samples(tiny_dcgan, 12, seed=5, chunk=500)
    assert a.shape == (12, 1, 28, 28) and torch.allclose(a, b, atol=1e-6)
    assert torch.allclose(R.samples(tiny_dcgan, 3, seed=5), a[:3], atol=1e-6)
    assert not torch.allclose(R.samples(tiny_dcgan, 3, seed=6), a[:3])


def test_slerp_strip_runs_between_the_two_seeds(tiny_dcgan):
    strip = R.slerp_strip(tiny_dcgan, 1, 2, n=5)
    ends = R.decode(tiny_dcgan, R.seed_noise(tiny_dcgan, [1, 2]))
    assert strip.shape == (5, 1, 28, 28)
    assert torch.allclose(strip[0], ends[0], atol=1e-5) and torch.allclose(strip[-1], ends[1],
                                                                            atol=1e-5)


def test_nearest_training_finds_a_copy():
    train = torch.rand(50, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    query = train[[7, 31]] + 0.001
    idx, dist = R.nearest_training(query, train, k=3)
    assert idx.shape == dist.shape == (2, 3)
    assert list(idx[:, 0]) == [7, 31] and (dist[:, 0] < 0.01).all()
    assert (np.diff(dist, axis=1) >= 0).all()


@pytest.mark.slow
def test_image_metrics_separate_noise_from_real_digits(tiny_dcgan):
    """An untrained generator is far from the test digits; the real training digits (the
    floor) are close, and every number is in its range."""
    out = R.evaluate_images(tiny_dcgan, n=4_500, seed=R.EVAL_SEED)  # one draw of noise
    floor = R.real_floor("mnist")
    assert out["fd_floor"] == floor["fd"] and floor["fd"] < out["fd"]
    assert out["fd_ratio"] == pytest.approx(out["fd"] / floor["fd"], rel=1e-3)
    assert floor["precision"] > 0.5 and floor["recall"] > 0.5
    assert out["n_compared"] == 4_500 and out["n_reference"] == 500
    assert 0.0 <= out["precision"] <= 1.0 and 0.0 <= out["recall"] <= 1.0
    shares = out["extra_metrics"]["digit_shares"]
    assert len(shares) == 10 and sum(shares) == pytest.approx(1.0, abs=1e-3)
    assert out["classes_covered"] == sum(s > 0 for s in shares)


# -- train on demand -------------------------------------------------------------------------------
def test_a_2d_training_job_saves_a_measured_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    spec = R.training_spec(kind="gan2d", loss="ls", steps=40, data="grid", pack=2,
                           g_hidden=16, d_hidden=16, batch_size=64)
    assert "LS GAN" in spec.title and "grid" in spec.title
    runner = ThreadRunner()
    snap = runner.wait(runner.submit(spec), timeout=120)
    assert snap.status == "done", snap.error
    assert snap.previews and snap.previews[0].shape == (96, 96)
    model = checkpoints.load(snap.checkpoint)
    assert model.step_ == 40 and model.config.pack == 2 and model.config.loss == "ls"
    m = model.card_["metrics"]
    assert m["n_modes"] == 25 and 0 <= m["modes"] <= 25 and 0.0 <= m["hq"] <= 1.0
    again = R.training_spec(steps=10, resume=snap.checkpoint)
    snap2 = runner.wait(runner.submit(again), timeout=120)
    assert snap2.status == "done" and checkpoints.load(snap2.checkpoint).step_ == 50


def test_a_job_on_clicked_points_keeps_them(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    pts = [[0.0, 0.0], [1.0, 1.0], [-1.0, 0.5]]
    spec = R.training_spec(kind="gan2d", steps=10, data="points", points=pts, g_hidden=8,
                           d_hidden=8, batch_size=32)
    runner = ThreadRunner()
    snap = runner.wait(runner.submit(spec), timeout=120)
    assert snap.status == "done", snap.error
    card = checkpoints.load(snap.checkpoint).card_
    assert card["data"]["name"] == "points" and card["data"]["means"] == pts
    assert card["metrics"]["n_modes"] == 3


def test_bad_clicked_points_are_refused_with_what_to_do():
    with pytest.raises(ValueError, match="click at least one point"):
        R.training_spec(kind="gan2d", data="points", points=[])
    with pytest.raises(KeyError):
        R.training_spec(kind="gan2d", loss="hinge")


def test_dcgan_job_on_8x8_digits(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    spec = R.training_spec(kind="dcgan", loss="wgan-gp", steps=6, data="digits8", width=4,
                           batch_size=16)
    runner = ThreadRunner()
    snap = runner.wait(runner.submit(spec), timeout=300)
    assert snap.status == "done", snap.error
    model = checkpoints.load(snap.checkpoint)
    assert model.config.image_size == 8 and model.config.d_steps == 5  # WGAN-GP's recipe
    assert model.config.beta2 == 0.9 and len(snap.previews) == 16
    assert model.card_["metrics"]["heldout"].startswith("the digits8 test split")


def test_gan_job_on_uploaded_images_keeps_them_and_measures_on_the_held_out_tenth(
        tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    rng = np.random.default_rng(0)
    images = (rng.random((30, 3, 32, 32)) > 0.5).astype(np.float32)  # colour, 32 px
    spec = R.training_spec(kind="dcgan", loss="ns", steps=4, data="upload", images=images,
                           data_label="my squares", width=4, batch_size=8)
    runner = ThreadRunner()
    snap = runner.wait(runner.submit(spec), timeout=300)
    assert snap.status == "done", snap.error
    model = checkpoints.load(snap.checkpoint)
    assert (model.config.image_size, model.config.n_channels) == (32, 3)
    card = model.card_
    assert card["data"]["name"] == "upload" and card["data"]["n_train"] == 27
    assert card["metrics"]["n_heldout"] == 3 and card["metrics"]["fd_heldout"] > 0
    assert (snap.run_dir / "data.npz").exists()  # the images stay with the run
    assert snap.previews[0].shape == (32, 32, 3)
    more = R.training_spec(steps=2, resume=snap.checkpoint)  # resumes on the same images
    snap2 = runner.wait(runner.submit(more), timeout=300)
    assert snap2.status == "done", snap2.error
    assert checkpoints.load(snap2.checkpoint).step_ == 6


def test_bad_uploaded_image_sets_are_refused():
    with pytest.raises(ValueError, match="at least 10 images"):
        R.training_spec(kind="dcgan", images=np.zeros((5, 1, 28, 28), np.float32))
    with pytest.raises(ValueError, match="28, 32"):
        R.training_spec(kind="dcgan", images=np.zeros((20, 1, 64, 64), np.float32))
    with pytest.raises(ValueError, match="2-D GAN"):
        R.training_spec(kind="gan2d", images=np.zeros((20, 1, 28, 28), np.float32))


def test_timelapse_appends_the_final_samples_and_frontier_measures_three_models():
    from unsup.models.gan_variants import VAEGAN, VAEGANConfig

    m = R.make_model("dcgan", **R.job_config("dcgan", "ns", "mnist", width=4, batch_size=8,
                                                 timelapse_frames=5, timelapse_every=2))
    fit(m, R.image_data("mnist"), steps=3, device="cpu")
    steps, frames = R.timelapse(m)
    assert steps == [0, 2, 3] and frames.shape[:2] == (3, 16)
    assert R.timelapse(R.make_model("dcgan", width=4))[0] == []
    assert R.sharpness(torch.zeros(2, 1, 8, 8)) == 0.0
    assert R.sharpness(torch.ones(1, 1, 4, 4).triu()) > 0
    v = VAEGAN(VAEGANConfig(width=4, batch_size=8))
    out = R.frontier(None, m, v, n=600)
    assert list(out) == ["GAN", "VAE-GAN", "real test digits"]
    assert "recon_l1" in out["VAE-GAN"] and "recon_l1" not in out["GAN"]
    assert out["GAN"]["fd"] > out["real test digits"]["fd"]


def test_estimate_is_measured_per_config():
    fast = R.estimate_step_seconds("gan2d", "ring", R.job_config("gan2d", "ns", "ring",
                                                                 g_hidden=8, d_hidden=8,
                                                                 batch_size=32))
    slow = R.estimate_step_seconds("dcgan", "mnist", R.job_config("dcgan", "wgan-gp", "mnist",
                                                                  width=16))
    assert 0 < fast < slow  # five critic steps with a penalty on 28x28 images cost more


# -- figures ---------------------------------------------------------------------------------------
def test_lab_figure_draws_the_layers_asked_for():
    ext = (-2.0, 2.0, -2.0, 2.0)
    pts = np.random.default_rng(0).normal(size=(30, 2))
    fig = viz.lab_figure(extent=ext, real=pts, fake=pts + 1, heat=np.zeros((8, 8)),
                         heat_range=(0, 1), manifold=np.zeros((4, 5, 2)),
                         arrows=viz.arrow_segments(pts, pts, 0.5), means=[[0, 0]], sigma=0.1)
    names = [t.name for t in fig.data]
    assert names[:5] == ["D", "G(input grid)", "real", "generated", "G's gradient"]
    assert len(fig.layout.shapes) == 1  # the 3σ circle of the one mode
    only = viz.lab_figure(extent=ext, real=pts)
    assert [t.name for t in only.data] == ["real"]
    json.loads(fig.to_json())


def test_arrows_keep_direction_and_scale_to_the_longest():
    seg = viz.arrow_segments([[0, 0], [1, 1]], [[3, 4], [0, -1]], length=0.5)
    assert seg.shape == (2, 2, 2)
    assert np.allclose(seg[0, 1], [0.3, 0.4]) and np.allclose(seg[1, 1], [1, 0.9])
    assert np.allclose(viz.arrow_segments([[0, 0]], [[0, 0]], 1.0)[0, 1], [0, 0])


def test_histogram_and_mode_bars():
    fig = viz.digit_histogram([0.1] * 9 + [0.1], 10_000, floor=0.04)
    assert len(fig.data[0].y) == 10 and fig.data[0].y[0] == pytest.approx(10.0)
    bars = viz.mode_bars([30, 5, 0], [True, False, False], 20)
    assert list(bars.data[0].y) == [30, 5, 0]
    assert bars.data[0].marker.color[0] != bars.data[0].marker.color[1]
    assert "steps/s" in viz.speed_text(120.0, 4.5)


def test_thumbnail_is_a_card_image():
    from unsup import paths

    if not checkpoints.weights_path(paths.SHIPPED_DIR / "gan-ring-pac2").exists():
        pytest.skip("no shipped 2-D GAN yet")
    img = R.thumbnail()
    assert img.size == (320, 200)
