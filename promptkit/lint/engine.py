"""The lint engine: find prompt files, load each once, run the enabled rules, report.

Per file: :func:`promptkit.template.load` -> one shared :class:`LintContext` -> every
enabled rule -> configured severities -> ``noqa`` suppression -> sorted diagnostics.
Files are independent, so many files are linted in worker processes (in chunks, only
above a threshold, where the pool's start-up pays for itself), and a content-hash cache
skips files whose bytes and settings have not changed.

Robustness is the point of this module: a rule that raises on one file becomes a
``PK000 internal-error`` diagnostic for that file and the run goes on; an unreadable
file is a ``PK001`` diagnostic; nothing here imports litellm or other heavy modules.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptkit.codes import INTERNAL_ERROR, UNREADABLE_FILE
from promptkit.diagnostics import Diagnostic, Severity, Span
from promptkit.lint import globs
from promptkit.lint.config import LintConfig
from promptkit.lint.rule import Finding, LintContext, Rule, to_diagnostic
from promptkit.template.model import FileKind, PromptTemplate

if TYPE_CHECKING:
    from typing_extensions import Self

INTERNAL_ERROR_CODE = INTERNAL_ERROR.code
INTERNAL_ERROR_NAME = INTERNAL_ERROR.name

#: Fewer files than this are linted in-process: a process pool costs ~50-100 ms to start.
PARALLEL_THRESHOLD = 64
#: Files per task sent to a worker.
CHUNK_SIZE = 48
#: Seconds the rules may spend on one file before the running rule is stopped and reported
#: as PK000 (a runaway regular expression in a rule pack, say). ``PROMPTKIT_RULE_TIMEOUT``
#: overrides it; 0 turns the limit off.
RULE_TIME_LIMIT = 30.0


class RuleTimeout(Exception):
    """Raised inside a rule by the per-file time limit."""


class _Deadline:
    """A per-file time limit using ``SIGALRM`` (Unix, main thread only; elsewhere it does
    nothing). The alarm interrupts only rule code -- Python's regex engine checks for
    signals, so even a catastrophic backtrack stops -- and is armed once per file, not
    per rule, to keep the cost at a few system calls per file."""

    def __init__(self, seconds: float) -> None:
        import signal
        import threading

        self.seconds = seconds
        self.in_rule = False
        self.active = (seconds > 0 and hasattr(signal, "setitimer")
                       and threading.current_thread() is threading.main_thread()
                       # never take SIGALRM from a host that uses it (pytest-timeout...)
                       and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)
                       and signal.getitimer(signal.ITIMER_REAL)[0] == 0)
        self._old: Any = None

    def _fire(self, signum: int, frame: Any) -> None:
        if self.in_rule:
            self.in_rule = False
            raise RuleTimeout()

    def __enter__(self) -> Self:
        if self.active:
            import signal

            try:
                self._old = signal.signal(signal.SIGALRM, self._fire)
                signal.setitimer(signal.ITIMER_REAL, self.seconds)
            except (ValueError, OSError):
                self.active = False
        return self

    def rearm(self) -> None:
        if self.active:
            import signal

            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc: object) -> None:
        if self.active:
            import signal

            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old if self._old is not None else signal.SIG_DFL)


def _time_limit() -> float:
    try:
        return float(os.environ.get("PROMPTKIT_RULE_TIMEOUT", RULE_TIME_LIMIT))
    except ValueError:
        return RULE_TIME_LIMIT


# --------------------------------------------------------------------------- one template


def _severity(rule: type[Rule], finding: Finding, config: LintConfig) -> Severity:
    configured = config.rule_severity(rule.code)
    if configured:
        return Severity(configured)
    return finding.severity or rule.severity


def internal_error(rule: type[Rule] | str, path: str, exc: BaseException) -> Diagnostic:
    """The diagnostic that replaces a traceback when a rule crashes."""
    code = rule if isinstance(rule, str) else rule.code
    detail = f"{type(exc).__name__}: {exc}".strip()
    if len(detail) > 300:
        detail = detail[:297] + "..."
    who = "promptkit's template loader" if code == "loader" else f"rule {code}"
    return Diagnostic(
        path,
        f"{who} crashed on this file: {detail}; please report",
        severity=Severity.ERROR,
        code=INTERNAL_ERROR_CODE,
        name=INTERNAL_ERROR_NAME,
        hint=f"ignore {code} for this file in per-file-ignores until it is fixed" if code != "loader"
        else "exclude the file until it is fixed",
        extra={"rule": code},
    )


def timeout_error(rule: type[Rule], path: str, limit: float) -> Diagnostic:
    """A rule stopped by the time limit. For a rule-pack rule that is almost always the
    pack's own regular expression backtracking, so the hint names the pack, not a bug."""
    pack = getattr(rule, "pack_path", None)
    hint = (f"look for nested quantifiers such as (a+)+ in the patterns of {rule.code} in {pack}"
            if pack else f"ignore {rule.code} for this file in per-file-ignores, and please report it")
    return Diagnostic(
        path,
        f"rule {rule.code} ran longer than {limit:g} s on this file and was stopped "
        "(PROMPTKIT_RULE_TIMEOUT sets the limit)",
        severity=Severity.ERROR,
        code=INTERNAL_ERROR_CODE,
        name=INTERNAL_ERROR_NAME,
        hint=hint,
        extra={"rule": rule.code},
    )


