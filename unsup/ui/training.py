"""The shared "train on demand" panel: start a background job, watch it, stop it.

A page builds a :class:`unsup.jobs.JobSpec` (what to train) and calls :func:`job_panel`; this
module handles the rest the same way on every page: the job id lives in ``st.query_params`` (so a
refreshed tab reattaches), a fragment polls the runner once a second for the progress bar, live
loss curves and preview images, and Stop ends the job after saving its last checkpoint.
"""

from __future__ import annotations

import streamlit as st

from unsup.jobs import JobSnapshot, JobSpec, get_runner
from unsup.viz.images import to_pil
from unsup.viz.plots import loss_curves

POLL_SECONDS = 1.0


def _param(key: str) -> str:
    return f"job_{key}"


def current_job(key: str) -> JobSnapshot | None:
    """The job this browser tab started under ``key`` (None if none, or if it was forgotten
    by an app restart)."""
    job_id = st.query_params.get(_param(key))
    if not job_id:
        return None
    return get_runner().get(job_id)


def start_job(key: str, spec: JobSpec) -> str:
    job_id = get_runner().submit(spec)
    st.query_params[_param(key)] = job_id
    return job_id


def forget_job(key: str) -> None:
    if _param(key) in st.query_params:
        del st.query_params[_param(key)]


def _status_line(job: JobSnapshot) -> str:
    done = job.step - job.start_step
    span = job.total - job.start_step
    rate = done / job.seconds if job.seconds > 0 else 0.0
    eta = (span - done) / rate if rate > 0 else float("nan")
    last = job.history[-1] if job.history else {}
    losses = ", ".join(f"{k} {v:.2f}" for k, v in last.items() if k != "step")
    eta_s = f" · about {eta:.0f} s left" if job.active and eta == eta else ""
    return f"step {job.step:,} / {job.total:,} · {job.seconds:.0f} s{eta_s}" + (
        f" · {losses}" if losses else "")


def _show(job: JobSnapshot, key: str, loss_keys: list[str] | None) -> None:
    label = {"queued": "Waiting for a free training slot…", "running": "Training…",
             "done": "Finished.", "stopped": "Stopped; the last checkpoint is kept.",
             "failed": "Training failed."}[job.status]
    st.progress(job.fraction, text=f"**{job.title}** — {label} {_status_line(job)}")
    if job.status == "failed":
        st.error(f"{job.error}. Nothing was lost: earlier checkpoints of this run stay in "
                 f"`{job.run_dir}`.")
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(loss_curves(job.history, loss_keys), key=f"{key}_curve")
    with right:
        if job.previews:
            st.image([to_pil(p) for p in job.previews], width="stretch", output_format="PNG")
            st.caption("Live preview: samples from fixed codes (top) and reconstructions of "
                       "training images (bottom).")
    if job.active:
        if st.button("Stop", key=f"{key}_stop", type="primary", icon=":material/stop:"):
            get_runner().stop(job.id)
    else:
        if job.checkpoint:
            st.success(f"Saved to `{job.checkpoint}`. It is now in the model picker.")
        if st.button("Clear", key=f"{key}_clear"):
            forget_job(key)
            st.rerun(scope="app")


def job_panel(key: str, loss_keys: list[str] | None = None) -> bool:
    """Draw this tab's job under ``key`` if there is one; returns True if there was."""
    job = current_job(key)
    if job is None:
        return False

    @st.fragment(run_every=POLL_SECONDS if job.active else None)
    def _poll() -> None:
        snap = get_runner().get(job.id)
        if snap is None:
            return
        _show(snap, key, loss_keys)
        if job.active and not snap.active:
            st.rerun(scope="app")  # refresh the model picker with the new checkpoint

    _poll()
    return True
