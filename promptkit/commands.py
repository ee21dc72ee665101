"""The ``render``, ``tokens`` and ``init`` sub-commands.

They are the foundation's user-facing face: see what a template sends to the model,
what it costs in tokens, and start a project with prompts, tests and a hook. All three
share one rule: bad input (a missing file, a malformed ``--var``, a vars file that is not
JSON/YAML, a template that does not render) is one ``path:line:col: error: ...`` line on
stderr and exit status 2, never a traceback. That is done by raising
:class:`~promptkit.diagnostics.PromptkitError`; :mod:`promptkit.cli` prints it.

Heavy modules (pydantic via the template model, tiktoken, rich) are imported inside the
functions that need them, so ``promptkit --help`` and the other commands stay fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptkit.atomic import write_atomic
from promptkit.diagnostics import Diagnostic, LineIndex, PromptkitError, Severity, Span

if TYPE_CHECKING:  # pragma: no cover
    from promptkit.template.model import PromptTemplate, RenderedMessage

__all__ = ["INIT", "RENDER", "TOKENS", "parse_var", "load_vars_file", "template_vars"]

CMDLINE = "<command line>"


def _error(path: str, message: str, hint: str = "", span: Span | None = None, code: str = "") -> PromptkitError:
    from promptkit.codes import CODES

    name = CODES[code].name if code in CODES else ""
    return PromptkitError(Diagnostic(path, message, code=code, name=name, span=span, hint=hint))


# --------------------------------------------------------------------------- variables


def parse_var(text: str) -> tuple[str, Any, str]:
    """``NAME=VALUE`` -> ``(name, value, raw)``. ``value`` is the JSON value when VALUE
    parses as JSON (``n=3``, ``tags=["a","b"]``), else the string itself; ``raw`` is
    always the text, so a string input can keep ``"007"`` as written."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise _error(
            CMDLINE,
            f"--var {text!r} is not NAME=VALUE",
            hint="write --var ticket='My order is late' (VALUE is parsed as JSON when it is valid JSON)",
        )
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return name, value, raw


def load_vars_file(path: str | Path) -> dict[str, Any]:
    """Variables from a JSON or YAML file holding one mapping. Errors carry file:line:col."""
    p = Path(path)
    spath = str(path)
    if p.exists() and not p.is_file() and not p.is_dir():  # a FIFO would block the read
        raise _error(spath, "vars file is not a regular file (a FIFO, socket or device)",
                     hint="pass a .json or .yaml file to --vars")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _error(spath, "vars file not found", hint="check the path given to --vars") from None
    except IsADirectoryError:
        raise _error(spath, "vars file is a directory", hint="pass a .json or .yaml file to --vars") from None
    except UnicodeDecodeError:
        raise _error(spath, "vars file is not UTF-8 text", hint="save it as UTF-8 JSON or YAML") from None
    except OSError as exc:
        raise _error(spath, f"cannot read vars file: {exc.strerror or exc}") from None
    index = LineIndex(text)
    suffix = p.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except RecursionError:
            raise _error(spath, "invalid JSON: it nests arrays or objects too deeply to read",
                         hint="flatten the structure") from None
        except json.JSONDecodeError as exc:
            pos = index.position(exc.pos)
            raise _error(spath, f"invalid JSON: {exc.msg}", span=Span(pos, pos),
                         hint="fix the JSON syntax (keys and strings need double quotes)") from None
    elif suffix in (".yaml", ".yml"):
        import yaml

        from promptkit.template.frontmatter import safe_load

        try:
            data = safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            span = None
            if mark is not None:
                pos = index.position_at(mark.line + 1, mark.column + 1)
                span = Span(pos, pos)
            raise _error(spath, f"invalid YAML: {exc.problem or exc}", span=span,
                         hint="fix the YAML syntax; quote values that contain ': ' or start with a special character") from None
        except yaml.reader.ReaderError as exc:  # a control character YAML does not allow
            pos = index.position(exc.position)
            char = ord(exc.character) if isinstance(exc.character, str) else int(exc.character)
            raise _error(spath, f"invalid YAML: unacceptable character #x{char:04x}", span=Span(pos, pos),
                         hint="remove control characters; YAML files must be printable text") from None
        except yaml.YAMLError as exc:
            raise _error(spath, "invalid YAML: " + " ".join(str(exc).split())) from None
    else:
        raise _error(spath, f"unsupported vars file type {suffix or '(none)'!r}", hint="use a .json, .yaml or .yml file")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _error(spath, f"vars file must hold a mapping of input names to values, not a {type(data).__name__}",
                     hint='write e.g. {"ticket": "My order is late"}')
    return {str(k): v for k, v in data.items()}


