"""Real-browser test: Playwright drives Debian's Chromium (headless) against the app as the README
runs it (`python -m unsup.serve`, i.e. `streamlit run app.py` plus its warm-up).

Opens every page, checks that no exception box is shown, moves a slider on the VAE page and
watches the image change, and saves a screenshot of each page to tests/artifacts/.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from unsup.ui.registry import PAGES

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LAUNCHERS = {
    # the README's launcher: `streamlit run app.py` plus a warm-up thread
    "serve": ["-m", "unsup.serve"],
    # the way Streamlit apps are deployed (Community Cloud, Docker images): no launcher at all
    "streamlit-run": ["-m", "streamlit", "run", "app.py"],
}


def _start_server(runs: Path, launcher: str = "serve"):
    """The app on a free port, started by ``launcher`` (see :data:`LAUNCHERS`); returns
    (process, url) once the server says it is ready (its welcome line; a state, not a time) and
    answers its health check. A thread keeps reading the server's output, so that a chatty
    server never blocks on a full pipe."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (the README's test command installs it)")
    port = _free_port()
    env = dict(os.environ, UNSUP_RUNS_DIR=str(runs))
    proc = subprocess.Popen(
        [sys.executable, *LAUNCHERS[launcher], "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", "--logger.hideWelcomeMessage", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    ready, log = threading.Event(), []

    def pump():
        for line in proc.stdout:
            log.append(line.decode(errors="replace"))
            if b"You can now view your Streamlit app" in line:
                ready.set()
        ready.set()  # the server ended: no point waiting any longer

    threading.Thread(target=pump, daemon=True).start()
    ok = ready.wait(180) and proc.poll() is None  # generous: a loaded machine imports slowly
    try:
        ok = ok and urllib.request.urlopen(url + "/_stcore/health", timeout=30).read() == b"ok"
    except OSError:
        ok = False
    if not ok:
        proc.kill()
        raise RuntimeError("streamlit did not start:\n" + "".join(log))
    return proc, url


def _stop_server(proc) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the module (no warm-up visit: a deep link works as a first visit)."""
    proc, url = _start_server(tmp_path_factory.mktemp("runs"))
    yield url
    _stop_server(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


JOB = 600_000
"""ms: the overall limit for a state a background job reaches (its first step, its live preview,
its stop) on a loaded 2-core machine. Generous on purpose: every wait ends as soon as the state
is there, so the limit only decides when a genuinely stuck job fails the test."""

IDLE_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const idle = app && app.getAttribute('data-test-script-state') === 'notRunning'
        && !document.querySelector('[data-testid="stStatusWidget"]')
        && !document.querySelector('[data-stale="true"]')
        && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
            .every(c => c.querySelector('.main-svg'));
    window.__unsupIdlePolls = idle ? (window.__unsupIdlePolls || 0) + 1 : 0;
    return window.__unsupIdlePolls >= 3;
}"""
"""True once the app has been idle for three polls in a row: its script is not running (the
``data-test-script-state`` Streamlit puts on the app), no element is stale (left over from the
run before), and every plotly chart has drawn its SVG (they draw after the script has finished).
Three polls in a row, rather than one, let a rerun that a click has just requested start first."""


def wait_idle(page, timeout=180_000):
    """Wait until the app has rendered and Streamlit is no longer running the script (a state,
    polled every 100 ms: no fixed pause)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_selector('[data-testid="stMain"]', timeout=timeout)
    # every page has a title: until it shows, the script has not run (slow on a loaded machine)
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout)
    page.wait_for_function(IDLE_JS, timeout=timeout, polling=100)


IN_VIEW_JS = """(sel) => {
    const els = document.querySelectorAll(sel);
    const r = els.length && els[els.length - 1].getBoundingClientRect();
    return !!r && r.top >= 0 && r.top < window.innerHeight && r.height > 0;
}"""
"""True when the last element matching the selector (argument) has scrolled into the window."""


def hover(page, xy):
    """Move the mouse to page point ``xy`` and wait until plotly has registered the hover there
    (a click on a WebGL scatter picks the hovered point)."""
    page.mouse.move(xy[0], xy[1])
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')]"
        ".some(gd => gd._hoverdata && gd._hoverdata.length)", timeout=30_000, polling=50)


def choose_section(page, name):
    """Click a choice of the page's section switcher (st.segmented_control), retrying while
    Streamlit keeps the page inert during a rerun."""
    button = page.locator('[data-testid="stButtonGroup"] button').filter(
        has_text=re.compile(f"^{name}$")).first
    for attempt in range(4):
        try:
            button.click(timeout=10_000)
            break
        except Exception:
            if attempt == 3:
                raise
            wait_idle(page)
    wait_idle(page)


def image_width(locator, timeout=60_000) -> int:
    """The decoded width of an image, once the browser has loaded it: a fresh <img> reads
    naturalWidth 0 until its bytes arrive, so wait for that state rather than read it at once."""
    locator.wait_for(timeout=timeout)
    handle = locator.element_handle(timeout=timeout)
    locator.page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=handle,
                                   timeout=timeout)
    return int(locator.evaluate("i => i.naturalWidth"))


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    yield pg
    ctx.close()


def test_home_page(server, page):
    page.goto(server)
    wait_idle(page)
    page.wait_for_selector('[data-testid="stPageLink"]')
    # a card per page (the thumbnails of a fresh clone are drawn once, one by one)
    page.wait_for_function(
        f"() => document.querySelectorAll('[data-testid=\"stPageLink\"]').length >= {len(PAGES)}",
        timeout=180_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "home")


def _check_deep_link(browser, url, info) -> None:
    """Open ``url/<page key>`` in a fresh browser context: the page's own title shows, with the
    app's navigation (not the file names of the page folder) and no "Page not found" dialog."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        pg = ctx.new_page()
        pg.goto(f"{url}/{info.key}")
        wait_idle(pg, timeout=180_000)
        title = pg.locator('[data-testid="stMain"] h1').first.inner_text()
        assert info.title.split(" (")[0] in title, (info.key, title)
        assert pg.get_by_text("Page not found").count() == 0, info.key
        nav = pg.get_by_test_id("stSidebarNav").inner_text()
        assert "Home" in nav and "Topic maps" in nav and "vae sliders" not in nav.lower(), (
            info.key, nav)
    finally:
        ctx.close()


@pytest.mark.parametrize("launcher,first", [("streamlit-run", "topics"),
                                            ("streamlit-run", "gan"),
                                            ("serve", "topics")])
def test_deep_links_work_as_the_first_visit_after_a_server_start(browser, tmp_path, launcher,
                                                                 first):
    """Issues 11.7 and 21.5: a page URL opened as the very first visit of a freshly started
    server shows that page, with the app's navigation and no "Page not found" dialog, however
    the app is started (`streamlit run app.py` as deployed, or the README's launcher). The
    first visit is the one that used to break (`/topics`: "Page not found"; `/gan`: the page
    file run bare, with a sidebar of file names); the other pages follow on the same server."""
    proc, url = _start_server(tmp_path / "runs", launcher)
    try:
        order = sorted(PAGES, key=lambda p: p.key != first)
        assert order[0].key == first
        for info in order if launcher == "streamlit-run" and first == "topics" else order[:1]:
            _check_deep_link(browser, url, info)
    finally:
        _stop_server(proc)


@pytest.mark.parametrize("info", PAGES, ids=[p.key for p in PAGES])
def test_every_page_opens_without_an_exception(server, page, info):
    page.goto(f"{server}/{info.key}")
    wait_idle(page, timeout=120_000)
    if info.key == "topics" and info.ready:
        page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=60_000)
        wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, f"page-{info.key}")


