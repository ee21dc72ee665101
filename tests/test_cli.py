"""The command line: --version start-up, render/tokens/init, and every bad-input path
(exit status 2, one ``path:line:col: error:`` line, never a traceback)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from promptkit.cli import main

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "templates"
FIXTURES = REPO / "tests" / "fixtures" / "template"
ONE_ERROR_LINE = re.compile(r"^\S.*:\d+:\d+: error: .+$")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_bad_input(code: int, err: str, where: str) -> None:
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert ONE_ERROR_LINE.match(lines[0]), lines[0]
    assert lines[0].startswith(where), lines[0]
    assert "Traceback" not in err


# --------------------------------------------------------------------------- start-up


def test_version_is_fast_and_imports_nothing_heavy() -> None:
    script = (
        "import sys\n"
        "from promptkit.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit as e:\n    code = e.code\n"
        "heavy = [m for m in ('litellm', 'pydantic', 'jinja2', 'tiktoken', 'yaml', 'rich', 'promptkit.template') if m in sys.modules]\n"
        "print('HEAVY', heavy, code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "HEAVY [] 0" in proc.stdout, proc.stdout + proc.stderr
    assert re.match(r"promptkit \d+\.\d+\.\d+", proc.stdout)


def test_console_script_version() -> None:
    proc = subprocess.run([sys.executable, "-m", "promptkit.cli", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("promptkit ")


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys)
    assert code == 2 and all(name in out for name in ("render", "tokens", "init", "lint"))
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0


# --------------------------------------------------------------------------- render


def test_render_text_with_samples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "render", str(TEMPLATES / "classify_ticket.prompty"))
    assert code == 0 and err == ""
    assert out.startswith("system:\n## Role\n")
    assert "\n\nuser:\n<ticket>\nI was charged twice" in out


def test_render_json_with_vars(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    vars_file = tmp_path / "v.yaml"
    vars_file.write_text("text: |\n  Short text about tides.\naudience: sailors\n", encoding="utf-8")
    code, out, err = run(capsys, "render", str(TEMPLATES / "summarize.prompty"), "--vars", str(vars_file),
                         "--var", "max_words=25", "--var", "audience=children", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["model"] == "openai/gpt-4o-mini" and doc["parameters"]["max_tokens"] == 400
    assert doc["version"] == "1.0.0" and doc["name"] == "summarize"
    user = doc["messages"][1]["content"]
    assert "at most 25 words" in user and '"children"' in user and "Short text about tides." in user


def test_render_var_values_are_json_except_for_string_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(FIXTURES / "inputs.prompty")
    code, out, err = run(capsys, "render", path, "--var", "name=007", "--var", "count=3", "--var", 'tags=["a","b"]',
                         "--var", "loud=true")
    assert code == 0, err
    assert out == "user:\n007 x3 at 0.5! a,b\n"


def test_render_no_samples_needs_every_input(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(TEMPLATES / "paraphrase.prompty")
    code, out, err = run(capsys, "render", path, "--no-samples", "--var", "text=Hello there")
    assert code == 0 and "Tone: \"friendly\"" in out and "Hello there" in out
    code, _, err = run(capsys, "render", path, "--no-samples")
    assert_bad_input(code, err, f"{path}:")
    assert "PK020 missing required input 'text'" in err


def test_render_a_non_semver_version_still_renders(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "render", str(FIXTURES / "bad_semver.prompty"))
    assert code == 0 and "tides" in out, err  # Prompty accepts version "1.2"; lint warns (PK006)


def test_render_resolves_file_sample_references(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "render", str(FIXTURES / "references.prompty"))
    assert code == 0, err
    assert "You help Ada (gold tier)." in out and "Where is my order?" in out


def test_render_warns_about_undeclared_vars(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "render", str(TEMPLATES / "paraphrase.prompty"), "--var", "tonee=formal")
    assert code == 0 and "warning: --var tonee is not a declared input" in err


# --------------------------------------------------------------------------- bad input


def test_render_bad_inputs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    good = str(TEMPLATES / "summarize.prompty")
    cases: list[tuple[list[str], str, str]] = [
        (["render", str(tmp_path / "missing.prompty")], f"{tmp_path / 'missing.prompty'}:1:1:", "cannot read file"),
        (["render", str(tmp_path)], f"{tmp_path}:1:1:", "cannot read file"),
        (["render", good, "--var", "novalue"], "<command line>:1:1:", "is not NAME=VALUE"),
        (["render", good, "--var", "=x"], "<command line>:1:1:", "is not NAME=VALUE"),
        (["render", good, "--var", "max_words=many"], f"{good}:", "PK021 input 'max_words' must be integer"),
        (["render", good, "--vars", str(tmp_path / "nope.json")], f"{tmp_path / 'nope.json'}:1:1:", "vars file not found"),
        (["render", str(FIXTURES / "undefined_var.prompty")], f"{FIXTURES / 'undefined_var.prompty'}:12:33:", "PK022"),
        (["render", str(FIXTURES / "jinja_syntax_error.prompty")], f"{FIXTURES / 'jinja_syntax_error.prompty'}:10:1:", "PK100"),
        (["render", str(FIXTURES / "jinja_runtime_error.prompty")], f"{FIXTURES / 'jinja_runtime_error.prompty'}:15:1:", "PK024"),
        (["render", str(FIXTURES / "sandbox_escape.prompty")], f"{FIXTURES / 'sandbox_escape.prompty'}:5:7:", "PK023"),
        (["render", str(FIXTURES / "invalid_yaml.prompty")], f"{FIXTURES / 'invalid_yaml.prompty'}:5:6:", "PK002"),
        (["render", str(FIXTURES / "lenient_globs.mdc")], f"{FIXTURES / 'lenient_globs.mdc'}:1:1:", "PK004"),
        (["render", good, "--format", "yaml"], "", ""),
    ]
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{\n  "text": "x",\n  "max_words": ,\n}\n', encoding="utf-8")
    cases.append((["render", good, "--vars", str(bad_json)], f"{bad_json}:3:16:", "invalid JSON"))
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("text: ok\naudience: [a, b\nmax_words: 3\n", encoding="utf-8")
    cases.append((["render", good, "--vars", str(bad_yaml)], f"{bad_yaml}:3:", "invalid YAML"))
    a_list = tmp_path / "list.json"
    a_list.write_text("[1, 2]", encoding="utf-8")
    cases.append((["render", good, "--vars", str(a_list)], f"{a_list}:1:1:", "must hold a mapping"))
    toml = tmp_path / "vars.toml"
    toml.write_text("a = 1\n", encoding="utf-8")
    cases.append((["render", good, "--vars", str(toml)], f"{toml}:1:1:", "unsupported vars file type"))
    binary = tmp_path / "image.prompty"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    cases.append((["render", str(binary)], f"{binary}:", "PK001"))
    scalar = FIXTURES / "bad_input" / "sample_scalar.prompty"
    cases.append((["render", str(scalar)], f"{scalar}:6:9:", "sample must be a mapping of input names to values"))
    runaway = FIXTURES / "limits" / "nested_ranges.prompty"
    cases.append((["render", str(runaway)], f"{runaway}:7:1:", "PK024 render limit exceeded"))
    cases.append((["tokens", str(runaway)], f"{runaway}:7:1:", "PK024 render limit exceeded"))
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.prompty"
        os.mkfifo(fifo)
        cases.append((["render", str(fifo)], f"{fifo}:1:1:", "not a regular file"))
        cases.append((["tokens", str(fifo)], f"{fifo}:1:1:", "not a regular file"))
        cases.append((["render", good, "--vars", str(fifo)], f"{fifo}:1:1:", "vars file is not a regular file"))
    project = tmp_path / "project"
    (project / "prompts").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    (tmp_path / "secret.txt").write_text("not for prompts")
    leak = project / "prompts" / "leak.prompty"
    leak.write_text("---\nname: leak\ninputs:\n  q:\n    type: string\n    sample: ${file:../../secret.txt}\n---\n{{ q }}\n")
    cases.append((["render", str(leak)], f"{leak}:6:13:", "points outside the project"))
    bomb = FIXTURES / "bad_input" / "alias_bomb.yaml"
    cases.append((["render", good, "--vars", str(bomb)], f"{bomb}:1:1:", "expands to over 100,000 values"))
    deep_json = tmp_path / "deep.json"
    deep_json.write_text('{"text": ' + "[" * 100_000 + "]" * 100_000 + "}")
    cases.append((["render", good, "--vars", str(deep_json)], f"{deep_json}:1:1:", "nests arrays or objects too deeply"))
    deep_yaml = tmp_path / "deep.yaml"
    deep_yaml.write_text("text: " + "[" * 50_000 + "]" * 50_000 + "\n")
    cases.append((["render", good, "--vars", str(deep_yaml)], f"{deep_yaml}:1:1:", "nests lists or mappings too deeply"))
    typed = project / "prompts" / "typed.prompty"
    typed.write_text("---\nname: typed\ninputs:\n  n:\n    type: integer\n    sample: lots\n---\n{{ n }}\n")
    cases.append((["render", str(typed)], f"{typed}:6:13:", "PK021 sample of input 'n' must be integer, got str 'lots'"))
    for argv, where, what in cases:
        code, out, err = run(capsys, *argv)
        if argv[-1] == "yaml":  # argparse usage error: exit 2, usage text, no traceback
            assert code == 2 and "invalid choice" in err and "Traceback" not in err
            continue
        assert_bad_input(code, err, where)
        assert what in err, (argv, err)
        assert out == "", argv


def test_bad_input_through_the_real_console_script(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("promptkit")
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "promptkit.cli"]
    proc = subprocess.run([*argv, "render", str(FIXTURES / "undefined_var.prompty")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert_bad_input(proc.returncode, proc.stderr, str(FIXTURES / "undefined_var.prompty"))


# --------------------------------------------------------------------------- tokens


def test_tokens_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "tokens", str(TEMPLATES))
    assert code == 0, err
    for p in TEMPLATES.glob("*.prompty"):
        assert str(p) in out
    assert "openai/gpt-4o-mini · o200k_base" in out and "tokens in" in out
    code, out, err = run(capsys, "tokens", str(TEMPLATES / "support_chat.prompty"), "--format", "json")
    doc = json.loads(out)
    (f,) = doc["files"]
    assert [m["role"] for m in f["messages"]] == ["system", "user", "assistant", "user"]
    assert f["total"] == sum(m["tokens"] for m in f["messages"]) + 3 == doc["total"]
    assert f["context_window"] == 128000 and f["exact"] and doc["errors"] == []


def test_tokens_unknown_model_notice_and_no_render(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(FIXTURES / "undefined_var.prompty")
    code, out, err = run(capsys, "tokens", path, "--no-render", "--model", "mistral/mistral-small", "--format", "json")
    assert code == 0, err
    (f,) = json.loads(out)["files"]
    assert not f["exact"] and any("approximate" in n for n in f["notes"])
    code, out, err = run(capsys, "tokens", path, "--model", "mistral/mistral-small")
    assert code == 2  # rendering needs order_id
    assert "PK022" in err


def test_tokens_keeps_counting_after_a_bad_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "gone.prompty"
    code, out, err = run(capsys, "tokens", str(missing), str(TEMPLATES / "paraphrase.prompty"), "--format", "json")
    assert code == 2
    assert_bad_input(code, err, f"{missing}:1:1:")
    doc = json.loads(out)
    assert [f["path"] for f in doc["files"]] == [str(TEMPLATES / "paraphrase.prompty")]
    assert doc["errors"][0]["path"] == str(missing)


def test_tokens_counts_unrenderable_engines_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "tokens", str(FIXTURES / "lenient_globs.mdc"), "--format", "json")
    assert code == 0, err
    (f,) = json.loads(out)["files"]
    assert f["total"] > 5 and f["notes"] == ["a markdown file has no template language; counted as written"]


# --------------------------------------------------------------------------- init


def test_init_scaffolds_a_fresh_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = tmp_path / "proj"
    code, out, err = run(capsys, "init", str(root))
    assert code == 0, err
    for rel in ("prompts/summarize.prompty", "tests/prompts/summarize.prompttest.yaml", ".pre-commit-config.yaml",
                "promptkit.toml"):
        assert (root / rel).is_file() and f"created  {root / rel}" in out
    assert (root / "prompts/summarize.prompty").read_text() == (TEMPLATES / "summarize.prompty").read_text()
    hook = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())["repos"][0]
    assert hook["repo"] == "local" and hook["hooks"][0]["language"] == "system"
    assert hook["hooks"][0]["entry"] == "promptkit lint"  # no virtual environment inside the project
    assert (root / ".gitignore").read_text().splitlines()[1:] == [".promptkit/", ".promptkit_cache/"]
    assert re.search(hook["hooks"][0]["files"], "prompts/summarize.prompty")
    suite = yaml.safe_load((root / "tests/prompts/summarize.prompttest.yaml").read_text())
    assert suite["prompts"] == ["../../prompts/summarize.prompty"]
    assert (root / "tests/prompts" / suite["prompts"][0]).resolve() == (root / "prompts/summarize.prompty").resolve()
    # a second run creates nothing and overwrites nothing
    (root / "prompts/summarize.prompty").write_text("edited\n")
    code, out, err = run(capsys, "init", str(root))
    assert code == 0 and "created" not in out and out.count("skipped") == 5
    assert (root / "prompts/summarize.prompty").read_text() == "edited\n"


def test_init_suite_is_a_valid_test_suite(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    suite_mod = pytest.importorskip("promptkit.runner.suite_file")
    assert run(capsys, "init", str(tmp_path))[0] == 0
    suite = suite_mod.load_suite(tmp_path / "tests/prompts/summarize.prompttest.yaml")
    assert [c.id for c in suite.cases] == ["tram-line"]


def test_init_appends_to_existing_pyproject_and_precommit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "app"\n\n[tool.ruff]\nline-length = 100', encoding="utf-8")  # no final newline
    precommit = tmp_path / ".pre-commit-config.yaml"
    original_hooks = "repos:\n  - repo: https://github.com/pre-commit/pre-commit-hooks\n    rev: v4.6.0\n    hooks:\n      - id: trailing-whitespace\n"
    precommit.write_text(original_hooks, encoding="utf-8")
    code, out, err = run(capsys, "init", str(tmp_path))
    assert code == 0, err
    assert f"updated  {pyproject} ([tool.promptkit] appended)" in out
    data = tomllib.loads(pyproject.read_text())
    assert data["project"]["name"] == "app" and data["tool"]["ruff"]["line-length"] == 100
    assert data["tool"]["promptkit"]["include"] == ["prompts/**/*.prompty"]
    assert not (tmp_path / "promptkit.toml").exists()
    repos = yaml.safe_load(precommit.read_text())["repos"]
    assert [r["repo"] for r in repos] == ["https://github.com/pre-commit/pre-commit-hooks", "local"]
    assert precommit.read_text().startswith(original_hooks)
    # idempotent
    code, out, _ = run(capsys, "init", str(tmp_path))
    assert "already has [tool.promptkit]" in out and "already runs promptkit" in out


def test_init_never_rewrites_what_it_cannot_append_safely(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    precommit = tmp_path / ".pre-commit-config.yaml"
    text = "repos:\n- repo: local\n  hooks: []\ndefault_stages: [pre-commit]\n"  # repos is not the last key
    precommit.write_text(text, encoding="utf-8")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[project\nname = 'broken'\n", encoding="utf-8")
    code, out, err = run(capsys, "init", str(tmp_path))
    assert code == 0, err
    assert precommit.read_text() == text and "add this entry under repos: by hand" in out
    assert pyproject.read_text() == "[project\nname = 'broken'\n" and "not valid TOML" in out


def test_init_in_an_unwritable_folder_keeps_what_it_made(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Permissions cannot be tested as root (CI containers), so the second write fails
    the way a read-only folder makes it fail."""
    import promptkit.commands as commands

    real = commands._write_new

    def write(path: Path, text: str) -> None:
        if "tests" in path.parts:
            raise PermissionError(13, "Permission denied", str(path))
        real(path, text)

    monkeypatch.setattr(commands, "_write_new", write)
    code, out, err = run(capsys, "init", str(tmp_path))
    suite = tmp_path / "tests" / "prompts" / "summarize.prompttest.yaml"
    assert_bad_input(code, err, f"{suite}:1:1: error: promptkit init stopped: Permission denied")
    assert f"created  {tmp_path / 'prompts' / 'summarize.prompty'}" in out


