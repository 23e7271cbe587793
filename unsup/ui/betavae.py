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
from unsup.metrics.disentangle import METRIC_HELP, METRIC_LABELS
from unsup.metrics.seeds import spread, spread_text
from unsup.recipes import betavae as recipe
from unsup.recipes.betavae import KIND_LABELS
from unsup.ui.measure import NOT_MEASURED, card_metrics, job_status, measure_controls
from unsup.ui.models import load_model, model_of, pick_entry  # noqa: F401 - the page uses them
from unsup.ui.text import md

KINDS = recipe.FAMILY.kinds


def entries() -> list[checkpoints.Entry]:
    """Shipped β-VAE-family checkpoints, then the user's runs."""
    return checkpoints.list_models(tuple(KINDS))  # validates these kinds only


PAGE = "beta-vae"  # the page's key: its training and Measure jobs


def stored_metrics(entry: checkpoints.Entry) -> dict | None:
    """The held-out numbers ``entry``'s card records for its current step (written by the
    command or the job that trained it, or by Measure), or None."""
    return card_metrics(entry, ("mig",))


def stored_analysis(entry: checkpoints.Entry) -> dict | None:
    """KL per latent and the normalised latent x factor MI matrix of ``entry``, as its card
    records them (the job's or command's held-out evaluation, or Measure), or None when it has
    not been measured: never computed on the page's thread (issue 21, part 14)."""
    extra = ((card_metrics(entry) or {}).get("extra_metrics")) or {}
    if "kl_per_dim" in extra and "mi_matrix" in extra:
        return {"kl_per_dim": extra["kl_per_dim"], "mi_matrix": extra["mi_matrix"]}
    return None


def measure_status() -> None:
    """The page's Measure job (progress, Stop; reruns the page when it ends), if any."""
    job_status(PAGE)


def not_measured(entry: checkpoints.Entry) -> None:
    """Say that ``entry``'s latents are not measured and offer Measure (a background job that
    runs the family's held-out evaluation and writes it into the run's card)."""
    st.info(f"{md(entry.title)}: its latents are {NOT_MEASURED} (it was stopped before its "
            "held-out numbers were recorded). Without them the latents cannot be sorted by KL "
            "nor named after a factor. Measure it in the background; the numbers are written "
            "into its card and shown here when done.")
    measure_controls(PAGE, [entry], what="latent analysis (KL per latent, MI with the factors)")


def describe(f) -> str:
    """Factor indices in words: "heart, scale 3/5, orientation 12/39, x 16/31, y 4/31"."""
    f = [int(v) for v in f]
    return (f"{D.SHAPES[f[0]]}, scale {f[1]}/{D.FACTOR_SIZES[1] - 1}, orientation "
            f"{f[2]}/{D.FACTOR_SIZES[2] - 1}, x {f[3]}/{D.FACTOR_SIZES[3] - 1}, "
            f"y {f[4]}/{D.FACTOR_SIZES[4] - 1}")


