"""Normalizing flows (issue 23, part 1): the 2-D flow's density is exact (it matches the change of
variables computed by brute force, and integrates to 1), the flow inverts, training resumes
exactly, the shipped flows meet the held-out targets, and the page works."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from unsup import checkpoints, paths
from unsup.data import toy2d
from unsup.models.flow2d import Flow2D, Flow2DConfig, mixture_log_prob
from unsup.recipes import flows as R
from unsup.train import fit

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def trained_tiny():
    """A tiny flow trained 60 steps on the ring (its splines are no longer the identity)."""
    data = toy2d.ring(n=2_000)
    model = R.make_model(data, **vars(Flow2DConfig.tiny()))
    fit(model, data, steps=60, device="cpu", log_every=60)
    return model, data


def test_the_density_is_the_change_of_variables_computed_by_brute_force(trained_tiny):
    model, data = trained_tiny
    x = torch.from_numpy(data.sample(8, seed=3)).double()
    model = model.double()
    try:
        for xi in x:
            jac = torch.autograd.functional.jacobian(lambda v: model.encode(v[None])[0], xi)
            z = model.encode(xi[None])[0]
            brute = (-0.5 * (z ** 2).sum() - np.log(2 * np.pi) + torch.linalg.slogdet(jac)[1])
            assert float(model.log_prob(xi[None])[0]) == pytest.approx(float(brute), abs=1e-6)
    finally:
        model.float()


def test_the_density_integrates_to_one(trained_tiny):
    model, data = trained_tiny
    ext = (-3.0, 3.0, -3.0, 3.0)  # the flow's mass sits around the ring of radius 1
    n = 600
    dens = model.density_grid(ext, n)
    cell = (6.0 / (n - 1)) ** 2
    assert dens.sum() * cell == pytest.approx(1.0, abs=0.02)


def test_the_flow_inverts(trained_tiny):
    model, data = trained_tiny
    x = torch.from_numpy(data.sample(1_000, seed=5))
    with torch.no_grad():
        assert float((model.decode(model.encode(x)) - x).abs().max()) <= 1e-4
        z = torch.randn(1_000, 2, generator=torch.Generator().manual_seed(0))
        assert float((model.encode(model.decode(z)) - z).abs().max()) <= 1e-3


def test_the_layers_end_where_sampling_ends(trained_tiny):
    model, _ = trained_tiny
    z = R.base_grid(5, 10)
    stages = model.layers(z)
    assert len(stages) == model.config.transforms + 1
    with torch.no_grad():
        assert torch.allclose(stages[-1], model.decode(z), atol=1e-5)
    assert torch.allclose(stages[0], z * model.spread + model.center)


def test_a_stopped_and_resumed_fit_equals_an_uninterrupted_one(tmp_path):
    data = toy2d.grid(n=2_000)
    straight = R.make_model(data, **vars(Flow2DConfig.tiny()))
    fit(straight, data, steps=30, device="cpu", log_every=30)
    first = R.make_model(data, **vars(Flow2DConfig.tiny()))
    fit(first, data, steps=18, device="cpu", log_every=18)
    path = checkpoints.save(first, tmp_path / "flow", checkpoints.make_card(first, step=18))
    again = checkpoints.load(path, optimizer=True)
    fit(again, data, steps=12, device="cpu", log_every=12)
    for a, b in zip(straight.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)


def test_the_true_mixture_density_is_normalised():
    means = toy2d.grid_means()
    xx, yy = np.meshgrid(np.linspace(-5, 5, 401), np.linspace(-5, 5, 401))
    p = np.exp(mixture_log_prob(np.stack([xx.ravel(), yy.ravel()], 1), means, 0.05))
    assert p.sum() * (10 / 400) ** 2 == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("name, seed", [("flow-ring", 0), ("flow-grid", 1)])
def test_shipped_flows_meet_the_held_out_targets(name, seed):
    """Issue 23's targets for the 2-D flows: every mode covered (the GAN lab's protocol) and
    the held-out log-likelihood within 0.5 nats a point of the true density's; one evaluation
    seed recomputed and checked against the card."""
    from conftest import one_seed_matches_the_card

    if not checkpoints.weights_path(paths.SHIPPED_DIR / name).exists():
        pytest.skip(f"{name} is not shipped (python -m unsup train {name})")
    model = checkpoints.load(paths.SHIPPED_DIR / name)
    card = model.card_["metrics"]
    data = R.mixture_of(model)
    again = R.evaluate(model, data, seeds=(seed,))
    m = one_seed_matches_the_card(card, again, seed, ("ll", "ll_true", "gap", "hq"),
                                  rel=1e-4, abs_tol=2e-4)
    assert m["modes"] == m["n_modes"] == len(data.means)
    assert 0 <= m["gap"] <= 0.5 and max(m["per_seed"]["gap"]) <= 0.5
    assert model.card_["command"] == f"python -m unsup train {name} --out checkpoints"


def test_two_moons_are_a_known_density_and_the_shipped_flow_fits_them():
    """Two moons (issue 23, part 1's third toy set), as a mixture along scikit-learn's arcs: its
    points lie on the arcs within the noise, and the shipped flow's held-out log-likelihood is
    within 0.5 nats a point of the true density's (one evaluation seed against the card)."""
    from conftest import one_seed_matches_the_card

    from unsup.data import toy2d

    d = toy2d.moons(n=4_000)
    x = d.points
    r_up = np.hypot(x[:, 0], x[:, 1])
    r_lo = np.hypot(x[:, 0] - 1.0, x[:, 1] - 0.5)
    dist = np.minimum(np.abs(r_up - 1.0), np.abs(r_lo - 1.0))
    assert np.median(dist) < 0.1 and len(d.means) == 100
    if not checkpoints.weights_path(paths.SHIPPED_DIR / "flow-moons").exists():
        pytest.skip("flow-moons is not shipped (python -m unsup train flow-moons)")
    model = checkpoints.load(paths.SHIPPED_DIR / "flow-moons")
    card = model.card_["metrics"]
    again = R.evaluate(model, R.mixture_of(model), seeds=(0,))
    m = one_seed_matches_the_card(card, again, 0, ("ll", "ll_true", "gap", "hq"),
                                  rel=1e-4, abs_tol=2e-4)
    assert 0 <= m["gap"] <= 0.5 and m["hq"] >= 0.9
    assert model.card_["command"] == "python -m unsup train flow-moons --out checkpoints"


# -- the page -----------------------------------------------------------------------------------
def run_page(section: str | None = None, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "flows.py"), default_timeout=120)
    if section:
        at.session_state["fl_section"] = section
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_page_opens_on_the_shipped_ring_flow_with_its_numbers():
    if not checkpoints.weights_path(paths.SHIPPED_DIR / "flow-ring").exists():
        pytest.skip("flow-ring is not shipped")
    at = run_page()
    spec = at.get("plotly_chart")[0].proto.spec
    assert "log p(x)" in spec and "flow samples" in spec
    labels = [m.label for m in at.metric]
    assert "Held-out log-likelihood" in labels and "Gap to the true density" in labels
    card = checkpoints.find("flow-ring").card["metrics"]
    gap = next(m for m in at.metric if m.label == "Gap to the true density").value
    assert gap.startswith(f"{card['gap']:.3f}")
    table = at.dataframe[0].value
    assert len(table) == 2 and "gan-ring-pac2" in table["model"].iloc[1]
    assert any("the GAN covers" in c.value for c in at.caption)