def test_init_leaves_non_utf8_config_files_alone(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b"[project]\nname = 'caf\xe9'\n")
    (tmp_path / ".pre-commit-config.yaml").write_bytes(b"repos: [] # caf\xe9\n")
    code, out, err = run(capsys, "init", str(tmp_path))
    assert code == 0, err
    assert "pyproject.toml (not UTF-8 text; add a [tool.promptkit] table by hand)" in out
    assert "add this entry under repos: by hand" in out
    assert (tmp_path / "pyproject.toml").read_bytes() == b"[project]\nname = 'caf\xe9'\n"


def test_os_errors_are_one_located_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import promptkit.commands as commands

    def boom(_args: object) -> int:
        raise IsADirectoryError(21, "Is a directory", "some/dir")

    monkeypatch.setattr(commands.RENDER, "run", boom)
    code, _, err = run(capsys, "render", "x.prompty")
    assert_bad_input(code, err, "some/dir:1:1: error: Is a directory")


def test_init_on_a_file_is_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "file.txt"
    f.write_text("x")
    code, _, err = run(capsys, "init", str(f))
    assert_bad_input(code, err, f"{f}:1:1:")


# --------------------------------------------------------------------------- robustness

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.text(max_size=80), suffix=st.sampled_from([".json", ".yaml", ".yml"]),
       var=st.text(max_size=30))