def _load_template(path: str) -> PromptTemplate:
    """Load a template, turning an unreadable or unusable file into a PromptkitError."""
    from promptkit.paths import confine_argument, project_root
    from promptkit.template import load

    confine_argument(path, project_root(), what="prompt file")  # a symlink in the repo may point out
    t = load(path)
    for d in t.diagnostics:
        if d.severity is Severity.ERROR:
            raise PromptkitError(d)
    return t


def _samples(template: PromptTemplate, skip: Iterable[str] = ()) -> dict[str, Any]:
    """The template's sample values, with ``${file:}`` references resolved relative to
    the template file, as Prompty does.

    ``${env:}`` references in samples are refused rather than resolved: a sample is
    printed by ``render`` and sent to models, and an environment variable is where
    secrets live. Pass such values explicitly with ``--var``."""
    from promptkit.template.references import ReferenceError_, references, resolve

    base = Path(template.path).parent
    out = template.samples()
    fm_sample = template.front_matter.sample
    try:
        if isinstance(fm_sample, str):
            resolved = resolve(fm_sample, base)
            if isinstance(resolved, dict):
                out.update(resolved)
            elif resolved != fm_sample:
                raise ReferenceError_("sample file must hold a mapping of input names to values")
            else:
                raise _error(template.path, "sample must be a mapping of input names to values, or a ${file:...} reference",
                             span=template.span_of("sample"),
                             hint="write e.g. sample: {ticket: My order is late}, or sample: ${file:sample.json}")
        elif fm_sample is not None and not isinstance(fm_sample, dict):
            raise _error(template.path, f"sample must be a mapping of input names to values, not a {type(fm_sample).__name__}",
                         span=template.span_of("sample"), hint="write e.g. sample: {ticket: My order is late}")
        for name in skip:  # given explicitly: its sample is not used
            out.pop(name, None)
        for key, kind, target in references(out):
            if kind == "env":
                span = template.span_of("inputs", key[0], "sample") or template.span_of("sample", *key)
                raise _error(template.path, f"sample of '{key[0]}' reads environment variable {target}; "
                             "samples never read the environment", span=span or template.span_of("sample"),
                             hint=f"pass the value with --var {key[0]}=..., or write a literal sample")
    except ReferenceError_ as exc:
        raise _error(template.path, f"cannot resolve sample: {exc}", span=template.span_of("sample"),
                     hint="fix the reference, or pass --no-samples and give every input with --var",
                     code=exc.code or "") from None
    resolved_values: dict[str, Any] = {}
    for name, value in out.items():  # one at a time, so an error points at its own sample
        try:
            resolved_values[name] = resolve(value, base)
        except ReferenceError_ as exc:
            span = (template.span_of("inputs", name, "sample") or template.span_of("sample", name)
                    or template.span_of("sample"))
            raise _error(template.path, f"cannot resolve sample: {exc}", span=span,
                         hint=f"fix the reference, or pass the value with --var {name}=...",
                         code=exc.code or "") from None
        from promptkit.template.render import input_type_error

        sample_span = template.span_of("inputs", name, "sample") or template.span_of("sample", name)
        problem = input_type_error(template, name, resolved_values[name], what="sample of input")
        if problem is not None and sample_span is not None:  # point at the sample: that is what to fix
            problem.span = sample_span
            problem.hint = f"give '{name}' a sample of type {template.inputs[name].type}, or pass it with --var {name}=..."
            raise PromptkitError(problem)
    return resolved_values


