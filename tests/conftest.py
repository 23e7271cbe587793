"""Shared test set-up: the repo root on sys.path, and user/cache folders in a temp dir so tests
never touch the user's own runs."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_TMP = Path(tempfile.mkdtemp(prefix="unsup-tests-"))
os.environ.setdefault("UNSUP_RUNS_DIR", str(_TMP / "runs"))
# The cache (MNIST split as .npz, PyThaiNLP data) is safe to share between runs.
os.environ.setdefault("UNSUP_CACHE_DIR", str(Path(tempfile.gettempdir()) / "unsup-test-cache"))
os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.chdir(ROOT)