def test_vae_slider_changes_the_image(server, page):
    page.goto(f"{server}/vae")
    wait_idle(page)
    img = page.locator('[data-testid="stImage"] img').last
    img.wait_for(timeout=60_000)
    before = img.get_attribute("src")
    slider = page.get_by_role("slider").first
    slider.focus()
    for _ in range(20):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "(src) => { const i = [...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
        ".pop(); return i && i.src !== src; }", arg=before, timeout=30_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "vae-after-slider")


def test_vae_2d_manifold_and_sections(server, page):
    page.goto(f"{server}/vae")
    wait_idle(page)
    for section in ("Encode", "Interpolate", "Denoise", "Numbers", "Train"):
        choose_section(page, section)
        assert page.locator('[data-testid="stException"]').count() == 0, section
        shot(page, f"vae-{section.lower()}")


def test_vae_draw_a_digit(server, page):
    page.goto(f"{server}/vae")
    wait_idle(page)
    choose_section(page, "Encode")
    page.get_by_text("Draw", exact=True).click()
    wait_idle(page)
    canvas = page.locator("canvas").first
    canvas.wait_for(timeout=30_000)
    box = canvas.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.15
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 11):  # a vertical stroke: a "1"
        page.mouse.move(x0, y0 + i * box["height"] * 0.07)
    page.mouse.up()
    page.get_by_role("button", name="Use this code for the sliders").wait_for(timeout=30_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "vae-draw")


