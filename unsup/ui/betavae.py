"""Streamlit helpers of the β-VAE page: cached model loading, per-model analysis, image
pickers, the metrics table and the train-on-demand form. Compute lives in unsup.models.betavae,
unsup.metrics.disentangle and unsup.viz.betavae."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from unsup import checkpoints
from unsup.data import dsprites as D
from unsup.data import uploads
from unsup.metrics.disentangle import METRIC_LABELS
from unsup.recipes import betavae as recipe
from unsup.recipes.betavae import KIND_LABELS
from unsup.ui.text import md

KINDS = recipe.FAMILY.kinds


def entries() -> list[checkpoints.Entry]:
    """Shipped β-VAE-family checkpoints, then the user's runs."""
    return [e for e in checkpoints.list_models() if e.kind in KINDS]


@st.cache_resource(max_entries=8)
def load_model(path: str, mtime: float):
    """A checkpoint, loaded once per (path, mtime) per process (raises CheckpointError)."""
    return checkpoints.load(path)


def model_of(entry: checkpoints.Entry):
    """The entry's model, or None after saying in the page why it cannot be loaded."""
    try:
        return load_model(str(entry.path), entry.mtime)
    except checkpoints.CheckpointError as exc:
        st.error(f"{md(entry.title)} cannot be loaded: {md(str(exc))} Pick another model.")
        return None


@st.cache_data(max_entries=16, show_spinner="Measuring the latents on held-out images…")
def analysis(path: str, mtime: float) -> dict:
    """KL per latent and the normalised latent x factor MI matrix (see
    :func:`unsup.recipes.betavae.analysis`)."""
    return recipe.analysis(load_model(path, mtime))


def pick_image(key: str) -> tuple[torch.Tensor | None, str]:
    """The image to traverse: at random, by factor values, or an uploaded silhouette."""
    how = st.radio("Image", ["At random", "By factors", "Upload"], horizontal=True, key=f"{key}_how")
    if how == "At random":
        seed = st.number_input("Seed", 0, 10**6, 0, key=f"{key}_seed")
        idx = int(np.random.default_rng(int(seed)).integers(D.N_IMAGES))
        f = D.index_to_factors(idx)
        return D.render(f[None]), "factors " + ", ".join(
            f"{n} {int(v)}" for n, v in zip(D.FACTOR_LABELS, f))
    if how == "By factors":
        c = st.columns(5)
        shape = c[0].selectbox("Shape", range(3), format_func=lambda i: D.SHAPES[i], key=f"{key}_sh")
        f = [shape] + [c[k].slider(D.FACTOR_LABELS[k], 0, D.FACTOR_SIZES[k] - 1,
                                   D.FACTOR_SIZES[k] // 2, key=f"{key}_f{k}") for k in range(1, 5)]
        return D.render(np.array([f])), "chosen factors"
    up = st.file_uploader("A silhouette (white shape on black, or black on white)",
                          type=["png", "jpg", "jpeg", "bmp", "gif", "webp"], key=f"{key}_up",
                          max_upload_size=uploads.IMAGE_MB,
                          help=f"One image up to {uploads.IMAGE_MB} MB.")
    if up is None:
        return None, "upload an image"
    from unsup.data.uploads import read_uploads

    report = read_uploads([(up.name, up.getvalue())], size=64)
    for p in report.problems:
        st.warning(p)
    if not report.images:
        return None, "unreadable upload"
    x = torch.from_numpy(report.array()[:1])
    return (x > 0.5).float(), f"{up.name}, resized to 64×64 and binarized"


def supervision(card: dict) -> str:
    """How much the model was told: nothing, or pairs that differ in one factor."""
    return "pairs (weak)" if (card.get("config") or {}).get("pairs") else "none"


def metrics_table(items: list[checkpoints.Entry]):
    """One row per model: the five scores, reconstruction, steps, training time."""
    import pandas as pd

    rows = []
    for e in items:
        m = e.card.get("metrics") or {}
        row = {"model": e.title, "β": e.card.get("config", {}).get("beta"),
               "supervision": supervision(e.card)}
        row.update({METRIC_LABELS[k]: None if m.get(k) is None else round(m[k], 3)
                    for k in METRIC_LABELS})
        row.update({"recon (nats)": None if m.get("recon") is None else round(m["recon"], 1),
                    "steps": e.card.get("step"),
                    "train min": round((e.card.get("seconds") or 0) / 60, 1)})
        rows.append(row)
    return pd.DataFrame(rows)


def sweep_rows(items: list[checkpoints.Entry]) -> list[dict]:
    out = []
    for e in items:
        m = e.card.get("metrics") or {}
        if "mig" in m and "recon" in m:
            out.append({"name": e.name, "recon": m["recon"], "mig": m["mig"],
                        "beta": e.card.get("config", {}).get("beta", 1.0)})
    return out


def training_form() -> None:
    """Train on demand: kind, β, steps -> a background job of the shared runner."""
    from unsup.recipes.betavae import training_spec
    from unsup.ui import training

    training.keep("bv_kind", "bv_beta", "bv_order", "bv_steps", "bv_resume_steps")
    if training.job_panel("beta-vae", ["recon", "kl", "loss"],
                          preview_caption="Live preview: six samples from fixed codes, then "
                                          "reconstructions of six training sprites."):
        return
    runs = [e for e in entries() if e.source == "user"]
    if runs:
        with st.container(border=True):
            names = [e.name for e in runs]
            pick = st.selectbox("Continue one of your runs", names, key="bv_resume_pick",
                                format_func=lambda n: runs[names.index(n)].label)
            more = st.number_input("More steps", 100, 200_000, 1_000, step=500,
                                   key="bv_resume_steps")
            if st.button("Resume training", icon=":material/play_arrow:", key="bv_resume"):
                try:
                    spec = training_spec(steps=int(more), resume=runs[names.index(pick)].path)
                except checkpoints.CheckpointError as exc:
                    st.error(md(str(exc)))
                else:
                    training.start_job("beta-vae", spec)
                    st.rerun()
    st.write("Train a model of the shipped architecture and recipe on dSprites in the background "
             "(about 0.09 s a step of 32 images on 2 idle cores: 5,000 steps take about 8 "
             "minutes). Switch pages or refresh freely; Stop keeps the last checkpoint, which "
             "then appears in the model picker.")
    c1, c2, c3, c4 = st.columns(4)
    kind = c1.selectbox("Model", ["betavae", "betatcvae", "factorvae"], key="bv_kind",
                        format_func=KIND_LABELS.get)
    beta = c2.select_slider("β (γ for FactorVAE)", [1.0, 2.0, 4.0, 6.0, 8.0, 16.0, 35.0], 4.0,
                            key="bv_beta",
                            help="β-VAE: weight of the KL. β-TCVAE: weight of the total "
                                 "correlation. FactorVAE: γ, weight of its total correlation.")
    order = c3.selectbox("Data order", ["Shuffled", "Pairs"], key="bv_order",
                         help="Shuffled: unsupervised. Pairs: each batch holds pairs of images "
                              "that differ in one factor (which one is not told), and the pair's "
                              "posteriors are averaged where they agree (Ada-GVAE, Locatello et "
                              "al. 2020): weak supervision.")
    steps = c4.number_input("Steps", 100, 200_000, 5_000, step=1_000, key="bv_steps")
    if st.button("Start training", type="primary", icon=":material/play_arrow:"):
        training.start_job("beta-vae", training_spec(kind=kind, beta=beta, steps=int(steps),
                                                    pairs=order == "Pairs"))
        st.rerun()