def test_the_layer_slider_moves_the_grid():
    if not checkpoints.weights_path(paths.SHIPPED_DIR / "flow-ring").exists():
        pytest.skip("flow-ring is not shipped")
    at = run_page()
    full = at.get("plotly_chart")[0].proto.spec
    at.slider(key="fl_stage").set_value(0).run()
    assert not at.exception, at.exception
    assert at.get("plotly_chart")[0].proto.spec != full
    assert any("0 of 6 transforms" in c.value for c in at.caption)


def test_the_train_section_trains_a_flow_in_the_background(monkeypatch):
    from unsup.jobs import get_runner

    at = run_page("Train")
    assert at.button(key="ft_start")
    at.session_state["ft_steps"] = 60
    at.button(key="ft_start").click().run()
    assert not at.exception, at.exception
    job = get_runner().list()[-1]
    snap = get_runner().wait(job.id, 180)
    assert snap.status == "done", snap.error
    card = checkpoints.read_card(snap.checkpoint)
    assert card["kind"] == "flow2d" and "gap" in card["metrics"]


def test_typed_points_that_are_not_numbers_get_a_message():
    at = run_page("Train", ft_data="points", ft_points="0, 0\nabc")
    assert any("Line 2" in e.value for e in at.error)


def test_the_glow_preset_builds_trains_and_is_measured_on_held_out_digits():
    """Issue 23, part 2 (started): the Glow preset trains on the 8-bit MNIST training digits
    through fit and is measured on the 500 held-out ones (exact bits/dim) and on samples at
    T = 0.7 read by the digit classifier."""
    preset = R.FAMILY.preset("glow-mnist")
    model, x, card = R.build(preset)
    assert x.shape == (4_500, 1, 28, 28) and len(torch.unique(x)) > 2  # grey, not binarized
    assert card["name"] == "mnist"
    fit(model, x, steps=2, device="cpu", log_every=2)
    m = R.evaluate_glow(model, seeds=(0,), n=50)
    assert 0 < m["bpd"] < 12 and 0 <= m["readable"] <= 1 and 1 <= m["classes_covered"] <= 10
    assert m["per_seed"]["bpd"] == [m["bpd"]] and m["n_heldout"] == 500
    assert R.evaluate(model)["bpd"] > 0  # the family's evaluate dispatches on the model


