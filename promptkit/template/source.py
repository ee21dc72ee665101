"""Reading a file into text, safely: BOMs, binary files, bad encodings, huge files.

Prompt files come from everywhere (editors on Windows add BOMs, someone commits a PNG
under ``prompts/``). None of that may crash the loader: each case becomes one clear
diagnostic and the caller decides whether to go on.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from promptkit.codes import UNREADABLE_FILE
from promptkit.diagnostics import Diagnostic, Position, Severity, Span

#: Files larger than this are not read (a prompt of 10 MB is a mistake, not a prompt).
MAX_BYTES = 10 * 1024 * 1024

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


@dataclass
class SourceText:
    text: str
    had_bom: bool = False
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)


def _at(line: int, col: int, offset: int) -> Span:
    p = Position(line, col, offset)
    return Span(p, p)


def _too_big(path: str, size: int, max_bytes: int) -> SourceText:
    return SourceText(
        "",
        diagnostics=[
            Diagnostic(
                path,
                f"file is {size:,} bytes, over the {max_bytes:,}-byte limit for prompt files",
                code=UNREADABLE_FILE.code,
                name=UNREADABLE_FILE.name,
                hint="split the prompt, or exclude the file in [tool.promptkit] exclude",
            )
        ],
    )


def decode(data: bytes, path: str, *, max_bytes: int = MAX_BYTES, what: str = "prompt template") -> SourceText:
    """Decode file bytes to text. Never raises; problems come back as diagnostics
    (code ``PK001``), with the text empty when nothing usable could be decoded."""
    if len(data) > max_bytes:
        return _too_big(path, len(data), max_bytes)
    had_bom = False
    encoding = "utf-8"
    for bom, enc in _BOMS:
        if data.startswith(bom):
            data, had_bom, encoding = data[len(bom) :], True, enc
            break
    if encoding == "utf-8" and b"\x00" in data:  # memchr: a whole 10 MB file in ~1 ms
        return SourceText(
            "",
            diagnostics=[
                Diagnostic(
                    path,
                    f"binary file (contains NUL bytes), not a {what}",
                    code=UNREADABLE_FILE.code,
                    name=UNREADABLE_FILE.name,
                    hint="exclude it from linting, or check that the right file was committed",
                )
            ],
        )
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        good = data[: exc.start].decode(encoding, errors="replace")
        line = good.count("\n") + 1
        col = len(good) - (good.rfind("\n") + 1) + 1
        return SourceText(
            "",
            had_bom,
            [
                Diagnostic(
                    path,
                    f"not valid {encoding.upper()}: byte 0x{data[exc.start]:02x} at byte offset {exc.start}",
                    code=UNREADABLE_FILE.code,
                    name=UNREADABLE_FILE.name,
                    span=_at(line, col, len(good)),
                    hint="re-save the file as UTF-8",
                )
            ],
        )
    return SourceText(text, had_bom)


class NotAFile(OSError):
    """:func:`read_bytes` refused the path: a directory, a FIFO, socket or device, or more
    than ``max_bytes``. ``reason`` says which, in words fit for a one-line error."""

    def __init__(self, path: str | Path, reason: str, *, too_big: bool = False, size: int = 0) -> None:
        super().__init__(reason)
        self.filename = str(path)
        self.reason = reason
        self.too_big = too_big
        self.size = size

    def __str__(self) -> str:
        return f"{self.filename}: {self.reason}"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file (a FIFO, socket or device)"


def read_bytes(path: str | Path, *, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``, or :class:`NotAFile` (an
    ``OSError``; other I/O errors, ``ELOOP`` for a symlink loop included, come as they are).

    The one way promptkit reads a file that may come from a stranger's checkout (prompts,
    recordings, results, the lint cache). Opening a FIFO blocks until a writer appears
    (forever, in CI), a device such as ``/dev/zero`` never ends, and a huge file runs the
    machine out of memory: so the path is ``stat``-ed first (following symlinks) and only
    a regular file is opened, non-blocking, then checked again on the open descriptor (it
    may have been swapped meanwhile), and never more than ``max_bytes + 1`` bytes are read.
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotAFile(path, _kind(st.st_mode))
    if st.st_size > max_bytes:
        raise NotAFile(path, f"file is {st.st_size:,} bytes, over the {max_bytes:,}-byte limit", too_big=True,
                       size=st.st_size)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
                 | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotAFile(path, _kind(st.st_mode))
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > max_bytes:  # it grew after the stat
        raise NotAFile(path, f"file is over the {max_bytes:,}-byte limit", too_big=True, size=size)
    return b"".join(chunks)


def read(path: str | Path, *, max_bytes: int = MAX_BYTES, what: str = "prompt template") -> SourceText:
    """Read and decode a file. I/O errors become a ``PK001`` diagnostic."""
    try:
        data = read_bytes(path, max_bytes=max_bytes)
    except NotAFile as exc:
        if exc.too_big:
            return _too_big(str(path), exc.size, max_bytes)
        return _unreadable(str(path), f"cannot read file: {exc.reason}",
                           "pass a prompt file; directories are walked by promptkit lint and tokens")
    except OSError as exc:
        return _unreadable(str(path), f"cannot read file: {exc.strerror or exc}", _HINTS.get(exc.errno or 0))
    return decode(data, str(path), max_bytes=max_bytes, what=what)


def read_text(path: str | Path, what: str, *, code: str = "", name: str = "") -> str:
    """The text of a file the user named (a config file, a rule pack, a sample), or a
    :class:`~promptkit.diagnostics.PromptkitError` whose one line says why not: missing,
    a directory or FIFO (never opened, so never blocking), binary, not UTF-8 (with the
    line and column of the first bad byte), too large."""
    from promptkit.diagnostics import PromptkitError

    src = read(path, what=what)
    for d in src.diagnostics:
        if d.severity is Severity.ERROR:
            reason = d.message.removeprefix("cannot read file: ")
            hint = d.hint
            if hint and ("prompt" in hint or "lint" in hint):  # advice for prompt files, not this one
                hint = f"check that the path names the {what} you meant"
            raise PromptkitError(Diagnostic(str(path), f"cannot read {what}: {reason}", code=code, name=name,
                                            span=d.span, hint=hint))
    return src.text


#: errno -> how to fix it, for the I/O errors a user can do something about.
_HINTS = {
    errno.ENOENT: "check the path (it is relative to the current directory)",
    errno.EACCES: "make the file readable (chmod a+r), or exclude it",
    errno.EPERM: "make the file readable (chmod a+r), or exclude it",
    errno.ELOOP: "the path is a symbolic link that points (through other links) back to itself; fix or remove it",
    errno.EISDIR: "pass a prompt file, not a directory",
}


def _unreadable(path: str, message: str, hint: str | None) -> SourceText:
    return SourceText(
        "", diagnostics=[Diagnostic(path, message, code=UNREADABLE_FILE.code, name=UNREADABLE_FILE.name, hint=hint or "")]
    )
