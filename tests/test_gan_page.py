"""The GAN page, section by section (AppTest): what each section draws."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from conftest import wait_for_estimate
from unsup import checkpoints, paths
from unsup.data import toy2d
from unsup.models import gan as G
from unsup.models.gan_losses import LOSS_LABELS
from unsup.recipes import gan as R
from unsup.train import fit


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def run_page(section=None, at=None, **state):
    at = at or AppTest.from_file(str(paths.ROOT / "app_pages" / "gan.py"), default_timeout=180)
    if section:
        at.session_state["gan_section"] = section
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def charts(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def canvas(at):
    return next(c for c in charts(at) if "step" in str(c["layout"].get("title", {})))


def canvas_title(at) -> str:
    """The canvas's "step N · loss": the figure's title when paused, the caption of the
    picture drawn while playing (issue 21, part 15)."""
    for el in at.image:
        for img in el.proto.imgs:
            if img.caption.startswith("step "):
                return img.caption
    return canvas(at)["layout"]["title"]["text"]


def arr(v) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array {"dtype", "bdata", "shape"}."""
    if isinstance(v, dict) and "bdata" in v:
        import base64

        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return a.reshape([int(k) for k in str(v["shape"]).split(",")]) if "shape" in v else a
    return np.asarray(v, dtype=float)


def trace_names(spec):
    return [t.get("name") for t in spec["data"]]


# -- the 2-D lab ----------------------------------------------------------------------------------
def test_lab_opens_on_the_ring_with_every_layer_and_the_published_figures():
    at = run_page()
    assert not at.exception, at.exception
    spec = canvas(at)
    assert trace_names(spec)[:5] == ["D", "G(input grid)", "real", "generated", "G's gradient"]
    heat = spec["data"][0]
    assert heat["type"] == "heatmap" and heat["zmin"] == 0 and heat["zmax"] == 1
    assert len(spec["layout"]["shapes"]) == 8  # a 3σ circle per ring mode
    assert [m.label for m in at.metric] == ["Modes captured", "High-quality samples"]
    assert at.metric[0].value.endswith("/ 8")
    table = at.dataframe[0].value
    assert list(table["modes"])[2:] == [6.3, 7.8, 1.0, 8.0]  # PacGAN and VEEGAN, table 1
    assert list(table["high-quality %"])[2:] == [98.2, 95.9, 99.3, 52.9]
    assert any("6.3 ring modes" in c.value for c in at.caption)


def _wait_for(cond, timeout: float = 120.0) -> None:
    """Wait for a state (generous deadline: the machine may be loaded)."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "the state was not reached"
        time.sleep(0.02)


def test_play_trains_in_the_lab_thread_and_the_canvas_only_draws():
    """Issue 21.15: Play starts the lab's own trainer thread; a canvas tick draws what it
    trained (and trains nothing itself); Play off stops the thread."""
    at = run_page()
    lab = at.session_state["gan_lab"]
    assert lab.step == 0 and not lab.playing
    at = run_page(at=at, gl_play=True)
    assert not at.exception, at.exception
    assert lab.playing
    # lab.play() is what each canvas tick calls (the page's heartbeat)
    _wait_for(lambda: lab.play() and lab.step > 0 and lab.steps_per_second is not None)
    at.run()  # a canvas tick
    assert not at.exception, at.exception
    title = canvas_title(at)
    assert int(title.split("step ")[1].split(" ")[0].replace(",", "")) > 0
    assert not at.get("plotly_chart") or "step" not in str(charts(at))  # a picture, playing
    assert any("training steps/s" in c.value and "– training" not in c.value
               and "(measured)" in c.value for c in at.caption)
    # once the server's trainer process is ready, the lab trains there (issue 21, part 15:
    # training and drawing do not share one interpreter lock)
    _wait_for(lambda: lab.play() and lab.in_process)
    mark = lab.step
    _wait_for(lambda: lab.play() and lab.step > mark)
    at = run_page(at=at, gl_play=False)
    assert not at.exception, at.exception
    assert not lab.playing and not lab.in_process and not lab.local.playing
    assert lab.step > mark  # it came back with what it trained there
    step = lab.step
    time.sleep(0.3)
    assert lab.step == step


def test_a_loss_changed_while_playing_applies_between_steps():
    """Issue 21.1: a control changed during Play reruns the page while the lab trains; the
    setting applies between two of the trainer's chunks, and training goes on with it."""
    at = run_page(gl_play=True)
    lab = at.session_state["gan_lab"]
    try:
        for loss in ("wgan-gp", "mm", "dragan", "ls", "wgan", "began", "ns"):
            _wait_for(lambda: lab.play() and lab.step > 0)
            at = run_page(at=at, gl_loss=loss)
            assert not at.exception, at.exception
            assert lab.config.loss == loss and lab.error is None
            mark = lab.step
            _wait_for(lambda: lab.play() and lab.step > mark)  # trains on with the new loss
            at.run()  # a canvas tick with the new loss
            assert not at.exception, at.exception
            assert LOSS_LABELS[loss] in canvas_title(at)
    finally:
        lab.pause()