def template_vars(template: PromptTemplate, var_args: Sequence[str] = (), vars_files: Sequence[str] = (),
                  samples: bool = True) -> dict[str, Any]:
    """The variables a command renders with: samples, then ``--vars`` files, then ``--var``.

    A ``--var`` value that parses as JSON is used as JSON, except for inputs declared as
    strings, which get the text exactly as typed (``--var zip=02134`` stays a string).
    """
    given: dict[str, Any] = {}
    for f in vars_files:
        given.update(load_vars_file(f))
    parsed = [parse_var(text) for text in var_args]
    values: dict[str, Any] = _samples(template, skip={*given, *(p[0] for p in parsed)}) if samples else {}
    values.update(given)
    for name, value, raw in parsed:
        spec = template.inputs.get(name)
        if spec is not None and spec.type.lower() in ("string", "str") and not isinstance(value, str):
            value = raw
        elif spec is None and template.inputs:
            print(Diagnostic(template.path, f"--var {name} is not a declared input of this template",
                             severity=Severity.WARNING, span=template.span_of("inputs"),
                             hint="declared inputs: " + ", ".join(template.inputs)).format(), file=sys.stderr)
        values[name] = value
    return values


def _render(template: PromptTemplate, values: Mapping[str, Any]) -> list[RenderedMessage]:
    """Render; a missing input's hint names this command's way of passing one (--var)."""
    import dataclasses

    from promptkit.codes import MISSING_INPUT
    from promptkit.template import render

    try:
        return render(template, values)
    except PromptkitError as exc:
        d = exc.diagnostic
        if d.code == MISSING_INPUT.code:
            name = d.message.rsplit("'", 2)[-2] if d.message.count("'") >= 2 else "NAME"
            exc.diagnostic = dataclasses.replace(
                d, hint=f"pass it with --var {name}=..., or give it a default in the front matter")
        raise


def _add_var_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                        help="set an input (repeatable); VALUE is parsed as JSON when it is valid JSON")
    parser.add_argument("--vars", action="append", default=[], metavar="FILE",
                        help="JSON or YAML file with a mapping of input values (repeatable)")
    parser.add_argument("--no-samples", action="store_true",
                        help="do not fill inputs from the template's sample values")


# --------------------------------------------------------------------------- render


class _Render:
    help = "Render a template to chat messages"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", help="template file (.prompty, .j2, .prompt.md ...)")
        _add_var_arguments(parser)
        parser.add_argument("--format", choices=("text", "json"), default="text",
                            help="text: role lines and contents; json: messages, model and parameters")

    def run(self, args: argparse.Namespace) -> int:
        from promptkit.config import use_project_render_limits

        use_project_render_limits(Path(args.file))
        template = _load_template(args.file)
        values = template_vars(template, args.var, args.vars, samples=not args.no_samples)
        messages = _render(template, values)
        out = sys.stdout
        if args.format == "json":
            model = template.front_matter.model
            doc = {
                "path": template.path,
                "name": template.name,
                "version": template.version,
                "model": model.litellm_id if model else None,
                "parameters": model.params if model else {},
                "messages": [m.to_dict() for m in messages],
            }
            json.dump(doc, out, ensure_ascii=False, indent=2, default=str)
            out.write("\n")
        else:
            out.write("\n\n".join(f"{m.role}:\n{m.display}" for m in messages) + "\n")
        return 0


# --------------------------------------------------------------------------- tokens


def _expand(paths: Iterable[str]) -> list[str]:
    """Files as given, directories walked for prompt files (hidden folders skipped)."""
    from promptkit.template import PROMPT_GLOBS

    out: list[str] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found: set[Path] = set()
            for pattern in PROMPT_GLOBS:
                found.update(f for f in path.rglob(pattern)
                             if f.is_file() and not any(part.startswith(".") for part in f.relative_to(path).parts))
            if not found:
                print(f"{p}: warning: no prompt files in this directory", file=sys.stderr)
            out.extend(str(f) for f in sorted(found))
        else:
            out.append(p)
    return out


