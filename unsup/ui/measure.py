"""Numbers a section shows come from disk, never from a model run on the page's thread.

- A model's held-out metrics come from its card (:func:`card_metrics`): written by the command or
  the job that trained it. A user run stopped before it finished has none yet: the section says
  "not measured" and offers **Measure** (:func:`measure_controls`), a background job that runs the
  family's evaluation and writes the numbers into the run's card
  (:func:`unsup.recipes.measure_work`), so they stay there after a restart.
- Heavier derived data (sample statistics, clustering tables) come from :mod:`unsup.derived`:
  precomputed for the shipped models, computed by a background job for anything else
  (:func:`derived_job_button`).
"""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from unsup.checkpoints import Entry
from unsup.jobs import get_runner
from unsup.recipes import measure_work, merged_metrics
from unsup.ui import training
from unsup.ui.text import code, md

NOT_MEASURED = "not measured"


def card_metrics(entry: Entry, required: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The held-out numbers recorded in ``entry``'s card (see
    :func:`unsup.recipes.merged_metrics`), or None if any of ``required`` is missing."""
    m = merged_metrics(entry.card or {})
    if not m or any(k not in m for k in required):
        return None
    return m


def _job_key(page: str) -> str:
    key = f"{page}_measure"
    # the sidebar's Jobs list links a job back to its page's file
    training.PAGE_FILES.setdefault(key, training.PAGE_FILES.get(page, page))
    return key


def busy(page: str) -> bool:
    job = training.current_job(_job_key(page))
    return job is not None and job.active


def job_status(page: str) -> None:
    """This page's measuring job (progress, Stop; reruns the page when it ends), if any."""
    training.job_panel(_job_key(page), curves=False)


def measure_controls(page: str, unmeasured: list[Entry], *, what: str = "held-out metrics"
                     ) -> None:
    """Say which models have no recorded numbers, and offer to measure each user run in the
    background (shipped ones name the command that measures them). The section shows the job
    itself with :func:`job_status` (once)."""
    if not unmeasured:
        return
    running = busy(page)
    for i, e in enumerate(unmeasured[:8]):
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        if e.source == "shipped":
            c1.caption(f"**{md(e.title)}** — {NOT_MEASURED}: its card has no {md(what)}; "
                       f"{code('python scripts/refresh_cards.py ' + e.name)} measures it.")
            continue
        step = e.card.get("step")
        c1.caption(f"**{md(e.title)}** ({md(e.folder if hasattr(e, 'folder') else e.name)}, "
                   f"step {md(step if step is not None else '?')}) — {NOT_MEASURED} (stopped before "
                   f"its {md(what)} were recorded).")
        if c2.button("Measure", key=f"{page}_measure_{i}_{e.name}", disabled=running,
                     icon=":material/play_arrow:",
                     help="Measure it in the background; the numbers are written into the "
                          "run's card and shown here when done."):
            start_measure(page, e)
    if len(unmeasured) > 8:
        st.caption(f"…and {len(unmeasured) - 8} more not measured.")


def start_measure(page: str, entry: Entry) -> str:
    key = _job_key(page)
    job_id = get_runner().submit_work(f"Measuring {entry.title}", measure_work(entry),
                                      page=key)
    training.follow(key, job_id)
    st.rerun()
    return job_id


def derived_job_button(page: str, label: str, title: str, work: Callable, *, key: str) -> None:
    """A button that computes missing derived data as a background job (disabled while one
    runs); the section shows the job with :func:`job_status`."""
    if st.button(md(label), key=key, disabled=busy(page), icon=":material/play_arrow:"):
        jkey = _job_key(page)
        training.follow(jkey, get_runner().submit_work(title, work, page=jkey))
        st.rerun()