def test_vae_training_job_survives_a_refresh_and_stops(server, page):
    page.goto(f"{server}/vae")
    wait_idle(page)
    choose_section(page, "Train")
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("200")
    epochs.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Start training").click()
    try:
        page.get_by_text("Training…").first.wait_for(timeout=JOB)
    except Exception:
        shot(page, "vae-training-start-failed")
        raise
    page.wait_for_function("() => location.search.includes('job_vae=')", timeout=JOB)
    # a refresh (same URL) reattaches to the running job
    page.reload()
    wait_idle(page, timeout=JOB)
    choose_section(page, "Train")
    page.get_by_text("Training…").first.wait_for(timeout=JOB)
    # the live preview: shown once the job has trained its first steps, which on a loaded
    # machine can take minutes (issue 21.19: a fixed 60 s limit failed there once)
    page.locator('[data-testid="stImage"] img').first.wait_for(timeout=JOB)
    shot(page, "vae-training")
    jobs = page.get_by_test_id("stSidebar")
    assert jobs.get_by_text("Jobs · 1 running").count() == 1  # the Jobs view lists it
    # leave for another page, come back by the navigation (no job id in the URL): the page
    # shows its running job, not a blank form (issue 11.5)
    page.get_by_test_id("stSidebarNav").get_by_text("Topic maps").click()
    page.wait_for_function("() => location.pathname.endsWith('/topics')", timeout=JOB)
    wait_idle(page, timeout=JOB)
    page.get_by_test_id("stSidebarNav").get_by_text("VAE latent sliders").click()
    page.wait_for_function("() => location.pathname.endsWith('/vae')", timeout=JOB)
    wait_idle(page, timeout=JOB)
    choose_section(page, "Train")
    page.get_by_text("Training…").first.wait_for(timeout=JOB)
    assert page.get_by_role("button", name="Start training").count() == 0
    page.get_by_test_id("stMain").get_by_role("button", name="Stop").click()
    # acknowledged (issue 11.6: the toast, or the panel's "stopping…"), then stopped
    page.get_by_text(re.compile(r"Stopping; the last checkpoint|stopping…|Stopped; the last")
                     ).first.wait_for(timeout=JOB)
    # the job has ended (either label of a stopped job), then: its checkpoint is kept
    main = page.get_by_test_id("stMain")
    main.get_by_text(re.compile(r"— Stopped")).first.wait_for(timeout=JOB)
    # a job the runner ended (its thread starved on a loaded machine) shows "saving the step
    # in progress…" until that step is saved: wait for the state, the kept checkpoint
    main.get_by_text("Stopped; the last checkpoint is kept.").first.wait_for(timeout=JOB)
    shot(page, "vae-training-stopped")
    ended = main.get_by_text(re.compile(r"— Stopped")).first.inner_text()
    assert "nothing was saved" not in ended, ended
    page.get_by_text("It is now in the model picker").first.wait_for(timeout=JOB)
    assert page.locator('[data-testid="stException"]').count() == 0


def _slider_values(page) -> list[float]:
    return [float(s.get_attribute("value"))
            for s in page.get_by_test_id("stMain").get_by_role("slider").all()]


def test_encode_then_sliders_keeps_the_code(server, page):
    """Issue 11.1: the sliders show the encoded code, and moving one changes only that one."""
    page.goto(f"{server}/vae")
    wait_idle(page)
    choose_section(page, "Encode")
    code_text = page.get_by_text("Code μ(x):").first
    code_text.wait_for(timeout=30_000)
    code = [float(v) for v in re.findall(r"[+-]\d+\.\d+", code_text.inner_text())]
    page.get_by_role("button", name="Use this code for the sliders").click()
    wait_idle(page)
    choose_section(page, "Sliders")
    values = _slider_values(page)
    assert len(values) == 16 and sorted(values) != [-3.0] * 16, values
    assert sorted(values) == pytest.approx(sorted(max(-3, min(3, c)) for c in code), abs=0.051)
    first = page.get_by_test_id("stMain").get_by_role("slider").first
    first.focus()
    page.keyboard.press("ArrowRight")
    wait_idle(page)
    after = _slider_values(page)
    changed = [i for i, (a, b) in enumerate(zip(values, after)) if abs(a - b) > 1e-6]
    assert changed == [0], (values, after)
    shot(page, "vae-encode-to-sliders")


def _stable_png(locator, timeout_s=120.0):
    """The locator's screenshot once it has stopped changing (three in a row alike): deck.gl
    draws on animation frames after its data arrives, so the drawing, not a clock, says when it
    is done."""
    from io import BytesIO

    from PIL import Image

    deadline = time.monotonic() + timeout_s
    shots = [locator.screenshot()]
    while True:
        shots = [*shots[-2:], locator.screenshot()]
        if len(shots) == 3 and shots[0] == shots[1] == shots[2]:
            return np.asarray(Image.open(BytesIO(shots[-1])).convert("RGB"), dtype=np.int16)
        if time.monotonic() > deadline:
            raise TimeoutError("the chart kept changing")


def _deck_png(page):
    deck = page.locator('[data-testid="stDeckGlJsonChart"]').first
    deck.locator("canvas").first.wait_for(timeout=60_000)
    return _stable_png(deck)


def test_every_map_mode_draws_the_listings(server, page):
    """Issue 11.2: Dots, Hexagons and Heatmap each draw the listings over the basemap (the deck
    differs visibly from the same map with every topic unselected)."""
    page.goto(f"{server}/topics")
    wait_idle(page, timeout=120_000)
    for mode in ("Dots", "Hexagons", "Heatmap"):
        page.get_by_test_id("stMain").get_by_text(mode, exact=True).click()
        wait_idle(page)
        with_points = _deck_png(page)
        shot(page, f"topics-map-{mode.lower()}")
        page.get_by_role("button", name="Unselect all topics", exact=True).click()
        wait_idle(page)
        empty = _deck_png(page)
        page.get_by_role("button", name="Select all topics", exact=True).click()
        wait_idle(page)
        h = min(with_points.shape[0], empty.shape[0])
        w = min(with_points.shape[1], empty.shape[1])
        changed = (np.abs(with_points[:h, :w] - empty[:h, :w]).sum(-1) > 30).mean()
        assert changed > 0.002, (mode, changed)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_thai_text_has_a_font_served_by_the_app(server, page):
    """Issue 11.14: the app ships a Thai web font (Sarabun, OFL), so Thai text renders in any
    browser, also one without Thai system fonts."""
    assert urllib.request.urlopen(
        f"{server}/app/static/fonts/sarabun-thai-400-normal.woff2", timeout=10).status == 200
    page.goto(f"{server}/topics")
    wait_idle(page, timeout=120_000)
    page.wait_for_function("() => document.fonts.status === 'loaded'", timeout=30_000)
    loaded = page.evaluate("""async () => {
        await document.fonts.load('16px "Sarabun Thai"', 'ทะเล');
        return [...document.fonts].some(f => f.family.replaceAll('"', '') === 'Sarabun Thai'
                                             && f.status === 'loaded');
    }""")
    assert loaded


