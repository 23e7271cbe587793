"""The CycleGAN page, section by section (AppTest): what each section draws and says.

The sections are driven by tiny models trained here and saved as user runs (and tiny domain
classifiers standing in for the shipped ones), so the page is tested whether or not the shipped
checkpoints exist yet."""

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
from unsup.models.domain_classifier import DomainClassifier, DomainClassifierConfig
from unsup.recipes import cyclegan as R
from unsup.train import fit

DIGITS_RUN = "cyclegan-page-digits"
PHOTO_RUN = "cyclegan-page-photo"


pytestmark = pytest.mark.usefixtures("cyclegan_one_thread")  # tests/conftest.py


def _tiny(pair, steps: int, title: str, run: str):
    cfg = R.job_config(steps, g_filters=4, n_blocks=1, frames=5)
    cfg.update(d_filters=4, batch_size=4)
    model = R.new_cyclegan(pair, **cfg)
    fit(model, pair.training_data(), steps=steps, device="cpu", log_every=steps)
    return checkpoints.save(model, paths.runs_dir() / run / "model", checkpoints.make_card(
        model, step=steps, title=title, data=R.pair_card(pair)), optimizer=False)


@pytest.fixture(scope="module")
def models():
    """A tiny digit CycleGAN and a tiny photo CycleGAN saved as user runs, and two tiny domain
    classifiers (20 steps: they read digits better than chance, not well)."""
    torch.set_num_threads(1)  # runs before the per-test fixture; two threads on busy cores crawl
    digits = R.load_pair("digits")
    photos = R.load_pair("photos")
    _tiny(digits, 8, "test digits CycleGAN", DIGITS_RUN)
    _tiny(photos, 6, "test photo CycleGAN", PHOTO_RUN)
    clfs = []
    for x, y in ((digits.a_train, digits.y_a_train), (digits.b_train, digits.y_b_train)):
        c = DomainClassifier(DomainClassifierConfig(width=4, batch_size=32))
        fit(c, c.pack(torch.tensor(x), torch.tensor(y)), steps=20, device="cpu", log_every=20)
        c.eval()
        clfs.append(c)
    yield tuple(clfs)
    for run in (DIGITS_RUN, PHOTO_RUN):
        shutil.rmtree(paths.runs_dir() / run, ignore_errors=True)


@pytest.fixture
def with_classifiers(models, monkeypatch):
    monkeypatch.setattr(R, "classifiers", lambda: models)
    monkeypatch.setattr(R, "missing_classifiers", lambda: [])
    return models


def name_of(title: str) -> str:
    return next(e.name for e in checkpoints.list_models("cyclegan") if e.title == title)


def run_page(section=None, at=None, **state):
    at = at or AppTest.from_file(str(paths.ROOT / "app_pages" / "cyclegan.py"), default_timeout=180)
    if section:
        at.session_state["cg_section"] = section
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def plain(text: str) -> str:
    """A message as the user reads it (without the markdown escapes of unsup.ui.text.md)."""
    return text.replace("\\", "")


def images(at) -> list:
    return [img for el in at.image for img in el.proto.imgs]