def test_one_d_update_moves_the_heat_map_only():
    at = run_page()
    before = canvas(at)
    at.button(key="gl_dstep").click().run()
    assert not at.exception, at.exception
    after = canvas(at)
    gen = trace_names(before).index("generated")
    assert after["data"][gen]["x"] == before["data"][gen]["x"]  # G did not move
    assert after["data"][0]["z"] != before["data"][0]["z"]  # D did
    assert any("one D update" in c.value for c in at.caption)
    at.button(key="gl_gstep").click().run()
    again = canvas(at)
    assert again["data"][gen]["x"] != after["data"][gen]["x"]
    assert again["data"][0]["z"] == after["data"][0]["z"]
    lab = at.session_state["gan_lab"]
    assert (lab.d_updates, lab.g_updates) == (1, 1)


def test_layers_switch_and_the_loss_changes_the_heat_map_meaning():
    at = run_page(gl_layers=["real", "generated"])
    assert trace_names(canvas(at)) == ["real", "generated"]
    at = run_page(at=at, gl_layers=["heat-map"], gl_loss="wgan")
    spec = canvas(at)
    assert trace_names(spec) == ["D"] and "critic" in spec["data"][0]["colorbar"]["title"]["text"]
    assert "WGAN" in spec["layout"]["title"]["text"]


def test_the_grid_and_an_unusable_combination():
    at = run_page(gl_data="Grid")
    spec = canvas(at)
    assert len(spec["layout"]["shapes"]) == 25
    assert list(at.dataframe[0].value["modes"])[2:] == [17.3, 24.8]
    at = run_page(at=at, gl_loss="began", gl_mbd=4)
    assert not at.exception
    assert any("minibatch discrimination needs a classifier" in e.value for e in at.error)


def test_clicked_points_become_the_data():
    at = run_page(gl_data="Clicked points")
    assert any("Place at least one point" in i.value for i in at.info)
    click = charts(at)[0]
    targets = click["data"][-1]
    assert targets["name"] == "click to add" and len(arr(targets["x"])) == 41 * 41
    at.text_area(key="gl_points_text").input("0, 0\n1, 1\n-1 1")
    at.button(key="gl_add_text").click().run()
    assert not at.exception, at.exception
    assert at.session_state["gan_points"] == [[0.0, 0.0], [1.0, 1.0], [-1.0, 1.0]]
    spec = canvas(at)
    assert len(spec["layout"]["shapes"]) == 3  # one mode per point
    at.text_area(key="gl_points_text").input("2, x")
    at.button(key="gl_add_text").click().run()
    assert any("Line 1" in e.value for e in at.error)


def test_point_helpers():
    from unsup.ui.gan import points_from_text, selected_points

    assert points_from_text("# centres\n0.5, -1\n\n2\t3\n4 5") == [[0.5, -1.0], [2.0, 3.0],
                                                                    [4.0, 5.0]]
    with pytest.raises(ValueError, match="Line 2"):
        points_from_text("1, 2\n1, 2, 3")
    event = {"selection": {"points": [{"x": 0.1234, "y": -1.0, "curve_number": 1}, {"z": 3}]}}
    assert selected_points(event) == [[0.123, -1.0]]
    assert selected_points(None) == [] and selected_points({"selection": {}}) == []


