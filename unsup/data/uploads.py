"""Turning the user's uploaded images (PNG/JPEG/... files, or ZIPs of them) into model input.

Everything here is defensive: a bad file yields a readable message in ``UploadReport.problems``
and is skipped; nothing raises to the page. Limits (one line for the uploader: :data:`LIMIT_TEXT`;
"MB" is 2**20 bytes, as Streamlit's ``server.maxUploadSize`` counts it):

- an image file may be at most ``MAX_FILE_BYTES``; an image at most ``MAX_PIXELS`` pixels (checked
  from the header, before decoding, so a decompression bomb is never expanded);
- a ZIP file may be at most ``MAX_ZIP_BYTES``; it is read in memory, never extracted to disk;
  members with absolute paths or ``..`` are refused; at most ``MAX_ZIP_MEMBERS`` members and
  ``MAX_ZIP_TOTAL`` bytes uncompressed in all, with each member's size checked while reading (a ZIP
  bomb stops at the limit);
- a ZIP inside the uploaded ZIP is read too, under the same guards and sharing the same member and
  byte budget; a ZIP nested deeper is named in ``problems`` and skipped;
- at most ``MAX_IMAGES`` images; the ones past it are counted in ``problems``;
- grayscale, RGB, RGBA (composited on the image's background), palette, 16-bit and CMYK images
  are all converted.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np
from PIL import Image, ImageOps

MB = 1024 * 1024  # a megabyte as Streamlit counts it for server.maxUploadSize (2**20 bytes)
IMAGE_MB = 25  # one image file
ZIP_MB = 300  # one ZIP file, and all it holds uncompressed
MAX_FILE_BYTES = IMAGE_MB * MB
MAX_PIXELS = 40_000_000
MAX_ZIP_MEMBERS = 20_000
MAX_ZIP_TOTAL = ZIP_MB * MB
# A ZIP of images (already compressed) is about as large as what it holds, so the archive itself
# may be as large as the uncompressed total it is allowed.
MAX_ZIP_BYTES = MAX_ZIP_TOTAL
MAX_IMAGES = 20_000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
UPLOAD_MB = max(IMAGE_MB, ZIP_MB)  # the largest file an image uploader takes, for its widget


def _mb(n: int) -> str:
    v = n / MB
    return f"{v:.0f}" if abs(v - round(v)) < 0.05 else f"{v:.1f}"


def limit_text() -> str:
    """One line for an image uploader: what files and how much is read."""
    return (f"PNG, JPEG, BMP, GIF, WebP or TIFF images up to {_mb(MAX_FILE_BYTES)} MB and "
            f"{MAX_PIXELS / 1e6:.0f} megapixels each, or ZIPs of them up to "
            f"{_mb(MAX_ZIP_BYTES)} MB ({MAX_ZIP_MEMBERS:,} files, a ZIP inside is read too); "
            f"at most {MAX_IMAGES:,} images")


LIMIT_TEXT = limit_text()


@dataclass
class UploadReport:
    """Images read from an upload and the problems met on the way."""

    images: list[np.ndarray] = field(default_factory=list)  # each (c, s, s) float32 in [0, 1]
    names: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def array(self) -> np.ndarray:
        """All images stacked: (n, c, s, s)."""
        return np.stack(self.images).astype(np.float32)

    def summary(self) -> str:
        s = f"{len(self.images)} image{'s' * (len(self.images) != 1)} read"
        if self.problems:
            s += f", {len(self.problems)} skipped"
        return s


class UploadError(ValueError):
    """Raised by :func:`decode_image` with a message meant for the user."""


def decode_image(data: bytes, name: str = "image") -> Image.Image:
    """Open ``data`` as an image safely; raises :class:`UploadError` with a clear reason."""
    if len(data) == 0:
        raise UploadError(f"{name}: the file is empty (0 bytes).")
    if len(data) > MAX_FILE_BYTES:
        raise UploadError(f"{name}: {_mb(len(data))} MB is over the "
                          f"{_mb(MAX_FILE_BYTES)} MB limit per image.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise UploadError(f"{name}: {w}x{h} pixels is too large (limit "
                                  f"{MAX_PIXELS / 1e6:.0f} megapixels); scale it down first.")
            img.load()
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadError(f"{name}: the image is far too large to decode safely "
                          "(a decompression bomb?).") from None
    except Image.UnidentifiedImageError:
        raise UploadError(f"{name}: not an image file PIL can read (PNG, JPEG, BMP, GIF, WebP, "
                          "TIFF are accepted).") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UploadError(f"{name}: the image is damaged or truncated ({exc}).") from None
    return img


def to_gray_or_rgb(img: Image.Image, n_channels: int) -> Image.Image:
    """Convert any PIL mode (1, L, P, RGB, RGBA, LA, I;16, I, F, CMYK, YCbCr) to L or RGB."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        img = Image.fromarray(arr.astype(np.uint8), mode="L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        alpha = np.asarray(rgba)[..., 3]
        # Composite onto the colour that makes the drawing visible: a mostly transparent image
        # is a drawing on nothing, so put it on black if its strokes are light, else on white.
        rgb = np.asarray(rgba)[..., :3].astype(np.float32)
        strokes = rgb[alpha > 127]
        bg = 0 if strokes.size and strokes.mean() > 127 else 255
        base = Image.new("RGBA", rgba.size, (bg, bg, bg, 255))
        img = Image.alpha_composite(base, rgba)
    return img.convert("L" if n_channels == 1 else "RGB")


