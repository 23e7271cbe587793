"""Where things live on disk. Every location can be moved with an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The repository root (holds ``app.py`` and ``checkpoints/``)."""

SHIPPED_DIR = ROOT / "checkpoints"
"""Shipped checkpoints: ``<name>.safetensors`` + ``<name>.json`` each."""


def runs_dir() -> Path:
    """Folder for the user's own training runs: ``$UNSUP_RUNS_DIR`` or ``~/.unsup/runs``."""
    path = Path(os.environ.get("UNSUP_RUNS_DIR") or Path.home() / ".unsup" / "runs")
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Folder for derived, re-creatable data (e.g. the MNIST split as .npz): ``$UNSUP_CACHE_DIR``
    or ``~/.cache/unsup``."""
    path = Path(os.environ.get("UNSUP_CACHE_DIR") or Path.home() / ".cache" / "unsup")
    path.mkdir(parents=True, exist_ok=True)
    return path
