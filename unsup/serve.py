"""Run the app the way the README does: ``python -m unsup.serve [streamlit options]``.

It is ``streamlit run app.py`` plus a warm-up: a background thread imports the heavy modules the
pages need (torch above all, about 2 s of a cold start on 2 cores) while the server starts and
waits for its first visitor. Streamlit runs every page in the server's own process, so the first
person to open a page does not pay for those imports. Nothing is trained or computed here; a
module that fails to import is skipped (the page that needs it will then show the error).

The app does not depend on this launcher: ``streamlit run app.py`` (how Streamlit apps are
deployed) serves the same app, deep links included, and app.py starts the same warm-up on its
first run (:func:`start_warm_up`, once per process); the home page shows a placeholder for a
thumbnail still being drawn and never draws one on its own thread.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def warm_modules() -> list[str]:
    """What the warm-up imports, in order: torch, then each registered family's own list
    (:attr:`unsup.families.Family.warm`: its recipe module and the page's UI modules)."""
    from unsup import families

    return ["torch", *[m for m in families.warm_modules() if m != "torch"]]


warm_seconds: dict[str, float] = {}
"""Seconds each warmed module took to import (for the curious)."""


def warm_up(modules=None, thumbnails: bool | None = None) -> None:
    """Import ``modules`` (default: :func:`warm_modules`) one after the other, timing each;
    failures are skipped. Then (by default when ``modules`` is None) draw the home page's
    thumbnails into their disk cache, so the first visitor of a fresh clone does not wait for
    them either."""
    if thumbnails is None:
        thumbnails = modules is None
    for name in warm_modules() if modules is None else modules:
        t0 = time.perf_counter()
        try:
            warm_one(name)
        except Exception:  # noqa: BLE001 - the page that needs it reports the error itself
            continue
        warm_seconds[name] = time.perf_counter() - t0
    if modules is None:  # validate every checkpoint once (cached by path, size and mtime), so
        t0 = time.perf_counter()  # the first page that lists its models reads no file
        try:
            from unsup import checkpoints

            checkpoints.list_models()
        except Exception:  # noqa: BLE001 - the page lists (and reports) them itself
            pass
        warm_seconds["checkpoint list"] = time.perf_counter() - t0
        freeze_imported_objects()
    if thumbnails:
        t0 = time.perf_counter()
        try:
            from unsup.ui.home import draw_missing

            draw_missing()
        except Exception:  # noqa: BLE001 - the home page draws what is missing itself
            return
        warm_seconds["thumbnails"] = time.perf_counter() - t0


def warm_one(name: str) -> None:
    """Import the module ``name``; for "module:function", import it and call the function (a
    family's slow first use that is not an import, e.g. loading PyThaiNLP's dictionary)."""
    module, _, function = name.partition(":")
    mod = importlib.import_module(module)
    if function:
        getattr(mod, function)()


def freeze_imported_objects() -> None:
    """Move every object alive now (torch's and the families' modules: hundreds of thousands)
    into the garbage collector's permanent generation (:func:`gc.freeze`), so its full
    collections, which a rerun's many new objects keep triggering, no longer walk them.
    Measured in Chromium (a model-free slider-and-image page, p50 of 24 moves): 90-118 ms with
    no torch in the server, 159-174 ms once the server had imported torch, 74-76 ms with torch
    imported and this freeze (issue 21, part 15). Objects created later are collected as
    usual; what is frozen (module-level state) lives as long as the process anyway."""
    import gc

    gc.freeze()


_started = threading.Event()
_start_lock = threading.Lock()


def start_warm_up() -> bool:
    """Start :func:`warm_up` in a background thread, once per process; True if this call
    started it. The launcher calls it before the server starts, app.py on its first run, so
    the app warms up the same way however it is started (``streamlit run app.py`` too)."""
    with _start_lock:
        if _started.is_set():
            return False
        _started.set()
    threading.Thread(target=warm_up, name="unsup-warm-up", daemon=True).start()
    return True


def main(argv: list[str] | None = None) -> int:
    from streamlit.web import cli

    start_warm_up()
    args = list(sys.argv[1:] if argv is None else argv)
    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *args]
    return cli.main()


if __name__ == "__main__":
    # run the one ``unsup.serve`` module that app.py imports too (not this ``__main__`` copy),
    # so that the warm-up starts once per process
    from unsup import serve as _serve

    sys.exit(_serve.main())