# -- shipped or user models for the other sections ----------------------------------------------
@pytest.fixture(scope="module")
def user_models():
    """A 2-D GAN and a small DCGAN saved as user runs (the sections must work without the
    shipped checkpoints too)."""
    runs = paths.runs_dir()
    data = toy2d.ring(n=4_096)
    m2 = G.Toy2DGAN(G.Toy2DGANConfig(g_hidden=16, d_hidden=16, batch_size=64))
    fit(m2, data, steps=20, device="cpu")
    checkpoints.save(m2, runs / "gan-page-ring" / "model", checkpoints.make_card(
        m2, step=20, title="test ring GAN", data=data.card()), optimizer=False)
    m = G.DCGAN(G.DCGANConfig(width=4, n_latent=8, batch_size=16, timelapse_frames=5,
                              timelapse_every=2))
    fit(m, R.image_data("mnist"), steps=5, device="cpu")
    checkpoints.save(m, runs / "gan-page-dcgan" / "model", checkpoints.make_card(
        m, step=5, title="test DCGAN", data=R.image_data_card("mnist")), optimizer=False)
    from unsup.models.gan_variants import VAEGAN, VAEGANConfig

    v = VAEGAN(VAEGANConfig(width=4, batch_size=16))
    fit(v, R.image_data("mnist"), steps=5, device="cpu")
    checkpoints.save(v, runs / "gan-page-vaegan" / "model", checkpoints.make_card(
        v, step=5, title="test VAE-GAN", data=R.image_data_card("mnist")), optimizer=False)
    yield
    for name in ("gan-page-ring", "gan-page-dcgan", "gan-page-vaegan"):
        shutil.rmtree(runs / name, ignore_errors=True)


def test_mode_collapse_side_by_side(user_models):
    shipped = {e.name for e in checkpoints.list_models("gan2d") if e.source == "shipped"}
    trio = ["gan-ring-collapse", "gan-ring-collapse-pac2", "gan-ring-pac2"]
    state = {} if set(trio) <= shipped else {"gc_pick": ["gan-page-ring"]}
    at = run_page("Mode collapse", **state)
    assert not at.exception, at.exception
    bars = [s for s in charts(at) if s["data"][0]["type"] == "bar"]
    # each model's samples are a picture captioned "captured/modes modes · share high quality"
    titles = [img.caption for el in at.image for img in el.proto.imgs
              if " modes · " in img.caption]
    assert titles and len(bars) == len(titles) == (3 if not state else 1)
    for t, b in zip(titles, bars):
        captured, n_modes = map(int, t.split(" modes")[0].split("/"))
        counts = arr(b["data"][0]["y"])
        assert len(counts) == n_modes and counts.sum() <= 2_500
        assert captured == (counts >= 20).sum()  # the caption agrees with the bars
    if not state:  # the shipped trio: the collapse is real, packing the same GAN fixes it
        modes = [int(t.split("/")[0]) for t in titles]
        assert modes[0] <= 4 and modes[1] == 8 and modes[2] == 8


def test_open_in_lab_continues_a_model(user_models):
    at = run_page("Mode collapse", gc_pick=["gan-page-ring"])
    at.button(key="gc_open_gan-page-ring").click().run()
    assert not at.exception, at.exception
    assert at.session_state["gan_section"] == "2-D lab"
    assert at.session_state["gan_lab"].step == 20 and canvas(at)


def test_samples_grid_slerp_and_nearest(user_models):
    at = run_page("Samples", gi_model="gan-page-dcgan", gi_n=16, gi_seed=3)
    assert not at.exception, at.exception
    captions = [img.caption for el in at.image for img in el.proto.imgs]
    assert len(captions) == 3  # the grid, the slerp strip, the nearest-images row
    assert captions[0].startswith("16 samples, seed 3") and "Spherical" in captions[1]
    assert any("nearest training digit is typically" in c.value for c in at.caption)


def test_timelapse_plays_the_saved_frames_and_exports_a_gif(user_models):
    at = run_page("Timelapse", gl_model="gan-page-dcgan")
    assert not at.exception, at.exception
    captions = [img.caption for el in at.image for img in el.proto.imgs]
    # frames at steps 0, 2, 4 were saved, the final step 5 is appended from the model
    assert captions[0].startswith("4 frames, steps 0 to 5")
    assert captions[1].startswith("Frame 4 of 4: after 5 training steps")
    at.slider(key="gl_frame").set_value(0).run()
    captions = [img.caption for el in at.image for img in el.proto.imgs]
    assert captions[1].startswith("Frame 1 of 4: after 0 training steps")
    assert at.get("download_button")


def test_timelapse_recorded_with_the_old_statistics_says_so(user_models):
    runs = paths.runs_dir()
    m = checkpoints.load(runs / "gan-page-dcgan" / "model")
    card = dict(m.card_, note=R.STANDING_STATS_NOTE, title="refreshed DCGAN")
    checkpoints.save(m, runs / "gan-page-refreshed" / "model", card, optimizer=False)
    try:
        for name, flagged in (("gan-page-refreshed", True), ("gan-page-dcgan", False)):
            at = run_page("Timelapse", gl_model=name)
            assert not at.exception, at.exception
            assert any("before 2026-11-29" in c.value for c in at.caption) == flagged, name
    finally:
        shutil.rmtree(runs / "gan-page-refreshed", ignore_errors=True)


