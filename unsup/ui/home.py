"""The home page: a card per page of the lab, each with a live thumbnail and one line."""

from __future__ import annotations

import importlib

import streamlit as st
from PIL import Image, ImageDraw, ImageFont

from unsup.ui.registry import PAGES, PageInfo


def _placeholder(text: str) -> Image.Image:
    img = Image.new("RGB", (320, 200), (241, 243, 246))
    draw = ImageDraw.Draw(img)
    for x in range(-200, 320, 24):  # light diagonal hatching
        draw.line([(x, 200), (x + 200, 0)], fill=(230, 233, 238), width=6)
    font = ImageFont.load_default(size=20)
    w = draw.textlength(text, font=font)
    draw.text(((320 - w) / 2, 88), text, fill=(120, 126, 136), font=font)
    return img


@st.cache_resource(show_spinner=False)
def thumbnail(page_key: str) -> Image.Image:
    """The page's live thumbnail (from its shipped model), made once per process."""
    info = next(p for p in PAGES if p.key == page_key)
    if not info.ready or not info.thumbnail:
        return _placeholder("coming soon")
    module, func = info.thumbnail.split(":")
    try:
        return getattr(importlib.import_module(module), func)()
    except Exception:  # a missing checkpoint must not break the home page
        return _placeholder("preview unavailable")


def render(pages: dict[str, st.Page]) -> None:
    st.title("unsup — a latent-space lab")
    st.markdown(
        "Unsupervised learning finds structure nobody labelled: topics in text, the few numbers "
        "that draw a digit, the factors behind an image. Each page below follows the lecture and "
        "opens on a model trained beforehand; train your own from any page.")
    cols = st.columns(3)
    for i, info in enumerate(PAGES):
        with cols[i % 3].container(border=True):
            _card(info, pages[info.key])


def _card(info: PageInfo, page: st.Page) -> None:
    st.image(thumbnail(info.key), width="stretch")
    label = info.title if info.ready else f"{info.title} · coming"
    st.page_link(page, label=label, icon=info.icon)
    st.caption(info.blurb)


def coming_page(info: PageInfo):
    """A stand-in page for one not built yet."""

    def _page() -> None:
        st.title(info.title)
        st.info(f"Coming soon. {info.blurb}")
        st.image(thumbnail(info.key))

    _page.__name__ = f"coming_{info.key.replace('-', '_')}"
    return _page
