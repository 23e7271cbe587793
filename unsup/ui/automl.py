"""The AutoML section of the "Evolution & AutoML" page: the shipped Optuna study (Optuna's own
figures, the trials, the retrained best VAE against the hand-tuned one) and a search of your own
as a background job whose figures are drawn live from its study.

Nothing is computed here beyond reading a study of at most a few hundred trials and drawing it:
the importances are computed by the search (kept in its study and card), the held-out numbers by
the command that made the card.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from unsup import checkpoints, paths
from unsup.recipes import automl as R
from unsup.ui import tables, training
from unsup.ui.text import code, md, safe

PAGE = R.JOB_PAGE
training.PAGE_FILES.setdefault(PAGE, "evolution")  # the Jobs view links to this page
LIVE_SECONDS = 3.0
"""How often a running search's figures are redrawn from its study."""
Y = "validation −ELBO, nats (lower is better)"
STATE_LABELS = {"COMPLETE": "finished", "PRUNED": "pruned", "FAIL": "interrupted",
                "RUNNING": "running", "WAITING": "queued"}
PARAM_LABELS = {"n_latent": "latent size", "width": "width (channels)", "depth": "dense layers",
                "hidden": "dense units", "lr": "learning rate", "batch_size": "batch size",
                "beta": "β"}


# -- reading what is shipped ----------------------------------------------------------------------
def _card_path(name: str) -> Path:
    return paths.SHIPPED_DIR / f"{name}.json"


@st.cache_data(show_spinner=False, max_entries=8)
def _read_card(path: str, mtime: float) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def shipped_card(name: str) -> dict | None:
    """The shipped card ``name`` (None: not shipped, or unreadable)."""
    p = _card_path(name)
    if not p.exists():
        return None
    try:
        return _read_card(str(p), p.stat().st_mtime)
    except (OSError, ValueError):
        return None


@st.cache_resource(show_spinner=False, max_entries=8)
def _study(url: str, name: str):
    """A study opened once per process and storage (reading it again is cheap; opening the
    storage is not)."""
    return R.open_study(url, name, create=False)


def _figures(url: str, name: str, stored: dict | None = None) -> dict:
    try:
        study = _study(url, name)
    except Exception:  # noqa: BLE001 - a study not created yet, a locked or damaged file
        return {}
    return R.figures(study, stored)


@st.cache_resource(show_spinner=False, max_entries=2)
def _study_figures(url: str, name: str, mtime: float, stored: tuple) -> dict:
    return _figures(url, name, dict(stored))


def _shipped_figures(card: dict, db: Path) -> dict:
    """The shipped study's figures: those its command drew (plotly JSON), else drawn from the
    study itself (slower: Optuna is imported and the study read)."""
    f = R.figures_file(paths.SHIPPED_DIR / R.SEARCH_NAME)
    if f.exists():
        try:
            return _read_card(str(f), f.stat().st_mtime)
        except (OSError, ValueError):
            pass
    imp = tuple(sorted(((card.get("extra_metrics") or {}).get("importances") or {}).items()))
    return _study_figures(R.sqlite_url(db), (card.get("config") or {}).get(
        "study_name", R.SEARCH_NAME), db.stat().st_mtime, imp)


# -- the shipped study --------------------------------------------------------------------------------
def _mins(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.0f} s"


def trials_frame(rows: list[dict]) -> pd.DataFrame:
    """The trials as plain cells: number, state, value, steps, seconds, settings."""
    out = []
    for r in rows:
        state = STATE_LABELS.get(r["state"], r["state"].lower())
        if r.get("diverged"):
            state = "pruned (diverged)"
        if r["state"] == "FAIL" and r.get("run_again_as") is not None:
            state = f"interrupted; run again as trial {r['run_again_as']}"
        row = {"Trial": r["trial"], "State": state, "−ELBO": r.get("value"),
               "Steps": r.get("steps"), "Seconds": r.get("seconds")}
        row.update({PARAM_LABELS[k]: r.get(k) for k in PARAM_LABELS})
        out.append(row)
    return pd.DataFrame(out)


TRIAL_COLUMNS = {
    "−ELBO": tables.Col("validation −ELBO", 110, "Negative ELBO of the 500 validation digits "
                        "after the trial's last report, nats per image (lower is better); of a "
                        "pruned trial, where it stopped.", "%.2f"),
    "Steps": tables.Col("steps", 70, "VAE training steps the trial ran (a pruned trial stops "
                        "early)."),
    "Seconds": tables.Col("seconds", 70, "Wall time of the trial (one torch thread).", "%.0f"),
    "learning rate": tables.Col(None, None, None, "%.5f"),
    "β": tables.Col(None, None, "Weight of the KL term while training; the reported −ELBO "
                    "always weighs it 1.", "%.2f"),
}