def run_rules(template: PromptTemplate, config: LintConfig, rules: Iterable[type[Rule]]) -> list[Diagnostic]:
    """Run ``rules`` on ``template``; no suppression, no sorting."""
    ctx = LintContext(template, config)
    out: list[Diagnostic] = []
    unreadable = any(d.code == UNREADABLE_FILE.code for d in template.diagnostics)
    path = template.path
    limit = _time_limit()
    with _Deadline(limit) as deadline:
        for rule in rules:
            if template.kind not in rule.kinds:
                continue
            if unreadable and not rule.code.startswith("PK0"):
                continue  # nothing was decoded: only the load rules have something to say
            try:
                deadline.in_rule = True
                for finding in rule().check(ctx):
                    if not isinstance(finding, Finding) or not (finding.span is None or isinstance(finding.span, Span)):
                        raise TypeError(f"check() yielded {type(finding).__name__}, not a Finding with a Span")
                    out.append(to_diagnostic(rule, finding, path, _severity(rule, finding, config)))
                deadline.in_rule = False
            except RuleTimeout:
                out.append(timeout_error(rule, path, limit))
                deadline.rearm()
            except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the run
                deadline.in_rule = False
                out.append(internal_error(rule, path, exc))
    # Loader diagnostics that no rule forwards are reported as they are, so none is lost.
    known = config.ruleset
    for d in template.diagnostics:
        if d.code and d.code not in known:
            out.append(d)
    return out


def sort_key(d: Diagnostic) -> tuple[Any, ...]:
    return (d.path, d.line, d.column, d.code, d.message)


def lint_template(template: PromptTemplate, config: LintConfig | None = None, *,
                  rules: Sequence[type[Rule]] | None = None, noqa: bool = True) -> list[Diagnostic]:
    """Lint one loaded template: the enabled rules (or ``rules``), noqa applied, sorted."""
    config = (config if config is not None else LintConfig()).resolve()
    selected = tuple(rules) if rules is not None else config.enabled_rules(template.path)
    diags = run_rules(template, config, selected)
    if noqa:
        from promptkit.lint.noqa import apply_noqa

        diags = apply_noqa(template, diags, config, selected)
    diags.sort(key=sort_key)
    return diags


def lint_text(text: str | bytes, path: str = "<string>", kind: FileKind | None = None,
              config: LintConfig | None = None, **kw: Any) -> list[Diagnostic]:
    """Lint a virtual file (a JSONL/CSV corpus record, an editor buffer)."""
    from promptkit.template import loads

    try:
        template = loads(text, path=path, kind=kind)
    except Exception as exc:  # noqa: BLE001 - the loader must never stop the run
        return [internal_error("loader", path, exc)]
    return lint_template(template, config, **kw)


def load_file(path: str | Path) -> tuple[PromptTemplate, bytes | None]:
    """Load a file and return its raw bytes too (for the cache and for fixes)."""
    from promptkit.template import file_kind, load, loads
    from promptkit.template.source import MAX_BYTES

    p = Path(path)
    try:
        st = p.stat()
        if st.st_size > MAX_BYTES or not stat.S_ISREG(st.st_mode):
            return load(p), None  # the loader explains (too big, a FIFO that would block...)
        data = p.read_bytes()
    except OSError:
        return load(p), None
    return loads(data, path=str(path), kind=file_kind(p)), data