# -- the live section ----------------------------------------------------------------------------
def _wait(cond, timeout: float = 120.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "the state was not reached"
        time.sleep(0.02)


def _caption(at) -> str:
    return at.get("image")[0].proto.imgs[0].caption


def _caption_step(at) -> int:
    return int(_caption(at).split("step ")[1].split(" ")[0].replace(",", ""))


def test_live_section_steps_plays_and_pauses():
    """Issue 23, part 1: a flow fitted as you watch — ten steps at a click, Play trains in the
    background while the canvas only draws, the held-out log-likelihood is tracked against the
    true density's, Play off stops it, new settings start a new flow."""
    at = run_page("Live", fv_t=2, fv_h=16)
    live = at.session_state["fv_live"]
    assert live.step == 0 and _caption_step(at) == 0
    at.button(key="fv_steps").click().run()
    assert not at.exception, at.exception
    assert live.step == 10 and _caption_step(at) == 10
    metric = next(m for m in at.metric if m.label == "Held-out log-likelihood")
    assert "vs the true density" in metric.delta
    at.session_state["fv_play"] = True
    at.run()
    try:
        assert live.playing
        _wait(lambda: live.play() and live.step > 30 and live.snapshot()["view_step"] > 10)
        at.run()  # a canvas tick draws what the thread trained
        assert not at.exception, at.exception
        assert _caption_step(at) > 10 and "training steps/s" in _caption(at)
    finally:
        at.session_state["fv_play"] = False
        at.run()
    assert not live.playing
    step = live.step
    import time

    time.sleep(0.3)
    assert live.step == step
    at.session_state["fv_h"] = 32
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["fv_live"] is not live and at.session_state["fv_live"].step == 0


# -- the Glow section ------------------------------------------------------------------------------
@pytest.fixture
def a_small_glow(tmp_path, monkeypatch):
    """A small 28×28 Glow (1 step per level), trained 3 steps and measured, as a user run."""
    from unsup.models.glow import Glow, GlowConfig

    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path / "runs"))
    x = R.glow_train_images()[:256]
    model = Glow(GlowConfig(image_size=28, n_levels=2, n_steps=1, hidden=8, batch_size=32))
    fit(model, x, steps=3, device="cpu", log_every=3)
    metrics = R.evaluate_glow(model, seeds=(0,), n=40)
    run = tmp_path / "runs" / "20261206-000000-small-glow"
    checkpoints.save(model, run / "model", checkpoints.make_card(
        model, step=3, title="small Glow", metrics=metrics, extra={"name": run.name}))
    return run


