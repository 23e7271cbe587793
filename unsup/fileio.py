"""Atomic file writes (temp file in the same folder, fsync, then ``os.replace``), shared by every
layer that saves something: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=2, ensure_ascii=False).encode("utf-8"))


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


def os_error_text(exc: OSError, what: str = "the run") -> str:
    """One sentence for a page or a job saying why ``what`` could not be written: the disk is
    full, the folder is not writable, or the system's own words. Never the file's path: a
    server's folders are none of a visitor's business (``str(exc)`` would name them)."""
    if exc.errno in DISK_FULL:
        return (f"The disk is full: {what} could not be saved. Free some space (or delete old "
                "runs) and try again.")
    if exc.errno in NOT_WRITABLE:
        return f"{what[:1].upper()}{what[1:]} could not be saved: the runs folder is not writable."
    why = exc.strerror or type(exc).__name__
    return f"{what[:1].upper()}{what[1:]} could not be saved ({why})."