FIGURE_CAPTIONS = {
    "history": "Optimisation history: each finished trial's validation −ELBO (nats, lower is "
               "better) and the best so far. Pruned trials are left out.",
    "intermediate": "Every trial's validation −ELBO as it trained (nats, lower is better). "
                    "Curves that stop early were pruned: worse than the median of earlier "
                    "trials at the same step.",
    "parallel": "Parallel coordinates: each line one finished trial through its settings, "
                "coloured by its validation −ELBO (darker is lower, i.e. better).",
    "importances": "How much each setting explains the variation of the validation −ELBO "
                   "across finished trials (fANOVA; the shares sum to 1, longer bar = matters "
                   "more).",
}


def _draw_figures(figs: dict, key: str) -> None:
    order = [k for k in ("history", "intermediate", "parallel", "importances") if k in figs]
    for row in range(0, len(order), 2):
        cols = st.columns(2)
        for col, name in zip(cols, order[row:row + 2]):
            with col:
                st.plotly_chart(figs[name], key=f"{key}_{name}")
                st.caption(FIGURE_CAPTIONS[name])


def _headline(m: dict, card: dict) -> None:
    cfg = card.get("config") or {}
    st.markdown(safe(
        "**{n} trials** in {t} of trials on {th} (about {s:.0f} s a trial): **{c}** ran "
        "their {steps:,} steps, reporting every {every:,}; **{p}** were pruned early{div}. "
        "Best validation −ELBO "
        "**{b:.2f} nats** (trial {k}; lower is better), measured on {nv:,} training digits the "
        "trials never trained on.",
        n=int(m.get("n_trials", 0)), t=_mins(m.get("search_seconds")),
        th="one core" if int(card.get("threads") or 1) == 1 else f"{int(card['threads'])} threads",
        s=float(m.get("seconds_per_trial") or 0.0), c=int(m.get("n_complete", 0)),
        steps=int(cfg.get("steps_per_trial", 0)), every=int(cfg.get("report_every", 0)),
        p=int(m.get("n_pruned", 0)),
        div=safe(" ({} of them diverged)", int(m["n_diverged"])) if m.get("n_diverged") else "",
        b=float(m.get("best_valid_neg_elbo_nats", float("nan"))), k=m.get("best_trial", "—"),
        nv=int((card.get("data") or {}).get("n_valid") or 0)))
    best = m.get("best_params") or {}
    if best:
        st.markdown(safe("Best settings: {}.", ", ".join(
            f"{PARAM_LABELS.get(k, k)} {_fmt(v)}" for k, v in best.items())))


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.2g}" if v < 0.01 else f"{v:.2f}"
    return str(v)


def comparison(best: dict | None, search: dict | None = None) -> None:
    """The retrained best configuration against the hand-tuned VAE, from the retrain's card
    (``search``: the search's card, for the length of its trials)."""
    st.subheader("The best settings, retrained, against the hand-tuned VAE")
    if best is None:
        st.info(safe("The retrain of the best settings is not shipped yet; it is made by "
                     "{}.", code(f"python -m unsup train {R.BEST_NAME} --out checkpoints")))
        return
    m = best.get("metrics") or {}
    ours, ref = m.get("test_neg_elbo_nats"), m.get("shipped_test_neg_elbo_nats")
    if ours is None or ref is None:
        st.info(safe("The retrain's card holds no comparison; rebuild it with {}.",
                     code(f"python -m unsup train {R.BEST_NAME} --out checkpoints")))
        return
    diff = float(ours) - float(ref)
    steps = int(best.get("step") or 0)
    c1, c2, c3 = st.columns(3)
    c1.metric("Searched settings: test −ELBO", f"{float(ours):.2f} nats",
              help="Negative ELBO of the 500 held-out test digits, nats per image, one "
                   "posterior sample each (lower is better).")
    c2.metric("Hand-tuned vae-mnist-16d: test −ELBO", f"{float(ref):.2f} nats",
              help="The shipped VAE measured the same way on the same 500 digits.")
    c3.metric("Difference (searched − hand-tuned)", f"{diff:+.2f} nats",
              delta=f"{diff:+.2f} nats", delta_color="inverse",
              help="Below zero: the searched settings are better (lower −ELBO).")
    verdict = (safe("The searched settings **beat** the hand-tuned VAE by {:.2f} nats per "
                    "digit", -diff) if diff < 0 else
               safe("The searched settings **fall short** of the hand-tuned VAE by {:.2f} nats "
                    "per digit", diff))
    ref_card = shipped_card(R.SHIPPED_VAE) or {}
    bs = (best.get("config") or {}).get("batch_size")
    ref_bs = (ref_card.get("config") or {}).get("batch_size")
    batches = safe(" (batches of {} and {} digits)", bs, ref_bs) if bs and ref_bs else ""
    trial = int(((search or {}).get("config") or {}).get("steps_per_trial") or 0)
    st.markdown(safe("{}, both trained {:,} steps{} on the same 4,500 training digits and "
                     "measured on the same 500 test digits (lower is better).", verdict, steps,
                     batches)
                + (safe(" The search judged settings by {:,}-step trials; the retrain runs the "
                        "full length.", trial) if trial else ""))
    iwae = m.get("test_iwae_nll_nats")
    if iwae is not None:
        st.caption(safe("Importance-weighted bound of −log p(x) of the searched model ({k} "
                        "samples): {v:.2f} nats (lower is better).", k=int(m.get("iwae_k") or 0),
                        v=float(iwae)))


