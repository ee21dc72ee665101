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
import re
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

#: A temporary file of :func:`write_atomic` older than this is a leftover of a killed
#: process (SIGKILL, power loss), not a write in progress: those take milliseconds.
STALE_TEMP_AGE_S = 15 * 60

#: The exact names :func:`write_atomic` gives its temporary files: ``.<target>.<8>.tmp``,
#: the 8 characters being :func:`tempfile.mkstemp`'s random part.
_TEMP_NAME = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp")


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


def remove_stale_temp_files(
    directory: str | Path,
    target_ok: Callable[[str], bool],
    *,
    older_than_s: float = STALE_TEMP_AGE_S,
) -> int:
    """Delete temporary files :func:`write_atomic` left in ``directory`` when its process
    was killed; returns how many. Only names of exactly its pattern whose target name
    passes ``target_ok`` (e.g. a recording key), only regular files (never through a
    symlink), and only when older than ``older_than_s``: under ``pytest -n auto`` another
    live worker may be writing one right now, and its file is seconds old at most.
    Errors are ignored: this is tidying, never a reason to fail a run."""
    removed = 0
    cutoff = time.time() - older_than_s
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        m = _TEMP_NAME.fullmatch(entry.name)
        if m is None or not target_ok(m.group("target")):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or st.st_mtime > cutoff:
                continue
            os.unlink(entry.path)
            removed += 1
        except OSError:
            continue
    return removed
