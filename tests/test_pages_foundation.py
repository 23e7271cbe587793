"""AppTest of the home page (app.py) and the VAE page (app_pages/vae_sliders.py)."""

import io
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from unsup.ui.registry import PAGES

T = 120
ROOT = Path(__file__).resolve().parent.parent


def images(at):
    return [img.url for el in at.image for img in el.proto.imgs]


def vae_page():
    at = AppTest.from_file(str(ROOT / "app_pages/vae_sliders.py"), default_timeout=T)
    at.run()
    assert not at.exception, at.exception
    return at


def test_home_lists_every_page_as_a_card():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=T)
    at.run()
    assert not at.exception, at.exception
    links = [pl.proto.label for pl in at.get("page_link")]
    for info in PAGES:
        assert any(info.title in label for label in links), info.title
    coming = [p for p in PAGES if not p.ready]
    assert all(any(f"{p.title} · coming" == label for label in links) for p in coming)
    assert len(images(at)) >= len(PAGES)  # a thumbnail per card


def test_slider_moves_change_the_decoded_image():
    at = vae_page()
    before = images(at)
    sliders = [s for s in at.slider if s.key.startswith("z_vae-mnist-16d_")]
    assert len(sliders) == 16
    top = sliders[0]  # ordered by KL: the first slider moves the most
    assert "KL" in top.label
    top.set_value(2.5).run()
    assert not at.exception
    after = images(at)
    assert after != before


def test_random_and_reset_buttons():
    at = vae_page()
    next(b for b in at.button if b.label == "Random sample").click().run()
    values = [s.value for s in at.slider if s.key.startswith("z_vae-mnist-16d_")]
    assert any(v != 0 for v in values)
    next(b for b in at.button if b.label == "Reset to 0").click().run()
    assert all(s.value == 0 for s in at.slider if s.key.startswith("z_vae-mnist-16d_"))


def test_autoencoder_sliders_span_their_codes_and_say_spread_not_kl():
    """Issue 11.8: a plain autoencoder has no KL; its sliders span the test codes' range."""
    at = vae_page()
    at.sidebar.selectbox(key="vae_model").set_value("ae-mnist-16d").run()
    assert not at.exception
    sliders = [s for s in at.slider if s.key.startswith("z_ae-mnist-16d_")]
    assert len(sliders) == 16 and all("spread" in s.label and "KL" not in s.label
                                      for s in sliders)
    assert max(s.max for s in sliders) > 3 or min(s.min for s in sliders) < -3
    assert any(b.label == "Reset to the mean code" for b in at.button)


def test_encoded_code_reaches_the_sliders_and_one_move_changes_one_coordinate():
    """Issue 11.1 (AppTest half; the browser test checks the same in Chromium)."""
    at = vae_page()
    at.segmented_control(key="vae_section").set_value("Encode").run()
    next(b for b in at.button if b.label == "Use this code for the sliders").click().run()
    at.segmented_control(key="vae_section").set_value("Sliders").run()
    sl = {s.key.rsplit("_v", 1)[0]: s for s in at.slider if s.key.startswith("z_vae-mnist-16d_")}
    before = {k: s.value for k, s in sl.items()}
    assert len(before) == 16 and any(abs(v) > 0.05 for v in before.values())
    first = next(iter(sl))
    sl[first].set_value(2.9).run()
    after = {s.key.rsplit("_v", 1)[0]: s.value for s in at.slider
             if s.key.startswith("z_vae-mnist-16d_")}
    assert [k for k in before if abs(before[k] - after[k]) > 1e-9] == [first]


def test_2d_model_shows_the_manifold_with_test_codes():
    at = vae_page()
    at.sidebar.selectbox(key="vae_model").set_value("vae-mnist-2d").run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert charts and '"layout"' in charts[0].proto.spec and "images" in charts[0].proto.spec
    assert len([s for s in at.slider if s.key.startswith("z_vae-mnist-2d_")]) == 2


def _png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def test_good_upload_is_encoded_and_reconstructed():
    at = vae_page()
    at.segmented_control(key="vae_section").set_value("Encode").run()
    at.radio(key="enc_src").set_value("Upload").run()
    a = np.zeros((56, 56), np.uint8)
    a[8:48, 24:32] = 255
    at.file_uploader(key="enc_upload").set_value(("one.png", _png(a), "image/png")).run()
    assert not at.exception and not at.warning
    assert any("Use this code" in b.label for b in at.button)


@pytest.mark.parametrize("name,data", [("notes.txt", b"not an image"), ("empty.png", b""),
                                       ("cut.png", _png(np.full((40, 40), 9, np.uint8))[:60])])
def test_bad_upload_gets_a_message(name, data):
    at = vae_page()
    at.segmented_control(key="vae_section").set_value("Encode").run()
    at.radio(key="enc_src").set_value("Upload").run()
    at.file_uploader(key="enc_upload").set_value((name, data, "application/octet-stream")).run()
    assert not at.exception
    assert at.warning and name in at.warning[0].value


def test_pickle_offered_as_checkpoint_is_refused():
    at = vae_page()
    at.sidebar.file_uploader(key="ckpt_upload").set_value(
        ("model.safetensors", pickle.dumps({"w": 1}), "application/octet-stream")).run()
    assert not at.exception
    assert at.error and "pickle" in at.error[0].value


@pytest.mark.parametrize("section", ["Interpolate", "Denoise", "Numbers", "Train"])
def test_every_section_renders(section):
    at = vae_page()
    at.segmented_control(key="vae_section").set_value(section).run()
    assert not at.exception, at.exception
    if section == "Numbers":
        labels = [re.sub(r"\\(.)", r"\1", m.label) for m in at.metric]  # as the user reads it
        assert "−ELBO (nats)" in labels and "active units" in labels
    if section in ("Interpolate", "Denoise", "Sliders", "Encode"):
        assert images(at), section
    if section == "Sliders":
        assert len([w for w in at.slider if w.key and w.key.startswith("z_")]) == 16
    if section == "Encode":
        assert any("Code μ(x)" in str(m.value) for m in at.markdown)
    if section == "Train":
        assert any(b.label == "Start training" for b in at.button)


def test_training_form_reads_an_upload_and_lists_its_problems():
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(9):
            a = np.zeros((28, 28), np.uint8)
            a[4:24, 10 + i % 5:14 + i % 5] = 255
            zf.writestr(f"digits/{i}.png", _png(a))
        zf.writestr("../escape.png", _png(np.zeros((8, 8), np.uint8)))
        zf.writestr("broken.png", b"not really a png")
    at = vae_page()
    at.segmented_control(key="vae_section").set_value("Train").run()
    at.radio(key="tr_src").set_value("upload").run()
    at.file_uploader(key="tr_files").set_value(("mine.zip", buf.getvalue(), "application/zip")).run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "leaves the archive" in warnings and "broken.png" in warnings
    start = next(b for b in at.button if b.label == "Start training")
    assert not start.disabled  # 9 good images are enough to train on


def test_start_training_shows_the_job_panel_and_stop_ends_it():
    from unsup.jobs import get_runner

    at = vae_page()
    at.segmented_control(key="vae_section").set_value("Train").run()
    at.number_input(key="tr_epochs").set_value(300).run()
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception, at.exception
    job_id = at.query_params.get("job_vae")
    job_id = job_id[0] if isinstance(job_id, list) else job_id
    assert job_id and get_runner().get(job_id) is not None
    assert any(b.label == "Stop" for b in at.button)
    get_runner().stop(job_id)
    snap = get_runner().wait(job_id, 120)
    assert snap.status in ("stopped", "done")