def automl_section() -> None:
    """The shipped study and the retrain of its best settings (each with the command that makes
    it when it is missing)."""
    st.markdown(
        "**AutoML**: instead of a person choosing the VAE's latent size, width, depth, dense "
        "units, learning rate, batch size and β, Optuna's TPE sampler proposes settings, "
        "trains each proposal briefly and reports its −ELBO on 500 held-out *validation* "
        "digits as it trains; a median pruner stops a proposal early when it is worse than the "
        "median of the earlier ones at the same step. The 500 *test* digits are kept for the "
        "final comparison.")
    card = shipped_card(R.SEARCH_NAME)
    db = R.study_file(paths.SHIPPED_DIR / R.SEARCH_NAME)
    if card is None or not db.exists():
        st.info(safe("The shipped study is missing; it is made (a search of {:g} minutes) by "
                     "{}.", R.SEARCH["budget_seconds"] / 60,
                     code(f"python -m unsup train {R.SEARCH_NAME} --out checkpoints")))
    else:
        m = card.get("metrics") or {}
        _headline(m, card)
        extra = card.get("extra_metrics") or {}
        _draw_figures(_shipped_figures(card, db), "automl_shipped")
        rows = extra.get("trials") or []
        if rows:
            st.subheader("Every trial")
            tables.show(trials_frame(rows), TRIAL_COLUMNS, key="automl_trials")
    comparison(shipped_card(R.BEST_NAME), card)


# -- a search of your own -------------------------------------------------------------------------------
def _user_searches() -> list[checkpoints.Entry]:
    return [e for e in checkpoints.list_models(R.KIND_SEARCH) if e.source == "user"]


def _live(job) -> None:
    """The running (or last) search's figures, redrawn from its study while it runs."""
    live = job.active or job.saving

    @st.fragment(run_every=LIVE_SECONDS if live else None)
    def draw() -> None:
        snap = training.current_job(PAGE)
        url = R.job_study_url(None if snap is None else snap.run_dir)
        if url is None:
            st.caption("The figures appear once the first trial has reported.")
            return
        figs = _figures(url, "search")
        if not figs:
            st.caption("The figures appear once the first trial has reported.")
            return
        _draw_figures(figs, "automl_live")

    draw()


def search_form() -> None:
    """A search of your own in the background: settings, Start, then the job panel (progress,
    Stop, Resume) with Optuna's figures drawn live from the job's study."""
    st.subheader("Run a search yourself")
    shown = training.job_panel(PAGE, ["best_neg_elbo", "trial_neg_elbo"], y_title=Y,
                               title="Best so far and each trial", preview_caption="")
    if shown:
        st.caption("One step of this job is one trial. Stop ends the trial in progress within "
                   "a VAE step and puts its settings back in the queue, so Resume runs it again "
                   "from its start: no trial is lost or run twice.")
        _live(training.current_job(PAGE))
        return
    st.write("The same search as the shipped one, in the background, on this machine: the "
             "study is kept in an Optuna SQLite file in the run's folder, so Stop and Resume "
             "(also after a restart) continue it with no trial lost or repeated.")
    training.resume_from_disk(PAGE, _user_searches(), lambda path, more: R.training_spec(
        trials=int(more), resume=path), unit="trials", default=10, maximum=500, step=5)
    c = st.columns(3)
    trials = int(c[0].number_input("Trials at most", 1, 500, 30, step=5, key="automl_trials_n"))
    steps = int(c[1].number_input("VAE steps a trial", 20, 5_000, 400, step=100,
                                  key="automl_steps"))
    minutes = float(c[2].number_input("Minutes of trials at most", 1, 240, 30, step=5,
                                      key="automl_minutes"))
    st.caption(safe("The search ends after {t:,} trials or {m:g} minutes of trials, whichever "
                    "comes first; a trial that is not pruned trains {s:,} VAE steps.",
                    t=trials, m=minutes, s=steps))
    shipped = shipped_card(R.SEARCH_NAME) or {}
    per = (shipped.get("metrics") or {}).get("seconds_per_complete_trial")
    if per:
        st.caption(safe("For scale: a full trial of the shipped search ({n:,} steps) took about "
                        "{s:.0f} s with one torch thread.",
                        n=int((shipped.get("config") or {}).get("steps_per_trial") or 0),
                        s=float(per)))
    if st.button("Start the search", type="primary", icon=":material/play_arrow:",
                 key="automl_start"):
        if training.start(PAGE, lambda: R.training_spec(trials=trials, steps_per_trial=steps,
                                                         budget_minutes=minutes)):
            st.rerun()
