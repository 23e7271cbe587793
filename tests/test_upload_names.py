"""Hostile file names in uploads are shown as text, never as markdown (issue 21, part 9).

Each upload that reports the names of the files it read gets a ZIP whose members are named like a
markdown image (which the browser would fetch) and a ``javascript:`` link; every text element the
page then renders must hold the names only with their markdown escaped."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from streamlit.testing.v1 import AppTest

from unsup import paths

PAGES = next(d for d in (paths.ROOT / "app_pages", paths.ROOT / "pages") if d.is_dir())
IMAGE_NAME = "![x](http://example.com/a.png).png"
LINK_NAME = "[c](javascript:alert(1)).png"


def hostile_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(IMAGE_NAME, b"not an image")   # unreadable: reported by name
        z.writestr(LINK_NAME, b"not an image either")
    return buf.getvalue()


def rendered_texts(at: AppTest) -> list[str]:
    """The markdown bodies and labels of everything the page drew."""
    out: list[str] = []
    for kind in ("markdown", "caption", "warning", "error", "info", "success", "title",
                 "header", "subheader", "exception"):
        out += [str(getattr(e, "value", "")) for e in at.get(kind)]
    for kind in ("expander", "selectbox", "radio", "button", "number_input", "file_uploader",
                 "text_input", "slider", "select_slider", "checkbox", "toggle", "multiselect"):
        for e in at.get(kind):
            out += [str(getattr(e, "label", "") or ""), str(getattr(e, "help", "") or "")]
    return out


def unescaped_markdown(text: str) -> list[str]:
    """Link, image or raw-HTML syntax left after removing every backslash-escaped character."""
    bare = re.sub(r"\\.", "", text)
    return [s for s in ("](", "![", "<img", "javascript:") if s in bare]


UPLOADS = {
    # page, section key and value, state that shows the uploader, uploader key
    "gan-train": ("gan.py", {"gan_section": "Train", "gt_kind": "dcgan",
                             "gt_data_dcgan": "upload"}, "gt_files"),
    "vae-train": ("vae_sliders.py", {"vae_section": "Train", "tr_src": "upload"}, "tr_files"),
    "vae-encode": ("vae_sliders.py", {"vae_section": "Encode", "enc_src": "Upload"},
                   "enc_upload"),
    "keypoints-upload": ("keypoints.py", {"kp_section": "Upload"}, "kp_upload"),
    "keypoints-train": ("keypoints.py", {"kp_section": "Train", "kt_src": "upload"}, "kt_files"),
    "cyclegan-train": ("cyclegan.py", {"cg_section": "Train", "cg_tr_src": "upload"}, "cg_tr_a"),
}


@pytest.mark.parametrize("where", list(UPLOADS))
def test_member_names_of_an_upload_render_escaped(where):
    page, state, key = UPLOADS[where]
    at = AppTest.from_file(str(PAGES / page), default_timeout=240)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    uploader = next((u for u in at.file_uploader if u.key == key), None)
    assert uploader is not None, f"no uploader {key} on {where}"
    uploader.set_value([("names.zip", hostile_zip(), "application/zip")])
    at.run()
    assert not at.exception, at.exception
    texts = rendered_texts(at)
    shown = [t for t in texts if "example" in t or "javascript" in t]
    assert len(shown) >= 1, f"the member names are not reported on {where}: {texts}"
    bad = [(t, unescaped_markdown(t)) for t in texts if unescaped_markdown(t)]
    assert not bad, bad