def test_a_whole_home_card_is_a_link(server, page):
    """Issue 11.13: clicking anywhere on a card (here its thumbnail) opens the page."""
    page.goto(server)
    wait_idle(page)
    card = page.locator('div[class*="st-key-card_vae"]').first
    box = card.locator('[data-testid="stImage"]').first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # the picture
    page.wait_for_function("() => location.pathname.endsWith('/vae')", timeout=30_000)
    wait_idle(page)
    assert "VAE latent sliders" in page.locator('[data-testid="stMain"] h1').first.inner_text()


def test_beta_vae_training_panel_is_compact(server, page):
    """Issue 11.4: one compact preview strip, the curve drawn from its first point, Stop beside
    the progress bar; the page stays short while a job trains."""
    page.goto(f"{server}/beta-vae")
    wait_idle(page, timeout=120_000)
    choose_section(page, "Train")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Training…").first.wait_for(timeout=60_000)
    page.locator('[data-testid="stMain"] [data-testid="stImage"] img').first.wait_for(
        timeout=120_000)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stMain\"] .js-plotly-plot .scatterlayer "
        ".point')", timeout=120_000)  # the first point of the loss curve is drawn
    main = page.get_by_test_id("stMain")
    assert main.locator('[data-testid="stImage"] img').count() == 1  # one strip
    bar = main.locator('[data-testid="stProgress"]').first.bounding_box()
    stop = main.get_by_role("button", name="Stop").bounding_box()
    assert abs((stop["y"] + stop["height"] / 2) - (bar["y"] + bar["height"] / 2)) < 60
    assert page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')"
                         ".scrollHeight") < 2200
    shot(page, "betavae-training")
    main.get_by_role("button", name="Stop").click()
    page.get_by_text("Stopped; the last checkpoint is kept.").first.wait_for(timeout=120_000)


def test_clustering_page_sections_and_the_atlas(server, page):
    """Issue 13: every section draws; in the atlas, clicking a point decodes it."""
    page.goto(f"{server}/clustering")
    wait_idle(page, timeout=120_000)
    main = page.get_by_test_id("stMain")
    main.get_by_text("NMI with the drawn groups").first.wait_for(timeout=60_000)
    shot(page, "clustering-toy")
    choose_section(page, "MNIST table")
    page.wait_for_selector('[data-testid="stDataFrame"]', timeout=120_000)
    wait_idle(page, timeout=120_000)
    shot(page, "clustering-table")
    choose_section(page, "Eigen-images")
    main.get_by_text("eigen-images keep").first.wait_for(timeout=60_000)
    shot(page, "clustering-eigen")
    choose_section(page, "Atlas")
    main.get_by_text("stored with the app").first.wait_for(timeout=60_000)
    wait_idle(page)
    # the first point of the map, in page pixels (the scatter may be WebGL: no SVG points)
    page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').last.scroll_into_view_if_needed()
    page.wait_for_function(IN_VIEW_JS, arg="[data-testid='stPlotlyChart'] .js-plotly-plot",
                           timeout=30_000, polling=100)
    xy = page.evaluate("""() => {
        for (const gd of document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')) {
            const t = (gd.calcdata || []).map(c => c[0] && c[0].trace)
                .find(tr => tr && tr.type === 'scattergl' && tr.x && tr.x.length > 5);
            if (!t) continue;
            const L = gd._fullLayout, r = gd.getBoundingClientRect();
            const xa = L[t.xaxis.replace('x', 'xaxis')], ya = L[t.yaxis.replace('y', 'yaxis')];
            return [r.left + xa._offset + xa.l2p(t.x[0]), r.top + ya._offset + ya.l2p(t.y[0])];
        }
        return null;
    }""")
    assert xy is not None, "no atlas scatter on the page"
    hover(page, xy)
    page.mouse.click(xy[0], xy[1])  # a click selects the point: its image is decoded
    main.get_by_text("decoded from its code").first.wait_for(timeout=60_000)
    wait_idle(page)
    # the box tool, then a box around the same place: the region's mean image
    page.locator('.js-plotly-plot .modebar-btn[data-val="select"]').first.click()
    page.mouse.move(xy[0] - 40, xy[1] - 40)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(xy[0] - 40 + 8 * i, xy[1] - 40 + 8 * i)
    page.mouse.up()
    main.get_by_text("The region holds").first.wait_for(timeout=60_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "clustering-atlas")