def charts(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


# -- translate ----------------------------------------------------------------------------------
def test_translate_a_held_out_digit_both_ways(models, with_classifiers):
    at = run_page(cg_model=name_of("test digits CycleGAN"), cg_idx=4)  # 1-based: the 4th
    assert not at.exception, at.exception
    assert len(images(at)) == 1 and "cycle reconstruction" in images(at)[0].caption
    assert [m.label for m in at.metric] == ["Translation change, mean |G(x) − x|",
                                             "Cycle error (lower is better)",
                                             "Identity change (lower is better)"]
    model = checkpoints.load(checkpoints.find(name_of("test digits CycleGAN")).path)
    x = R.load_pair("digits").a_test[R.display_order(250)[3]]
    want = R.translate_all(model, x[None], "a")
    assert float(at.metric[1].value) == pytest.approx(
        float(np.abs(want["cycle"] - x).mean()), abs=1e-3)  # this image's own cycle error
    caption = " ".join(c.value for c in at.caption)
    true = int(R.load_pair("digits").y_a_test[R.display_order(250)[3]])
    assert f"the true digit is **{true}**" in caption and "classifier reads" in caption
    at = run_page(at=at, cg_dir="b")
    assert not at.exception, at.exception
    assert images(at)[0].caption.startswith("Translation G_BA(x), cycle reconstruction "
                                            "G_AB(G_BA(x))")


def test_translate_an_uploaded_photo(models):
    at = run_page(cg_model=name_of("test photo CycleGAN"), cg_src="upload")
    assert any("Upload a picture" in i.value for i in at.info)
    rgb = (np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.uint8)
    at.file_uploader(key="cg_upload").set_value(("mine.png", _png(rgb), "image/png")).run()
    assert not at.exception, at.exception
    assert not at.error and len(images(at)) == 1 and len(at.metric) == 3


@pytest.mark.parametrize("name,data,text", [
    ("notes.txt", b"not an image at all", "not an image file"),
    ("cut.png", _png(np.full((40, 40, 3), 9, np.uint8))[:60], "damaged or truncated"),
    ("empty.png", b"", "empty"),
])
def test_a_bad_upload_to_translate_gets_a_message(models, name, data, text):
    at = run_page(cg_model=name_of("test photo CycleGAN"), cg_src="upload")
    at.file_uploader(key="cg_upload").set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, at.exception
    assert at.error and any(name in plain(e.value) and text in plain(e.value) for e in at.error)
    assert not images(at)


def test_a_huge_image_is_refused_before_it_is_decoded(models, monkeypatch):
    from unsup.data import uploads

    monkeypatch.setattr(uploads, "MAX_PIXELS", 1_000)  # a 40x40 image is "huge" here
    at = run_page(cg_model=name_of("test photo CycleGAN"), cg_src="upload")
    at.file_uploader(key="cg_upload").set_value(
        ("big.png", _png(np.zeros((40, 40, 3), np.uint8)), "image/png")).run()
    assert not at.exception, at.exception
    assert any("too large" in plain(e.value) and "big.png" in plain(e.value) for e in at.error)


# -- grid ---------------------------------------------------------------------------------------
def test_grid_shows_both_directions_with_the_paired_truth(models):
    at = run_page("Grid", cg_model=name_of("test digits CycleGAN"), cg_grid_n=4,
                  cg_grid_start=10)
    assert not at.exception, at.exception
    assert len(images(at)) == 2
    cap = " ".join(c.value for c in at.caption)
    assert "identity baseline" in cap and "lower is better" in cap
    at = run_page("Grid", cg_model=name_of("test photo CycleGAN"))
    assert not at.exception, at.exception
    assert len(images(at)) == 2


def measure_unmeasured(section, **state):
    """Press every "Measure" the section offers (a run saved without its held-out numbers is
    measured on request, in a background job, issue 21 part 14), one job at a time; returns the
    page opened afresh on the measured cards."""
    from unsup.jobs import get_runner

    for _ in range(6):
        at = run_page(section, **state)
        assert not at.exception, at.exception
        todo = [b for b in at.button if b.key and b.key.startswith("cyclegan_measure_")
                and not b.disabled]
        if not todo:
            return at
        todo[0].click().run()
        job = max((j for j in get_runner().list() if j.page == "cyclegan_measure"),
                  key=lambda j: j.started)
        assert get_runner().wait(job.id, timeout=600).status == "done"
    raise AssertionError("Measure did not make the section measured")


# -- label flips --------------------------------------------------------------------------------
def test_label_flips_show_rates_examples_and_references(models, with_classifiers):
    at = run_page("Label flips", cg_model=name_of("test digits CycleGAN"))
    assert not at.exception, at.exception
    assert any("not measured" in i.value for i in at.info)  # saved without its numbers
    at = measure_unmeasured("Label flips", cg_model=name_of("test digits CycleGAN"))
    labels = [m.label for m in at.metric]
    assert labels == ["Label kept A → B", "Label kept B → A"]
    model = checkpoints.load(checkpoints.find(name_of("test digits CycleGAN")).path)
    want = R.evaluate_cyclegan(model, R.load_pair("digits"))
    assert at.metric[0].value == f"{want['label_kept_ab']:.1%}"
    assert at.metric[1].value == f"{want['label_kept_ba']:.1%}"
    heads = " ".join(m.value for m in at.markdown)
    n_flips = len(want["extra_metrics"]["flips_ab"])
    assert f"A → B: {n_flips} of 250 held-out digits flipped" in heads
    bars = next(c for c in charts(at) if c["data"][0]["type"] == "bar")
    assert [x.replace("<br>", " ") for x in bars["data"][0]["x"][1:]] == [
        "untranslated input", "paired truth (ceiling)"]  # labels wrap onto lines
    assert bars["data"][0]["y"][0] == pytest.approx(100 * want["label_kept_ab"], abs=0.01)


def test_label_flips_say_what_is_missing(models, monkeypatch):
    monkeypatch.setattr(R, "missing_classifiers",
                        lambda: ["python -m unsup train cyclegan-clf-mnist"])
    at = run_page("Label flips", cg_model=name_of("test digits CycleGAN"))
    assert not at.exception, at.exception
    assert any("python -m unsup train cyclegan-clf-mnist" in i.value for i in at.info)
    at = run_page("Label flips", cg_model=name_of("test photo CycleGAN"))
    assert any("Photos have no label" in i.value for i in at.info)


# -- timelapse ----------------------------------------------------------------------------------
def test_timelapse_shows_every_recorded_frame(models):
    at = run_page("Training timelapse", cg_model=name_of("test digits CycleGAN"))
    assert not at.exception, at.exception
    model = checkpoints.load(checkpoints.find(name_of("test digits CycleGAN")).path)
    steps, frames = model.timelapse_frames()
    assert steps == [0, 2, 4, 6, 8]
    assert at.select_slider(key="cg_tl_step").options == [f"{s:,}" for s in steps]
    assert len(images(at)) == 3  # A -> B strip, B -> A strip, the chosen step
    at = run_page(at=at, cg_tl_step=2)
    assert not at.exception, at.exception
    assert any("At step 2 " in c.value for c in at.caption)


# -- metrics ------------------------------------------------------------------------------------
def test_metrics_table_with_references_and_published_anchors(models, with_classifiers):
    at = measure_unmeasured("Metrics")
    table = at.dataframe[0].value
    names = list(table["model"])
    assert "test digits CycleGAN" in names and "test photo CycleGAN" in names
    assert "untranslated input (do nothing)" in names
    published = table[table["model"].str.startswith("PixelDA")]
    assert float(published["label kept A→B %"].iloc[0]) == 98.2
    assert "95.6" in list(table["label kept A→B %"])
    assert "None" not in table.to_string()  # a measure that does not apply shows "—"
    mine = table[table["model"] == "test digits CycleGAN"].iloc[0]
    # 8 steps of a 4-filter model: the cycle is still far from the bound
    errors = at.dataframe[1].value.set_index("model")  # the pixel errors' table
    assert mine["meets the bars"] == "no" and float(errors.loc[mine["model"], "cycle L1 A"]) > 0
    cap = " ".join(c.value for c in at.caption)
    assert "higher is better" in cap and "lower is better" in cap
    assert any(c["data"][0]["type"] == "bar" for c in charts(at))


def test_metrics_show_the_joint_measure_from_the_card():
    """Issue 21.18: beside label kept, the share of translations that are the right digit *and*
    judged to be in the target domain, for the model, doing nothing and the paired truth, read
    from the shipped card (with the range over the instrument seeds) and explained."""
    card = json.loads((paths.SHIPPED_DIR / "cyclegan-digits.json").read_text(encoding="utf-8"))
    s = card["metrics"]
    at = run_page("Metrics")
    assert not at.exception, at.exception
    table = at.dataframe[0].value.set_index("model")
    col_ab, col_ba = "right digit & judged B, A→B %", "right digit & judged A, B→A %"
    per = s["per_instrument"]
    shipped = table.loc[card["title"]]
    assert shipped[col_ab] == (f"{100 * s['joint_ab']:.1f} ({100 * min(per['joint_ab']):.1f}–"
                               f"{100 * max(per['joint_ab']):.1f})")
    assert shipped[col_ba].startswith(f"{100 * s['joint_ba']:.1f} (")
    nothing = table.loc["untranslated input (do nothing)"]
    assert nothing[col_ab].startswith(f"{100 * s['joint_ab_input']:.1f}")
    assert table.loc["paired truth (a perfect translator)"][col_ab].startswith(
        f"{100 * s['joint_ab_truth']:.1f}")
    assert any("judged to be in the target domain" in c.value for c in at.caption)


# -- train --------------------------------------------------------------------------------------
def _zip(images: list[np.ndarray], extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i, a in enumerate(images):
            zf.writestr(f"set/{i}.png", _png(a))
        for k, v in (extra or {}).items():
            zf.writestr(k, v)
    return buf.getvalue()


def _photos(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.random((20, 24, 3)) * 255).astype(np.uint8) for _ in range(n)]


def test_train_on_two_zips_estimates_then_runs_a_job(models):
    at = run_page("Train", cg_tr_src="upload", cg_tr_steps=100, cg_tr_filters=8,
                  cg_tr_blocks=1)
    assert not at.exception, at.exception
    assert any("Upload at least 20" in i.value for i in at.info)
    at.file_uploader(key="cg_tr_a").set_value(("a.zip", _zip(_photos(22, 0), {
        "../escape.png": _png(np.zeros((8, 8, 3), np.uint8)),
        "broken.png": b"not really a png"}), "application/zip")).run()
    at.file_uploader(key="cg_tr_b").set_value(("b.zip", _zip(_photos(21, 1)),
                                               "application/zip")).run()
    assert not at.exception, at.exception
    warnings = plain(" ".join(w.value for w in at.warning))
    assert "leaves the archive" in warnings and "broken.png" in warnings
    assert "s a step, measured on this machine" in wait_for_estimate(at)
    start = at.button(key="cg_tr_start")
    assert not start.disabled
    start.click().run()
    assert not at.exception, at.exception
    from unsup.jobs import get_runner

    jobs = [j for j in get_runner().list() if j.page == "cyclegan"]
    assert jobs and jobs[-1].total == 100
    snap = get_runner().wait(jobs[-1].id, timeout=600)
    assert snap.status == "done", snap.error
    assert (snap.run_dir / R.DATA_FILE).exists()  # the images stay with the run
    card = checkpoints.read_card(snap.checkpoint)
    assert card["data"]["name"] == "upload" and card["data"]["n_train_a"] == 19
    assert "cycle_l1_a" in card["metrics"] and "label_kept_ab" not in card["metrics"]
    at = run_page(at=at)
    assert at.get("plotly_chart")  # the job panel's loss curves
    shutil.rmtree(snap.run_dir, ignore_errors=True)


def test_a_file_that_is_not_a_zip_and_too_few_images_are_refused(models):
    at = run_page("Train", cg_tr_src="upload")
    at.file_uploader(key="cg_tr_a").set_value(("a.zip", b"PK\x03\x04 this is not a zip",
                                               "application/zip")).run()
    at.file_uploader(key="cg_tr_b").set_value(("b.zip", _zip(_photos(3, 2)),
                                               "application/zip")).run()
    assert not at.exception, at.exception
    assert any("not a readable ZIP" in plain(w.value) and "a.zip" in plain(w.value)
               for w in at.warning)
    assert at.button(key="cg_tr_start").disabled
    assert any("at least 20" in i.value for i in at.info)


def test_train_on_a_built_in_pair_shows_an_estimate(models):
    at = run_page("Train", cg_tr_src="photos", cg_tr_steps=300)
    assert not at.exception, at.exception
    cap = wait_for_estimate(at)
    assert "× 300 steps" in cap
    assert not at.button(key="cg_tr_start").disabled


# -- without any model --------------------------------------------------------------------------
@pytest.mark.parametrize("section", ["Translate", "Grid", "Label flips", "Training timelapse"])
def test_sections_without_models_say_which_command_makes_them(monkeypatch, section):
    from unsup.ui import cyclegan as ui

    monkeypatch.setattr(ui, "entries", lambda: [])
    at = run_page(section)
    assert not at.exception, at.exception
    assert any("No CycleGAN yet" in i.value and "python -m unsup train cyclegan-digits"
               in i.value for i in at.info)


def test_metrics_without_models_still_shows_the_anchors(monkeypatch):
    from unsup.ui import cyclegan as ui

    monkeypatch.setattr(ui, "entries", lambda: [])
    at = run_page("Metrics")
    assert not at.exception, at.exception
    assert len(at.dataframe[0].value) == len(R.PUBLISHED)