def test_timelapse_of_a_model_without_frames_says_so(user_models, tmp_path):
    runs = paths.runs_dir()
    m = G.DCGAN(G.DCGANConfig(width=4, n_latent=8, batch_size=16))
    checkpoints.save(m, runs / "gan-page-old" / "model", checkpoints.make_card(
        m, step=0, title="old DCGAN", data=R.image_data_card("mnist")), optimizer=False)
    try:
        at = run_page("Timelapse", gl_model="gan-page-old")
        assert not at.exception, at.exception
        assert any("without a timelapse" in i.value for i in at.info)
    finally:
        shutil.rmtree(runs / "gan-page-old", ignore_errors=True)


@pytest.mark.slow
def test_autoencoder_frontier_shows_reconstructions_samples_and_measures(user_models,
                                                                        monkeypatch, tmp_path):
    from unsup import derived

    monkeypatch.setattr(derived, "user_path",
                        lambda table, k: tmp_path / "derived" / table / f"{k}.json")
    at = run_page("AE frontier", gf_gan="gan-page-dcgan", gf_vaegan="gan-page-vaegan")
    assert not at.exception, at.exception
    captions = [img.caption for el in at.image for img in el.proto.imgs]
    assert "test digits" in captions and "VAE-GAN reconstructions" in captions
    assert {"VAE samples", "GAN samples", "VAE-GAN samples"} <= set(captions)
    # the user's models are not measured yet: the page says so and measures them in the
    # background on request (issue 21, part 14), then reads the stored rows
    table = at.dataframe[0].value
    assert {"GAN (not measured)", "VAE-GAN (not measured)"} <= set(table["model"])
    at.button(key="gf_measure").click().run()
    from unsup.jobs import get_runner

    job = max((j for j in get_runner().list() if j.page == "gan_measure"),
              key=lambda j: j.started)
    assert get_runner().wait(job.id, timeout=600).status == "done"
    at = run_page("AE frontier", gf_gan="gan-page-dcgan", gf_vaegan="gan-page-vaegan")
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["model"]) == ["VAE", "GAN", "VAE-GAN", "real test digits"]

    def num(cell):  # "mean ± sd" over the noise seeds, a plain value, or empty
        return float("nan") if cell is None or cell != cell else float(str(cell).split(" ±")[0])

    rec = {k: num(v) for k, v in zip(table["model"], table["reconstruction L1 ↓"])}
    assert np.isnan(rec["GAN"]) and rec["VAE"] > 0 and rec["VAE-GAN"] > 0
    # the barely trained models are far from the real digits' Fréchet floor
    cells = dict(zip(table["model"], table["Fréchet (clf) of samples ↓"]))
    fd = {k: num(v) for k, v in cells.items()}
    assert fd["GAN"] > fd["real test digits"] and fd["VAE-GAN"] > fd["real test digits"]
    assert " ± " in cells["GAN"] and " ± " not in cells["real test digits"]  # 3 noise seeds


@pytest.mark.slow
def test_metrics_histogram_and_table(user_models):
    at = run_page("Metrics", gi_model="gan-page-dcgan")
    assert not at.exception, at.exception
    table = at.dataframe[0].value  # a run saved without scores: measured on request only
    if table[table["model"] == "test DCGAN"]["measured"].iloc[0] == "not measured":
        next(b for b in at.button if b.key and b.key.startswith("gan_measure_")
             and b.key.endswith("gan-page-dcgan")).click().run()
        from unsup.jobs import get_runner

        job = max((j for j in get_runner().list() if j.page == "gan_measure"),
                  key=lambda j: j.started)
        assert get_runner().wait(job.id, timeout=600).status == "done"
        at = run_page("Metrics", gi_model="gan-page-dcgan")
        assert not at.exception, at.exception
    hist = next(c for c in charts(at) if c["data"][0]["type"] == "bar")
    shares = arr(hist["data"][0]["y"])
    assert len(shares) == 10 and shares.sum() == pytest.approx(100.0, abs=0.1)
    table = at.dataframe[0].value
    assert "test DCGAN" in list(table["model"])
    floor = table[table["model"].str.contains("floor")]
    assert len(floor) == 1 and float(floor["× floor"].iloc[0]) == 1.0
    mine = table[table["model"] == "test DCGAN"]
    assert float(mine["Fréchet (clf)"].iloc[0]) > float(floor["Fréchet (clf)"].iloc[0])
    two_d = at.dataframe[1].value
    assert "test ring GAN" in list(two_d["model"]) and "PacGAN4" in " ".join(two_d["model"])


