"""The home page: a card per page of the lab, each with a live thumbnail and one line."""

from __future__ import annotations

import importlib
import os
import threading

import streamlit as st
from PIL import Image, ImageDraw, ImageFont

from unsup import paths
from unsup.families import PageInfo
from unsup.ui.registry import all_pages
from unsup.ui.text import md


def _placeholder(text: str) -> Image.Image:
    img = Image.new("RGB", (320, 200), (241, 243, 246))
    draw = ImageDraw.Draw(img)
    for x in range(-200, 320, 24):  # light diagonal hatching
        draw.line([(x, 200), (x + 200, 0)], fill=(230, 233, 238), width=6)
    font = ImageFont.load_default(size=20)
    w = draw.textlength(text, font=font)
    draw.text(((320 - w) / 2, 88), text, fill=(120, 126, 136), font=font)
    return img


THUMBNAIL_VERSION = 2
"""Raise when a thumbnail's drawing changes, so that cached thumbnails are drawn again."""


def _checkpoints_stamp() -> str:
    """Changes whenever a shipped checkpoint does (names and modification times)."""
    import hashlib

    h = hashlib.sha256(f"thumbnails v{THUMBNAIL_VERSION}".encode())
    for f in sorted(paths.SHIPPED_DIR.glob("*.json")):
        h.update(f"{f.name}:{f.stat().st_mtime_ns}".encode())
    return h.hexdigest()[:12]


@st.cache_resource(show_spinner=False)
def thumbnail(page_key: str) -> Image.Image:
    """The page's live thumbnail (see :func:`draw_thumbnail`), once per process."""
    return draw_thumbnail(page_key)


def draw_thumbnail(page_key: str) -> Image.Image:
    """The page's live thumbnail, drawn from its shipped model once and then kept on disk (in
    the cache folder, keyed by the checkpoints' modification times) so that later app starts
    open the home page without loading every model. The app's warm-up draws them while the
    server waits for its first visitor."""
    info = next(p for p in all_pages() if p.key == page_key)
    if not info.ready or not info.thumbnail:
        return _placeholder("coming soon")
    cached = _cached_path(page_key)
    if cached.exists():
        try:
            return Image.open(cached).convert("RGB")
        except OSError:
            pass
    module, func = info.thumbnail.split(":")
    try:
        img = getattr(importlib.import_module(module), func)()
    except Exception:  # a missing checkpoint must not break the home page
        return _placeholder("preview unavailable")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp.png")
        img.save(tmp)
        tmp.replace(cached)
    except OSError:
        pass
    return img


def _cached_path(page_key: str):
    return paths.cache_dir() / "thumbnails" / f"{page_key}-{_checkpoints_stamp()}.png"


def cached_thumbnail(info: PageInfo) -> Image.Image | None:
    """The card's thumbnail if it needs no drawing (on disk already, or a placeholder); None
    while it is still to be drawn (:func:`start_drawing` draws it off the page's thread)."""
    if not info.ready or not info.thumbnail:
        return _placeholder("coming soon")
    cached = _cached_path(info.key)
    if cached.exists():
        try:
            return Image.open(cached).convert("RGB")
        except OSError:
            pass
    return None


_DRAW_LOCK = threading.Lock()  # held while thumbnails are drawn
_START_LOCK = threading.Lock()  # held only to start the drawer
_drawer: threading.Thread | None = None


def draw_missing() -> None:
    """Draw every thumbnail not on disk yet (one drawer at a time)."""
    with _DRAW_LOCK:
        for info in all_pages():
            if cached_thumbnail(info) is None:
                draw_thumbnail(info.key)


def start_drawing() -> None:
    """Draw the missing thumbnails in a background thread (once at a time per process), so
    that the home page never loads models on its own thread, however the app was started."""
    global _drawer
    with _START_LOCK:
        if _drawer is not None and _drawer.is_alive():
            return
        _drawer = threading.Thread(target=draw_missing, name="unsup-thumbnails", daemon=True)
        _drawer.start()


DRAWING = "drawing the preview…"


def render(pages: dict[str, st.Page]) -> None:
    st.title("unsup — a latent-space lab")
    st.markdown(
        "Unsupervised learning finds structure nobody labelled: topics in text, the few numbers "
        "that draw a digit, the factors behind an image. Each page below follows the lecture and "
        "opens on a model trained beforehand; train your own from any page.")
    st.html(CARD_CSS)
    infos = all_pages()
    missing = any(cached_thumbnail(info) is None for info in infos)
    if missing:
        start_drawing()

    @st.fragment(run_every=1.0 if missing else None)
    def grid() -> None:
        cols = st.columns(3)
        still = False
        for i, info in enumerate(infos):
            img = cached_thumbnail(info)
            still = still or img is None
            with cols[i % 3].container(border=True, key=f"card_{info.key}"):
                _card(info, pages[info.key], img)
        if missing and not still:
            st.rerun(scope="app")  # every thumbnail is drawn: stop polling

    grid()


CARD_CSS = """<style>
/* the whole card is a link: the page link's anchor is stretched over its card */
div[class*="st-key-card_"] { position: relative; }
div[class*="st-key-card_"] div:has(> [data-testid="stPageLink"]),
div[class*="st-key-card_"] div:has([data-testid="stPageLink"]):not([class*="st-key-card_"]),
div[class*="st-key-card_"] [data-testid="stPageLink"],
div[class*="st-key-card_"] [data-testid="stPageLink"] * { position: static !important; }
div[class*="st-key-card_"] [data-testid="stPageLink"] a::after {
  content: ""; position: absolute; inset: 0; z-index: 2; }
div[class*="st-key-card_"]:hover { box-shadow: 0 2px 12px rgba(0, 0, 0, 0.12); }
</style>"""


def _card(info: PageInfo, page: st.Page, img: Image.Image | None) -> None:
    st.image(img if img is not None else _placeholder(DRAWING), width="stretch")
    label = md(info.title) if info.ready else f"{md(info.title)} · coming"
    st.page_link(page, label=label, icon=info.icon)
    st.caption(md(info.blurb))


def coming_page(info: PageInfo):
    """A stand-in page for one not built yet."""

    def _page() -> None:
        st.title(md(info.title))
        st.info(f"Coming soon. {md(info.blurb)}")
        st.image(thumbnail(info.key))

    _page.__name__ = f"coming_{info.key.replace('-', '_')}"
    return _page