class _Tokens:
    help = "Count tokens per message and in total"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="template files or directories")
        parser.add_argument("--model", help="litellm model id to count for (default: each template's model)")
        _add_var_arguments(parser)
        parser.add_argument("--no-render", action="store_true",
                            help="count the template text as written instead of rendering it with samples")
        parser.add_argument("--format", choices=("table", "json"), default="table")

    def _count_one(self, path: str, args: argparse.Namespace) -> dict[str, Any]:
        from promptkit.tokens import context_window, count_tokens

        template = _load_template(path)
        model = args.model or (template.front_matter.model.litellm_id if template.front_matter.model else None)
        notes: list[str] = []
        if args.no_render or not template.engine.can_render:
            if not template.engine.can_render and not args.no_render:
                what = (f"a {template.kind.value} file has no template language"
                        if template.engine.value == "none" else f"{template.engine.value} body is not rendered")
                notes.append(f"{what}; counted as written")
            messages: list[Any] = [{"role": m.role, "content": m.content.strip()} for m in template.messages]
        else:
            values = template_vars(template, args.var, args.vars, samples=not args.no_samples)
            messages = [m.to_dict() for m in _render(template, values)]
        count = count_tokens(messages, model)
        if count.notice:
            notes.append(count.notice)
        return {
            "path": path,
            "model": model,
            "encoding": count.encoding,
            "total": count.total,
            "context_window": context_window(model),
            "exact": count.exact,
            "messages": [m.to_dict() for m in count.messages],
            "notes": notes,
        }

    def run(self, args: argparse.Namespace) -> int:
        from promptkit.config import use_project_render_limits

        use_project_render_limits(Path(args.files[0]) if args.files else Path.cwd())
        results: list[dict[str, Any]] = []
        errors: list[Diagnostic] = []
        for path in _expand(args.files):
            try:
                results.append(self._count_one(path, args))
            except PromptkitError as exc:  # keep counting the other files
                errors.append(exc.diagnostic)
                print(exc.diagnostic.format(), file=sys.stderr)
        grand = sum(r["total"] for r in results)
        if args.format == "json":
            json.dump({"files": results, "total": grand, "errors": [d.to_dict() for d in errors]},
                      sys.stdout, indent=2)
            sys.stdout.write("\n")
        elif results:
            self._table(results, grand)
        return 2 if errors else 0

    def _table(self, results: list[dict[str, Any]], grand: int) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        console = Console(highlight=False, soft_wrap=True)
        for r in results:
            window = r["context_window"]
            share = f"  {r['total'] / window:.1%} of a {window:,}-token window" if window else ""
            table = Table(title=f"{escape(r['path'])}  [dim]{escape(r['model'] or 'no model')} · {r['encoding']}[/dim]",
                          title_justify="left", show_edge=False, pad_edge=False)
            table.add_column("#", justify="right")
            table.add_column("role")
            table.add_column("tokens", justify="right")
            for i, m in enumerate(r["messages"], 1):
                table.add_row(str(i), m["role"], f"{m['tokens']:,}")
            table.add_row("", "[bold]total[/bold]", f"[bold]{r['total']:,}[/bold]", end_section=True)
            console.print(table)
            if share:
                console.print(share.strip(), style="dim")
            for note in r["notes"]:
                console.print(f"note: {note}", style="yellow", markup=False)
            console.print()
        if len(results) > 1:
            console.print(f"[bold]{grand:,}[/bold] tokens in {len(results)} files")


# --------------------------------------------------------------------------- init

_SUITE = """\
# Regression tests for prompts/{name}.prompty.
# Run them with `promptkit test tests/prompts` (or plain `pytest`); the format is in
# promptkit's docs/testing.md. Record real model answers once, then replay them offline.
prompts: [../../prompts/{name}.prompty]
models:
  # mock_response: litellm answers with this text, offline, so this suite runs before you
  # have an API key. Delete the `params:` line to call the real model, then record its
  # answers once (`promptkit test tests/prompts --mode record`) and replay them in CI.
  # A local OpenAI-compatible server works too: see `promptkit serve --help`.
  - id: openai/gpt-4o-mini
    params: {{mock_response: "The council extended the downtown tram line by 4.2 km with six new stops, from next spring."}}
cases:
  - id: tram-line
    description: a short news item; the summary must stay within the word limit
    vars:
      text: >-
        The city council voted on Tuesday to extend the downtown tram line by 4.2 kilometres,
        adding six stops. Construction starts next spring and will cost 310 million euros.
      max_words: 30
    assert:
      - icontains: tram
      - type: length
        unit: words
        max: 30
"""

