"""The one job panel, used by every page that trains: start a background job, watch it, stop
it, resume it, see why it failed — and the Jobs view that lists every job of the app.

A page builds a :class:`unsup.jobs.JobSpec` (or a work job) and calls :func:`start_job`; the job
id lives in ``st.query_params`` (so a refreshed tab reattaches) and :func:`job_panel` polls the
runner once a second for the progress bar, time left, live curves and preview strip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import streamlit as st

from unsup.jobs import JobSnapshot, JobSpec, get_runner
from unsup.ui.text import code, md
from unsup.viz.images import strip
from unsup.viz.plots import loss_curves

POLL_SECONDS = 1.0
LABELS = {"queued": "Waiting for a free training slot…", "running": "Training…",
          "done": "Finished.", "stopped": "Stopped; the last checkpoint is kept.",
          "failed": "Training failed."}


def keep(*keys: str) -> None:
    """Keep the values of these widgets while they are not drawn (a form hidden behind the job
    panel): Streamlit forgets a widget's value after a run that does not draw it, so that Stop ->
    Start would otherwise show the defaults again instead of what the user set."""
    for k in keys:
        if k in st.session_state:
            st.session_state[k] = st.session_state[k]


def _param(key: str) -> str:
    return f"job_{key}"


def current_job(key: str) -> JobSnapshot | None:
    """The job this tab follows under ``key``: the id in the URL, else the newest job of this
    page that is still running (so coming back to a page shows its job)."""
    job_id = st.query_params.get(_param(key))
    if job_id:
        job = get_runner().get(job_id)
        if job is not None:
            return job
    running = [j for j in get_runner().list() if j.page == key and j.active]
    if running:
        newest = max(running, key=lambda j: j.started)
        st.query_params[_param(key)] = newest.id
        return newest
    return None


def start_job(key: str, spec: JobSpec) -> str:
    job_id = get_runner().submit(spec)
    st.query_params[_param(key)] = job_id
    return job_id


def start(key: str, make: Callable[[], JobSpec]) -> bool:
    """Start the job ``make()`` builds (a recipe's ``training_spec(...)``) under ``key``; True if
    it started. Otherwise says in the page why not, in one line, and nothing crashes: bad input
    or a run that cannot be resumed (the recipe's message), or a disk that is full or not
    writable (said without any server path; the recipe has removed the run folder it began)."""
    from unsup.checkpoints import CheckpointError
    from unsup.fileio import os_error_text

    try:
        start_job(key, make())
    except OSError as exc:
        st.error(md(os_error_text(exc, "the new run")))
    except (ValueError, KeyError, CheckpointError) as exc:
        st.error(md(str(exc)))
    else:
        return True
    return False


def resume_from_disk(key: str, entries: list, make_spec: Callable[[Path, float], JobSpec], *,
                     unit: str = "steps", default: int = 1_000, maximum: int = 200_000,
                     step: int = 500, prefer=None) -> None:
    """Continue one of the user's runs saved on disk — also one trained before the app was
    restarted, which no job of this process remembers. ``entries``: the page's models (only the
    user's runs whose checkpoint holds the optimizer state of its step are offered, with their
    step); ``make_spec(weights, more)``: the recipe's spec that trains ``more`` ``unit`` from
    that checkpoint, in the same run folder (a run on uploads finds its stored images again).
    ``prefer``: the entry to offer first (the one the page shows)."""
    from unsup import checkpoints

    runs = [e for e in entries if e.source == "user" and e.problem is None
            and not e.path.name.endswith(".best.safetensors")
            and checkpoints.resumable(e.path)]
    if not runs:
        return
    if prefer is not None and prefer in runs:
        runs.remove(prefer)
        runs.insert(0, prefer)
    names = [e.name for e in runs]
    with st.container(border=True):
        c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="bottom")
        pick = c1.selectbox("Continue one of your runs (also one from before a restart)", names,
                            key=f"{key}_disk_pick",
                            format_func=lambda n: runs[names.index(n)].label)
        more = c2.number_input(f"More {md(unit)}", 1, maximum, default, step=step,
                               key=f"{key}_disk_more")
        entry = runs[names.index(pick)] if pick in names else runs[0]
        st.markdown(f"Continues **{md(entry.title)}** from its step "
                    f"{int(entry.card.get('step') or 0):,} in its own run folder, on the data it "
                    "was trained on.")
        if c3.button("Resume training", icon=":material/play_arrow:", key=f"{key}_disk_resume",
                     width="stretch") and start(key, lambda: make_spec(entry.path, more)):
            st.rerun()


def follow(key: str, job_id: str) -> None:
    st.query_params[_param(key)] = job_id


def forget_job(key: str) -> None:
    if _param(key) in st.query_params:
        del st.query_params[_param(key)]


def status_line(job: JobSnapshot) -> str:
    """One line: where the job is and how long it has left (from training steps alone)."""
    if job.status == "queued":
        return "waiting for one of the running jobs to end"
    if job.active and job.stopping:
        return "stopping…"
    clock = f"{job.seconds:.0f} s"  # ticks from submission (model building, data, first step)
    if job.done_fraction is not None:
        bits = [f"{job.fraction:.0%}", job.message or job.phase] + ([clock] if job.active else [])
    elif job.active and job.step <= job.start_step:
        bits = [job.phase or "starting", clock]
    else:
        bits = [f"step {job.step:,} / {job.total:,}", clock]
        if job.active and job.phase not in ("", "training"):
            bits.insert(1, job.phase)  # after the steps: the preview, the held-out measurement
    left = job.seconds_left
    if job.active and left is not None:
        bits.append(f"about {left:.0f} s left" if left < 120 else f"about {left / 60:.0f} min left")
    last = job.history[-1] if job.history else {}
    losses = ", ".join(f"{k} {v:.3g}" for k, v in last.items() if k != "step")
    return " · ".join(b for b in bits + ([losses] if losses else []) if b)


def _show(job: JobSnapshot, key: str, loss_keys: list[str] | None, y_title: str,
          preview_caption: str, curves: bool, title: str = "Training loss") -> None:
    bar, button = st.columns([6, 1], vertical_alignment="bottom")
    label = LABELS[job.status]
    if job.status == "stopped" and job.saving:
        label = "Stopped; saving the step in progress…"
    elif job.status == "stopped" and job.done_fraction is None and job.checkpoint is None:
        label = "Stopped before its first checkpoint; nothing was saved."
    bar.progress(job.fraction, text=f"**{md(job.title)}** — {label} "
                                    f"{md(status_line(job))}")
    with button:
        if job.active:
            if st.button("Stop", key=f"{key}_stop", type="primary", icon=":material/stop:",
                         disabled=job.stopping, width="stretch"):
                get_runner().stop(job.id)
                st.toast("Stopping; the last checkpoint is kept.")
        elif st.button("Clear", key=f"{key}_clear", width="stretch"):
            forget_job(key)
            st.rerun(scope="app")
    if job.status == "failed":
        kept = (f" The last good checkpoint is kept in {code(job.checkpoint)}." if job.checkpoint
                else "")
        st.error(f"{md(job.error or 'unknown error')}.{kept}")
    if curves and (job.history or job.active):
        left, right = st.columns([3, 2])
        left.plotly_chart(loss_curves(job.history, loss_keys, title=title, y_title=y_title),
                          key=f"{key}_curve")
        if job.previews:
            n = len(job.previews)
            right.image(strip(job.previews, height=72, per_row=(n + 1) // 2 if n > 6 else None),
                        output_format="PNG")
            right.caption(md(preview_caption))
    if not job.active:
        if job.checkpoint and job.status in ("done", "stopped"):
            st.success("Saved: it is now in the model picker.")
        if job.resumable and job.status == "stopped":
            c1, c2 = st.columns([1, 3], vertical_alignment="bottom")
            more = c1.number_input(f"More {md(job.resume_unit)}", 1, 1_000_000,
                                   100 if job.resume_unit == "steps" else 10,
                                   key=f"{key}_more") if job.resume_unit else 0
            if c2.button("Resume", key=f"{key}_resume", icon=":material/play_arrow:"):
                try:
                    follow(key, get_runner().resume(job.id, more))
                except Exception as exc:  # noqa: BLE001 - e.g. the run's data are gone
                    st.error(md(str(exc)))
                else:
                    st.rerun(scope="app")


def job_panel(key: str, loss_keys: list[str] | None = None,
              y_title: str = "nats / image (lower is better)",
              preview_caption: str = "Live preview: samples from fixed codes, then "
                                     "reconstructions of training images.",
              curves: bool = True, title: str = "Training loss") -> bool:
    """Draw this page's job (see :func:`current_job`) if there is one; True if there was
    (``title``: the curves' title, for a learner whose curve is not a loss)."""
    job = current_job(key)
    if job is None:
        return False

    live = job.active or job.saving  # a job ended by Stop may still save its last step

    @st.fragment(run_every=POLL_SECONDS if live else None)
    def _poll() -> None:
        snap = get_runner().get(job.id)
        if snap is None:
            return
        _show(snap, key, loss_keys, y_title, preview_caption, curves, title)
        if live and not (snap.active or snap.saving):
            st.rerun(scope="app")  # refresh the model picker with the new checkpoint

    _poll()
    return True


def jobs_sidebar() -> None:
    """The Jobs view: every running, queued, finished and failed job of the app, with its page,
    progress, Stop and a link back. Shown in the sidebar of every page."""
    jobs = get_runner().list()
    if not jobs:
        return
    with st.sidebar:
        _jobs_box(any(j.active for j in jobs))


def _jobs_box(live: bool) -> None:
    @st.fragment(run_every=2.0 if live else None)
    def box() -> None:
        _jobs_list()

    box()


def _jobs_list() -> None:
    jobs = sorted(get_runner().list(), key=lambda j: j.started, reverse=True)
    running = sum(j.active for j in jobs)
    with st.expander(f"Jobs · {running:d} running" if running else "Jobs",
                     expanded=running > 0, icon=":material/pending_actions:"):
        for j in jobs[:10]:
            st.caption(f"**{md(j.title)}** — {md(j.status)} · {md(status_line(j))}")
            if j.active:
                st.progress(j.fraction)
            c1, c2 = st.columns(2)
            if j.page:
                c1.page_link(f"app_pages/{PAGE_FILES.get(j.page, j.page)}.py", label="Open",
                             icon=":material/open_in_new:", query_params={_param(j.page): j.id})
            if j.active and c2.button("Stop", key=f"sidebar_stop_{j.id}", disabled=j.stopping):
                get_runner().stop(j.id)


PAGE_FILES: dict[str, str] = {}
"""Page key -> page file stem, filled by the app from the family registry."""


# -- the Train forms' time estimate, measured off the page's thread ------------------------------
_TIMINGS: dict[tuple, "object"] = {}  # (what, configuration) -> Future of seconds per step
_TIMER = None  # one background thread times the configurations, one after the other


def _timer_pool():
    global _TIMER
    if _TIMER is None:
        from concurrent.futures import ThreadPoolExecutor

        from unsup.jobs import lower_thread_priority

        # like a job: the pages' threads go first
        _TIMER = ThreadPoolExecutor(1, thread_name_prefix="unsup-step-timer",
                                    initializer=lower_thread_priority)
    return _TIMER


def timed_step(what: str, config: tuple, measure: Callable[[], float]) -> float | None:
    """Seconds a training step of ``config`` takes here, timed by ``measure()`` (a few real
    steps) in a background thread the first time it is asked for; None until then (the page
    thread never runs those steps). A failed timing counts as unknown (nan)."""
    key = (what, config)
    fut = _TIMINGS.get(key)
    if fut is None:
        fut = _TIMINGS[key] = _timer_pool().submit(measure)
    if not fut.done():
        return None
    try:
        return float(fut.result())
    except Exception:  # noqa: BLE001 - an estimate is never worth an error box
        return float("nan")


def estimate_caption(what: str, config: tuple, measure: Callable[[], float], steps: int) -> None:
    """The Train form's estimate: "Estimate: 120 ms a step, measured on this machine, × 2,000
    steps ≈ 4 min", from :func:`timed_step`; while the timing runs, a line saying so that
    refreshes itself every second until the number is there."""
    import math

    pending = timed_step(what, config, measure) is None

    @st.fragment(run_every=1.0 if pending else None)
    def caption() -> None:
        per_step = timed_step(what, config, measure)
        if per_step is None:
            st.caption("Estimate: timing a few steps of this configuration in the background…")
            return
        if not math.isfinite(per_step):
            st.caption("Estimate: this configuration could not be timed on this machine.")
            return
        total = per_step * int(steps)
        when = f"{total:.0f} s" if total < 120 else f"{total / 60:.0f} min"
        rate = f"{per_step:.2f} s" if per_step >= 1 else f"{per_step * 1000:.0f} ms"
        st.caption(f"Estimate: {rate} a step, measured on this machine, × {int(steps):,} steps "
                   f"≈ **{when}** (longer while other jobs or pages use the cores).")

    caption()
