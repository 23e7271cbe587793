"""The README's set-up scripts: they say what they do, and apt waits for a busy dpkg lock
(issue 11.14 and 11.15)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_apt_call_waits_for_the_dpkg_lock():
    text = (ROOT / "scripts" / "test.sh").read_text()
    calls = re.findall(r"\$SUDO \$APT (?:install|update)", text)
    assert len(calls) >= 2
    assert 'APT="apt-get -o DPkg::Lock::Timeout=' in text
    assert not re.search(r"\$SUDO apt-get", text)  # no call bypasses the timeout


def test_setup_says_what_it_is_doing_before_the_long_install():
    text = (ROOT / "scripts" / "setup.sh").read_text()
    say = text.index("installing the pinned packages")
    assert say < text.index("pip install -q -r requirements.txt")
    assert "first run takes a few minutes" in text
    assert "starting the app" in (ROOT / "scripts" / "app.sh").read_text()


def test_ci_runs_exactly_the_readme_test_command():
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in (ROOT / "README.md").read_text()
