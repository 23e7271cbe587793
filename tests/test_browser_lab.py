"""Real-browser tests of the GAN 2-D lab while it plays (issue 21, parts 1 and 15): controls
changed during Play apply without an error, and the canvas keeps redrawing with them.

Uses the server, browser and page of tests/test_browser.py (the app as the README runs it, Debian's
Chromium headless). Every wait is for a state of the page, never for a fixed time.
"""

from __future__ import annotations

import pytest
from test_browser import browser, page, server, shot, wait_idle  # noqa: F401 - fixtures

from unsup.models.gan_losses import LOSS_LABELS

pytestmark = pytest.mark.browser

# Counts every error box that ever appears in the page (a fragment's next run may replace one)
# and records the canvas title ("step N · loss") each time the DOM changes it.
WATCH = """() => {
    window.__errors = 0; window.__titles = [];
    const main = document.querySelector('[data-testid="stMain"]');
    let last = null;
    new MutationObserver(() => {
        if (main.querySelector('[data-testid="stException"]')) window.__errors += 1;
        const t = [...main.querySelectorAll(
            '.js-plotly-plot .gtitle, [data-testid="stImageCaption"]')]
            .map(e => e.textContent).find(s => /^step [0-9,]+/.test(s));
        if (t && t !== last) { last = t; window.__titles.push(t); }
    }).observe(main, {subtree: true, childList: true, characterData: true});
}"""


def _redraws_with(page, label: str, n: int = 3, timeout: int = 180_000) -> None:
    """Wait until the canvas has been redrawn n times with `label` in its title, at a later
    step each time (training goes on with the new setting)."""
    page.wait_for_function(
        """([label, n]) => {
            const steps = window.__titles.filter(t => t.includes(label))
                .map(t => parseInt(t.slice(5).replace(/,/g, '')));
            return steps.length >= n && steps.at(-1) > steps[0];
        }""", arg=[label, n], timeout=timeout)


def test_lab_controls_change_while_playing_without_an_error(server, page):  # noqa: F811
    """Issue 21.1: picking another loss during Play showed the app's error box within a second
    (a tensor modified in place during backward: the rerun and the canvas trained at once)."""
    page.goto(f"{server}/gan")
    wait_idle(page, timeout=120_000)
    main = page.get_by_test_id("stMain")
    page.wait_for_selector('[data-testid="stMain"] .js-plotly-plot .gtitle', timeout=60_000)
    page.evaluate(WATCH)
    main.locator('[data-testid="stCheckbox"]').filter(has_text="Play").first.click()
    _redraws_with(page, LOSS_LABELS["ns"])
    for loss in ("wgan-gp", "mm", "ls", "dragan"):
        main.get_by_test_id("stSelectbox").filter(has_text="Loss").first.click()
        page.get_by_role("option", name=LOSS_LABELS[loss], exact=True).click()
        _redraws_with(page, LOSS_LABELS[loss])
        assert page.evaluate("() => window.__errors") == 0, loss
    # another control, while playing: the optimizer (new optimizers between two chunks)
    main.get_by_test_id("stSelectbox").filter(has_text="Optimizer").first.click()
    page.get_by_role("option", name="RMSProp", exact=True).click()
    n = page.evaluate("() => window.__titles.length")
    page.wait_for_function(f"() => window.__titles.length >= {n + 3}", timeout=180_000)
    shot(page, "gan-lab-playing")
    assert page.evaluate("() => window.__errors") == 0
    assert page.locator('[data-testid="stException"]').count() == 0
    main.locator('[data-testid="stCheckbox"]').filter(has_text="Play").first.click()
