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
