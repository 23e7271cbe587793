"""Bad input from a user gets a clear message; good input in any common mode simply works."""

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from unsup.data import uploads
from unsup.data.uploads import read_uploads


def png_bytes(img: Image.Image, fmt="PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def digit_image(mode="L", size=(40, 30)) -> Image.Image:
    a = np.zeros(size[::-1], dtype=np.uint8)
    a[5:25, 15:22] = 255  # a bright bar on black: a "1"
    return Image.fromarray(a, "L").convert(mode) if mode != "L" else Image.fromarray(a, "L")


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_good_png_is_read_at_model_size():
    r = read_uploads([("one.png", png_bytes(digit_image()))], size=28)
    assert not r.problems and r.array().shape == (1, 1, 28, 28)
    x = r.array()[0, 0]
    assert 0 <= x.min() and x.max() <= 1 and x[14, 14] > 0.5 and x[0, 0] < 0.1


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "I;16", "CMYK", "P", "1", "LA"])
def test_every_common_mode_simply_works(mode):
    img = digit_image()
    if mode == "I;16":
        img = Image.fromarray(np.asarray(img, dtype=np.uint16) * 257)
        img = img.convert("I;16") if img.mode != "I;16" else img
    else:
        img = img.convert(mode)
    fmt = "JPEG" if mode == "CMYK" else ("TIFF" if mode == "I;16" else "PNG")
    r = read_uploads([(f"x.{fmt.lower()}", png_bytes(img, fmt))], size=28)
    assert not r.problems, r.problems
    x = r.array()[0, 0]
    assert x[14, 14] > 0.4 and x[2, 2] < 0.2  # stroke bright, background dark


def test_transparent_drawing_is_composited_visibly():
    a = np.zeros((30, 30, 4), dtype=np.uint8)
    a[5:25, 12:18] = (0, 0, 0, 255)  # black ink on a transparent sheet
    r = read_uploads([("ink.png", png_bytes(Image.fromarray(a, "RGBA")))], size=28)
    x = r.array()[0, 0]
    assert x[14, 14] > 0.5 and x[2, 2] < 0.2  # inverted to light-on-dark like MNIST


def test_dark_ink_on_paper_is_inverted():
    img = Image.fromarray(255 - np.asarray(digit_image()), "L")
    x = read_uploads([("paper.jpg", png_bytes(img, "JPEG"))], size=28).array()[0, 0]
    assert x[14, 14] > 0.5 and x[2, 2] < 0.2


def test_rgb_models_get_three_channels():
    r = read_uploads([("c.png", png_bytes(digit_image("RGB")))], size=16, n_channels=3)
    assert r.array().shape == (1, 3, 16, 16)


@pytest.mark.parametrize("name,data,match", [
    ("empty.png", b"", "empty"),
    ("notes.txt", b"just some text, not an image", "not an image"),
    ("fake.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image"),
])
def test_bad_files_get_a_message(name, data, match):
    r = read_uploads([(name, data)], size=28)
    assert not r.images and len(r.problems) == 1 and match in r.problems[0].lower()


def test_truncated_png():
    data = png_bytes(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64),
                                                                       dtype=np.uint8)))
    r = read_uploads([("cut.png", data[: len(data) // 2])], size=28)
    assert not r.images and "damaged or truncated" in r.problems[0]


def test_decompression_bomb_is_refused_without_decoding():
    # A 20,000 x 20,000 PNG compresses to a few hundred kB; it must be refused from its header.
    img = Image.new("1", (20_000, 20_000))
    data = png_bytes(img, optimize=False)
    assert len(data) < uploads.MAX_FILE_BYTES
    r = read_uploads([("bomb.png", data)], size=28)
    assert not r.images and "too large" in r.problems[0]


def test_zip_of_images_and_junk():
    z = zip_bytes({"a/one.png": png_bytes(digit_image()), "b/two.png": png_bytes(digit_image()),
                   "readme.txt": b"hi", "__MACOSX/._one.png": b"junk",
                   "bad.png": b"garbage"})
    r = read_uploads([("set.zip", z)], size=28)
    assert len(r.images) == 2 and len(r.problems) == 1 and "bad.png" in r.problems[0]


def test_zip_with_parent_paths_is_refused_member_by_member(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    z = zip_bytes({"../evil.png": png_bytes(digit_image()), "/abs.png": png_bytes(digit_image()),
                   "ok.png": png_bytes(digit_image())})
    r = read_uploads([("trav.zip", z)], size=28)
    assert len(r.images) == 1 and sum("leaves the archive" in p for p in r.problems) == 2
    assert not (tmp_path.parent / "evil.png").exists() and not list(tmp_path.iterdir())


def test_zip_bomb_stops_at_the_limit(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_FILE_BYTES", 1_000_000)
    z = zip_bytes({"huge.png": b"\x00" * 50_000_000})  # 50 MB of zeros, ~50 kB zipped
    assert len(z) < 200_000
    r = read_uploads([("bomb.zip", z)], size=28)
    assert not r.images and "ZIP bomb" in r.problems[0]


def test_zip_without_images_and_broken_zip():
    r = read_uploads([("docs.zip", zip_bytes({"a.txt": b"x", "b.csv": b"1,2"}))], size=28)
    assert not r.images and "holds no images" in r.problems[0]
    r = read_uploads([("broken.zip", b"PK\x03\x04garbage")], size=28)
    assert not r.images and "ZIP" in r.problems[0]


def test_center_like_mnist_frames_the_ink():
    a = np.zeros((1, 28, 28), np.float32)
    a[0, 2:8, 20:23] = 1.0  # a small stroke in a corner
    out = uploads.center_like_mnist(a)[0]
    ys, xs = np.nonzero(out > 0.1)
    assert 18 <= ys.max() - ys.min() + 1 <= 21  # scaled to about 20 px tall
    assert abs(ys.mean() - 13.5) < 1.5 and abs(xs.mean() - 13.5) < 1.5
    blank = np.zeros((1, 28, 28), np.float32)
    assert np.array_equal(uploads.center_like_mnist(blank), blank)
