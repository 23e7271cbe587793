"""The keypoint page, section by section (AppTest), on a tiny model trained here (the page must
work without the shipped checkpoint too): what each section draws."""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from conftest import wait_for_estimate
from unsup import checkpoints, paths
from unsup.data import faces as F
from unsup.recipes import keypoints as R
from unsup.train import fit
from unsup.viz import keypoints as viz

NAME = "kp-page-tiny"
K = 3


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny_run():
    """A 16-px, K = 3 keypoint model saved as a user run."""
    runs = paths.runs_dir()
    model = R.make_model(n_keypoints=K, image_size=16, width=4, batch_size=8)
    data = R.pairs_of(R.faces("train", 16))
    fit(model, data, steps=6, device="cpu")
    checkpoints.save(model, runs / NAME / "model", checkpoints.make_card(
        model, step=6, title="tiny keypoints", data=data.card()), optimizer=False)
    yield
    shutil.rmtree(runs / NAME, ignore_errors=True)


def run_page(section=None, at=None, **state):
    at = at or AppTest.from_file(str(paths.ROOT / "app_pages" / "keypoints.py"), default_timeout=240)
    if section:
        at.session_state["kp_section"] = section
    at.session_state["kp_model"] = NAME
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def charts(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def arr(v) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array {"dtype", "bdata", "shape"}."""
    if isinstance(v, dict) and "bdata" in v:
        import base64

        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return a.reshape([int(k) for k in str(v["shape"]).split(",")]) if "shape" in v else a
    return np.asarray([np.nan if t is None else t for t in v], dtype=float)


def keypoint_traces(spec, k=K):
    return [t for t in spec["data"] if t.get("name") in {viz.keypoint_label(i)
                                                           for i in range(k)}]


def unescape(text: str) -> str:
    return text.replace("\\", "")


def _png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def face_png(i: int, size: int = 48) -> bytes:
    x = R.faces("heldout", size)[np.arange(i, i + 1)][0].numpy()
    return _png((x.transpose(1, 2, 0) * 255).round().astype(np.uint8))


# -- without any model ---------------------------------------------------------------------------
@pytest.mark.parametrize("section", ["Keypoints", "Metrics"])
def test_without_models_the_page_says_which_command_makes_one(monkeypatch, section):
    from unsup.ui import keypoints as ui

    monkeypatch.setattr(ui, "entries", lambda: [])
    at = run_page(section)
    assert not at.exception, at.exception
    assert any("python -m unsup train keypoints-faces" in i.value for i in at.info)
    spec = charts(at)[0]  # the data it will learn from, with the annotated landmarks
    names = [t.get("name") for t in spec["data"][1:]]
    assert names == list(F.LANDMARK_NAMES) and len(arr(spec["data"][1]["x"])) == 16


def test_a_user_run_without_the_shipped_model_still_names_the_command(tiny_run):
    at = run_page("Keypoints")
    assert not at.exception, at.exception
    shipped = any(e.source == "shipped" for e in checkpoints.list_models("keypoints"))
    assert shipped or any("python -m unsup train keypoints-faces" in i.value for i in at.info)
    assert at.selectbox(key="kp_model").value == NAME


# -- the sections --------------------------------------------------------------------------------
def test_keypoints_grid_has_one_colour_per_keypoint_on_every_face(tiny_run):
    at = run_page("Keypoints", kp_n=24, kp_first=11)
    assert not at.exception, at.exception
    spec = charts(at)[0]
    assert spec["data"][0]["type"] == "image"
    traces = keypoint_traces(spec)
    assert [t["name"] for t in traces] == [viz.keypoint_label(k) for k in range(K)]
    assert [t["marker"]["color"] for t in traces] == [viz.colour(k) for k in range(K)]
    assert all(len(arr(t["x"])) == 24 for t in traces)
    assert "held-out faces 11–34" in spec["layout"]["title"]["text"]
    table = at.dataframe[0].value
    assert len(table) == K
    assert set(table["nearest annotated landmark"]) <= set(F.LANDMARK_NAMES)
    assert (table["mean distance (% inter-ocular, lower = closer)"] > 0).all()


def test_warps_show_detected_dots_and_carried_rings(tiny_run):
    at = run_page("Warps", kp_warp_rot=40, kp_warp_el=0.0)
    assert not at.exception, at.exception
    spec = charts(at)[0]
    ghosts = next(t for t in spec["data"] if t.get("name") == "carried through the warp")
    assert len(arr(ghosts["x"])) == 5 * K  # K rings on each of 5 tiles
    traces = keypoint_traces(spec)
    assert len(traces) == K and all(len(arr(t["x"])) == 5 for t in traces)
    labels = [a["text"] for a in spec["layout"]["annotations"]]
    assert labels[0].startswith("-40°") and labels[4].startswith("+40°")
    assert labels[2] == "original · 0.0%"  # the unwarped tile: dots sit in their rings
    # on the original tile each dot is exactly at its ring
    mid = [arr(t["x"])[2] for t in traces]
    rings = arr(ghosts["x"])[2 * K:3 * K]
    assert np.allclose(mid, rings, atol=1e-3)


def test_moving_a_keypoint_redraws_the_face(tiny_run):
    at = run_page("Move a keypoint", kp_move_k=1)
    assert not at.exception, at.exception
    before = charts(at)[0]
    assert any(c.value.startswith("Move the sliders") for c in at.caption)  # nothing moved yet
    k1 = next(t for t in before["data"] if t.get("name") == viz.keypoint_label(1))
    assert arr(k1["x"])[2] - arr(k1["x"])[0] == pytest.approx(2 * (16 + 2))  # not moved
    at.slider(key="kp_mx_0_1").set_value(0.6).run()
    at.slider(key="kp_my_0_1").set_value(-0.6).run()
    assert not at.exception, at.exception
    spec = charts(at)[0]
    k1 = next(t for t in spec["data"] if t.get("name") == viz.keypoint_label(1))
    x, y = arr(k1["x"]), arr(k1["y"])
    assert np.isnan(x[3]) and np.isnan(y[3])  # the change map carries no points
    s, pad = 16, 2  # third tile: the redraw with the moved point, at (0.6, -0.6)
    assert x[2] == pytest.approx(pad + 2 * (s + pad) + (0.6 + 1) * s / 2 - 0.5)
    assert y[2] == pytest.approx(pad + (-0.6 + 1) * s / 2 - 0.5)
    # the face and the plain redraw keep the found point (same place in the next tile)
    assert x[1] - x[0] == pytest.approx(s + pad) and y[1] == y[0]
    assert x[2] - 2 * (s + pad) != pytest.approx(x[0])
    assert spec["data"][0]["source"] != before["data"][0]["source"]  # the redraw changed
    assert any("of that change lies within" in c.value for c in at.caption)


def test_upload_shows_keypoints_and_heatmaps_of_each_image(tiny_run):
    at = run_page("Upload")
    assert any("Upload an image" in i.value for i in at.info)
    at.file_uploader(key="kp_upload").set_value([("a.png", face_png(0), "image/png"),
                                                 ("b.png", face_png(5), "image/png")]).run()
    assert not at.exception, at.exception
    assert not at.warning and not at.error
    spec = charts(at)[0]
    assert all(len(arr(t["x"])) == 2 for t in keypoint_traces(spec))
    images = [img for el in at.image for img in el.proto.imgs]
    assert images and "probability map" in images[0].caption


@pytest.mark.parametrize("name,data", [("notes.txt", b"not an image"), ("empty.png", b""),
                                       ("cut.png", _png(np.full((40, 40), 9, np.uint8))[:60])])
def test_a_bad_upload_gets_a_message_naming_the_file(tiny_run, name, data):
    at = run_page("Upload")
    at.file_uploader(key="kp_upload").set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, at.exception
    assert at.warning and name in unescape(at.warning[0].value)
    assert at.error and "No image could be read" in at.error[0].value


def test_metrics_table_compares_with_the_baselines_and_the_paper(tiny_run):
    at = run_page("Metrics")  # its card has no metrics yet: measured on request, in the
    assert not at.exception, at.exception  # background (issue 21, part 14)
    assert any("not measured" in i.value for i in at.info)
    next(b for b in at.button if b.key and b.key.startswith("keypoints_measure_")).click().run()
    from unsup.jobs import get_runner

    job = max((j for j in get_runner().list() if j.page == "keypoints_measure"),
              key=lambda j: j.started)
    assert get_runner().wait(job.id, timeout=600).status == "done"
    at = run_page("Metrics")
    assert not at.exception, at.exception
    assert any("measured in the background at step" in c.value for c in at.caption)
    table = at.dataframe[0].value
    assert list(table["better"]) == ["lower"] * len(table)
    by = dict(zip(table["measure"], table["value"]))
    m = R.evaluate(R.make_model(n_keypoints=K, image_size=16, width=4, batch_size=8))
    assert by["mean-shape baseline"] == pytest.approx(m["mean_shape"])  # the data's, any model
    assert by["random-weights detector"] == pytest.approx(m["random"])
    assert 0 < by["this model's keypoints"] < 100 and 0 < by["equivariance error"] < 50
    assert any(v == 3.19 and "Jakab" in k for k, v in by.items())
    specs = charts(at)
    bars = next(s for s in specs if s["data"][0]["type"] == "bar")
    assert list(arr(bars["data"][0]["x"])) == pytest.approx(
        [by["this model's keypoints"], by["mean-shape baseline"], by["random-weights detector"]])
    regressed = specs[-1]
    names = [t.get("name") for t in regressed["data"][1:]]
    assert names == ["annotated"] + [f"regressed: {n}" for n in F.LANDMARK_NAMES]
    assert len(at.dataframe[1].value) == 5  # the error per landmark


def test_metrics_saved_in_the_card_show_at_once_and_remeasure_in_the_background(tiny_run,
                                                                               monkeypatch):
    """The card's numbers show without evaluating anything; "Measure again" measures in a
    background job that writes the run's card (issue 21, part 14: never on the page's thread)."""
    runs = paths.runs_dir()
    model = checkpoints.load(runs / NAME / "model")
    measured = R.evaluate(model)
    card = {**model.card_, "metrics": measured, "name": "kp-page-measured"}
    checkpoints.save(model, runs / "kp-page-measured" / "model", card, optimizer=False)
    try:
        import threading

        calls = []
        real = R.evaluate
        monkeypatch.setattr(R, "evaluate", lambda *a, **k: calls.append(
            threading.current_thread().name) or real(*a, **k))
        at = run_page("Metrics", kp_model="kp-page-measured")
        assert not at.exception, at.exception
        assert not calls  # the card's numbers, no recomputation
        by = dict(zip(at.dataframe[0].value["measure"], at.dataframe[0].value["value"]))
        assert by["this model's keypoints"] == measured["error"]
        assert by["equivariance error"] == measured["equivariance"]
        assert any("measured when the model was saved at step 6" in c.value for c in at.caption)
        button = at.button(key="kp_remeasure")  # what it starts (AppTest loses this page's
        assert not button.disabled  # model picker on a click's rerun, so it is started here)
        from unsup.jobs import get_runner
        from unsup.recipes import measure_work

        entry = checkpoints.find("kp-page-measured")
        job = get_runner().get(get_runner().submit_work(
            "Measuring again", measure_work(entry), page="keypoints_measure"))
        assert get_runner().wait(job.id, timeout=600).status == "done"
        at = run_page("Metrics", kp_model="kp-page-measured")
        assert not at.exception, at.exception
        said = [c.value for c in at.caption]
        assert any("measured in the background at step 6" in c for c in said), said
        again = dict(zip(at.dataframe[0].value["measure"], at.dataframe[0].value["value"]))
        assert again == pytest.approx(by)
    finally:
        shutil.rmtree(runs / "kp-page-measured", ignore_errors=True)


def test_a_model_of_uploaded_images_shows_its_own_held_out_images(tiny_run):
    from unsup.jobs import ThreadRunner

    images = R.faces("heldout", 16)[np.arange(40, 70)].numpy()  # 30 "uploaded" pictures
    runner = ThreadRunner()
    snap = runner.wait(runner.submit(R.training_spec(n_keypoints=K, steps=4, images=images,
                                                     data_label="my pictures", width=4,
                                                     batch_size=8)), timeout=300)
    assert snap.status == "done", snap.error
    entry = next(e for e in checkpoints.list_models("keypoints") if e.path == snap.checkpoint)
    try:
        at = run_page("Keypoints", kp_model=entry.name)
        assert not at.exception, at.exception
        spec = charts(at)[0]
        assert "held-out image of yours" in spec["layout"]["title"]["text"]
        assert all(len(arr(t["x"])) == 3 for t in keypoint_traces(spec))  # every 10th of 30
        assert not at.dataframe  # no landmarks to compare with
        at = run_page("Metrics", at=at, kp_model=entry.name)
        assert not at.exception, at.exception
        assert [m.label for m in at.metric] == ["Equivariance error"]
        assert any("no annotated landmarks" in i.value for i in at.info)
    finally:
        shutil.rmtree(snap.run_dir, ignore_errors=True)


def test_train_section_estimates_then_trains(tiny_run, monkeypatch):
    monkeypatch.setattr(R, "RECIPE", dict(R.RECIPE, image_size=16, width=4, batch_size=8))
    at = run_page("Train", kt_k=4, kt_steps=60)
    assert not at.exception, at.exception
    assert "ms a step, measured on this machine" in wait_for_estimate(at)
    at.button(key="kt_start").click().run()
    assert not at.exception, at.exception
    from unsup.jobs import get_runner

    jobs = [j for j in get_runner().list() if j.page == "keypoints"]
    assert jobs and jobs[-1].total == 60 and "K = 4" in jobs[-1].title
    snap = get_runner().wait(jobs[-1].id, timeout=300)
    assert snap.status == "done", snap.error
    assert "error" in checkpoints.load(snap.checkpoint).card_["metrics"]
    at = run_page(at=at)
    assert at.get("plotly_chart")  # the job panel's loss curve
    shutil.rmtree(snap.run_dir, ignore_errors=True)


def test_train_section_reads_a_zip_and_names_its_problems(tiny_run):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(R.MIN_UPLOAD):
            zf.writestr(f"faces/{i}.png", face_png(i, 32))
        zf.writestr("../escape.png", face_png(0, 32))
        zf.writestr("broken.png", b"not really a png")
    at = run_page("Train")
    at.radio(key="kt_src").set_value("upload").run()
    start = next(b for b in at.button if b.label == "Start training")
    assert start.disabled and any(f"at least {R.MIN_UPLOAD}" in i.value for i in at.info)
    at.file_uploader(key="kt_files").set_value(("mine.zip", buf.getvalue(),
                                                "application/zip")).run()
    assert not at.exception, at.exception
    warnings = unescape(" ".join(w.value for w in at.warning))
    assert "leaves the archive" in warnings and "broken.png" in warnings
    start = next(b for b in at.button if b.label == "Start training")
    assert not start.disabled  # 20 good images are enough
