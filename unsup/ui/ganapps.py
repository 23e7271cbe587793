"""The "GAN applications" page's pieces: super-resolution (the comparison, the perception-distortion
table and plot) and the training form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from unsup import checkpoints
from unsup.checkpoints import Entry
from unsup.recipes import ganapps as R
from unsup.ui import tables, training
from unsup.ui.models import model_of, pick_entry
from unsup.ui.text import code, join, md, safe

PAGE = "gan-apps"
SETS = {"digits": "Digits (7×7 → 28×28)", "faces": "Faces (16×16 → 64×64)"}
ROLES = {False: "SRResNet (pixel loss)", True: "SRGAN (+ content + adversarial)"}


def entries(name: str | None = None, gan: bool | None = None) -> list[Entry]:
    """Super-resolution models, optionally only those for ``name``'s image shape and of one
    recipe (``gan``: adversarial or pixel-only, read from the card)."""
    out = []
    for e in checkpoints.list_models(R.KIND):
        cfg = (e.card or {}).get("config") or {}
        shape_set = "faces" if int(cfg.get("n_channels") or 1) == 3 else "digits"
        if name is not None and shape_set != name:
            continue
        if gan is not None and R.is_adversarial(e.card) != gan:
            continue
        out.append(e)
    return out


@st.cache_data(max_entries=4, show_spinner=False)
def heldout(name: str, n: int = 64) -> torch.Tensor:
    """The first ``n`` held-out images of a set (rendered once per process)."""
    if name == "faces":
        from unsup.data.faces import Faces

        return R._quantize(Faces("heldout", 64)[np.arange(n)])
    return R.heldout_images("digits")[:n]


def _metrics(entry: Entry | None) -> dict:
    return ((entry.card or {}).get("metrics") or {}) if entry is not None else {}


# -- the comparison ------------------------------------------------------------------------------
def _image_source(name: str):
    """A held-out image, an upload or (digits) a drawing as (1, c, s, s) in [0, 1] with a label;
    or (None, None) with the reason shown."""
    choices = ["Held-out image", "Upload"] + (["Draw"] if name == "digits" else [])
    src = st.radio("Image", choices, horizontal=True, key=f"sr_src_{name}")
    x = heldout(name)
    if src == "Held-out image":
        i = int(st.number_input("Held-out image #", 1, len(x), 1, key=f"sr_idx_{name}")) - 1
        return x[i:i + 1], f"held-out image #{i + 1}"
    from unsup.data import uploads
    from unsup.ui.vae import NamedBytes, image_from_upload

    size = 64 if name == "faces" else 28
    if src == "Upload":
        what = ("a face or any colour picture (made 64×64)" if name == "faces" else
                "a digit (made grey, framed like an MNIST digit, 28×28)")
        f = st.file_uploader(f"An image: {what}. It is downscaled ×4, then restored.",
                             key=f"sr_upload_{name}", max_upload_size=uploads.UPLOAD_MB,
                             help=uploads.LIMIT_TEXT)
        if not f:
            st.caption("No image yet.")
            return None, None
        if name == "faces":
            report = uploads.read_uploads([(f.name, f.getvalue())], size=64, n_channels=3)
            img, problems = (report.array()[0] if report.images else None), report.problems
        else:
            img, problems = image_from_upload([f], size)
        label = "your image"
    else:
        from unsup.ui.draw import draw_pad  # registers the component only when used

        png = draw_pad("sr_draw")
        if not png:
            st.caption("Draw a digit on the pad (white on black, like MNIST).")
            return None, None
        img, problems = image_from_upload([NamedBytes("drawing.png", png)], size)
        label = "your drawing"
    for p in problems:
        st.warning(md(p))
    if img is None:
        return None, None
    return torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None], label


def zoom(img: torch.Tensor, cx: float, cy: float, factor: int) -> torch.Tensor:
    """The window of 1/factor of the image's side centred near (cx, cy) in [0, 1] (kept
    inside), (c, s/factor, s/factor)."""
    s = img.shape[-1]
    w = max(2, s // factor)
    x0 = int(round(cx * s - w / 2))
    y0 = int(round(cy * s - w / 2))
    x0, y0 = min(max(0, x0), s - w), min(max(0, y0), s - w)
    return img[..., y0:y0 + w, x0:x0 + w]


def _per_image(name: str, out: torch.Tensor, truth: torch.Tensor) -> str:
    from unsup.metrics import images as IM

    p, s = float(IM.psnr(out, truth)[0]), float(IM.ssim(out, truth)[0])
    text = f"{p:.1f} dB · SSIM {s:.2f}"
    if name == "digits":
        probs = torch.softmax(R.digit_classifier()(out), 1)[0]
        text += f" · reads {int(probs.argmax())} ({float(probs.max()):.2f})"
    return text


def sr_section() -> None:
    from unsup.viz.images import labelled_row

    st.markdown("**Super-resolution ×4** (Ledig et al. 2017). Each high-res image is shrunk "
                "to a quarter of its side (the mean of each 4×4 block), then restored. "
                "SRResNet learns on the pixel error alone; SRGAN, the same generator, adds a "
                "discriminator that judges restored against real images and a *content* loss "
                "on features of a network of ours (VGG's weights cannot be downloaded here: "
                "the digit classifier's first layers, or the keypoint model's encoder for "
                "faces).")
    name = st.radio("Data", list(SETS), horizontal=True, key="sr_set",
                    format_func=lambda k: SETS[k])
    c = st.columns(2)
    picked = {}
    for col, gan in zip(c, (False, True)):
        items = entries(name, gan)
        e = pick_entry(ROLES[gan], items, f"sr_model_{name}_{int(gan)}",
                       default=f"sr-{name}-{'srgan' if gan else 'srresnet'}", where=col)
        picked[gan] = e
    if picked[False] is None or picked[True] is None:
        st.info(safe("A model is missing: train the shipped ones with {a}, then {b}.",
                     a=code(f"python -m unsup train sr-{name}-srresnet --out checkpoints"),
                     b=code(f"sr-{name}-srgan")))
        return
    models = {g: model_of(e) for g, e in picked.items()}
    if any(m is None for m in models.values()):
        return
    x, label = _image_source(name)
    if x is None:
        return
    torch.set_num_threads(1)
    with torch.no_grad():
        rows = {g: R.restore(m, x) for g, m in models.items()}
        r0 = rows[False]
        near = torch.nn.functional.interpolate(r0["low"], scale_factor=4, mode="nearest")
        images = [near[0], r0["bicubic"][0], r0["out"][0], rows[True]["out"][0], x[0]]
        labels = ["low-res input", "bicubic", "SRResNet", "SRGAN", "ground truth"]
        scale = 6 if name == "digits" else 3
        st.image(labelled_row(images, labels, scale=scale),
                 caption=md(f"{label}: the {r0['low'].shape[-1]}×{r0['low'].shape[-1]} input "
                            "(drawn with its pixels enlarged), three ways back to "
                            f"{x.shape[-1]}×{x.shape[-1]}, and the original"),
                 output_format="PNG")
        nums = {"bicubic": _per_image(name, r0["bicubic"], x),
                "SRResNet": _per_image(name, r0["out"], x),
                "SRGAN": _per_image(name, rows[True]["out"], x)}
        if name == "digits":
            probs = torch.softmax(R.digit_classifier()(x), 1)[0]
            nums["ground truth"] = (f"reads {int(probs.argmax())} "
                                    f"({float(probs.max()):.2f})")
        head = ("This image, against the original (PSNR in dB and SSIM: higher is closer" +
                ("; the digit classifier's reading and its probability" if name == "digits"
                 else "") + "): ")
        st.caption(safe("{h}{parts}.", h=md(head), parts=join(
            "; ", [safe("**{k}** {v}", k=k, v=v) for k, v in nums.items()])))
    with st.expander("Zoom", expanded=True):
        z = st.columns(3)
        factor = int(z[0].select_slider("Zoom", [2, 3, 4], 2, key="sr_zoom",
                                        format_func=lambda f: f"{f}×"))
        cx = z[1].slider("Window across", 0.0, 1.0, 0.5, 0.05, key="sr_cx")
        cy = z[2].slider("Window down", 0.0, 1.0, 0.5, 0.05, key="sr_cy")
        crops = [zoom(im, cx, cy, factor) for im in images[1:]]
        st.image(labelled_row(crops, labels[1:], scale=scale * factor),
                 caption="The same window of each (nearest-neighbour enlargement: the pixels "
                         "as they are)", output_format="PNG")
    numbers_table(name, picked)


# -- the numbers ---------------------------------------------------------------------------------
COLUMNS = {
    "method": tables.Col("method", "medium"),
    "psnr": tables.Col("PSNR, dB ↑", "small", "Peak signal-to-noise ratio against the original, "
                       "mean over the held-out images (higher is closer pixel by pixel)",
                       "%.2f"),
    "ssim": tables.Col("SSIM ↑", "small", "Structural similarity against the original "
                       "(scikit-image; 1 = identical)", "%.3f"),
    "acc": tables.Col("readable % ↑", "small", "The digit classifier's accuracy on the "
                      "restored digits (its labels are the held-out digits' own)", "%.1f"),
    "fd": tables.Col("Fréchet distance ↓", "small", "Realism: the Fréchet distance between the "
                     "restored set and the real held-out images in the features of a network "
                     "of ours (0 = indistinguishable as a set; lower is better)", "%.4g"),
}


def table_rows(name: str, picked: dict) -> list[dict]:
    """Bicubic, the two models and the ground truth on the held-out images, from the cards."""
    m0, m1 = _metrics(picked.get(False)), _metrics(picked.get(True))
    if "psnr" not in m0 or "psnr" not in m1:
        return []
    rows = [{"method": "bicubic", "psnr": m0["bicubic_psnr"], "ssim": m0["bicubic_ssim"],
             "acc": m0.get("bicubic_acc"), "fd": m0["bicubic_fd"]},
            {"method": f"SRResNet ({picked[False].name})", "psnr": m0["psnr"],
             "ssim": m0["ssim"], "acc": m0.get("acc"), "fd": m0["fd"]},
            {"method": f"SRGAN ({picked[True].name})", "psnr": m1["psnr"], "ssim": m1["ssim"],
             "acc": m1.get("acc"), "fd": m1["fd"]},
            {"method": "ground truth", "psnr": None, "ssim": 1.0,
             "acc": m0.get("truth_acc"), "fd": 0.0}]
    for r in rows:
        if r["acc"] is not None:
            r["acc"] = 100 * r["acc"]
    return rows


def verdict(rows: list[dict]) -> str:
    """One sentence computed from the table's SRResNet and SRGAN rows."""
    a, b = rows[1], rows[2]
    dist = ("SRResNet is closer pixel by pixel" if a["psnr"] >= b["psnr"] else
            "SRGAN is even closer pixel by pixel")
    real = ("SRGAN is the more realistic set" if b["fd"] < a["fd"] else
            "SRResNet is the more realistic set")
    ratio = b["fd"] / a["fd"] if a["fd"] else float("nan")
    return (f"{dist} ({a['psnr']:.2f} against {b['psnr']:.2f} dB); {real}: SRGAN's Fréchet "
            f"distance is {ratio:.2f}× SRResNet's. "
            + ("That is the perception–distortion trade-off (Blau & Michaeli 2018): no method "
               "can be best at both." if a["psnr"] >= b["psnr"] and b["fd"] < a["fd"] else
               "Here the trade-off does not show."))


