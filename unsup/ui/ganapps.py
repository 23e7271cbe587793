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


def numbers_text(name: str, numbers: dict) -> str:
    """One restoration's numbers as the caption writes them."""
    parts = []
    if "psnr" in numbers:
        parts.append(f"{numbers['psnr']:.1f} dB · SSIM {numbers['ssim']:.2f}")
    if "reads" in numbers:
        parts.append(f"reads {numbers['reads']} ({numbers['prob']:.2f})")
    return " · ".join(parts)


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
    shown = R.comparison(name, models, x)
    images, labels = shown["images"], shown["labels"]
    scale = 6 if name == "digits" else 3
    side, big = shown["low_side"], x.shape[-1]
    st.image(labelled_row(images, labels, scale=scale),
             caption=md(f"{label}: the {side}×{side} input (drawn with its pixels enlarged), "
                        f"three ways back to {big}×{big}, and the original"),
             output_format="PNG")
    head = ("This image, against the original (PSNR in dB and SSIM: higher is closer" +
            ("; the digit classifier's reading and its probability" if name == "digits"
             else "") + "): ")
    st.caption(safe("{h}{parts}.", h=md(head), parts=join("; ", [
        safe("**{k}** {v}", k=k, v=numbers_text(name, v))
        for k, v in shown["numbers"].items()])))
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


CLEAR_GAIN = 0.9
"""SRGAN counts as the more realistic set only when its Fréchet distance is below this share of
SRResNet's (a few per cent either way is within what another draw of the held-out set moves)."""


def verdict(rows: list[dict]) -> str:
    """One sentence computed from the table's SRResNet and SRGAN rows."""
    a, b = rows[1], rows[2]
    ratio = b["fd"] / a["fd"] if a["fd"] else float("nan")
    dist = ("SRResNet is closer pixel by pixel" if a["psnr"] >= b["psnr"] else
            "SRGAN is even closer pixel by pixel")
    head = f"{dist} ({a['psnr']:.2f} against {b['psnr']:.2f} dB); "
    if ratio < CLEAR_GAIN:
        head += (f"SRGAN is the more realistic set: its Fréchet distance is {ratio:.2f}× "
                 "SRResNet's. ")
        tail = ("That is the perception–distortion trade-off (Blau & Michaeli 2018): no method "
                "can be best at both." if a["psnr"] >= b["psnr"] else
                "Here the trade-off does not show.")
    elif ratio > 1 / CLEAR_GAIN:
        head += f"SRGAN is even the *less* realistic set ({ratio:.2f}× SRResNet's distance). "
        tail = "Here the adversarial term did not pay."
    else:
        head += (f"as sets they are about equally realistic (SRGAN's Fréchet distance is "
                 f"{ratio:.2f}× SRResNet's). ")
        tail = ("Here the adversarial term bought no clear realism: when the pixel loss alone "
                "already restores the images this closely, a discriminator finds little to "
                "tell apart.")
    return head + tail


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
    job = training.current_job(PAGE)
    stackgan = job is not None and "StackGAN" in str(job.title)
    if job is not None and "inpainting" in str(job.title):
        caption = ("Live preview: held-out images with a hole (top), filled by the model "
                   "(middle), the originals (bottom).")
    elif stackgan:
        caption = ("Live preview: the first four example sentences, stage I's sketches (top) "
                   "and stage II's images (bottom).")
    else:
        caption = ("Live preview: bicubic (top), the model, the original (bottom), on held-out "
                   "images.")
    if stackgan:
        shown = training.job_panel(PAGE, ["d_loss", "g_adv"], y_title="D and G losses",
                                   preview_caption=caption + " The two losses are a balance "
                                   "between the players, not a score: lower is not better.")
    else:
        shown = training.job_panel(PAGE, ["pixel"], y_title="pixel loss, MSE (lower is "
                                   "better)", preview_caption=caption)
    if shown:
        return
    what = st.radio("What to train", ["Super-resolution", "Inpainting", "Text to image"],
                    horizontal=True, key="gt_what")
    if what == "Inpainting":
        inpaint_training_form()
        return
    if what == "Text to image":
        from unsup.ui import text2img

        text2img.training_form()
        return
    st.write("Train a super-resolution model in the background, on the built-in digits or "
             "faces or on your own images (28×28 grey or 64×64 colour; every 10th is held out "
             "to measure it). An SRGAN starts from the shipped SRResNet of the same images. "
             "Stop keeps the last checkpoint, which then appears in the pickers; Resume "
             "continues it, also after a restart.")
    training.resume_from_disk(PAGE, entries(), lambda path, more: R.training_spec(
        steps=int(more), resume=path), default=500, step=100)
    data_and_start("srt", R.JOB_STEPS, ROLES, R.training_spec, R.estimate_step_seconds,
                   "Batches of 32 digits or 16 faces")