def test_gan_page_lab_and_sample_grid(server, page):
    """Issue 12: the 2-D lab draws, one step moves it, and the Samples section draws a grid."""
    page.goto(f"{server}/gan")
    wait_idle(page, timeout=120_000)
    main = page.get_by_test_id("stMain")
    page.wait_for_selector('[data-testid="stMain"] .js-plotly-plot', timeout=60_000)
    shot(page, "gan-lab")
    # "Clicked points": a click on the canvas adds a mode there
    main.locator('[data-testid="stButtonGroup"] button').filter(
        has_text="Clicked points").first.click()
    wait_idle(page)
    main.get_by_text("0 point(s); each becomes").first.wait_for(timeout=30_000)
    for chart in main.locator('.js-plotly-plot').all():
        chart.scroll_into_view_if_needed()
    xy = page.evaluate("""() => {
        for (const gd of document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')) {
            const t = (gd.calcdata || []).map(c => c[0] && c[0].trace)
                .find(tr => tr && tr.name === 'click to add');
            if (!t) continue;
            const L = gd._fullLayout, r = gd.getBoundingClientRect();
            return [r.left + L.xaxis._offset + L.xaxis.l2p(t.x[40]),
                    r.top + L.yaxis._offset + L.yaxis.l2p(t.y[40])];
        }
        return null;
    }""")
    assert xy is not None
    hover(page, xy)
    page.mouse.click(xy[0], xy[1])
    main.get_by_text("1 point(s); each becomes").first.wait_for(timeout=30_000)
    wait_idle(page)
    for section in ("Mode collapse", "Samples", "Timelapse", "AE frontier", "Metrics", "Train"):
        choose_section(page, section)
        assert page.locator('[data-testid="stException"]').count() == 0, section
        if section in ("Samples", "Timelapse"):
            img = main.locator('[data-testid="stImage"] img').first
            assert image_width(img) > 100  # a real grid of samples
        if section == "Timelapse":  # the animated GIF is served as one
            src = img.get_attribute("src") or ""
            assert ".gif" in src or "image/gif" in src, src
        if section == "AE frontier":
            # the caption under the frontier table (the table's own headers are hidden cells)
            main.get_by_text("blur lowers it").first.wait_for(timeout=120_000)
        shot(page, f"gan-{section.lower().replace(' ', '-')}")


def _png_bytes(arr) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(arr, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def upload(page, path, shown: str, timeout=60_000):
    """Put ``path`` in the main column's first file uploader and wait until ``shown`` appears
    and the rerun it starts has finished."""
    main = page.get_by_test_id("stMain")
    main.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    main.get_by_text(shown).first.wait_for(timeout=timeout)
    wait_idle(page)


def test_cyclegan_train_section_takes_two_uploaded_image_sets(server, page, tmp_path):
    """Issue 15: the CycleGAN page opens, and its Train section reads an uploaded ZIP of images
    for domain A — a `../` member and a corrupt file are refused by name, the rest are shown."""
    import io
    import zipfile

    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(12):
            zf.writestr(f"a/{i:02d}.png", _png_bytes(rng.integers(0, 255, (40, 40, 3))))
        zf.writestr("../evil.png", b"not an image")
        zf.writestr("a/broken.png", b"\x89PNG broken")
    path = tmp_path / "domain_a.zip"
    path.write_bytes(buf.getvalue())
    page.goto(f"{server}/cyclegan")
    wait_idle(page, timeout=120_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    choose_section(page, "Train")
    main = page.get_by_test_id("stMain")
    main.get_by_text("my two image sets").first.click()
    wait_idle(page)
    upload(page, path, "first images, as the model will see them")
    text = main.inner_text()
    assert "evil.png" in text and "broken.png" in text  # each refusal names the member
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "cyclegan-train-upload")


def test_cyclegan_translates_an_uploaded_image(server, page, tmp_path):
    """Issue 15: the Translate section takes the user's own image and shows its translation,
    cycle and identity with their residuals and numbers."""
    from unsup.data.domains import TRAIN_PHOTOS, photo_patches

    patch = photo_patches(TRAIN_PHOTOS, 1, 48, seed=5)[0]  # (3, 48, 48) in [0, 1]
    path = tmp_path / "photo.png"
    path.write_bytes(_png_bytes(np.transpose(patch, (1, 2, 0)) * 255))
    page.goto(f"{server}/cyclegan")
    wait_idle(page, timeout=120_000)
    main = page.get_by_test_id("stMain")
    main.get_by_text("my own image").first.click()
    wait_idle(page)
    upload(page, path, "Cycle error (lower is better)")
    assert page.locator('[data-testid="stException"]').count() == 0
    img = main.locator('[data-testid="stImage"] img').first
    assert image_width(img) > 100
    shot(page, "cyclegan-translate-upload")


def test_keypoints_move_a_point_and_upload(server, page, tmp_path):
    """Issue 14: on the shipped keypoint model, moving a keypoint's slider makes the generator
    redraw the face (the caption then measures the change), and an uploaded image gets its
    keypoints and heat-maps."""
    from unsup import paths

    if not (paths.SHIPPED_DIR / "keypoints-faces.safetensors").exists():
        pytest.skip("keypoints-faces is not shipped (python -m unsup train keypoints-faces)")
    from unsup.data import faces as F

    params = F.draw_params(2, seed=77)
    face = F.render_faces(params, 64)[0].numpy()  # (3, 64, 64) in [0, 1]
    path = tmp_path / "face.png"
    path.write_bytes(_png_bytes(np.transpose(face, (1, 2, 0)) * 255))
    page.goto(f"{server}/keypoints")
    wait_idle(page, timeout=120_000)
    main = page.get_by_test_id("stMain")
    choose_section(page, "Move a keypoint")
    main.get_by_text("Move the sliders").first.wait_for(timeout=60_000)
    slider = main.get_by_role("slider").first
    slider.focus()
    for _ in range(25):
        page.keyboard.press("ArrowRight")
    main.get_by_text("changed the redraw").first.wait_for(timeout=60_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "keypoints-moved")
    choose_section(page, "Upload")
    upload(page, path, "Heat-maps of image #")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert image_width(main.locator('[data-testid="stImage"] img').first) > 100  # heat-maps
    shot(page, "keypoints-upload")


def test_flows_page_draws_the_density_and_carries_the_grid(server, page):
    """Issue 23, part 1: the shipped ring flow's exact density, samples and the base grid, and
    the layer slider taking the grid back to the Gaussian base."""
    from unsup import paths

    if not (paths.SHIPPED_DIR / "flow-ring.safetensors").exists():
        pytest.skip("flow-ring is not shipped (python -m unsup train flow-ring)")
    page.goto(f"{server}/flows")
    wait_idle(page, timeout=120_000)
    main = page.get_by_test_id("stMain")
    main.locator(".js-plotly-plot .heatmaplayer").first.wait_for(timeout=60_000)
    main.get_by_text("Gap to the true density").first.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "flows-2d")
    slider = main.get_by_role("slider").first
    slider.focus()
    page.keyboard.press("Home")
    main.get_by_text("through 0 of").first.wait_for(timeout=60_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "flows-2d-base-grid")


