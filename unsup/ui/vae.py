"""The VAE page's pieces: cached model loading, the sections, and the training form."""

from __future__ import annotations

import numpy as np
import streamlit as st

from unsup import checkpoints
from unsup.checkpoints import Entry
from unsup.data import images as image_data
from unsup.data import uploads
from unsup.data.uploads import center_like_mnist, read_uploads
from unsup.recipes import vae as recipe
from unsup.recipes.vae import DATA, FAMILY, training_spec
from unsup.models.vae import ConvVAE
from unsup.ui import training
from unsup.ui.measure import NOT_MEASURED, job_status, measure_controls  # noqa: F401 - the page
from unsup.ui.models import load_model, model_of, pick_entry  # noqa: F401 - the page uses them
from unsup.ui.text import md
from unsup.viz import images as viz_images

KIND = FAMILY.kinds[0]  # the card kind this page shows (the VAE family's one kind)


# -- cached loading ---------------------------------------------------------------------------
def entries() -> list[Entry]:
    return checkpoints.list_models(KIND)


@st.cache_data(max_entries=16, show_spinner=False)
def test_split(size: int, channels: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MNIST test images (grey, binarized) at ``size`` and ``channels``, and their labels."""
    split = image_data.load_split("mnist")
    grey = np.repeat(image_data.resize_images(split.x_test, size), channels, axis=1)
    return grey, image_data.binarize(grey), split.y_test


@st.cache_data(max_entries=16, show_spinner=False)
def test_posterior(path: str, mtime: float) -> tuple[np.ndarray, np.ndarray | None]:
    """One encoder pass over the test split: the codes (posterior means) and, for a VAE, the
    mean KL(q(z_j|x) || N(0, 1)) of each latent (closed form, no sampling; None for an
    autoencoder)."""
    model = load_model(path, mtime)
    _, xb, _ = test_split(model.config.image_size, model.config.n_channels)
    return recipe.posterior_pass(model, xb)


def test_codes(path: str, mtime: float) -> np.ndarray:
    return test_posterior(path, mtime)[0]


def measured(metrics: dict, variational: bool) -> bool:
    """Whether a card's metrics hold the held-out numbers of the Numbers section."""
    return ("test_neg_elbo_nats" if variational else "test_recon_nats") in metrics


@st.cache_data(max_entries=16, show_spinner=False)
def latent_stats(path: str, mtime: float) -> dict:
    """KL per dimension and activity. The held-out numbers come from the card (measured by the
    command or job that trained the model, or by Measure); a run stopped before it was measured
    has none (the Numbers section offers Measure) and its sliders are ordered by the closed-form
    KL of the test codes, from the one encoder pass the sliders' ranges need anyway: nothing
    heavier runs on the page's thread (issue 21, part 14)."""
    from unsup.recipes import merged_metrics

    model = load_model(path, mtime)
    metrics = merged_metrics(getattr(model, "card_", None) or {})
    codes, test_kl = test_posterior(path, mtime)
    activity = codes.var(0)
    lo_q, hi_q = np.quantile(codes, 0.005, axis=0), np.quantile(codes, 0.995, axis=0)
    if model.config.variational:  # the prior's ±3 σ, widened to cover the test codes
        kl = np.asarray(metrics.get("kl_per_dim") if "kl_per_dim" in metrics else test_kl,
                        dtype=float)
        lo, hi = np.minimum(-3.0, np.floor(lo_q)), np.maximum(3.0, np.ceil(hi_q))
        mean, std = np.zeros(codes.shape[1]), np.ones(codes.shape[1])
    else:  # an autoencoder's codes have no prior: the range the test digits' codes span
        kl = np.sqrt(activity)  # ordered by spread
        pad = 0.1 * (hi_q - lo_q) + 1e-3
        lo, hi = np.floor((lo_q - pad) * 2) / 2, np.ceil((hi_q + pad) * 2) / 2
        mean, std = codes.mean(0), codes.std(0)
    return {"metrics": metrics, "kl": kl, "activity": activity, "order": np.argsort(-kl),
            "lo": lo, "hi": hi, "mean": mean, "std": std,
            "variational": bool(model.config.variational)}


@st.cache_data(max_entries=8, show_spinner=False)
def manifold(path: str, mtime: float, n: int = 20) -> tuple[object, float]:
    """The 2-D model's decoded n x n grid over Gaussian quantiles 5%..95%, as one PIL image."""
    imgs, extent = recipe.manifold(load_model(path, mtime), n)
    return viz_images.grid(imgs, n, pad=0), extent


decode_one = recipe.decode_one
encode_one = recipe.encode_one


# -- slider state -----------------------------------------------------------------------------
# The code lives in st.session_state[f"code_{tag}"] (not in the sliders' own widget state, which
# Streamlit forgets while another section is shown); each slider is drawn with that value and a
# key that changes whenever the code is set from outside (Encode, Random, Reset), so a slider
# always shows the stored code and moving one changes only its own coordinate.
def _code_key(tag: str) -> str:
    return f"code_{tag}"


def _zkey(tag: str, i: int) -> str:
    ver = st.session_state.get(f"codever_{tag}", 0)
    return f"z_{tag}_{i}" + (f"_v{ver}" if ver else "")


def set_code(tag: str, z: np.ndarray, lo=None, hi=None) -> None:
    """Store ``z`` as the sliders' code, clipped to the sliders' ranges (the clipped
    coordinates are noted, so the page can say so)."""
    z = np.asarray(z, dtype=float)
    lo = np.full(len(z), -3.0) if lo is None else np.asarray(lo, float)
    hi = np.full(len(z), 3.0) if hi is None else np.asarray(hi, float)
    clipped = np.clip(np.round(z, 2), lo, hi)
    st.session_state[_code_key(tag)] = clipped.tolist()
    st.session_state[f"clipped_{tag}"] = [(int(i), float(z[i])) for i in
                                          np.flatnonzero(np.abs(clipped - np.round(z, 2)) > 1e-9)]
    st.session_state[f"codever_{tag}"] = st.session_state.get(f"codever_{tag}", 0) + 1


def _moved(tag: str, i: int, key: str) -> None:
    code = list(st.session_state[_code_key(tag)])
    code[i] = float(st.session_state[key])
    st.session_state[_code_key(tag)] = code
    st.session_state[f"clipped_{tag}"] = [c for c in st.session_state.get(f"clipped_{tag}", [])
                                          if c[0] != i]


def current_code(tag: str, d: int) -> np.ndarray:
    code = st.session_state.get(_code_key(tag))
    if code is None or len(code) != d:
        return np.zeros(d, dtype=np.float32)
    return np.asarray(code, dtype=np.float32)


def sliders(tag: str, model: ConvVAE, stats: dict) -> np.ndarray:
    """A slider per latent dimension (ordered by KL for a VAE, by spread for an autoencoder,
    each spanning the range its codes take); returns the code they spell."""
    d = model.config.n_latent
    lo, hi = stats["lo"], stats["hi"]
    if _code_key(tag) not in st.session_state or len(st.session_state[_code_key(tag)]) != d:
        st.session_state[_code_key(tag)] = np.clip(stats["mean"], lo, hi).round(2).tolist()
    b1, b2 = st.columns(2)
    rng = np.random.default_rng()
    b1.button("Random sample", icon=":material/casino:", width="stretch",
              on_click=lambda: set_code(tag, stats["mean"] + stats["std"] * rng.standard_normal(d),
                                        lo, hi),
              help="A code drawn from the prior N(0, I)" if stats["variational"] else
              "A code drawn from a Gaussian fitted to the test digits' codes")
    b2.button("Reset to 0" if stats["variational"] else "Reset to the mean code",
              icon=":material/restart_alt:", width="stretch",
              on_click=lambda: set_code(tag, stats["mean"], lo, hi))
    clipped = st.session_state.get(f"clipped_{tag}") or []
    if clipped:
        st.caption("Outside the sliders' range, shown at the nearest end: " + ", ".join(
            f"z{i:d} = {v:+.2f}" for i, v in clipped) + ". The image is decoded from the "
            "slider values.")
    code = current_code(tag, d)
    cols = st.columns(2 if d > 4 else 1)
    for rank, i in enumerate(stats["order"]):
        active = float(stats["activity"][i]) > 0.01
        if stats["variational"]:
            label = f"z{i} · KL {float(stats['kl'][i]):.2f}" + ("" if active else " · inactive")
            why = ("KL of this latent on the test digits (nats; 0 = unused, larger = carries "
                   "more information).")
        else:
            label = f"z{i} · spread {float(stats['std'][i]):.2f}" + (
                "" if active else " · inactive")
            why = ("Standard deviation of this code coordinate over the test digits (an "
                   "autoencoder has no KL); the slider spans the range those codes take.")
        key = _zkey(tag, i)
        cols[rank % len(cols)].slider(
            md(label), float(lo[i]), float(hi[i]), value=float(np.clip(code[i], lo[i], hi[i])),
            step=0.05, key=key, on_change=_moved, args=(tag, int(i), key),
            help=md(why) if active else md(why) + " Inactive unit: its code barely varies over the "
            "test set (variance < 0.01), so the decoder ignores it.")
    return current_code(tag, d)


# -- encoding ---------------------------------------------------------------------------------
def image_from_upload(files, size: int, center: bool = True
                      ) -> tuple[np.ndarray | None, list[str]]:
    """The first readable image of an upload (or drawing), framed like an MNIST digit."""
    report = read_uploads([(f.name, f.getvalue()) for f in files], size=size)
    if not report.images:
        return None, report.problems
    x = report.array()[0]
    return (center_like_mnist(x) if center and x.shape[0] == 1 else x), report.problems


def interpolation_strip(model: ConvVAE, a: np.ndarray, b: np.ndarray, n: int, mode: str):
    return viz_images.grid(recipe.interpolation(model, a, b, n, mode), n, pad=1, scale=3)


def denoise_row(models: dict[str, ConvVAE], x: np.ndarray, level: float, seed: int = 0):
    outs, labels = recipe.denoised(models, x, level, seed)
    return viz_images.labelled_row(outs, labels, scale=5)


class NamedBytes:
    """Bytes with a name, shaped like Streamlit's UploadedFile for :func:`image_from_upload`."""

    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def denoise_models() -> dict[str, ConvVAE]:
    """The shipped autoencoder and denoising autoencoder, if present."""
    found = {e.name: e for e in entries() if e.source == "shipped"}
    out = {}
    for name, label in (("ae-mnist-16d", "autoencoder"), ("dae-mnist-16d", "denoising AE")):
        if name in found:
            model = model_of(found[name])
            if model is not None:
                out[label] = model
    return out


def import_checkpoint(upload) -> None:
    """Validate an uploaded checkpoint; if it is a VAE, offer to add it to the user's models."""
    try:
        tensors, card = checkpoints.read_checkpoint_bytes(upload.getvalue())
        model = checkpoints.build_model(card, tensors)
    except checkpoints.CheckpointError as exc:
        st.error(md(exc))
        return
    if card.get("kind") != KIND:
        st.warning(f"This is a valid {md(card.get('kind'))} checkpoint, but this page shows "
                   f"{KIND} models.")
        return
    st.success(f"Valid VAE checkpoint: {md(card.get('title') or 'untitled')}, "
               f"step {md(card.get('step'))}.")
    if st.button("Add to my models", key="ckpt_add"):
        from unsup.fileio import os_error_text
        from unsup.jobs import fresh_run_dir

        try:
            with fresh_run_dir(card.get("title") or "imported") as run:  # removed if it fails
                card = {**card, "name": run.name, "origin": "upload"}
                checkpoints.save(model, run / "model", card, optimizer=False)
        except OSError as exc:
            st.error(md(os_error_text(exc, "the imported model")))
            return
        st.rerun()


def training_form(entry: Entry) -> None:
    """The "Train" section's form: data, latent size, beta, epochs -> a background job."""
    st.write("Train a VAE of the shipped architecture on the built-in digits or on your own "
             "images. Training runs in the background: you can switch pages or refresh and "
             "come back; Stop keeps the last checkpoint.")
    training.resume_from_disk("vae", entries(), lambda path, more: training_spec(
        epochs=more, resume=path), unit="epochs", default=10, maximum=500, step=1, prefer=entry)

    source = st.radio("Data", ["mnist", "digits8", "upload"], horizontal=True, key="tr_src",
                      format_func=lambda s: DATA.get(s, "My images (files or a ZIP)"))
    images = None
    if source == "upload":
        files = st.file_uploader("Images (PNG, JPEG, …) or ZIPs of images", key="tr_files",
                                 accept_multiple_files=True, max_upload_size=uploads.UPLOAD_MB,
                                 help=uploads.LIMIT_TEXT)
        st.caption(f"Limit: {uploads.LIMIT_TEXT}.")
        if files:
            ident = tuple((f.file_id, f.name) for f in files)
            if st.session_state.get("tr_ident") != ident:  # decode each upload once, not per rerun
                report = read_uploads([(f.name, f.getvalue()) for f in files], size=28)
                st.session_state["tr_ident"], st.session_state["tr_report"] = ident, report
                st.session_state["tr_images"] = report.array() if report.images else None
            report = st.session_state["tr_report"]
            st.caption(md(report.summary()))
            for p in report.problems[:20]:
                st.warning(md(p))
        images = st.session_state.get("tr_images")
        if images is not None:
            st.image(viz_images.grid(images[:32], 16, scale=2), caption="first images, as the "
                     "model will see them (28×28, grey)", output_format="PNG")
    c1, c2, c3 = st.columns(3)
    n_latent = c1.select_slider("Latent size", [2, 4, 8, 16, 32], 16, key="tr_latent")
    beta = c2.select_slider("β", [0.5, 1.0, 2.0, 4.0, 8.0], 1.0, key="tr_beta")
    epochs = c3.number_input(
        "Epochs", 1, 500, 60, key="tr_epochs",
        help="Passes over the training images. On the built-in digits, 60 epochs (2,100 steps) "
             "end within about 5% of the shipped 16-D VAE's "
             "test −ELBO (bench/RESULTS.md).")
    ready = source != "upload" or (images is not None and len(images) >= 8)
    if source == "upload" and not ready:
        st.info("Upload at least 8 readable images to train on them.")
    if st.button("Start training", type="primary", disabled=not ready,
                 icon=":material/play_arrow:") and training.start("vae", lambda: training_spec(
                     n_latent=n_latent, beta=beta, epochs=epochs,
                     data=source if source != "upload" else "mnist",
                     images=images if source == "upload" else None)):
        st.rerun()