def test_metrics_show_each_sampled_score_as_mean_and_spread_over_the_seeds():
    """Issue 21.17: a sampled score is one draw of noise; the section shows the selected
    model's mean ± sd over its card's noise seeds, and the 2-D table its high-quality share
    the same way (all from the cards)."""
    from unsup.metrics.seeds import spread_text

    card = json.loads((paths.SHIPPED_DIR / "dcgan-mnist-best.json").read_text(encoding="utf-8"))
    s = card["metrics"]
    at = run_page("Metrics", gi_model="dcgan-mnist-best")
    assert not at.exception, at.exception
    cap = " ".join(c.value for c in at.caption)
    n = len(s["seeds"])
    assert n >= 3 and f"mean over {n} noise seeds" in cap
    assert f"Fréchet {spread_text(s, 'fd', '{:.1f}', seeds_word=False)}" in cap
    assert f"× floor {spread_text(s, 'fd_ratio', '{:.2f}', seeds_word=False)}" in cap
    two_d = at.dataframe[1].value.set_index("model")
    ring = json.loads((paths.SHIPPED_DIR / "gan-ring-pac2.json").read_text(encoding="utf-8"))
    assert two_d.loc[ring["title"], "high-quality %"] == spread_text(
        ring["metrics"], "hq", "{:.1f}", scale=100, seeds_word=False)


def test_train_section_estimates_before_it_starts(user_models):
    at = run_page("Train", gt_steps_gan2d=200)
    assert not at.exception, at.exception
    assert "ms a step, measured on this machine" in wait_for_estimate(at)
    at.button(key="gt_start").click().run()
    assert not at.exception, at.exception
    from unsup.jobs import get_runner

    jobs = [j for j in get_runner().list() if j.page == "gan"]
    assert jobs and jobs[-1].total == 200
    snap = get_runner().wait(jobs[-1].id, timeout=300)
    assert snap.status == "done", snap.error
    at = run_page(at=at)
    assert at.get("plotly_chart")  # the job panel's loss curves
    shutil.rmtree(snap.run_dir, ignore_errors=True)


def test_train_on_uploaded_images_asks_for_them_first(user_models):
    at = run_page("Train", gt_kind="dcgan", gt_data_dcgan="upload")
    assert not at.exception, at.exception
    assert any("Upload images" in i.value for i in at.info)
    assert "gt_start" not in [b.key for b in at.button]  # nothing to train on yet


@pytest.mark.parametrize("section,text", [("Samples", "No image GAN yet"),
                                          ("Metrics", "No image GAN yet"),
                                          ("Timelapse", "No image GAN yet"),
                                          ("Mode collapse", "not here yet")])
def test_sections_without_models_say_how_to_get_them(monkeypatch, section, text):
    from unsup.ui import gan as ui

    monkeypatch.setattr(ui, "entries", lambda kind: [])
    at = run_page(section)
    assert not at.exception, at.exception
    assert any(text in i.value and "python -m unsup train" in i.value for i in at.info)



def test_the_train_form_times_its_steps_off_the_page_thread(user_models, monkeypatch):
    """Issue 21, part 14: the estimate's few real training steps (seconds on a loaded machine
    for an image GAN, a CycleGAN or a keypoint model) run in a background thread; the page
    shows that it is timing and the estimate once it is there."""
    import threading

    from unsup.ui import training

    seen, release = [], threading.Event()

    def timed(kind, data, config, n=4):
        seen.append(threading.current_thread().name)
        release.wait(60)
        return 0.123

    monkeypatch.setattr(R, "estimate_step_seconds", timed)
    monkeypatch.setattr(training, "_TIMINGS", {})
    at = run_page("Train", gt_steps_gan2d=200)
    assert not at.exception, at.exception
    assert any("timing a few steps" in c.value for c in at.caption)
    release.set()
    assert "123 ms a step" in wait_for_estimate(at) and "× 200 steps" in wait_for_estimate(at)
    assert seen and all(name.startswith("unsup-step-timer") for name in seen)