def test_flows_live_section_plays_and_redraws(server, page):
    """Issue 23, part 1: a flow fitted as you watch — Play trains it in the background and the
    canvas shows later and later steps, with the measured speed; Play off stops it."""
    page.goto(f"{server}/flows")
    wait_idle(page, timeout=120_000)
    choose_section(page, "Live")
    main = page.get_by_test_id("stMain")
    main.get_by_text("step 0").first.wait_for(timeout=60_000)
    play = main.locator('[data-testid="stCheckbox"]').filter(has_text="Play").first
    play.click()
    page.wait_for_function("""() => [...document.querySelectorAll(
        '[data-testid="stImageCaption"]')].some(e => /training steps\\/s/.test(e.textContent)
        && parseInt(e.textContent.slice(5).replace(/,/g, '')) >= 50)""", timeout=120_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "flows-live-playing")
    play.click()
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_flows_glow_sections_show_their_images(server, page, tmp_path):
    """Issue 23, part 2: the Glow sections in a browser — samples that load, a user's image
    through the flow and back with its round-trip error, moved along the thickness direction,
    and the bits/dim histogram with that image scored on it."""
    from unsup import paths

    if not (paths.SHIPPED_DIR / "glow-mnist.safetensors").exists():
        pytest.skip("glow-mnist is not shipped (python -m unsup train glow-mnist)")
    digit = np.zeros((56, 56))
    digit[10:46, 24:32] = 255  # a thick "1", white on black, larger than 28x28
    path = tmp_path / "one.png"
    path.write_bytes(_png_bytes(digit))
    page.goto(f"{server}/flows")
    wait_idle(page, timeout=120_000)
    main = page.get_by_test_id("stMain")
    choose_section(page, "Glow")
    assert image_width(main.locator('[data-testid="stImage"] img').first) > 200  # 32 samples
    main.get_by_text("Held-out bits/dim").first.wait_for(timeout=60_000)
    shot(page, "flows-glow")
    choose_section(page, "Encode & edit")
    main.locator('[data-testid="stRadio"] label').filter(has_text=re.compile("^Upload$")).click()
    wait_idle(page)
    upload(page, path, "Largest pixel error of the round trip")
    main.get_by_text("Along thickness").first.wait_for(timeout=60_000)
    assert image_width(main.locator('[data-testid="stImage"] img').last) > 100
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "flows-glow-encode-upload")
    choose_section(page, "Likelihood")
    main.locator(".js-plotly-plot .bars").first.wait_for(timeout=60_000)
    main.get_by_text("This Glow gives").first.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "flows-glow-likelihood")