def lint_file(path: str | Path, config: LintConfig) -> tuple[str | None, list[Diagnostic]]:
    """Lint one file on disk: ``(sha256 of its bytes or None, diagnostics)``."""
    try:
        template, data = load_file(path)
    except Exception as exc:  # noqa: BLE001
        return None, [internal_error("loader", str(path), exc)]
    digest = hashlib.sha256(data).hexdigest() if data is not None else None
    return digest, lint_template(template, config)


# --------------------------------------------------------------------------- discovery


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)
    missing: list[Diagnostic] = field(default_factory=list)


def _prefix(p: Path, root: Path) -> str | None:
    """``p`` relative to the project root (``""`` for the root itself), or None outside it.
    Resolved once per path argument, never per file: discovery walks thousands of files."""
    try:
        rel = p.resolve().relative_to(root).as_posix()
    except (ValueError, OSError):
        return None
    return "" if rel == "." else rel


def _join(a: str, b: str) -> str:
    return f"{a}/{b}" if a and b else (a or b)


def discover(paths: Sequence[str | Path], config: LintConfig) -> Discovery:
    """The files to lint under ``paths``.

    Directories are walked (excluded directories pruned, files kept when they match
    ``include``); files named explicitly are linted whatever their name, unless
    ``exclude`` matches them (so pre-commit's file lists respect the config). Glob
    patterns see paths relative to the project root, or to the directory given when it
    lies outside the root."""
    out = Discovery()
    seen: set[str] = set()
    include = config.include_patterns
    exclude = config.exclude_patterns
    root = config.root.resolve()
    walked: list[Path] = []
    for raw in paths or [config.root]:
        p = Path(raw)
        if p.is_file():
            pre = _prefix(p.parent, root)
            rel = _join(pre, p.name) if pre is not None else p.name
            if globs.match_path_or_parent(exclude, rel):
                continue
            if str(p) not in seen:
                seen.add(str(p))
                out.files.append(p)
            continue
        if not p.is_dir():
            out.missing.append(_not_lintable(p))
            continue
        base = _prefix(p, root) or ""
        top = str(p)
        for dirpath, dirnames, filenames in os.walk(top):
            sub = dirpath[len(top):].strip(os.sep).replace(os.sep, "/")
            reldir = _join(base, sub)
            dirnames[:] = [n for n in sorted(dirnames) if not globs.match_any(exclude, _join(reldir, n))]
            for name in sorted(filenames):
                rel = _join(reldir, name)
                if globs.match_any(include, rel) and not globs.match_any(exclude, rel):
                    f = os.path.join(dirpath, name)
                    if f not in seen:
                        seen.add(f)
                        walked.append(Path(f))
    if walked and config.respect_gitignore:
        ignored = git_ignored(walked)
        walked = [f for f in walked if str(f) not in ignored]
    out.files.extend(walked)
    _confine_files(out, config)
    return out


def _confine_files(out: Discovery, config: LintConfig) -> None:
    """Drop (and report, ``PK011``) files inside the project that resolve outside it or
    into ``.git``: a symlinked prompt came with the repository, and linting it would
    print the target's lines. Paths written outside the project are the user's choice."""
    from promptkit.paths import confine_arguments, project_root

    root = project_root(config_source=config.source) if config.source else project_root()
    out.files, refused = confine_arguments(out.files, root, what="prompt file")
    out.missing.extend(refused)


def _not_lintable(p: Path) -> Diagnostic:
    """Why a path given on the command line is neither a file nor a directory: a FIFO
    or a symlink loop is not "missing", and saying so sends the user looking elsewhere."""
    import errno

    try:
        mode = p.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Diagnostic(str(p), "symbolic link loop: the link points (through other links) back to itself",
                              code=UNREADABLE_FILE.code, name=UNREADABLE_FILE.name, hint="fix or remove the link")
        if exc.errno in (errno.ENOENT, errno.ENOTDIR) and p.is_symlink():
            return Diagnostic(str(p), "broken symbolic link: its target does not exist", code=UNREADABLE_FILE.code,
                              name=UNREADABLE_FILE.name, hint="fix or remove the link")
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            return Diagnostic(str(p), f"cannot read: {exc.strerror or exc}", code=UNREADABLE_FILE.code, name=UNREADABLE_FILE.name,
                              hint="check the path's permissions")
        return Diagnostic(str(p), "no such file or directory", code=UNREADABLE_FILE.code, name=UNREADABLE_FILE.name,
                          hint="check the path passed to promptkit lint")
    what = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    return Diagnostic(str(p), f"not a regular file ({what}); only files and directories are linted",
                      code=UNREADABLE_FILE.code, name=UNREADABLE_FILE.name, hint="pass prompt files or directories")