def numbers_table(name: str, picked: dict) -> None:
    rows = table_rows(name, picked)
    if not rows:
        st.caption("These models' cards hold no held-out numbers yet.")
        return
    n = _metrics(picked[False]).get("n_heldout", R.N_HELDOUT)
    st.markdown(safe("**On the {n} held-out {name}** (numbers from the models' cards)",
                     n=f"{n:,}", name=name))
    df = pd.DataFrame(rows)
    if name != "digits":
        df = df.drop(columns=["acc"])
    tables.show(df, COLUMNS, key=f"sr_table_{name}")
    st.caption(md(verdict(rows)))
    from unsup.viz.plots import perception_distortion

    st.plotly_chart(perception_distortion(rows[:3]), key=f"sr_plot_{name}")


# -- train -----------------------------------------------------------------------------------------
def training_form() -> None:
    shown = training.job_panel(PAGE, ["pixel"], y_title="pixel loss of the training batch "
                               "(mean squared error, lower is better)",
                               preview_caption="Live preview: bicubic (top), the model, the "
                               "original (bottom), on held-out images.")
    if shown:
        return
    st.write("Train a super-resolution model in the background, on the built-in digits or "
             "faces or on your own images (28×28 grey or 64×64 colour; every 10th is held out "
             "to measure it). An SRGAN starts from the shipped SRResNet of the same images. "
             "Stop keeps the last checkpoint, which then appears in the pickers; Resume "
             "continues it, also after a restart.")
    training.resume_from_disk(PAGE, entries(), lambda path, more: R.training_spec(
        steps=int(more), resume=path), default=500, step=100)
    c = st.columns(3)
    src = c[0].radio("Data", ["digits", "faces", "My images"], key="srt_data",
                     format_func=lambda k: SETS.get(k, k))
    gan = c[1].radio("Model", [False, True], key="srt_gan", format_func=lambda g: ROLES[g]) \
        is True
    images, label, name = None, None, src
    if src == "My images":
        from unsup.data import uploads

        colour = c[2].radio("Your images are", ["grey, 28×28", "colour, 64×64"],
                            key="srt_colour") == "colour, 64×64"
        files = st.file_uploader("Images (PNG, JPEG, …) or a ZIP of them; at least 20",
                                 accept_multiple_files=True, key="srt_upload",
                                 max_upload_size=uploads.UPLOAD_MB, help=uploads.LIMIT_TEXT)
        if not files:
            st.caption("No images yet.")
            return
        size, ch = (64, 3) if colour else (28, 1)
        report = uploads.read_uploads([(f.name, f.getvalue()) for f in files], size=size,
                                      n_channels=ch)
        for p in report.problems[:8]:
            st.warning(md(p))
        if not report.images:
            return
        images = report.array()
        label, name = f"{len(images)} uploaded images", ("faces" if colour else "digits")
        st.caption(md(f"{len(images):d} images read, {images.shape[1]:d} channel(s), "
                      f"{size}×{size}."))
    steps = int(st.number_input("Steps", 10, 100_000, R.JOB_STEPS[gan], step=100,
                                key=f"srt_steps_{int(gan)}",
                                help="Batches of 32 digits or 16 faces"))
    training.estimate_caption(f"sr-{name}", (name, gan),
                              lambda: R.estimate_step_seconds(name, gan), steps)
    if st.button("Start training", type="primary", icon=":material/play_arrow:",
                 key="srt_start"):
        try:
            make = R.training_spec(data=name if images is None else "digits", gan=gan,
                                   steps=steps, images=images, data_label=label)
        except (ValueError, checkpoints.CheckpointError) as exc:
            st.error(md(str(exc)))
            return
        except OSError as exc:  # a full disk while storing the images with the run
            from unsup.fileio import os_error_text

            st.error(md(os_error_text(exc, "your images")))
            return
        if training.start(PAGE, lambda: make):
            st.rerun()