def test_gan_applications_super_resolution_in_a_browser(server, page, tmp_path):
    """Issue 24, parts 1 and 2: the GAN applications page — the digits comparison with its
    zoom, the held-out table and the perception-distortion plot; an uploaded digit restored;
    the faces view; inpainting with a random hole and with one painted on the pad; the Train
    section's form."""
    from unsup import paths

    for name in ("sr-digits-srresnet", "sr-digits-srgan", "sr-faces-srresnet", "sr-faces-srgan",
                 "inpaint-digits-ce", "inpaint-digits"):
        if not (paths.SHIPPED_DIR / f"{name}.safetensors").exists():
            pytest.skip(f"{name} is not shipped (python -m unsup train {name} --out checkpoints)")
    digit = np.zeros((56, 56))
    digit[8:48, 20:36] = 255  # a thick "1", white on black
    path = tmp_path / "one.png"
    path.write_bytes(_png_bytes(digit))
    page.goto(f"{server}/gan-apps")
    wait_idle(page, timeout=120_000)
    main = page.get_by_test_id("stMain")
    assert image_width(main.locator('[data-testid="stImage"] img').first) > 600  # five images
    main.get_by_text("perception–distortion trade-off").first.wait_for(timeout=60_000)
    main.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    assert main.locator('[data-testid="stDataFrame"]').count() == 1
    shot(page, "gan-apps-sr-digits")
    main.locator('[data-testid="stRadio"] label').filter(has_text=re.compile("^Upload$")).click()
    wait_idle(page)
    upload(page, path, "your image: the 7×7 input")
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "gan-apps-sr-upload")
    main.locator('[data-testid="stRadio"] label').filter(
        has_text=re.compile("^Faces")).first.click()
    wait_idle(page)
    main.get_by_text("On the 500 held-out faces").first.wait_for(timeout=60_000)
    assert image_width(main.locator('[data-testid="stImage"] img').first) > 600
    shot(page, "gan-apps-sr-faces")
    choose_section(page, "Inpainting")
    main.get_by_text("points above mean fill").first.wait_for(timeout=60_000)
    assert image_width(main.locator('[data-testid="stImage"] img').first) > 600
    shot(page, "gan-apps-inpaint-digits")
    main.get_by_test_id("stSelectbox").filter(has_text="Hole").first.click()
    page.get_by_role("option", name="paint it", exact=True).click()
    wait_idle(page)
    canvas = main.locator("canvas").first
    canvas.wait_for(timeout=30_000)
    box = canvas.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 11):  # a horizontal stroke across the middle: the hole
        page.mouse.move(x0 + i * box["width"] * 0.04, y0)
    page.mouse.up()
    main.get_by_text("drawn grey, each way of filling it").first.wait_for(timeout=60_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "gan-apps-inpaint-painted")
    choose_section(page, "Train")
    main.get_by_text("Start training").first.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "gan-apps-train")


def test_gan_applications_text_to_image_in_a_browser(server, page):
    """Issue 24, part 3: the Text to image section draws both stages for the default sentence
    with its words marked and its held-out table; a Thai sentence with a word the model does not
    know names that word."""
    from unsup import paths

    for name in ("t2i-dsprites", "t2i-reader"):
        if not (paths.SHIPPED_DIR / f"{name}.safetensors").exists():
            pytest.skip(f"{name} is not shipped (python -m unsup train {name} --out checkpoints)")
    page.goto(f"{server}/gan-apps")
    wait_idle(page, timeout=120_000)
    main = page.get_by_test_id("stMain")
    choose_section(page, "Text to image")
    main.get_by_text("The sentence names").first.wait_for(timeout=60_000)
    main.get_by_text("stage II's 64×64 images").first.wait_for(timeout=60_000)
    assert image_width(main.locator('[data-testid="stImage"] img').first) > 500
    assert main.locator('[data-testid="stDataFrame"]').count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "gan-apps-t2i")
    box = main.locator('input[aria-label="Sentence"]')
    box.fill("หัวใจสีม่วงขนาดใหญ่ ด้านซ้าย")
    box.press("Enter")
    main.get_by_text("Not known to the model").first.wait_for(timeout=60_000)
    main.get_by_text("สีม่วง").first.wait_for(timeout=60_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "gan-apps-t2i-thai")


def test_translation_page_words_sentences_and_a_job(server, page):
    """Issue 25: the word alignment's numbers, the two clouds and a word's neighbours; a
    held-out listing translated word by word beside its reference; a Vecmap job trained to
    its end from the Train section, after which its run is in the picker."""
    from unsup import paths

    if not (paths.SHIPPED_DIR / "align-vecmap.safetensors").exists():
        pytest.skip("align-vecmap is not shipped (python -m unsup train align-vecmap --out "
                    "checkpoints)")
    page.goto(f"{server}/translation")
    wait_idle(page, timeout=120_000)
    main = page.get_by_test_id("stMain")
    main.get_by_text("Precision@k: the share of the lexicon").first.wait_for(timeout=60_000)
    main.locator('[data-testid="stDataFrame"]').nth(1).wait_for(timeout=60_000)  # neighbours
    main.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=60_000)
    main.get_by_text("The lexicon's translation(s) of").first.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "translation-words")
    choose_section(page, "Translate a listing")
    main.get_by_text("Word by word:").first.wait_for(timeout=60_000)
    main.get_by_text("Reference (the generator's own):").first.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "translation-sentences")
    choose_section(page, "Train")
    page.get_by_role("button", name="Start training").click()
    main.get_by_text("It is now in the model picker").first.wait_for(timeout=JOB)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "translation-job-done")


