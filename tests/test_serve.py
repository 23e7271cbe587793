"""The README's launcher: `python -m unsup.serve` = `streamlit run app.py` + a warm-up thread."""

import sys

from unsup import serve


def test_warm_up_imports_and_skips_broken_modules():
    serve.warm_seconds.clear()
    serve.warm_up(("json", "unsup.no_such_module", "unsup.viz.images"))
    assert set(serve.warm_seconds) == {"json", "unsup.viz.images"}
    assert "unsup.viz.images" in sys.modules


def test_main_runs_streamlit_on_app_py_with_the_given_options(monkeypatch):
    from streamlit.web import cli

    seen = {}
    monkeypatch.setattr(cli, "main", lambda: seen.setdefault("argv", list(sys.argv)) and 0)
    monkeypatch.setattr(serve, "warm_up", lambda *a, **k: None)
    monkeypatch.setattr(sys, "argv", ["x"])
    assert serve.main(["--server.port", "8600"]) == 0
    argv = seen["argv"]
    assert argv[:2] == ["streamlit", "run"]
    assert argv[2].endswith("app.py") and argv[3:] == ["--server.port", "8600"]


def test_warm_up_draws_the_home_thumbnails_into_their_disk_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_CACHE_DIR", str(tmp_path))
    serve.warm_seconds.clear()
    serve.warm_up(("json",), thumbnails=True)
    assert "thumbnails" in serve.warm_seconds
    drawn = {p.name.split("-")[0] for p in (tmp_path / "thumbnails").glob("*.png")}
    assert {"vae", "topics"} <= drawn


def test_no_pages_folder_beside_app_py_and_every_page_file_exists():
    """Issue 21.5: Streamlit reads a folder named ``pages/`` beside the main script as its legacy
    page list; the first run of a fresh server then ignores app.py's navigation (a deep link
    such as /topics shows "Page not found"), however the app is started. The pages live in
    ``app_pages/``, and every page file the navigation names exists there."""
    from unsup.ui.registry import PAGES

    root = serve.ROOT
    assert (root / "app.py").is_file()
    assert not (root / "pages").exists()
    for info in PAGES:
        assert info.file.startswith("app_pages/") and (root / info.file).is_file(), info


def test_app_py_starts_the_warm_up_once_and_the_home_page_never_draws_on_its_thread(
        tmp_path, monkeypatch):
    """Issue 21, parts 5 and 14: under a bare ``streamlit run app.py`` (no launcher) the home
    page of a fresh clone must not load every model on the page's thread: app.py starts the
    warm-up itself, once per process, and a card whose thumbnail is not drawn yet shows a
    placeholder until the background drawer has put it on disk."""
    import threading

    from streamlit.testing.v1 import AppTest

    from unsup.ui import home

    monkeypatch.setenv("UNSUP_CACHE_DIR", str(tmp_path))
    page_threads, drawn = [], threading.Event()
    real = home.draw_thumbnail

    def draw(key):
        if threading.current_thread().name not in ("unsup-thumbnails", "unsup-warm-up"):
            page_threads.append(key)  # drawn by the page (or the test) itself
            return real(key)
        drawn.wait(60)  # the background drawer waits until the test lets it go on
        return real(key)

    monkeypatch.setattr(home, "draw_thumbnail", draw)
    monkeypatch.setattr(serve, "warm_up", lambda *a, **k: home.draw_missing())
    monkeypatch.setattr(serve, "_started", threading.Event())
    at = AppTest.from_file(str(serve.ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert serve._started.is_set()  # app.py started the warm-up
    assert not page_threads  # the page drew nothing itself
    cards = [el for el in at.image for _ in el.proto.imgs]
    assert cards  # placeholders stand in for the thumbnails still being drawn
    drawn.set()
    t = home._drawer
    assert t is not None
    t.join(120)
    ready = [i for i in home.all_pages() if i.ready and i.thumbnail]
    assert all(home.cached_thumbnail(i) is not None for i in ready)
    assert serve.start_warm_up() is False  # once per process


def test_the_warm_up_freezes_what_it_imported(monkeypatch):
    """Issue 21, part 15: after the warm-up's imports the server's objects are moved out of the
    garbage collector's way (gc.freeze), so a rerun's collections no longer walk torch's heap
    (a slider move in Chromium: 159-174 ms → 74-76 ms, see unsup.serve)."""
    import gc

    from unsup import serve

    monkeypatch.setattr(serve, "warm_modules", lambda: ["json"])
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        serve.warm_up(thumbnails=False)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
