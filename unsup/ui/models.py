"""Loading the models a page shows: once per file version per process, and a message in the page
(never a traceback) when a file cannot be loaded."""

from __future__ import annotations

import streamlit as st
import torch

from unsup import checkpoints
from unsup.ui.text import md


@st.cache_resource(max_entries=24, show_spinner=False)
def load_model(path: str, mtime: float):
    """A checkpoint, loaded once per (path, mtime) per process (raises CheckpointError).
    Nothing here switches autograd off: code that runs a model for the page does so under its
    own ``torch.no_grad()`` (a thread-wide switch here used to hold only in the one script
    thread that happened to load the model first)."""
    return checkpoints.load(path)


def model_of(entry: checkpoints.Entry):
    """The entry's model, or None after saying in the page why it cannot be loaded.

    The page's thread then computes with one torch thread (the count is per thread): what a
    page runs is a handful of images, where a second thread gains little and, on cores busy
    with training or other visitors, costs a great deal (12 CycleGAN translations took 5.7 s
    on two threads of a loaded machine, 0.3 s on one). Training jobs set their own."""
    torch.set_num_threads(1)
    try:
        return load_model(str(entry.path), entry.mtime)
    except checkpoints.CheckpointError as exc:
        st.error(f"{md(entry.title)} cannot be loaded: {md(str(exc))} Pick another model.")
        return None


def broken_runs_note(kinds: tuple[str, ...]) -> None:
    """Runs of these kinds in the runs folder that cannot be loaded, greyed, with why."""
    bad = checkpoints.broken_runs(kinds)
    if bad:
        with st.expander(f"{len(bad)} run(s) could not be read"):
            for e in bad:
                st.caption(f"~~{md(e.title)}~~ — {md(e.problem)} (run folder "
                           f"{md(e.folder)})")


def pick_entry(label: str, items: list[checkpoints.Entry], key: str, *,
               default: str | None = None, where=None, kinds: tuple[str, ...] | None = None
               ) -> checkpoints.Entry | None:
    """The one model picker: ``items`` (shipped first, then the user's runs, as
    :func:`unsup.checkpoints.list_models` gives them) by their labels, ``default`` chosen when
    present; with ``kinds``, the runs of those kinds that cannot be read are listed below it
    (:func:`broken_runs_note`). None when there is nothing to pick (the caller says how to get a
    model)."""
    entry = None
    if items:
        names = [e.name for e in items]
        index = names.index(default) if default in names else 0
        pick = (where or st).selectbox(md(label), names, index=index, key=key,
                                       format_func=lambda n: items[names.index(n)].label)
        entry = items[names.index(pick)]
    if kinds is not None:
        broken_runs_note(kinds)
    return entry