def image_to_array(img: Image.Image, size: int, n_channels: int = 1,
                   invert: str = "auto") -> np.ndarray:
    """An image as (c, size, size) float32 in [0, 1], letterboxed to a square.

    ``invert``: "auto" makes light-on-dark like MNIST when the border is mostly bright (a digit
    drawn in ink on paper), "yes" always, "no" never. Only applies to grayscale.
    """
    img = to_gray_or_rgb(ImageOps.exif_transpose(img), n_channels)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    if n_channels == 1 and invert != "no":
        border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
        if invert == "yes" or (invert == "auto" and border.mean() > 0.5):
            arr = 1.0 - arr
            img = Image.fromarray((arr * 255).astype(np.uint8), mode="L")
    # letterbox on the background colour, then resize
    w, h = img.size
    side = max(w, h)
    fill = 0 if n_channels == 1 else tuple(int(v) for v in np.asarray(img).reshape(-1, 3)[0])
    canvas = Image.new(img.mode, (side, side), fill)
    canvas.paste(img, ((side - w) // 2, (side - h) // 2))
    canvas = canvas.resize((size, size), Image.Resampling.LANCZOS)
    out = np.asarray(canvas, dtype=np.float32) / 255.0
    if out.ndim == 2:
        out = out[None]
    else:
        out = out.transpose(2, 0, 1)
    return np.clip(out, 0.0, 1.0)


def _safe_member(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return not (p.is_absolute() or ".." in p.parts or (p.parts and p.parts[0].endswith(":")))


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, shown: str) -> bytes:
    """Read one member, refusing to inflate more than ``limit`` bytes."""
    with zf.open(info) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise UploadError(f"{shown}: expands to more than {_mb(limit)} MB (a ZIP bomb?); "
                          "skipped.")
    return data


@dataclass
class _Budget:
    """What is left to read of one uploaded ZIP, nested archives included."""

    members: int
    bytes: int


def read_uploads(files: list[tuple[str, bytes]], size: int, n_channels: int = 1,
                 invert: str = "auto") -> UploadReport:
    """Read images from ``(filename, bytes)`` pairs: image files and ZIPs of image files."""
    report = UploadReport()
    n_over = 0

    def add(name: str, data: bytes) -> None:
        nonlocal n_over
        if len(report.images) >= MAX_IMAGES:
            n_over += 1
            return
        try:
            img = decode_image(data, name)
            report.images.append(image_to_array(img, size, n_channels, invert))
            report.names.append(name)
        except UploadError as exc:
            report.problems.append(str(exc))
        except Exception as exc:  # PIL raises a zoo of errors on hostile input
            report.problems.append(f"{name}: could not be read ({type(exc).__name__}: {exc}).")

    for name, data in files:
        if name.lower().endswith(".zip") or data[:4] == b"PK\x03\x04":
            if len(data) > MAX_ZIP_BYTES:
                report.problems.append(f"{name}: {_mb(len(data))} MB is over the limit of "
                                       f"{_mb(MAX_ZIP_BYTES)} MB for a ZIP; split it into "
                                       "smaller ZIPs.")
                continue
            _read_zip(name, data, add, report, _Budget(MAX_ZIP_MEMBERS, MAX_ZIP_TOTAL))
        else:
            add(name, data)
    if n_over:
        report.problems.append(f"{n_over:,} image{'s' * (n_over != 1)} over the limit of "
                               f"{MAX_IMAGES:,} {'were' if n_over != 1 else 'was'} not read.")
    if not report.images and not report.problems:
        report.problems.append("No files were given.")
    return report


def _read_zip(name: str, data: bytes, add, report: UploadReport, budget: _Budget,
              depth: int = 0) -> int:
    """Read the images of one archive (and of the archives it holds, when ``depth`` is 0) into
    ``add``; returns how many images and archives it held."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        report.problems.append(f"{name}: not a readable ZIP archive ({exc}).")
        return 0
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > budget.members:
            around = " (counted with the ZIP around it)" if depth else ""
            report.problems.append(f"{name}: {len(infos):,} files is over the limit of "
                                   f"{MAX_ZIP_MEMBERS:,} files{around}; skipped.")
            return 0
        budget.members -= len(infos)
        n_found = 0
        for info in infos:
            member = info.filename
            shown = f"{name}/{member}"
            if not _safe_member(member):
                report.problems.append(f"{name}: refused member {member!r} (path leaves the "
                                       "archive).")
                continue
            suffix = PurePosixPath(member).suffix.lower()
            if suffix not in IMAGE_SUFFIXES and suffix != ".zip":
                continue
            if PurePosixPath(member).name.startswith("._") or "__MACOSX" in member:
                continue
            n_found += 1
            if suffix == ".zip" and depth >= 1:
                report.problems.append(f"{shown}: skipped; archives are read one level deep (a "
                                       "ZIP inside a ZIP), and this one is deeper. Unpack it "
                                       "and upload its images or a ZIP of them.")
                continue
            if budget.bytes <= 0:
                report.problems.append(f"{name}: stopped after {_mb(MAX_ZIP_TOTAL)} MB "
                                       "uncompressed in all.")
                break
            limit = budget.bytes if suffix == ".zip" else min(MAX_FILE_BYTES, budget.bytes)
            try:
                blob = _read_member(zf, info, limit, shown)
            except UploadError as exc:
                report.problems.append(str(exc))
                budget.bytes = 0
                continue
            except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError) as exc:
                report.problems.append(f"{shown}: could not be read ({exc}).")
                continue
            budget.bytes -= len(blob)
            if suffix == ".zip":
                _read_zip(shown, blob, add, report, budget, depth + 1)
            else:
                add(shown, blob)
        if n_found == 0:
            report.problems.append(f"{name}: the ZIP holds no images (looked for "
                                   f"{', '.join(sorted(IMAGE_SUFFIXES))}).")
        return n_found


def center_like_mnist(img: np.ndarray, threshold: float = 0.1) -> np.ndarray:
    """Frame a light-on-dark digit the way MNIST was made (LeCun et al. 1998): the ink's bounding
    box scaled to fit 20/28 of the side, then centred by its centre of mass.

    ``img`` is (1, s, s) float in [0, 1]; returns the same shape. An empty image is returned as is.
    """
    a = img[0]
    s = a.shape[-1]
    ys, xs = np.nonzero(a > threshold)
    if len(ys) == 0:
        return img
    crop = a[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = crop.shape
    box = max(1, round(s * 20 / 28))
    scale = box / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    pil = Image.fromarray((crop * 255).astype(np.uint8), mode="L").resize(
        (nw, nh), Image.Resampling.LANCZOS)
    small = np.asarray(pil, dtype=np.float32) / 255.0
    out = np.zeros((s, s), dtype=np.float32)
    y0, x0 = (s - nh) // 2, (s - nw) // 2
    out[y0:y0 + nh, x0:x0 + nw] = small
    total = out.sum()
    if total > 0:  # shift the centre of mass to the middle
        cy = (out.sum(1) * np.arange(s)).sum() / total
        cx = (out.sum(0) * np.arange(s)).sum() / total
        dy, dx = int(round((s - 1) / 2 - cy)), int(round((s - 1) / 2 - cx))
        out = np.roll(out, (dy, dx), axis=(0, 1))
    return np.clip(out, 0, 1)[None]