def inpaint_training_form() -> None:
    st.write("Train an inpainting model in the background, on the built-in digits or faces or "
             "on your own images (28×28 grey or 64×64 colour; every 10th is held out and "
             "measured with the set's standard holes: a random 12×12 square on digits, a "
             "random quarter on faces). Stop keeps the last checkpoint, which then appears in "
             "the Inpainting section; Resume continues it, also after a restart.")
    training.resume_from_disk(PAGE, [e for n in SETS for e in inpaint_entries(n)],
                              lambda path, more: R.inpaint_training_spec(steps=int(more),
                                                                         resume=path),
                              default=500, step=100)
    data_and_start("ipt", {False: R.INPAINT_JOB_STEPS, True: R.INPAINT_JOB_STEPS},
                   {False: "Context encoder (pixel loss)", True: "Global + local GAN"},
                   R.inpaint_training_spec, R.estimate_inpaint_step_seconds,
                   "Batches of 32 digits or 16 faces, a new hole for each image")


def data_and_start(prefix: str, default_steps: dict, roles: dict, make_spec, estimate,
                   steps_help: str) -> None:
    """The Train form's data, model, steps, estimate and Start button (both kinds of job)."""
    c = st.columns(3)
    src = c[0].radio("Data", ["digits", "faces", "My images"], key=f"{prefix}_data",
                     format_func=lambda k: SETS.get(k, k))
    gan = c[1].radio("Model", [False, True], key=f"{prefix}_gan",
                     format_func=lambda g: roles[g]) is True
    images, label, name = None, None, src
    if src == "My images":
        from unsup.data import uploads

        colour = c[2].radio("Your images are", ["grey, 28×28", "colour, 64×64"],
                            key=f"{prefix}_colour") == "colour, 64×64"
        files = st.file_uploader("Images (PNG, JPEG, …) or a ZIP of them; at least 20",
                                 accept_multiple_files=True, key=f"{prefix}_upload",
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
    steps = int(st.number_input("Steps", 10, 100_000, default_steps[gan], step=100,
                                key=f"{prefix}_steps_{int(gan)}", help=md(steps_help)))
    training.estimate_caption(f"{prefix}-{name}", (name, gan),
                              lambda: estimate(name, gan), steps)
    if st.button("Start training", type="primary", icon=":material/play_arrow:",
                 key=f"{prefix}_start"):
        try:
            make = make_spec(data=name if images is None else "digits", gan=gan,
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


# -- inpainting ------------------------------------------------------------------------------------
INPAINT_ROLES = {"inpaint-digits-ce": "context encoder", "inpaint-digits": "global + local GAN",
                 "inpaint-faces-ce": "context encoder", "inpaint-faces": "global + local GAN"}
SHORT = {"nearest training image": "nearest image", "global + local GAN": "GL GAN",
         "context encoder": "context enc."}
"""The image row's labels (the tiles are narrow; the caption below names them in full)."""
MASKS = {"square": "random hole", "left": "left half", "right": "right half", "top": "top half",
         "bottom": "bottom half", "painted": "paint it"}


def inpaint_entries(name: str) -> list[Entry]:
    out = []
    for e in checkpoints.list_models(R.INPAINT):
        cfg = (e.card or {}).get("config") or {}
        if ("faces" if int(cfg.get("n_channels") or 1) == 3 else "digits") == name:
            out.append(e)
    return out


@st.cache_resource(show_spinner=False)
def _pool():
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="unsup-inpaint")


@st.cache_resource(max_entries=32, show_spinner=False)
def _nearest(name: str, key: str, _x: torch.Tensor, _mask: torch.Tensor):
    """A future of the nearest-training-image fill of one image and hole (``key`` names them),
    found in a background thread: over the 6,000 training faces it takes about a second."""
    return _pool().submit(R.nearest_filled, name, _x, _mask)


def _painted_mask(name: str):
    """The drawing pad's strokes as a mask at the image's size, or None before a stroke."""
    from unsup.data.uploads import decode_image
    from unsup.ui.draw import draw_pad

    png = draw_pad(f"ip_pad_{name}")
    if not png:
        return None
    try:
        img = decode_image(png, "drawing.png").convert("L")
    except Exception:  # noqa: BLE001 - a broken drawing is a message, not a traceback
        st.warning("The drawing could not be read; clear the pad and paint again.")
        return None
    s = 64 if name == "faces" else 28
    from PIL import Image

    return np.asarray(img.resize((s, s), Image.Resampling.BILINEAR), np.float32) / 255.0


def inpaint_section() -> None:
    from unsup.viz.images import labelled_row

    st.markdown("**Inpainting** (Pathak et al. 2016; Iizuka et al. 2017): part of the image is "
                "missing and a network fills it from the rest. The context encoder learns on "
                "the pixel error inside the hole alone; the global + local GAN adds a "
                "discriminator that judges the whole image and a crop around the hole. Beside "
                "them, two baselines: the training set's mean image, and the pixels of the "
                "training image that best matches what is left (a copy).")
    name = st.radio("Data", list(SETS), horizontal=True, key="ip_set",
                    format_func=lambda k: SETS[k].split(" (")[0])
    items = inpaint_entries(name)
    if not items:
        st.info(safe("No inpainting model yet: train the shipped ones with {c}.",
                     c=code(f"python -m unsup train inpaint-{name} --out checkpoints")))
        return
    picked = [e for e in items if e.source == "shipped"] or items[:1]
    extra = [e for e in items if e.source != "shipped"]
    if extra:
        mine = pick_entry("Add one of your runs", extra, f"ip_mine_{name}")
        if mine is not None:
            picked = picked + [mine]
    models = {}
    for e in picked:
        m = model_of(e)
        if m is None:
            return
        models[INPAINT_ROLES.get(e.name, e.name)] = m
    x = heldout(name)
    c = st.columns([1, 1, 2])
    i = int(c[0].number_input("Held-out image #", 1, len(x), 1, key=f"ip_idx_{name}")) - 1
    kind = c[1].selectbox("Hole", list(MASKS), key=f"ip_mask_{name}",
                          format_func=lambda k: ("random 12×12 square" if name == "digits"
                                                 else "random quarter")
                          if k == "square" else MASKS[k])
    seed = 0
    painted = None
    if kind == "square":
        seed = int(c[2].number_input("Hole seed", 0, 10_000, 0, key=f"ip_seed_{name}",
                                     help="Another seed, another place for the hole"))
    elif kind == "painted":
        with c[2]:
            st.caption("Paint the hole on the pad: it maps onto the image below, white = "
                       "missing.")
            painted = _painted_mask(name)
        if painted is None or float((painted >= 0.5).mean()) == 0:
            st.image(labelled_row([x[i]], ["the image to paint on"],
                                  scale=8 if name == "digits" else 3), output_format="PNG")
            return
    mask = R.page_mask(name, kind, seed, painted)
    import hashlib

    key = f"{i}/" + hashlib.sha256(mask.numpy().tobytes()).hexdigest()[:16]
    fut = _nearest(name, key, x[i:i + 1], mask)
    shown = R.inpaint_comparison(name, models, x[i:i + 1], mask,
                                 nearest=fut.result() if fut.done() else None)
    st.image(labelled_row(shown["images"], [SHORT.get(k, k) for k in shown["labels"]],
                          scale=5 if name == "digits" else 2), output_format="PNG",
             caption=md(f"held-out image #{i + 1}: the hole ({100 * shown['hole_share']:.0f}% "
                        "of the image) drawn grey, each way of filling it (GL GAN: the global "
                        "+ local GAN), and the original"))
    if not fut.done():
        st.caption("The nearest-training-image baseline joins the row once it is found among "
                   "the training images (in the background).")
        _rerun_when_done(fut)
    st.caption(safe("{h}{parts}.", h=md(
        "This image (PSNR inside the hole, dB: higher is closer" +
        ("; the digit classifier's reading and its probability" if name == "digits" else "")
        + "): "), parts=join("; ", [safe("**{k}** {v}", k=k, v=inpaint_numbers_text(v))
                                    for k, v in shown["numbers"].items()])))
    inpaint_table(name, picked)


def _rerun_when_done(fut) -> None:
    """Redraw the page once ``fut`` has finished (polled every second; nothing runs here)."""

    @st.fragment(run_every=1.0)
    def poll() -> None:
        if fut.done():
            st.rerun(scope="app")

    poll()


def inpaint_numbers_text(n: dict) -> str:
    parts = []
    if "hole_psnr" in n:
        parts.append(f"{n['hole_psnr']:.1f} dB")
    if "reads" in n:
        parts.append(f"reads {n['reads']} ({n['prob']:.2f})")
    return " · ".join(parts)


INPAINT_COLUMNS = {
    "method": tables.Col("method", "medium"),
    "hole_psnr": tables.Col("PSNR in the hole, dB ↑", "small", "Over every pixel of every hole "
                            "of the held-out set (higher is closer to the original)", "%.2f"),
    "acc": tables.Col("read right % ↑", "small", "The digit classifier's accuracy on the "
                      "filled digits (its labels are the held-out digits' own)", "%.1f"),
}


def inpaint_rows(name: str, picked: list[Entry]) -> list[dict]:
    """The held-out table from the cards: the masked input, both baselines, each model, the
    originals."""
    ms = [(e, _metrics(e)) for e in picked if "hole_psnr" in _metrics(e)]
    if not ms:
        return []
    m0 = ms[0][1]
    rows = []
    if name == "digits":
        rows.append({"method": "masked (hole black)", "hole_psnr": None,
                     "acc": m0.get("masked_acc")})
    rows += [{"method": "mean fill", "hole_psnr": m0["mean_hole_psnr"], "acc": m0.get("mean_acc")},
             {"method": "nearest training image", "hole_psnr": m0["nearest_hole_psnr"],
              "acc": m0.get("nearest_acc")}]
    rows += [{"method": f"{INPAINT_ROLES.get(e.name, 'your run')} ({e.name})",
              "hole_psnr": m["hole_psnr"], "acc": m.get("acc")} for e, m in ms]
    if name == "digits":
        rows.append({"method": "originals", "hole_psnr": None, "acc": m0.get("truth_acc")})
    for r in rows:
        if r["acc"] is not None:
            r["acc"] = 100 * r["acc"]
    return rows


def inpaint_verdict(name: str, picked: list[Entry]) -> str:
    """One sentence per model computed from its card (digits: the issue's yardsticks)."""
    out = []
    for e in picked:
        m = _metrics(e)
        if "hole_psnr" not in m:
            continue
        role = INPAINT_ROLES.get(e.name, e.name)
        gain = m["hole_psnr"] - max(m["mean_hole_psnr"], m["nearest_hole_psnr"])
        s = (f"The {role} fills the hole {abs(gain):.1f} dB "
             f"{'closer to' if gain >= 0 else 'further from'} the original than the better "
             "baseline")
        if name == "digits":
            s += (f", and its digits are read right {100 * m['acc']:.1f}% of the time: "
                  f"{100 * m['acc_ratio']:.1f}% of the originals' rate and "
                  f"{100 * (m['acc'] - m['mean_acc']):.1f} points above mean fill")
        out.append(s + ".")
    return " ".join(out)


def inpaint_table(name: str, picked: list[Entry]) -> None:
    rows = inpaint_rows(name, picked)
    if not rows:
        st.caption("These models' cards hold no held-out numbers yet.")
        return
    m0 = _metrics(picked[0])
    st.markdown(safe("**On the {n} held-out {name}**, each with {mask} (seed {seed}; numbers "
                     "from the models' cards)", n=f"{m0.get('n_heldout', R.N_HELDOUT):,}",
                     name=name, mask=m0.get("mask", "a hole"), seed=m0.get("mask_seed", "")))
    df = pd.DataFrame(rows)
    if name != "digits":
        df = df.drop(columns=["acc"])
    tables.show(df, INPAINT_COLUMNS, key=f"ip_table_{name}")
    st.caption(md(inpaint_verdict(name, picked)))
