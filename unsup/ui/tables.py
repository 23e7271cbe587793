"""Measured tables as the page shows them: every row visible (no inner scrolling), every column
inside the page's width (short labels with the full meaning as a tooltip, sized columns), and a
missing value shown as "—", never as "None". Presentation only: the numbers are the caller's."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

MISSING = "—"
"""What an empty cell shows (a measure that does not apply, or not measured)."""


MAX_ROWS_SHOWN = 40
"""Tables up to this many rows show them all; longer ones (an upload's skipped rows) scroll."""


@dataclass(frozen=True)
class Col:
    """How one column is shown: its short label, width in pixels (None: fit the contents) and
    the tooltip on its label (what it measures, which direction is better)."""

    label: str | None = None
    width: int | str | None = None
    help: str | None = None
    format: str | None = None  # a number column's printf-style format, e.g. "%.1f"


def column_config(df: pd.DataFrame, columns: dict[str, Col] | None) -> dict:
    out = {}
    for name, c in (columns or {}).items():
        if name in df.columns:
            if c.format:
                out[name] = st.column_config.NumberColumn(c.label or name, width=c.width,
                                                          help=c.help, format=c.format)
            else:
                out[name] = st.column_config.Column(c.label or name, width=c.width, help=c.help)
    return out


def show(df: pd.DataFrame, columns: dict[str, Col] | None = None, *, key: str | None = None,
         width="stretch") -> None:
    """``df`` as a table with every row shown (a long one, over :data:`MAX_ROWS_SHOWN` rows,
    scrolls) and missing values as "—" (``columns``: how to label and size its columns)."""
    height = "content" if len(df) <= MAX_ROWS_SHOWN else 420
    st.dataframe(df, hide_index=True, width=width, height=height, placeholder=MISSING,
                 column_config=column_config(df, columns), key=key)