def test_translation_own_text_refuses_a_small_corpus_then_aligns_two_files(server, page,
                                                                          tmp_path):
    """Issue 25, part 4: two monolingual files of your own. Two short files are refused with
    their numbers; two files of 1,200 listings each are aligned by a job, and the run's numbers,
    clouds and neighbours appear."""
    import pandas as pd

    from unsup.data import bilingual as B

    def write(lang, n, name):
        path = tmp_path / name
        pd.DataFrame({"id": range(n), "text": [B.to_text(d, lang)
                                               for d in B.corpus(lang, n)]}).to_csv(path,
                                                                                    index=False)
        return path

    page.goto(f"{server}/translation")
    wait_idle(page, timeout=120_000)
    choose_section(page, "Your own text")
    main = page.get_by_test_id("stMain")
    main.get_by_text("Upload both files to align them.").first.wait_for(timeout=60_000)
    inputs = main.locator('[data-testid="stFileUploaderDropzoneInput"]')
    inputs.nth(0).set_input_files(str(write("th", 40, "small-th.csv")))
    main.get_by_text("40 rows read as").first.wait_for(timeout=60_000)
    wait_idle(page)
    inputs.nth(1).set_input_files(str(write("en", 40, "small-en.csv")))
    main.get_by_text("Too small to align").first.wait_for(timeout=60_000)
    wait_idle(page)
    error = main.locator('[data-testid="stAlert"]').filter(has_text="Too small").first.inner_text()
    assert "The Thai file has" in error and "The English file has" in error
    assert "precision@1" in error
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "translation-own-too-small")
    # replace both with files large enough (a one-file uploader takes a new file in place)
    inputs.nth(0).set_input_files(str(write("th", 1_200, "listings-th.csv")))
    main.get_by_text("1,200 rows read as").first.wait_for(timeout=60_000)
    wait_idle(page)
    inputs.nth(1).set_input_files(str(write("en", 1_200, "listings-en.csv")))
    page.get_by_role("button", name="Align my files").wait_for(timeout=60_000)
    wait_idle(page)
    page.get_by_role("button", name="Align my files").click()
    main.get_by_text("It is now in the model picker").first.wait_for(timeout=JOB)
    main.get_by_text("mutual nearest-neighbour pairs").first.wait_for(timeout=60_000)
    main.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "translation-own-aligned")


def _frame_with(page, testid: str, timeout: float = 60_000):
    """The frame of the component (an iframe whose page is written inline) that holds the
    element ``testid``, once that element is drawn."""
    holder = page.locator(f'iframe[srcdoc*="{testid}"]').first
    holder.wait_for(timeout=timeout)
    frame = holder.element_handle().content_frame()
    frame.locator(f'[data-testid="{testid}"]').wait_for(timeout=timeout)
    return frame


def test_evolution_page_replays_a_bird_plays_the_game_and_trains(server, page):
    """Issue 26: the Flappy Bird section (scores, curves, the best bird replayed by the browser
    itself, frame after frame, with no rerun; the decision surface), the game played with the
    keyboard, and a GA job trained to its end from the Train section."""
    from unsup import paths

    if not (paths.SHIPPED_DIR / "flappy-ga.safetensors").exists():
        pytest.skip("flappy-ga is not shipped (python -m unsup train flappy-ga --out checkpoints)")
    page.goto(f"{server}/evolution")
    wait_idle(page, timeout=120_000)
    main = page.get_by_test_id("stMain")
    main.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)
    main.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=60_000)
    replay = _frame_with(page, "flappy-replay")
    replay.wait_for_function("() => Number(document.body.dataset.frame || 0) > 60",
                             timeout=60_000)
    replay.evaluate("() => { window.__same_page = true; }")
    replay.wait_for_function("() => Number(document.body.dataset.frame || 0) > 120",
                             timeout=60_000)
    # the animation ran on in the same, never reloaded frame: the browser draws it alone
    assert replay.evaluate("() => window.__same_page === true")
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "evolution-flappy")
    choose_section(page, "Play it yourself")
    game = _frame_with(page, "flappy-game")
    canvas = game.locator('[data-testid="flappy-game"]')
    canvas.click()
    for _ in range(3):
        canvas.press("Space")
    game.wait_for_function("() => document.body.dataset.alive !== undefined", timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "evolution-play")
    if (paths.SHIPPED_DIR / "automl-vae.db").exists():
        choose_section(page, "AutoML: a model search")
        main.get_by_text("Every trial").first.wait_for(timeout=60_000)
        # Optuna's four figures: history, intermediate values, parallel coordinates, importances
        main.locator('[data-testid="stPlotlyChart"]').nth(3).wait_for(timeout=60_000)
        main.get_by_text("The best settings, retrained, against the hand-tuned VAE").first.wait_for(
            timeout=60_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        shot(page, "evolution-automl")
    choose_section(page, "Train")
    main.get_by_text("Train a flock").first.wait_for(timeout=60_000)
    gen = main.get_by_label("Generations")
    gen.fill("8")
    gen.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Start training").first.click()
    main.get_by_text("It is now in the model picker").first.wait_for(timeout=JOB)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "evolution-job-done")