def git_ignored(files: Sequence[Path]) -> set[str]:
    """Which of ``files`` git ignores (``.gitignore``, ``.git/info/exclude``...): one
    ``git check-ignore --stdin`` per repository. Outside a git work tree, or without git,
    nothing is ignored."""
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None:
        return set()
    by_dir: dict[str, list[str]] = {}
    for f in files:
        by_dir.setdefault(os.path.dirname(os.path.abspath(f)), []).append(str(f))
    # one call per top-level directory is enough: group by the git top level of each dir
    ignored: set[str] = set()
    tops: dict[str, list[str]] = {}
    for d, names in by_dir.items():
        tops.setdefault(_git_top(git, d), []).extend(names)
    for top, names in tops.items():
        if not top:
            continue
        try:
            res = subprocess.run([git, "-C", top, "check-ignore", "--stdin", "-z"],
                                 input="\0".join(os.path.abspath(n) for n in names) + "\0",
                                 capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        if res.returncode not in (0, 1):
            continue
        hits = {p for p in res.stdout.split("\0") if p}
        ignored.update(n for n in names if os.path.abspath(n) in hits)
    return ignored


_TOPS: dict[str, str] = {}


def git_tops() -> list[str]:
    """The git work trees :func:`git_ignored` has asked so far in this process."""
    return sorted({t for t in _TOPS.values() if t})


def _git_top(git: str, directory: str) -> str:
    """The git work tree containing ``directory`` ("" if none), cached per directory."""
    if directory not in _TOPS:
        import subprocess

        top = ""
        d = Path(directory)
        for cand in (d, *d.parents):
            if (cand / ".git").exists():
                top = str(cand)
                break
        if top:
            try:
                res = subprocess.run([git, "-C", top, "rev-parse", "--is-inside-work-tree"],
                                     capture_output=True, text=True, timeout=10, check=False)
                top = top if res.stdout.strip() == "true" else ""
            except (OSError, subprocess.SubprocessError):
                top = ""
        _TOPS[directory] = top
    return _TOPS[directory]


# --------------------------------------------------------------------------- many files


@dataclass
class LintReport:
    """What a run found: diagnostics (sorted), and how much work it took."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0
    cached: int = 0
    linted: int = 0

    @property
    def internal_errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.code == INTERNAL_ERROR_CODE]


def _config_state(config: LintConfig) -> tuple[dict[str, Any], str, str | None]:
    return (config.model_dump(by_alias=False), str(config.root),
            str(config.source) if config.source else None)


def _rebuild(state: tuple[dict[str, Any], str, str | None]) -> LintConfig:
    data, root, source = state
    cfg = LintConfig.model_validate(data)
    cfg._root = Path(root)
    cfg._source = Path(source) if source else None
    return cfg.resolve()


_WORKER_CONFIG: LintConfig | None = None


def _init_worker(state: tuple[dict[str, Any], str, str | None]) -> None:
    global _WORKER_CONFIG
    _WORKER_CONFIG = _rebuild(state)


#: A file on disk (text None) or a virtual file: ``(path, text, kind)``.
Item = tuple[str, "str | None", "FileKind | None"]
Result = tuple[str, "str | None", list[Diagnostic]]  # (path, content digest, diagnostics)


def record_digest(text: str, kind: FileKind | None) -> str:
    """Cache key of a virtual file: its text and the kind it is read as."""
    return hashlib.sha256(f"{kind.value if kind else ''}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()


def _lint_item(item: Item, config: LintConfig) -> Result:
    path, text, kind = item
    if text is None:
        return (path, *lint_file(path, config))
    return path, record_digest(text, kind), lint_text(text, path, kind, config)


def _lint_chunk(items: list[Item]) -> list[Result]:
    assert _WORKER_CONFIG is not None
    return [_lint_item(item, _WORKER_CONFIG) for item in items]


def _size(item: Item) -> int:
    if item[1] is not None:
        return len(item[1])
    try:
        return os.stat(item[0]).st_size
    except OSError:
        return 0


def _balanced_chunks(items: list[Item], jobs: int) -> list[list[Item]]:
    """Largest first, in chunks of about equal size: the pool hands them out in order, so
    a few huge files cannot leave one core working alone at the end."""
    sized = sorted(((_size(i), i) for i in items), key=lambda x: -x[0])
    budget = max(1, sum(sz for sz, _ in sized) // (jobs * 12))
    chunks: list[list[Item]] = []
    cur: list[Item] = []
    acc = 0
    for sz, item in sized:
        cur.append(item)
        acc += sz
        if acc >= budget or len(cur) >= CHUNK_SIZE:
            chunks.append(cur)
            cur, acc = [], 0
    if cur:
        chunks.append(cur)
    return chunks


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def lint_many(items: Sequence[Item], config: LintConfig, *, jobs: int | None = None) -> Iterator[Result]:
    """Lint items, in worker processes when there are many (in no particular order).

    Falls back to this process when the pool cannot start (no ``fork`` or semaphores in
    a sandbox) or breaks; items already done are not linted twice."""
    items = list(items)
    jobs = default_jobs() if jobs is None else max(1, jobs)
    done: set[str] = set()
    if jobs > 1 and len(items) >= PARALLEL_THRESHOLD:
        try:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                                     initargs=(_config_state(config),)) as pool:
                for chunk_result in pool.map(_lint_chunk, _balanced_chunks(items, jobs)):
                    for res in chunk_result:
                        done.add(res[0])
                        yield res
            return
        except (OSError, ImportError, RuntimeError, EOFError):
            # BrokenProcessPool is a RuntimeError; OSError/PermissionError when the
            # platform refuses to start processes. Finish the rest here.
            if os.environ.get("PROMPTKIT_DEBUG"):
                raise
    for item in items:
        if item[0] not in done:
            yield _lint_item(item, config)


def lint_items(items: Sequence[Item], config: LintConfig | None = None, *, use_cache: bool = True,
               jobs: int | None = None) -> LintReport:
    """Lint files on disk and virtual files (prompts stored as JSONL/CSV rows, editor
    buffers) in one run, with the cache and worker processes. A virtual file's path names
    it (``prompts.jsonl#42``) and keys the cache."""
    config = (config if config is not None else LintConfig()).resolve()
    report = LintReport(files=len(items))
    cache = None
    if use_cache:
        from promptkit.lint.cache import LintCache

        cache = LintCache.for_config(config)
    todo: list[Item] = []
    stats: dict[str, os.stat_result] = {}  # taken before the bytes are read (see LintCache.put)
    for item in items:
        if cache is not None:
            path, text, kind = item
            if text is None:
                try:
                    st = stats[path] = os.stat(path)
                except OSError:
                    st = None
                hit = cache.get_file(path, st) if st is not None else None
            else:
                hit = cache.get(path, record_digest(text, kind))
            if hit is not None:
                report.cached += 1
                report.diagnostics.extend(hit)
                continue
        todo.append(item)
    for path, digest, diags in lint_many(todo, config, jobs=jobs):
        report.linted += 1
        report.diagnostics.extend(diags)
        if cache is not None and digest is not None:
            cache.put(path, digest, diags, stats.get(path))
    if cache is not None:
        cache.save()
    report.diagnostics.sort(key=sort_key)
    return report


def lint_files(files: Sequence[str | Path], config: LintConfig | None = None, *, use_cache: bool = True,
               jobs: int | None = None) -> LintReport:
    """Lint files on disk (no discovery: every file given is linted)."""
    return lint_items([(str(f), None, None) for f in files], config, use_cache=use_cache, jobs=jobs)


def lint_records(records: Sequence[tuple[str, str, FileKind | None]], config: LintConfig | None = None, *,
                 use_cache: bool = True, jobs: int | None = None) -> LintReport:
    """Lint virtual files ``(path, text, kind)``."""
    return lint_items(list(records), config, use_cache=use_cache, jobs=jobs)


def lint_paths(paths: Sequence[str | Path], config: LintConfig | None = None, *, use_cache: bool = True,
               jobs: int | None = None) -> LintReport:
    """Discover files under ``paths`` and lint them all (cache and processes as fit)."""
    config = (config if config is not None else LintConfig()).resolve()
    found = discover(paths, config)
    report = lint_files(found.files, config, use_cache=use_cache, jobs=jobs)
    report.diagnostics.extend(found.missing)
    report.diagnostics.sort(key=sort_key)
    return report
