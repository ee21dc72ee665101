"""Atomic file writes: the one way promptkit writes a file a user or a parallel worker
may read at the same time (recordings, results, baselines, the lint cache, fixed prompts).

The data goes to a temporary file in the target's own directory (same file system, so
the rename is atomic), then ``os.replace`` moves it over the target. A reader sees the
old file or the new one, never half of either; an interrupted write leaves the target as
it was and removes the temporary file. This is what keeps recordings and caches from
corrupting under ``pytest -n auto`` or a Ctrl-C.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(
    path: str | Path,
    data: str | bytes,
    *,
    encoding: str = "utf-8",
    newline: str | None = "\n",
    durable: bool = False,
    mode: int | None = None,
    before_replace: Callable[[], bool] | None = None,
) -> bool:
    """Write ``data`` to ``path`` atomically. Returns True when the file was replaced.

    ``durable`` fsyncs the data before the rename (recordings, fixed prompt files: worth
    the cost). ``mode`` sets the permission bits of the new file (keep a prompt file's
    mode when fixing it). ``before_replace`` runs last, just before the rename; returning
    False discards the write (and may raise to abort it), which lets a caller check that
    the target did not change meanwhile.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        if isinstance(data, bytes):
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if durable:
                    fh.flush()
                    os.fsync(fh.fileno())
        else:
            with os.fdopen(fd, "w", encoding=encoding, newline=newline) as fh:
                fh.write(data)
                if durable:
                    fh.flush()
                    os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        if before_replace is not None and not before_replace():
            os.unlink(tmp)
            return False
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return True
