"""Every page of the lab, in navigation order: the pages of the registered families
(:func:`unsup.families.pages`), then the pages still to come, shown as "coming" (in the
navigation and on the home page) until a family with that page key registers.
"""

from __future__ import annotations

from unsup.families import PageInfo, pages

COMING: list[PageInfo] = [
    PageInfo("clustering", "Clustering & latent atlas", ":material/scatter_plot:",
             "app_pages/clustering.py", "K-means vs GMM vs CRP, PCA and UMAP of any model's codes.",
             order=70),
]
"""Pages whose family is not written yet (a family that registers the key replaces it)."""


def all_pages() -> list[PageInfo]:
    have = pages()
    keys = {p.key for p in have}
    return sorted(have + [p for p in COMING if p.key not in keys], key=lambda p: p.order)


PAGES = all_pages()


def page_header(title: str, caption: str, sections: list[str], key: str) -> str:
    """A page's title, its one-paragraph explanation and its section switcher (the first
    section is the default, and comes back when the user clicks the chosen one off); returns
    the section to show."""
    import streamlit as st

    from unsup.ui.text import md

    st.title(md(title))
    st.caption(md(caption))  # ``safe(...)`` markdown is kept, anything else escaped
    return st.segmented_control("Section", sections, default=sections[0], key=key,
                                label_visibility="collapsed") or sections[0]