def test_the_glow_section_samples_and_interpolates(a_small_glow):
    at = run_page("Glow")
    assert [m.label for m in at.metric][:3] == ["Held-out bits/dim", "Readable samples",
                                                "Digit classes in the samples"]
    images = at.get("image")
    assert len(images) == 2  # samples, the interpolation
    at.slider(key="gw_temp").set_value(0.3).run()
    assert not at.exception, at.exception
    assert "T = 0.30" in at.get("image")[0].proto.imgs[0].caption


def test_encode_shows_the_round_trip_and_offers_to_find_directions(a_small_glow):
    """A user's Glow with no stored analysis: the round trip of a held-out digit is shown with
    its error (invertibility made visible); the directions are offered as a background job."""
    mine = [e.name for e in checkpoints.list_models("glow") if e.source != "shipped"]
    assert len(mine) == 1
    at = run_page("Encode & edit", gw_model=mine[0])
    err = [m for m in at.metric if m.label == "Largest pixel error of the round trip"]
    assert float(err[0].value) <= 1e-4
    assert "gw_analyse" in [b.key for b in at.button]


def test_encode_moves_a_digit_along_thickness_on_the_shipped_glow():
    """The shipped Glow's stored directions: moving the digit along "thickness" (α = 1) makes
    the measured stroke thicker, as the caption computed from the images says."""
    if not checkpoints.weights_path(paths.SHIPPED_DIR / "glow-mnist").exists():
        pytest.skip("glow-mnist is not shipped")
    from unsup.recipes import flows as R
    from unsup.recipes import glow_analysis as A

    at = run_page("Encode & edit")
    assert "gw_analyse" not in [b.key for b in at.button]
    caps = [i.proto.imgs[0].caption for i in at.get("image")]
    assert any(c.startswith("Along thickness") for c in caps) and any(
        c.startswith("Along slant") for c in caps)
    # what the strip shows, recomputed: thicker from α = -1 to α = +1
    model = checkpoints.load(paths.SHIPPED_DIR / "glow-mnist")
    found = A.stored(checkpoints.weights_path(paths.SHIPPED_DIR / "glow-mnist"))
    imgs, _ = A.move(model, R.glow_test_images()[:1], found["directions"]["thickness"],
                     [-1.0, 0.0, 1.0])
    t = A.attributes(imgs)["thickness"]
    assert t[0] < t[1] < t[2]
    at.slider(key="ge_reach").set_value(0.5).run()
    assert not at.exception, at.exception
    err = [m for m in at.metric if m.label == "Largest pixel error of the round trip"][0]
    assert float(err.value) <= 1e-3
    at.radio(key="ge_src").set_value("Upload").run()
    assert not at.exception and any("No image yet" in c.value for c in at.caption)


def test_the_likelihood_section_compares_other_images_and_says_what_it_shows():
    if not checkpoints.weights_path(paths.SHIPPED_DIR / "glow-mnist").exists():
        pytest.skip("glow-mnist is not shipped")
    at = run_page("Likelihood")
    spec = at.get("plotly_chart")[0].proto.spec
    assert "held-out digits" in spec and "uniform noise" in spec and "blank image" in spec
    text = " ".join(m.value for m in at.markdown)
    assert "This Glow gives" in text and "Nalisnick" in text
    if checkpoints.weights_path(paths.SHIPPED_DIR / "dlvae-mnist").exists():
        # part 3: the flow's exact bits/dim beside the VAE's bounds, and a sentence from them
        table = at.dataframe[0].value
        assert list(table["what is measured"])[1:] == ["ELBO (a bound)", "IWAE bound, k = 1,000"]
        glow, elbo, iwae = table["bits/dim"]
        assert glow < iwae < elbo  # a tighter bound is lower; here the flow is lower still
        assert f"{iwae - glow:.3f}" in text and f"{elbo - iwae:.3f}" in text