def pick_image(key: str) -> tuple[torch.Tensor | None, str]:
    """The image to traverse: at random, by factor values, or an uploaded silhouette."""
    how = st.radio("Image", ["At random", "By factors", "Upload"], horizontal=True, key=f"{key}_how")
    if how == "At random":
        seed = st.number_input("Seed", 0, 10**6, 0, key=f"{key}_seed")
        idx = int(np.random.default_rng(int(seed)).integers(D.N_IMAGES))
        f = D.index_to_factors(idx)
        return D.render(f[None]), describe(f)
    if how == "By factors":
        c = st.columns(5)
        shape = c[0].selectbox("Shape", range(3), format_func=lambda i: D.SHAPES[i], key=f"{key}_sh")
        f = [shape] + [c[k].slider(D.FACTOR_LABELS[k], 0, D.FACTOR_SIZES[k] - 1,
                                   D.FACTOR_SIZES[k] // 2, key=f"{key}_f{k}") for k in range(1, 5)]
        return D.render(np.array([f])), describe(f)
    up = st.file_uploader("A silhouette (white shape on black, or black on white)",
                          type=["png", "jpg", "jpeg", "bmp", "gif", "webp"], key=f"{key}_up",
                          max_upload_size=uploads.IMAGE_MB,
                          help=f"One image up to {uploads.IMAGE_MB} MB.")
    if up is None:
        return None, "upload an image"
    from unsup.data.uploads import read_uploads

    report = read_uploads([(up.name, up.getvalue())], size=64)
    for p in report.problems:
        st.warning(md(p))
    if not report.images:
        return None, "unreadable upload"
    x = torch.from_numpy(report.array()[:1])
    return (x > 0.5).float(), f"{up.name}, resized to 64×64 and binarized"


recon_error = recipe.recon_error  # the page reads it from here


def supervision(card: dict) -> str:
    """How much the model was told: nothing, or pairs that differ in one factor."""
    return "pairs (weak)" if (card.get("config") or {}).get("pairs") else "none"


def metrics_table(items: list[checkpoints.Entry]):
    """One row per model: the five scores, reconstruction, steps, training time."""
    import pandas as pd

    rows = []
    for e in items:
        m = card_metrics(e) or {}  # none for a run resumed after it was measured
        row = {"model": short_title(e), "β": e.card.get("config", {}).get("beta"),
               "supervision": supervision(e.card)}
        for k in METRIC_LABELS:  # the two accuracies in %, as their papers report them
            v = m.get(k)
            row[METRIC_LABELS[k]] = None if v is None else (
                round(100 * v, 1) if k in PERCENT else round(v, 3))
        row.update({"recon (nats)": None if m.get("recon") is None else round(m["recon"], 1),
                    "steps": e.card.get("step"),
                    "train min": round((e.card.get("seconds") or 0) / 60, 1)})
        rows.append(row)
    return pd.DataFrame(rows)


PERCENT = ("beta_vae", "factor_vae")


SPREAD_KEYS = ("beta_vae", "factor_vae", "mig")
"""The scores whose spread over the seeds the Metrics caption states."""


def spread_caption(items: list[checkpoints.Entry]) -> str:
    """Every score of the table is sampled (which held-out images, the votes, the classifiers'
    subsets): the table shows the mean over the card's seeds; this says each model's mean ± sd
    of the BetaVAE and FactorVAE scores and MIG ("" when no card has several seeds)."""
    parts, n = [], 0
    for e in items:
        m = card_metrics(e) or {}
        if spread(m, "beta_vae") is None:
            continue
        n = max(n, len(m.get("seeds") or []))
        pct = {"scale": 100, "unit": "%", "seeds_word": False}
        parts.append(f"{short_title(e)}: BetaVAE {spread_text(m, 'beta_vae', **pct)}, "
                     f"FactorVAE {spread_text(m, 'factor_vae', **pct)}, "
                     f"MIG {spread_text(m, 'mig', '{:.3f}', seeds_word=False)}")
    if not parts:
        return ""
    return (f"Every score is sampled (which held-out images, the votes, the classifiers' "
            f"subsets), so each is measured with {n} seeds; the table shows the mean, its "
            f"spread (mean ± sd over the seeds) is: " + "; ".join(parts) + ".")


def column_config() -> dict:
    """Help for every column of the metrics table: what it measures, range, better direction."""
    cfg = {METRIC_LABELS[k]: st.column_config.NumberColumn(
        METRIC_LABELS[k] + (" (%)" if k in PERCENT else ""), help=METRIC_HELP[k],
        format="%.1f" if k in PERCENT else "%.3f") for k in METRIC_LABELS}
    cfg["recon (nats)"] = st.column_config.NumberColumn(
        help="Reconstruction error −log p(x|z) on held-out images, nats per image; lower is "
             "better.", format="%.1f")
    cfg["supervision"] = st.column_config.TextColumn(
        help="none: unsupervised. pairs (weak): trained on pairs of images that differ in one "
             "unknown factor (Ada-GVAE).")
    return cfg


def short_title(e: checkpoints.Entry) -> str:
    """The model's title without the data set (the same name in the table and the sweep)."""
    return e.title.replace(" on dSprites", "").replace(", dSprites", "")


def sweep_rows(items: list[checkpoints.Entry]) -> list[dict]:
    out = []
    for e in items:
        m = card_metrics(e) or {}
        if "mig" in m and "recon" in m:
            out.append({"name": short_title(e), "recon": m["recon"], "mig": m["mig"],
                        "beta": e.card.get("config", {}).get("beta", 1.0),
                        "pairs": bool((e.card.get("config") or {}).get("pairs"))})
    return out


def sweep_caption(rows: list[dict]) -> str:
    """What these models show, computed from their numbers (MIG: higher is better)."""
    plain = [r for r in rows if not r["pairs"]]
    paired = [r for r in rows if r["pairs"]]
    bits = []
    if len(plain) >= 2:
        lo, hi = min(plain, key=lambda r: r["mig"]), max(plain, key=lambda r: r["mig"])
        betas = sorted({r["beta"] for r in plain})
        bits.append(f"Without supervision, MIG stays between {lo['mig']:.3f} and {hi['mig']:.3f} "
                    f"over β = {', '.join(f'{b:g}' for b in betas)}, while the reconstruction "
                    f"error goes from {min(r['recon'] for r in plain):.1f} to "
                    f"{max(r['recon'] for r in plain):.1f} nats")
    if paired and plain:
        best_p = max(paired, key=lambda r: r["mig"])
        best_u = max(plain, key=lambda r: r["mig"])
        ratio = best_p["mig"] / max(best_u["mig"], 1e-9)
        if ratio > 1.5:
            bits.append(f"the paired data order lifts it to {best_p['mig']:.3f} "
                        f"({best_p['name']}, {ratio:.0f}× the best unsupervised model): the gain "
                        "comes from the weak supervision, not from β")
        else:
            bits.append(f"the paired models reach {best_p['mig']:.3f}, about what the best "
                        f"unsupervised one reaches ({best_u['mig']:.3f})")
    if not bits and len(rows) >= 2:
        best = max(rows, key=lambda r: r["mig"])
        bits.append(f"the highest MIG here is {best['mig']:.3f} ({best['name']})")
    return ("These models: " + "; ".join(bits) + ".") if bits else ""


def recorded_step_seconds() -> tuple[float, float, int] | None:
    """(fastest, slowest) seconds a training step of the shipped models took, as their cards
    record (seconds / steps of the command that made them), and the threads they used; None
    without shipped cards. A measured rate, not a constant."""
    rates, threads = [], set()
    for e in entries():
        secs, step = e.card.get("seconds"), e.card.get("step")
        if e.source == "shipped" and secs and step:
            rates.append(float(secs) / int(step))
            threads.add(e.card.get("threads"))
    if not rates:
        return None
    return min(rates), max(rates), (threads.pop() if len(threads) == 1 else 0) or 0


def estimate_text(steps: int) -> str:
    r = recorded_step_seconds()
    if r is None:
        return "No shipped model records its training time yet, so there is no estimate."
    lo, hi, threads = r
    on = f" on {threads} thread{'s' if threads != 1 else ''}" if threads else ""
    return (f"The shipped models trained at {lo:.2f}–{hi:.2f} s a step{on} (their cards): "
            f"{steps:,} steps ≈ {steps * lo / 60:.0f}–{steps * hi / 60:.0f} min (longer while "
            "other jobs or visitors share the cores).")


def training_form() -> None:
    """Train on demand: kind, β, steps -> a background job of the shared runner."""
    from unsup.recipes.betavae import training_spec
    from unsup.ui import training

    training.keep("bv_kind", "bv_beta", "bv_order", "bv_train_steps", "bv_resume_steps")
    if training.job_panel("beta-vae", ["recon", "kl", "loss"],
                          preview_caption="Live preview: six samples from fixed codes, then "
                                          "reconstructions of six training sprites."):
        return
    training.resume_from_disk("beta-vae", entries(), lambda path, more: training_spec(
        steps=int(more), resume=path))
    st.write("Train a model of the shipped architecture and recipe on dSprites in the background. "
             "Switch pages or refresh freely; Stop keeps the last checkpoint, which then appears "
             "in the model picker.")
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
    steps = c4.number_input("Steps", 100, 200_000, 5_000, step=1_000, key="bv_train_steps")
    st.caption(md(estimate_text(int(steps))))
    if order == "Shuffled":
        st.warning("Expect little disentanglement from an unsupervised run of this budget: every "
                   "shuffled-order model trained here for up to 2 hours reached MIG 0.01–0.06 "
                   "(the shipped β = 1, β = 4 and β-TCVAE models: 0.023, 0.058, 0.060). Choose "
                   "**Data order: Pairs** (weak supervision) to see latents that each move one "
                   "factor (the shipped Ada-GVAE: MIG 0.41).")
    if st.button("Start training", type="primary", icon=":material/play_arrow:") and \
            training.start("beta-vae", lambda: training_spec(kind=kind, beta=beta,
                                                             steps=int(steps),
                                                             pairs=order == "Pairs")):
        st.rerun()