_PRECOMMIT_HOOK = """\
  - repo: local
    hooks:
      - id: promptkit-lint
        name: promptkit lint
        entry: {entry} lint
        language: system
        files: '(\\.prompty|\\.prompt|\\.j2|\\.jinja2?|\\.mdc|\\.prompt\\.md|\\.instructions\\.md|\\.agent\\.md|SKILL\\.md)$'
"""

_PRECOMMIT = "# promptkit: lint prompt templates on every commit (runs offline).\nrepos:\n" + _PRECOMMIT_HOOK

#: What init adds to .gitignore: run results and the lint cache are not source.
_GITIGNORE = ("# promptkit: run results (.promptkit/) and the lint cache", ".promptkit/", ".promptkit_cache/")


def hook_entry(root: Path, executable: str | None = None) -> str:
    """The command the pre-commit hook runs. ``language: system`` hooks run with the
    shell's PATH, where ``promptkit`` is missing unless a virtual environment is activated;
    when promptkit runs from a virtual environment inside the project (``.venv/``), the
    hook names its script by a path relative to the repository root (where pre-commit runs
    hooks), so it works activated or not, on every clone that makes the same ``.venv``."""
    exe = Path(executable or sys.executable)
    script = exe.parent / "promptkit"
    try:
        rel = exe.parent.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return "promptkit"
    if not script.exists() and executable is None:
        return "promptkit"
    return (rel / "promptkit").as_posix()

