"""The keypoint page's pieces: the model picker, the keypoints grid, warps, moving a keypoint,
uploads, the metrics table and the training form. Compute lives in unsup.recipes.keypoints and
unsup.models.keypoints; figures in unsup.viz.keypoints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from unsup import checkpoints
from unsup.checkpoints import Entry
from unsup.data import faces as F
from unsup.data import uploads
from unsup.metrics.seeds import spread, spread_text
from unsup.recipes import keypoints as R
from unsup.ui import tables
from unsup.ui.measure import busy, job_status, measure_controls, start_measure
from unsup.ui.models import load_model, model_of, pick_entry
from unsup.ui.text import code, md, safe
from unsup.viz import keypoints as viz
from unsup.viz.images import grid as image_grid

KIND = "keypoints"
PRESET = R.PRESETS[0].name
TRAIN_COMMAND = f"python -m unsup train {PRESET}"


def setup() -> None:
    """Run this page's computations on one thread (torch's thread count is per thread): its
    batches are small (1 to 32 images), where a second thread gains little and, on cores busy
    with training, costs a great deal (16 faces rendered in 22 ms on one thread, 7.3 s on two
    while both cores were busy). A training job sets its own threads."""
    import torch

    torch.set_num_threads(1)


# -- models -------------------------------------------------------------------------------------
def entries() -> list[Entry]:
    return checkpoints.list_models(KIND)


def not_shipped_note() -> None:
    st.info(f"**The shipped keypoint model is not trained yet.** It is made with "
            f"`{TRAIN_COMMAND}` ({R.SHIPPED_STEPS:,} steps, resumable), or train your own in the **Train** section.")


def model_picker():
    """(entry, model) of the chosen keypoint model; (None, None) after saying how to get one."""
    items = entries()
    if not any(e.source == "shipped" for e in items):
        not_shipped_note()
    if not items:
        return None, None
    entry = pick_entry("Model", items, "kp_model", kinds=(KIND,))
    return entry, model_of(entry)


def data_preview() -> None:
    """Without any model: the data it will learn from, with the annotated landmarks."""
    x, lm = F.Faces("heldout").arrays(16)
    st.plotly_chart(viz.tiles_figure(x.numpy(), lm.numpy(), ncols=8,
                                     point_names=list(F.LANDMARK_NAMES),
                                     title="Held-out faces and their five annotated landmarks"),
                    key="kp_data_preview")
    st.caption("Generated cartoon faces in varied pose, rotation, scale, head turn, shape, colour "
               "and background. The annotated landmarks are never shown to the model: they only "
               "score what it finds.")


CARD_KEYS = ("error", "mean_shape", "random", "equivariance")


def extra_of(m: dict, card: dict) -> dict:
    """The per-landmark errors and the regressor: with the metrics (a job's card) or beside
    them (a preset's card)."""
    return m.get("extra_metrics") or card.get("extra_metrics") or {}


def heldout_faces(size: int, first: int, n: int) -> np.ndarray:
    idx = np.arange(first, min(first + n, F.N_HELDOUT))
    return F.Faces("heldout", size)[idx].numpy()


@st.cache_data(max_entries=4, show_spinner=False)
def upload_heldout(path: str, mtime: float) -> np.ndarray:
    return R.heldout_uploads(load_model(path, mtime)).numpy()


class Gallery:
    """The held-out images a model's views use: the built-in held-out faces, or for a model of
    the user's own images, the images its run held out (every 10th)."""

    def __init__(self, entry: Entry, model):
        size = model.config.image_size
        self.faces, self.what, self.held = True, "held-out face", None
        if R.trained_on_upload(model):
            try:
                self.held = upload_heldout(str(entry.path), entry.mtime)
                self.faces, self.what = False, "held-out image of yours"
            except (checkpoints.CheckpointError, ValueError) as exc:
                st.warning(f"{md(str(exc))} Showing the built-in faces instead.")
        self.size = size
        self.n = F.N_HELDOUT if self.held is None else len(self.held)

    def images(self, first: int, n: int) -> np.ndarray:
        if self.held is not None:
            return self.held[first:first + n]
        return heldout_faces(self.size, first, n)

    def number(self, key: str) -> int:
        return int(st.number_input(f"{md(self.what.capitalize())} #", 1, self.n, 1, key=key,
                                   help=f"One of the {self.n:,} {md(self.what)}s, never used in "
                                        "training.")) - 1


# -- sections -----------------------------------------------------------------------------------
def keypoints_section(entry: Entry, model) -> None:
    g = Gallery(entry, model)
    c1, c2 = st.columns(2)
    n = c1.select_slider("Images", [8, 16, 24, 32], 16, key="kp_n")
    first = int(c2.number_input(f"First {md(g.what)} #", 1, g.n, 1, key="kp_first")) - 1
    x = g.images(first, int(n))
    kp = R.keypoints_of(model, x)
    st.plotly_chart(viz.tiles_figure(x, kp, ncols=8, title=f"{model.config.n_keypoints} "
                                     f"keypoints on {g.what}s {first + 1}–{first + len(x)}"),
                    key="kp_grid")
    st.caption("Each colour is one keypoint. Nothing told the model what an eye or a mouth is: "
               "a keypoint earns its place because the generator needs it to redraw the image. "
               "The same colour on the same part of every image is the discovery.")
    if not g.faces:
        return
    size = g.size
    lm = F.Faces("heldout", size).landmarks(np.arange(first, first + len(x))).numpy()
    near = R.nearest_landmarks(kp, lm)
    tables.show(pd.DataFrame({
        "keypoint": [viz.keypoint_label(k) for k in range(len(near))],
        "nearest annotated landmark": [F.LANDMARK_NAMES[j] for j, _, _ in near],
        "mean distance (% inter-ocular, lower = closer)": [round(d, 1) for _, d, _ in near],
        "spread (% inter-ocular, lower = steadier)": [round(s, 1) for _, _, s in near]}))
    st.caption("Measured on the faces shown: for each keypoint, the annotated landmark it lies "
               "closest to on average, how far (mean), and how much that offset varies from face "
               "to face (its standard deviation). A keypoint on a part that has no annotation "
               "(the chin, the hair line) is far from all five and can still be steady.")


def warps_section(entry: Entry, model) -> None:
    g = Gallery(entry, model)
    c1, c2, c3 = st.columns(3)
    with c1:
        i = g.number("kp_warp_face")
    rot = c2.slider("Largest rotation (°)", 0, 45, 30, step=5, key="kp_warp_rot")
    elastic = c3.slider("Elastic strength", 0.0, 0.08, 0.03, step=0.01, key="kp_warp_el",
                        help="Standard deviation of a smooth random displacement, in image "
                             "half-widths; training used 0.03.")
    x = g.images(i, 1)[0]
    angles = np.linspace(-rot, rot, 5) if rot else np.zeros(5)
    angles[2] = 0.0
    w = R.warp_series(model, x, angles, elastic=elastic, seed=i, original=2)
    labels = [("original" if k == 2 else f"{a:+.0f}°") + f" · {e:.1f}%"
              for k, (a, e) in enumerate(zip(angles, w["errors"]))]
    st.plotly_chart(viz.tiles_figure(w["images"], w["detected"], ncols=5, ghosts=w["expected"],
                                     labels=labels, ghost_name="carried through the warp",
                                     title=f"{g.what.capitalize()} {i + 1} under warps",
                                     height=330),
                    key="kp_warps")
    st.caption("Dots: the keypoints detected in each warped image. Rings: the original's "
               "keypoints carried through the same warp. A detector that follows the face "
               "(equivariance) puts each dot inside its ring. Under each tile: the mean distance "
               f"between dots and rings in % of the image width (lower is better). Training "
               f"warps: rotations up to ±{F.WarpSpec().rotation:.0f}°, so larger angles test "
               "how far it generalises.")


def move_section(entry: Entry, model) -> None:
    g = Gallery(entry, model)
    k_all = model.config.n_keypoints
    c1, c2 = st.columns(2)
    with c1:
        i = g.number("kp_move_face")
    k = c2.selectbox("Keypoint", list(range(k_all)), key="kp_move_k",
                     format_func=viz.keypoint_label)
    x = g.images(i, 1)[0]
    kp = R.keypoints_of(model, x[None])[0]
    start = np.round(kp[k], 2)
    s1, s2 = st.columns(2)
    nx = s1.slider("x (left → right)", -1.0, 1.0, float(start[0]), step=0.01,
                   key=f"kp_mx_{i}_{k}")
    ny = s2.slider("y (top → bottom)", -1.0, 1.0, float(start[1]), step=0.01,
                   key=f"kp_my_{i}_{k}")
    moved = kp.copy()
    if (nx, ny) != tuple(start):  # untouched sliders: the point stays exactly where found
        moved[k] = (nx, ny)
    same = R.redraw(model, x, kp)
    new = R.redraw(model, x, moved)
    change = viz.change_map(new, same)
    nan = np.full_like(kp, np.nan)
    imgs = [x, same, new, change]
    st.plotly_chart(viz.tiles_figure(
        imgs, np.stack([kp, kp, moved, nan]), ncols=4, highlight=k,
        labels=["the face" if g.faces else "the image", "redrawn, points as found",
                f"redrawn, {viz.keypoint_label(k)} moved", "where it changed"],
        title=f"Move keypoint {viz.keypoint_label(k)} and the generator redraws the "
              f"{'face' if g.faces else 'image'}",
        height=330), key="kp_move")
    dist = 100 * float(np.linalg.norm(moved[k] - kp[k])) / 2
    if dist == 0:
        st.caption(f"Move the sliders: {md(viz.keypoint_label(k))} goes where they say, and the "
                   "generator, which sees only the face's appearance and the K points, redraws "
                   "the face to match. The change map shows where the redraw differs (dark: "
                   "nowhere yet).")
        return
    local = R.local_share(np.abs(new - same).mean(0), [kp[k], moved[k]], radius=0.25)
    st.caption(f"The generator sees the face's appearance and only the K points; moving "
               f"{md(viz.keypoint_label(k))} by {dist:.1f}% of the image width changed the redraw, "
               f"and {local:.0%} of that change lies within an eighth of the image width of its "
               "old or new place (higher = the keypoint controls a more local part). The change "
               "map is scaled to its own largest change (dark: none).")


@st.cache_data(max_entries=4, show_spinner="Reading the upload…")
def read_files(files: tuple[tuple[str, bytes], ...], size: int, n_channels: int):
    report = uploads.read_uploads(list(files), size=size, n_channels=n_channels, invert="no")
    return (report.array() if report.images else None), report.names, report.problems, \
        report.summary()


def upload_section(model) -> None:
    st.markdown("Upload a picture (or several, or a ZIP) and see where this model puts its "
                "keypoints. The shipped model learnt cartoon faces only: on a photo the points "
                "show what it took from cartoons, not a trained face detector.")
    files = st.file_uploader("Images or ZIPs of images", accept_multiple_files=True,
                             key="kp_upload", max_upload_size=uploads.UPLOAD_MB,
                             help=uploads.LIMIT_TEXT)
    st.caption(f"Limit: {uploads.LIMIT_TEXT}. Each image is letterboxed to a square and resized "
               f"to {model.config.image_size:d}×{model.config.image_size:d}.")
    if not files:
        st.info("Upload an image to see its keypoints and heat-maps.")
        return
    x, names, problems, summary = read_files(tuple((f.name, f.getvalue()) for f in files),
                                             model.config.image_size, model.config.n_channels)
    st.caption(md(summary))
    for p in problems[:20]:
        st.warning(md(p))
    if x is None:
        st.error("No image could be read from this upload (see the reasons above); upload PNG, "
                 "JPEG, BMP, GIF, WebP or TIFF images, or a ZIP of them.")
        return
    shown = x[:16]
    kp = R.keypoints_of(model, shown)
    st.plotly_chart(viz.tiles_figure(shown, kp, ncols=8, labels=[n[-14:] for n in
                                                                 names[:len(shown)]],
                                     title="Your images and their keypoints"), key="kp_up_grid")
    j = int(st.number_input("Heat-maps of image #", 1, len(shown), 1, key="kp_up_pick")) - 1
    hm = R.heatmaps_of(model, shown[j])
    tiles = viz.heatmap_tiles(hm, size=model.config.image_size)
    st.image(image_grid(tiles, min(10, len(tiles)), pad=2, scale=2),
             caption="Where each keypoint looks: its spatial probability map (soft-argmax takes "
                     "the mean position), in its colour, each scaled to its own peak. A sharp "
                     "spot is a confident keypoint; a spread-out map is a vague one.",
             output_format="PNG")


def _data_gone(entry: Entry, upload: bool) -> bool:
    """True for a run of the user's images whose stored images are gone (nothing to measure)."""
    if not upload:
        return False
    try:
        upload_heldout(str(entry.path), entry.mtime)
    except (checkpoints.CheckpointError, ValueError, OSError):
        return True
    return False


def metrics_section(entry: Entry, model) -> None:
    card_m = entry.card.get("metrics") or {}
    upload = R.trained_on_upload(model)
    saved = "equivariance" in card_m if upload else all(k in card_m for k in CARD_KEYS)
    on_card = safe("measured {} at step {:,} ({} recomputes them)",
                   "in the background" if card_m.get("measured_step") is not None
                   else "when the model was saved", int(entry.card.get('step') or 0),
                   code(f"python -m unsup eval {entry.name}"))
    m, source = card_m, on_card
    job_status("keypoints")
    if not saved:
        if _data_gone(entry, upload):
            gone = ("the images this run was trained on (a tenth of them held out to measure "
                    "it) are gone from its run folder")
            st.metric("Equivariance error", "not measured (its data are gone)",
                      help=f"Not measured: {gone}, and its card holds no numbers (it was "
                           "stopped before it was measured).")
            st.caption(f"Not measured: {gone}. Train a new run on your images to measure one.")
            return
        # a run stopped before it was measured: measured on request, in the background, into
        # its card — never on the page's thread
        st.info(f"{md(entry.title)} is not measured: it was stopped before its held-out "
                "numbers were recorded. Measure it (in the background; the numbers are written "
                "into its card).")
        measure_controls("keypoints", [entry], what="held-out numbers")
        return
    if entry.source != "shipped" and not _data_gone(entry, upload):
        if st.button("Measure again", key="kp_remeasure", disabled=busy("keypoints"),
                     icon=":material/refresh:",
                     help="Measure this run on its held-out data again, in the background; the "
                          "new numbers replace those in its card."):
            start_measure("keypoints", entry)
    if upload:
        st.info("This model learnt your own images, which have no annotated landmarks: only "
                "its equivariance is measured. The landmark score applies to models of the "
                "built-in faces.")
        st.metric("Equivariance error", f"{m['equivariance']:.2f}% of the image width",
                  help=f"On {md(m['heldout'])}: mean distance between the keypoints of a warped "
                       "image and the warped keypoints (lower is better).")
        st.caption(f"Numbers {md(source)}.")
        return
    rows = [
        ("this model's keypoints", m["error"], "% inter-ocular",
         f"linear regression from its {model.config.n_keypoints} keypoints to the 5 annotated "
         f"landmarks, fitted on {m['n_fit']:,} train faces, mean error on {m['n_heldout']:,} "
         "held-out faces", "lower"),
        ("mean-shape baseline", m["mean_shape"], "% inter-ocular",
         "every held-out face gets the train faces' mean landmarks", "lower"),
        ("random-weights detector", m["random"], "% inter-ocular",
         "the same regression on untrained detectors of this architecture ("
         + (f"mean ± sd: {spread_text(m, 'random', unit='%')}" if spread(m, "random")
            else f"mean of {len(R.RANDOM_SEEDS)} seeds") + ")", "lower"),
        ("equivariance error", m["equivariance"], "% image width",
         "keypoints of a warped held-out face vs the face's keypoints carried through the warp "
         "(training-range warps, unseen seeds"
         + (f"; mean ± sd: {spread_text(m, 'equivariance', '{:.2f}', unit='%')}"
            if spread(m, "equivariance") else "") + ")", "lower"),
    ]
    rows += [(f"{method} — {data}, K = {k} (published)", err, "% inter-ocular",
              f"{src}; real faces, a different data set", "lower")
             for data, method, k, err, src in R.PUBLISHED]
    tables.show(pd.DataFrame(rows, columns=["measure", "value", "unit", "what it measures",
                                            "better"]),
                {"measure": tables.Col(width=230), "value": tables.Col(width=70),
                 "unit": tables.Col(width=110), "what it measures": tables.Col(width=420),
                 "better": tables.Col(width=60)})
    st.plotly_chart(viz.metrics_bars(
        [("this model", m["error"]), ("mean shape", m["mean_shape"]),
         ("random detector", m["random"])],
        "Landmark error on held-out faces (lower is better)", "%"), key="kp_bars")
    ratio = m["error"] / m["mean_shape"]
    st.caption(f"Numbers {md(source)}. This model's error is {ratio:.0%} of the mean-shape "
               f"baseline's ({'within' if ratio <= 0.5 else 'above'} this page's goal of at "
               f"most half the baseline's error, {m['mean_shape'] / 2:.1f}% of the inter-ocular "
               f"distance) and {m['error'] / max(m['random'], 1e-9):.0%} of the random "
               "detector's. The inter-ocular distance is the distance between the two "
               "annotated eye centres of each face.")
    extra = extra_of(m, entry.card)
    if extra.get("per_landmark"):
        tables.show(pd.DataFrame({"landmark": list(F.LANDMARK_NAMES),
                                  "error (% inter-ocular, lower is better)":
                                      extra["per_landmark"]}), width="content")
    reg = R.regressor_from(extra)
    if reg is not None:
        size = model.config.image_size
        x = heldout_faces(size, 0, 8)
        pred = reg.predict(R.keypoints_of(model, x))
        true = F.Faces("heldout", size).landmarks(np.arange(8)).numpy()
        st.plotly_chart(viz.tiles_figure(
            x, pred, ncols=8, ghosts=true, ghost_name="annotated",
            point_names=[f"regressed: {n}" for n in F.LANDMARK_NAMES],
            title="Landmarks regressed from the keypoints (dots) and annotated (rings), "
                  "held-out faces 1–8"), key="kp_regressed")


# -- train on demand ----------------------------------------------------------------------------
def training_form() -> None:
    from unsup.ui import training

    if training.job_panel("keypoints", ["l1", "dssim"], y_title="multi-scale L1 (lower is "
                          "better)", preview_caption="Live preview: held-out images with the "
                          "current keypoints."):
        return
    st.write("Discover keypoints in the background, on the built-in faces or on your own "
             "pictures of one kind of object (unlabelled: the model learns keypoints only; the "
             "landmark score exists only for the built-in faces). Switch pages freely; Stop "
             "keeps the last checkpoint, which then appears in this page's model picker.")
    training.resume_from_disk("keypoints", entries(), lambda path, more: R.training_spec(
        steps=int(more), resume=path))
    source = st.radio("Data", ["faces", "upload"], horizontal=True, key="kt_src",
                      format_func=lambda s: R.DATA.get(s, "my images (files or a ZIP)"))
    images = None
    if source == "upload":
        files = st.file_uploader("Images or ZIPs of images (one kind of object)",
                                 accept_multiple_files=True, key="kt_files",
                                 max_upload_size=uploads.UPLOAD_MB, help=uploads.LIMIT_TEXT)
        st.caption(f"Limit: {uploads.LIMIT_TEXT}. At least {R.MIN_UPLOAD} images; each is "
                   f"letterboxed and resized to {R.IMAGE_SIZE}×{R.IMAGE_SIZE}.")
        if files:
            images, _, problems, summary = read_files(
                tuple((f.name, f.getvalue()) for f in files), R.IMAGE_SIZE, 3)
            st.caption(md(summary))
            for p in problems[:20]:
                st.warning(md(p))
            if images is not None:
                st.image(image_grid(images[:32], 16, scale=1), caption="first images, as the "
                         "model will see them", output_format="PNG")
    c = st.columns(3)
    k = c[0].select_slider("Keypoints K", [2, 4, 6, 8, 10, 12, 16, 20], 10, key="kt_k")
    steps = int(c[1].number_input("Steps", 50, 200_000, R.DEFAULT_JOB_STEPS, step=500,
                                  key="kt_steps"))
    cfg = R.job_config(int(k))
    with c[2]:
        training.estimate_caption("keypoints", tuple(sorted(cfg.items())),
                                  lambda: R.estimate_step_seconds(dict(cfg)), steps)
    ready = source != "upload" or (images is not None and len(images) >= R.MIN_UPLOAD)
    if source == "upload" and not ready:
        st.info(f"Upload at least {R.MIN_UPLOAD} readable images to train on them.")
    if st.button("Start training", type="primary", icon=":material/play_arrow:",
                 disabled=not ready, key="kt_start"):
        if training.start("keypoints", lambda: R.training_spec(
                n_keypoints=int(k), steps=steps, images=images if source == "upload" else None)):
            st.rerun()