def test_the_glow_section_says_how_to_get_a_model_when_there_is_none(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path / "runs"))
    if checkpoints.weights_path(paths.SHIPPED_DIR / "glow-mnist").exists():
        pytest.skip("a Glow is shipped")
    at = run_page("Glow")
    assert any("python -m unsup train glow-mnist" in i.value for i in at.info)


def test_the_shipped_glow_is_what_its_card_says_and_inverts():
    """Issue 23, part 2: the shipped Glow's held-out bits/dim and readable share, one seed
    recomputed against the card; exact invertibility on the 500 held-out digits."""
    from conftest import one_seed_matches_the_card

    if not checkpoints.weights_path(paths.SHIPPED_DIR / "glow-mnist").exists():
        pytest.skip("glow-mnist is not shipped (python -m unsup train glow-mnist)")
    model = checkpoints.load(paths.SHIPPED_DIR / "glow-mnist")
    card = model.card_["metrics"]
    again = R.evaluate_glow(model, seeds=(1,))
    m = one_seed_matches_the_card(card, again, 1, ("bpd", "readable"), rel=1e-4, abs_tol=2e-4)
    assert m["classes_covered"] == 10 and m["bpd"] < 1.6  # every digit class; the job's target
    x = R.glow_test_images()
    with torch.no_grad():
        eps, _ = model.encode(x)
        err = (model.decode(eps) - x).abs().flatten(1).max(1).values
        assert float(err.max()) <= 1e-4  # float32: worst 8.6e-5 (the scale floor, and the
        #   coupling's inverse rounding once; before: 1.006e-4; without the floor 0.04)
        exact = model.double()
        eps, _ = exact.encode(x.double())
        assert float((exact.decode(eps) - x.double()).abs().max()) <= 1e-8  # the map inverts
    assert model.card_["command"] == "python -m unsup train glow-mnist --out checkpoints"


@pytest.mark.xfail(strict=True, reason="issue 23's Glow targets are not all met: held-out "
                   "1.168 bits/dim (target ≤ 1.20: met) and every held-out digit back within "
                   "8.6e-5 in float32 (target ≤ 1e-4: met), but 59.6% readable samples "
                   "(target ≥ 80%)")
def test_the_shipped_glow_meets_the_issues_targets():
    if not checkpoints.weights_path(paths.SHIPPED_DIR / "glow-mnist").exists():
        pytest.skip("glow-mnist is not shipped")
    model = checkpoints.load(paths.SHIPPED_DIR / "glow-mnist")
    m = model.card_["metrics"]
    x = R.glow_test_images()
    with torch.no_grad():
        eps, _ = model.encode(x)
        worst = float((model.decode(eps) - x).abs().max())
    assert m["bpd"] <= 1.20 and m["readable"] >= 0.8 and worst <= 1e-4


def test_the_train_section_offers_glow_on_digits_or_your_images(tmp_path, monkeypatch):
    """Issue 23, part 4: the Train section trains a Glow too — on the digits by default, or on
    uploaded images (too few are refused with a message, not a crash)."""
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path / "runs"))
    at = run_page("Train", ft_what="Glow on images")
    assert at.number_input(key="gt_steps").value == R.GLOW_JOB_STEPS
    assert "gt_start" in [b.key for b in at.button]
    with pytest.raises(ValueError, match="at least 20 images"):
        R.glow_training_spec(images=np.zeros((5, 1, 28, 28), np.float32))
    with pytest.raises(ValueError, match="divides by 4"):
        R.glow_training_spec(images=np.zeros((30, 1, 30, 30), np.float32))
