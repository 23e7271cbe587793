"""Derived data on disk: numbers that are heavy to compute but fixed for given inputs (a
model file's bytes, a data split, settings), so a page reads them instead of computing them.

A value lives under a *table* name and a *key* (a short hash of what it was computed from):

- the shipped store, ``checkpoints/derived/<table>.json`` (one JSON object, key -> value),
  made for the shipped models by ``python scripts/precompute_derived.py`` and committed;
- the user store, ``<cache dir>/derived/<table>/<key>.json`` (see :func:`unsup.paths.cache_dir`),
  filled by background jobs for everything else (a user's run, other settings).

Both survive an app restart. Values are small JSON (numbers, short lists). Writes are atomic.
Keys name the model by the SHA-256 of its weights (the tensors of its file, not its card), so a
retrained or resumed model never reads another's numbers, while re-measuring its card keeps them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import struct
import threading
from pathlib import Path
from typing import Any

from unsup import paths
from unsup.fileio import atomic_write_json

SHIPPED_DERIVED_DIR = paths.SHIPPED_DIR / "derived"
_LOCK = threading.Lock()


def file_sha(path: str | Path) -> str:
    """SHA-256 of a model file's weights (cached by path, size and modification time)."""
    p = Path(path)
    st = p.stat()
    return _file_sha(str(p), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _file_sha(path: str, size: int, mtime_ns: int) -> str:
    """For a safetensors file, the hash of its tensors alone (names, dtypes, shapes and bytes):
    rewriting its card (new metrics, a note) keeps the key; any other file: all its bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        if path.endswith(".safetensors"):
            head = fh.read(8)
            if len(head) == 8:
                (n,) = struct.unpack("<Q", head)
                if 0 < n <= size - 8:
                    try:
                        header = json.loads(fh.read(n))
                    except ValueError:
                        header = None
                    if isinstance(header, dict):
                        header.pop("__metadata__", None)
                        h.update(b"tensors:" + json.dumps(header, sort_keys=True).encode())
                        for block in iter(lambda: fh.read(1 << 20), b""):
                            h.update(block)
                        return h.hexdigest()
            fh.seek(0)
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def key(*parts: Any) -> str:
    """A short stable key of JSON-able ``parts``."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


@functools.lru_cache(maxsize=32)
def _shipped(table: str, mtime_ns: int) -> dict[str, Any]:
    path = SHIPPED_DERIVED_DIR / f"{table}.json"
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def shipped_table(table: str) -> dict[str, Any]:
    path = SHIPPED_DERIVED_DIR / f"{table}.json"
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return {}
    return _shipped(table, mtime)


def user_path(table: str, k: str) -> Path:
    return paths.cache_dir() / "derived" / table / f"{k}.json"


def get(table: str, k: str) -> Any | None:
    """The stored value of ``k`` in ``table`` (shipped store first), or None."""
    found = shipped_table(table).get(k)
    if found is not None:
        return found
    path = user_path(table, k)
    try:
        return json.loads(path.read_text("utf-8"))["value"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def put(table: str, k: str, value: Any, *, shipped: bool = False, about: Any = None) -> None:
    """Store ``value`` under ``k`` (the user store; ``shipped=True``: the shipped table, for
    scripts/precompute_derived.py only). ``about`` records what the key was made from."""
    if shipped:
        with _LOCK:
            path = SHIPPED_DERIVED_DIR / f"{table}.json"
            try:
                data = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                data = {}
            data[k] = value
            atomic_write_json(path, dict(sorted(data.items())))
        return
    atomic_write_json(user_path(table, k), {"about": about, "value": value})