def test_arbitrary_vars_never_give_a_traceback(capsys: pytest.CaptureFixture[str], tmp_path_factory: pytest.TempPathFactory,
                                               content: str, suffix: str, var: str) -> None:
    vars_file = tmp_path_factory.mktemp("vars") / f"v{suffix}"
    vars_file.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "render", str(TEMPLATES / "summarize.prompty"), "--vars", str(vars_file), f"--var={var}")
    assert code in (0, 2) and "Traceback" not in err and "internal error" not in err
    if code == 2:
        lines = [ln for ln in err.splitlines() if ln.strip() and ": warning: " not in ln]
        assert len(lines) == 1 and ONE_ERROR_LINE.match(lines[0]), err
    else:
        assert out.startswith("system:\n")


def test_samples_never_read_the_environment(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPTKIT_TEST_SECRET", "sk-live-do-not-print")
    path = str(FIXTURES / "env_sample.prompty")
    code, out, err = run(capsys, "render", path)
    assert_bad_input(code, err, f"{path}:7:13:")
    assert "PROMPTKIT_TEST_SECRET" in err and "sk-live" not in out + err
    code, out, err = run(capsys, "render", path, "--var", "token=abc")  # given explicitly: fine
    assert code == 0 and out == "user:\n<token>abc</token> in Oslo\n"