_CONFIG_KEYS = """\
# promptkit lint / test settings (see promptkit's docs/lint.md)
include = ["prompts/**/*.prompty"]
"""


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` with ``text``, failing if it appeared meanwhile (no overwrite)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def _replace_atomic(path: Path, text: str) -> None:
    """Rewrite an existing file atomically (temp file + rename) keeping its mode."""
    write_atomic(path, text, newline="", mode=path.stat().st_mode & 0o777)


def _toml_loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return tomllib.loads(text)


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


class _Init:
    help = "Scaffold prompts/, a test suite and a pre-commit config"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("dir", nargs="?", default=".", help="project folder (default: the current one)")

    def run(self, args: argparse.Namespace) -> int:
        from promptkit.resources import bundled_templates_dir

        root = Path(args.dir)
        if root.exists() and not root.is_dir():
            raise _error(str(root), "not a directory", hint="give the project folder to initialize")
        report: list[tuple[str, str]] = []
        try:
            if not root.exists():
                root.mkdir(parents=True)
                report.append(("created", f"{root}/"))
            name = "summarize"
            example = (bundled_templates_dir() / f"{name}.prompty").read_text(encoding="utf-8")
            for rel, text in ((f"prompts/{name}.prompty", example),
                              (f"tests/prompts/{name}.prompttest.yaml", _SUITE.format(name=name))):
                target = root / rel
                if target.exists():
                    report.append(("skipped", f"{target} (already exists)"))
                else:
                    _write_new(target, text)
                    report.append(("created", str(target)))
            report.append(self._config(root))
            report.append(self._precommit(root))
            report.append(self._gitignore(root))
        except OSError as exc:
            # Say what was already created before the one error line, so a second run
            # (after fixing permissions) is not a surprise.
            self._print(report)
            where = str(exc.filename or root)
            raise _error(where, f"promptkit init stopped: {exc.strerror or exc}",
                         hint="fix this path (permissions, or a folder where a file belongs) and run init again; "
                              "files already created are kept and skipped") from None
        self._print(report)
        where = "" if root.resolve() == Path.cwd().resolve() else f"cd {root} && "
        print(f"next (works offline): {where}promptkit render prompts/summarize.prompty && promptkit lint prompts "
              "&& promptkit test tests/prompts")
        return 0

    @staticmethod
    def _gitignore(root: Path) -> tuple[str, str]:
        path = root / ".gitignore"
        text = ""
        if path.exists():
            read = _Init._read_text(path)
            if read is None:
                return "skipped", f"{path} (not UTF-8 text; add .promptkit/ and .promptkit_cache/ by hand)"
            text = read
        have = {line.strip().rstrip("/") for line in text.splitlines()}
        missing = [line for line in _GITIGNORE[1:] if line.rstrip("/") not in have]
        if not missing:
            return "skipped", f"{path} (already ignores .promptkit/ and .promptkit_cache/)"
        nl = _newline(text) if text else "\n"
        sep = "" if not text or text.endswith(("\n", "\r")) else nl
        new = text + sep + nl.join([_GITIGNORE[0], *missing]) + nl
        if path.exists():
            _replace_atomic(path, new)
            return "updated", f"{path} ({', '.join(missing)} added)"
        _write_new(path, new)
        return "created", str(path)

    @staticmethod
    def _print(report: list[tuple[str, str]]) -> None:
        width = max((len(action) for action, _ in report), default=0)
        for action, what in report:
            print(f"{action:<{width}}  {what}")

    @staticmethod
    def _read_text(path: Path) -> str | None:
        """A config file's text, or None when it is not UTF-8 (it is then left alone)."""
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            return None

    def _config(self, root: Path) -> tuple[str, str]:
        pyproject = root / "pyproject.toml"
        if not pyproject.exists():
            standalone = root / "promptkit.toml"
            if standalone.exists():
                return "skipped", f"{standalone} (already exists)"
            _write_new(standalone, _CONFIG_KEYS)
            return "created", f"{standalone} (no pyproject.toml here)"
        text = self._read_text(pyproject)
        if text is None:
            return "skipped", f"{pyproject} (not UTF-8 text; add a [tool.promptkit] table by hand)"
        try:
            data = _toml_loads(text)
        except ValueError as exc:
            return "skipped", f"{pyproject} (not valid TOML: {exc}; add a [tool.promptkit] table by hand)"
        if isinstance(data.get("tool"), dict) and "promptkit" in data["tool"]:
            return "skipped", f"{pyproject} (already has [tool.promptkit])"
        nl = _newline(text)
        sep = "" if not text or text.endswith(("\n", "\r")) else nl
        new = text + sep + nl + ("[tool.promptkit]" + nl + _CONFIG_KEYS).replace("\n", nl)
        check = _toml_loads(new)
        if check.get("tool", {}).get("promptkit", {}).get("include") is None:  # pragma: no cover - defensive
            return "skipped", f"{pyproject} (could not add [tool.promptkit] safely; add it by hand)"
        _replace_atomic(pyproject, new)
        return "updated", f"{pyproject} ([tool.promptkit] appended)"

    def _precommit(self, root: Path) -> tuple[str, str]:
        config = root / ".pre-commit-config.yaml"
        entry = hook_entry(root)
        hook = _PRECOMMIT_HOOK.format(entry=entry)
        if not config.exists():
            _write_new(config, _PRECOMMIT.format(entry=entry))
            return "created", str(config)
        import yaml

        manual = f"{config} (add this entry under repos: by hand:\n{hook.rstrip()})"
        text = self._read_text(config)
        if text is None:
            return "skipped", manual
        if "promptkit" in text:
            return "skipped", f"{config} (already runs promptkit)"
        try:
            before = yaml.safe_load(text)
        except yaml.YAMLError:
            return "skipped", manual
        if not isinstance(before, dict) or not isinstance(before.get("repos"), list):
            return "skipped", manual
        nl = _newline(text)
        new = text + ("" if text.endswith("\n") else nl) + hook.replace("\n", nl)
        try:
            after = yaml.safe_load(new)
        except yaml.YAMLError:
            return "skipped", manual
        # Appending is only safe when `repos:` is the last block and its items are indented
        # like ours: check the result is exactly the old config plus one repo.
        ok = (isinstance(after, dict) and set(after) == set(before)
              and all(after[k] == before[k] for k in before if k != "repos")
              and after["repos"][:-1] == before["repos"] and len(after["repos"]) == len(before["repos"]) + 1
              and after["repos"][-1].get("repo") == "local")
        if not ok:
            return "skipped", manual
        _replace_atomic(config, new)
        return "updated", f"{config} (promptkit-lint hook appended)"


class _Serve:
    """``promptkit serve``: the scripted OpenAI-compatible server of the test suite
    (:mod:`pytest_promptkit.server`) as a command, for a first run without an API key, a
    demo, or a CI job that records against fixed answers. Binds 127.0.0.1 only."""

    help = "Serve scripted replies as a local OpenAI-compatible endpoint (127.0.0.1)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0: any free one)")
        parser.add_argument("--reply", default="{echo}",
                            help="the answer when no rule matches ({echo}: the last user message; default)")
        parser.add_argument("--rules", metavar="FILE",
                            help="YAML or JSON list of rules, first match answers: {pattern: REGEX, reply: TEXT} "
                                 "(\\1 = a group), or {fault: rate_limit|server_error|malformed|drop|hang|bad_request}; "
                                 "optional model, times, latency_s")
        parser.add_argument("--latency", type=float, default=0.0, help="seconds before every answer")
        parser.add_argument("--idle-timeout", type=float, default=3600.0,
                            help="stop after this many seconds without a request (default 3600)")

    def run(self, args: argparse.Namespace) -> int:
        import time

        from pytest_promptkit.server import OpenAIServer

        rules = self._rules(args.rules) if args.rules else []
        if not 0 <= args.port <= 65535:
            raise _error("<command line>", f"--port {args.port}: not a port", hint="use 1-65535, or 0 for any free port")
        server = OpenAIServer(rules, default_reply=args.reply, latency_s=args.latency, idle_timeout_s=args.idle_timeout,
                              max_lifetime_s=7 * 24 * 3600, keep_requests=False, port=args.port)
        try:
            server.start()
        except OSError as exc:
            raise _error("<command line>", f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}",
                         hint="pick another --port (or 0 for any free one)") from None
        url = server.base_url
        print(f"promptkit serve: listening on {url} ({len(rules)} rule(s); otherwise replying {args.reply!r})")
        print(f"  run suites against it:  promptkit test PATH --mode live --api-base {url}")
        print(f"  or record them:         promptkit test PATH --mode record --api-base {url}")
        print("  any model id works (openai/<name>; the name is matched by rules' model:). Ctrl-C stops.", flush=True)
        try:
            while server.running:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
        return 0

    @staticmethod
    def _rules(path: str) -> list[Any]:
        import re

        import yaml

        from pytest_promptkit.server import FAULTS, Rule

        p = Path(path)
        if not p.is_file():
            raise _error(path, "rules file not found", hint="give a YAML or JSON file with a list of rules")
        try:
            text = p.read_text(encoding="utf-8")
            data = yaml.safe_load(text)
        except UnicodeDecodeError:
            raise _error(path, "not UTF-8 text", hint="save the rules file as UTF-8") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            span = LineIndex(text).span(mark.index, mark.index) if mark is not None else None
            raise _error(path, f"not valid YAML: {getattr(exc, 'problem', None) or exc}", span=span,
                         hint="a list of {pattern: ..., reply: ...} mappings") from None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise _error(path, "the rules file must be a list of mappings",
                         hint="- {pattern: 'capital of (\\w+)', reply: 'The capital is \\1.'}")
        allowed = {"pattern", "reply", "fault", "latency_s", "times", "model", "retry_after", "status"}
        out = []
        for i, r in enumerate(data, 1):
            unknown = sorted(set(r) - allowed)
            if unknown:
                raise _error(path, f"rule {i}: unknown key(s) {', '.join(unknown)}", hint="known keys: " + ", ".join(sorted(allowed)))
            if r.get("fault") is not None and r["fault"] not in FAULTS:
                raise _error(path, f"rule {i}: unknown fault {r['fault']!r}", hint="one of " + ", ".join(FAULTS))
            try:
                out.append(Rule(**r))
            except (TypeError, ValueError, re.error) as exc:  # a bad regex, a wrong type
                raise _error(path, f"rule {i}: {exc}", hint="patterns are Python regular expressions") from None
        return out


SERVE = _Serve()
RENDER = _Render()
TOKENS = _Tokens()
INIT = _Init()
