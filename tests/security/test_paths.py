"""Confined to the project: a stranger's PR cannot make promptkit read or write outside the
repository, or read its ``.git`` folder, whatever paths, ``..``, absolute paths or symlinks
its data files use (promptkit.paths, PK011).

Each test builds the attacker's project with data files only, runs promptkit (or pytest) as
CI does, and checks three things: the attack is refused with a located ``path:line:col``
message, the secrets (the CI token in ``.git/config``, the file next to the project) appear
in no output and no file promptkit wrote, and nothing was written outside the project.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.security.conftest import ANSWER_PROMPTY, CI_TOKEN, OUTSIDE_SECRET, AttackProject, assert_no_traceback

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="symlinks")

SUITE_HEAD = "prompts: [answer.prompty]\nmodels: [openai/gpt-4o-mini]\n"
#: A prompt with a finding (PK101, a warning: exit 1) the attacker would like to hide.
BAD_PROMPTY = "---\nname: bad\nversion: 1.0.0\ninputs:\n  question: {type: string, sample: q}\n---\nuser:\n{{ questoin }}\n"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_refused(attack: AttackProject, proc, where: str, *, outside_before: dict[str, bytes] | None = None) -> str:
    """Refused (exit 2, or pytest's error), with a PK011 located at ``where``; no secret
    in the output or in any file of the project outside .git; nothing new outside."""
    out = assert_no_traceback(proc)
    assert proc.returncode != 0, out
    assert "PK011" in out, out
    assert where in out, out
    assert_nothing_leaked(attack, out, outside_before)
    return out


def assert_nothing_leaked(attack: AttackProject, out: str, outside_before: dict[str, bytes] | None = None) -> None:
    assert OUTSIDE_SECRET not in out and CI_TOKEN not in out, out
    for p in attack.root.rglob("*"):
        if p.is_file() and not p.is_symlink() and ".git" not in p.relative_to(attack.root).parts:
            text = p.read_bytes()
            assert OUTSIDE_SECRET.encode() not in text and CI_TOKEN.encode() not in text, p
    assert _snapshot(attack.outside) == (outside_before if outside_before is not None
                                         else {"secret.txt": (OUTSIDE_SECRET + "\n").encode()})


def _sample_prompt(ref: str) -> str:
    """The answer prompt with its sample read through ``ref`` (line 7, column 33)."""
    return ANSWER_PROMPTY.replace("question: {type: string, sample: capital of France?}",
                                  f"question: {{type: string, sample: '{ref}'}}")


# --------------------------------------------------------------------------- ${file:} in a prompt


@pytest.mark.parametrize("ref, setup", [
    ("${file:../outside/secret.txt}", None),                      # ..
    ("${file:.git/config}", None),                                # the CI token
    ("${file:docs/../.git/config}", None),                        # .. back into .git
    ("${file:notes/secret.txt}", "link-dir-outside"),             # a symlinked folder
    ("${file:ci.txt}", "link-file-git"),                          # a symlink into .git
    ("${file:deep/er/vcs/config}", "link-nested-git"),            # nested folders, then a link to .git
])
def test_file_reference_in_a_sample_is_refused(attack: AttackProject, ref: str, setup: str | None) -> None:
    (attack.root / "docs").mkdir()
    if setup == "link-dir-outside":
        (attack.root / "notes").symlink_to(attack.outside)
    elif setup == "link-file-git":
        (attack.root / "ci.txt").symlink_to(attack.git_config)
    elif setup == "link-nested-git":
        (attack.root / "deep" / "er").mkdir(parents=True)
        (attack.root / "deep" / "er" / "vcs").symlink_to(attack.root / ".git")
    attack.write("answer.prompty", _sample_prompt(ref))
    proc = attack.run("render", "answer.prompty")
    out = assert_no_traceback(proc)
    assert proc.returncode == 2, out
    assert out.startswith("answer.prompty:7:"), out          # at the sample that names the file
    assert "outside the project" in out or "version-control folder .git/" in out, out
    assert_nothing_leaked(attack, out)


def test_absolute_file_reference_is_refused(attack: AttackProject) -> None:
    attack.write("answer.prompty", _sample_prompt(f"${{file:{attack.secret_file}}}"))
    proc = attack.run("render", "answer.prompty", "--format", "json")
    out = assert_no_traceback(proc)
    assert proc.returncode == 2 and out.startswith("answer.prompty:7:") and "absolute path" in out, out
    assert_nothing_leaked(attack, out)


# --------------------------------------------------------------------------- prompts and suites


def test_symlinked_prompt_out_of_the_project_is_not_linted_or_rendered(attack: AttackProject) -> None:
    (attack.root / "prompts").mkdir()
    (attack.root / "prompts" / "leak.prompty").symlink_to(attack.secret_file)
    (attack.root / "prompts" / "token.prompty").symlink_to(attack.git_config)
    lint = attack.run("lint", "prompts", "--output-format", "json")
    out = assert_no_traceback(lint)
    assert lint.returncode != 0, out
    assert "prompts/leak.prompty:1:1: error: PK011" in out or '"code": "PK011"' in out, out
    assert "version-control folder .git/" in out, out
    assert_nothing_leaked(attack, out)
    for name in ("leak", "token"):  # named one by one, as pre-commit passes changed files
        assert_refused(attack, attack.run("lint", f"prompts/{name}.prompty"), f"prompts/{name}.prompty:1:1")
        assert_refused(attack, attack.run("render", f"prompts/{name}.prompty"), f"prompts/{name}.prompty:1:1")
        assert_refused(attack, attack.run("tokens", f"prompts/{name}.prompty"), f"prompts/{name}.prompty")


def test_suite_prompt_through_a_symlinked_folder_is_refused_located(attack: AttackProject) -> None:
    (attack.outside / "evil.prompty").write_text(ANSWER_PROMPTY.replace("Answer in one word.", OUTSIDE_SECRET))
    before = _snapshot(attack.outside)
    (attack.root / "vendor").symlink_to(attack.outside)
    attack.write("tests/evil.prompttest.yaml",
                 "models: [openai/gpt-4o-mini]\nprompts: [../vendor/evil.prompty]\ncases:\n  - vars: {question: q}\n")
    proc = attack.run("test", "tests")
    assert_refused(attack, proc, "tests/evil.prompttest.yaml:2:11", outside_before=before)
    assert "through a symlink" in proc.stderr + proc.stdout


def test_symlinked_suite_out_of_the_project_is_refused(attack: AttackProject) -> None:
    (attack.outside / "x.prompttest.yaml").write_text(f"# {OUTSIDE_SECRET}\n{SUITE_HEAD}cases:\n  - vars: {{question: q}}\n")
    before = _snapshot(attack.outside)
    (attack.root / "x.prompttest.yaml").symlink_to(attack.outside / "x.prompttest.yaml")
    assert_refused(attack, attack.run("test", "x.prompttest.yaml"), "x.prompttest.yaml", outside_before=before)


# --------------------------------------------------------------------------- datasets and case variables


@pytest.mark.parametrize("dataset, setup", [
    ("../outside/rows.jsonl", None),             # ..
    ("{outside}/rows.jsonl", None),              # absolute
    ("data/rows.jsonl", "link-file"),            # a symlinked file
    ("data/rows.jsonl", "link-dir"),             # a symlinked folder
    (".git/config", None),                       # the CI token, as a "dataset"
    ("data/cfg.jsonl", "link-git"),              # .git through a symlink
])
def test_dataset_outside_the_project_is_refused_at_its_line(attack: AttackProject, dataset: str, setup: str | None) -> None:
    (attack.outside / "rows.jsonl").write_text(json.dumps({"question": OUTSIDE_SECRET}) + "\n")
    before = _snapshot(attack.outside)
    if setup == "link-dir":
        (attack.root / "data").symlink_to(attack.outside)
    elif setup:
        (attack.root / "data").mkdir()
        if setup == "link-file":
            (attack.root / "data" / "rows.jsonl").symlink_to(attack.outside / "rows.jsonl")
        else:
            (attack.root / "data" / "cfg.jsonl").symlink_to(attack.git_config)
    attack.write("answer.prompttest.yaml",
                 SUITE_HEAD + f"cases:\n  - id: rows\n    dataset: {dataset.format(outside=attack.outside)}\n")
    for proc in (attack.run("test", "answer.prompttest.yaml"), attack.pytest("answer.prompttest.yaml")):
        assert_refused(attack, proc, "answer.prompttest.yaml:5:14", outside_before=before)


def test_file_reference_in_case_vars_and_dataset_rows_is_refused(attack: AttackProject) -> None:
    attack.write("answer.prompttest.yaml",
                 SUITE_HEAD + "cases:\n  - id: a\n    vars:\n      question: ${file:../outside/secret.txt}\n")
    assert_refused(attack, attack.run("test", "answer.prompttest.yaml"), "answer.prompttest.yaml:6:17")
    # a dataset row, two folders down, reaching into .git
    attack.write("suites/deep/rows.jsonl", json.dumps({"question": "${file:../../.git/config}"}) + "\n")
    attack.write("suites/deep/a.prompttest.yaml",
                 "prompts: [../../answer.prompty]\nmodels: [openai/gpt-4o-mini]\ncases:\n  - dataset: rows.jsonl\n")
    assert_refused(attack, attack.run("test", "suites"), "suites/deep/rows.jsonl:1:")


# --------------------------------------------------------------------------- assertion files


@pytest.mark.parametrize("entry, where", [
    ("{type: json-schema, value: ../outside/schema.json}", "answer.prompttest.yaml:7:"),
    ("{type: json-schema, value: .git/config}", "answer.prompttest.yaml:7:"),
    ("{type: llm-rubric, value: x, template: ../outside/judge.prompty}", "answer.prompttest.yaml:7:"),
])
def test_assertion_files_outside_are_refused(attack: AttackProject, entry: str, where: str) -> None:
    (attack.outside / "schema.json").write_text(json.dumps({"description": OUTSIDE_SECRET}))
    (attack.outside / "judge.prompty").write_text(ANSWER_PROMPTY.replace("Answer in one word.", OUTSIDE_SECRET))
    before = _snapshot(attack.outside)
    attack.write("answer.prompttest.yaml", SUITE_HEAD + f"cases:\n  - id: a\n    vars: {{question: q}}\n    assert:\n      - {entry}\n")
    assert_refused(attack, attack.run("test", "answer.prompttest.yaml"), where, outside_before=before)


def test_schema_ref_to_a_file_is_never_followed(tmp_path: Path) -> None:
    """``$ref`` in an inline schema: nothing retrieved, neither file nor URL; the check is
    an ERROR that says so (not a pass, not a read)."""
    import asyncio

    from promptkit.runner.assertions import evaluate_one
    from promptkit.runner.assertions.registry import build_spec
    from promptkit.runner.assertions.spec import AssertionContext
    from promptkit.runner.results import ModelResponse

    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"type": "string", "description": OUTSIDE_SECRET}))
    for ref in (secret.as_uri(), "../secret.json", "http://127.0.0.1:9/schema.json"):
        spec = build_spec({"type": "json-schema", "value": {"$ref": ref}})
        result = asyncio.run(evaluate_one(spec, ModelResponse(text='"x"', model="m"), AssertionContext(base_dir=tmp_path / "p")))
        assert result.error and "never fetched" in result.reason, result
        assert OUTSIDE_SECRET not in result.reason


# --------------------------------------------------------------------------- config: rule packs


@pytest.mark.parametrize("packs", ['["../outside/pack.yaml"]', '["packs"]', '[".git/config"]'])
def test_rule_pack_outside_the_project_is_refused_at_the_setting(attack: AttackProject, packs: str) -> None:
    (attack.outside / "pack.yaml").write_text(f"pack: {{name: x}}\nrules: []\n# {OUTSIDE_SECRET}\n")
    before = _snapshot(attack.outside)
    (attack.root / "packs").symlink_to(attack.outside)
    attack.write("pyproject.toml", f'[project]\nname = "victim"\n\n[tool.promptkit]\nrule-packs = {packs}\n')
    assert_refused(attack, attack.run("lint", "answer.prompty"), "pyproject.toml:5:1", outside_before=before)


# --------------------------------------------------------------------------- writes: lint cache


def test_cache_dir_dot_cannot_clobber_gitignore_or_silence_the_linter(attack: AttackProject) -> None:
    attack.write(".gitignore", "build/\n")
    attack.write("bad.prompty", BAD_PROMPTY)
    for value in (".", "prompts", "../outside/cache", ".git"):
        attack.write("prompts/p.prompty", ANSWER_PROMPTY)
        attack.write("pyproject.toml", f'[project]\nname = "victim"\n\n[tool.promptkit]\ncache-dir = "{value}"\n')
        proc = attack.run("lint")
        assert_refused(attack, proc, "pyproject.toml:5:1")
        assert (attack.root / ".gitignore").read_text() == "build/\n"
        assert not (attack.root / "CACHEDIR.TAG").exists() and not (attack.root / "prompts" / ".gitignore").exists()
    attack.write("pyproject.toml", '[project]\nname = "victim"\n\n[tool.promptkit]\n')
    proc = attack.run("lint")
    assert proc.returncode == 1 and "bad.prompty" in proc.stdout, proc.stdout + proc.stderr  # still finds it


def test_committed_or_symlinked_default_cache_is_not_used(attack: AttackProject) -> None:
    """A forged cache in the PR saying "no findings" (a committed .promptkit_cache, or one
    symlinked elsewhere) does not silence the linter."""
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git not installed")
    bad = attack.write("bad.prompty", BAD_PROMPTY)
    first = attack.run("lint", "bad.prompty")
    assert first.returncode == 1
    cache = attack.root / ".promptkit_cache"
    [cache_file] = list(cache.glob("lint-*.json"))
    data = json.loads(cache_file.read_text())
    data["entries"] = {k: [v[0], []] for k, v in data["entries"].items()}  # forged: no findings
    cache_file.write_text(json.dumps(data))
    assert attack.run("lint", "bad.prompty").returncode == 0  # a cache of one's own is trusted...
    subprocess.run(["git", "init", "-q"], cwd=attack.root, check=True)
    (attack.root / ".git" / "config").write_text(attack.git_config.read_text() if attack.git_config.exists() else "")
    subprocess.run(["git", "add", "-f", str(cache_file)], cwd=attack.root, check=True)
    proc = attack.run("lint", "bad.prompty")  # ...one committed to the repository is not
    assert proc.returncode == 1 and "bad.prompty" in proc.stdout, proc.stdout + proc.stderr
    shutil.rmtree(cache)
    (attack.outside / "c").mkdir()
    cache.symlink_to(attack.outside / "c")
    proc = attack.run("lint", "bad.prompty")
    assert proc.returncode == 1 and list((attack.outside / "c").iterdir()) == []
    assert bad.exists()


def test_cache_clean_up_deletes_only_its_own_files(tmp_path: Path) -> None:
    from promptkit.lint.cache import _TAG, clear, own_cache_files

    d = tmp_path / "c"
    d.mkdir()
    (d / "lint-0123456789abcdef0123.json").write_text("{}")
    (d / "lint-notes.json").write_text("mine")
    (tmp_path / "lint-aaaaaaaaaaaaaaaaaaaa.json").write_text("outside")
    (d / "lint-bbbbbbbbbbbbbbbbbbbb.json").symlink_to(tmp_path / "lint-aaaaaaaaaaaaaaaaaaaa.json")
    assert clear(d) == 0 and len(list(d.iterdir())) == 3  # not a promptkit folder: nothing deleted
    (d / "CACHEDIR.TAG").write_text(_TAG)
    assert [p.name for p in own_cache_files(d)] == ["lint-0123456789abcdef0123.json"]
    assert clear(d) == 1
    assert sorted(p.name for p in d.iterdir()) == ["CACHEDIR.TAG", "lint-bbbbbbbbbbbbbbbbbbbb.json", "lint-notes.json"]
    assert (tmp_path / "lint-aaaaaaaaaaaaaaaaaaaa.json").read_text() == "outside"


# --------------------------------------------------------------------------- writes: results, baseline


@pytest.mark.parametrize("key, value", [
    ("results", ".gitignore"), ("results", "pyproject.toml"), ("results", "."), ("results", "../outside/r.json"),
    ("results", ".git/config"), ("baseline", "../outside/b.json"), ("results", "out/r.json"),
])
def test_results_and_baseline_settings_stay_inside_and_never_overwrite(attack: AttackProject, key: str, value: str) -> None:
    attack.write(".gitignore", "build/\n")
    (attack.root / "out").symlink_to(attack.outside)
    attack.write("answer.prompttest.yaml", SUITE_HEAD + "cases:\n  - id: a\n    vars: {question: q}\n")
    config = f'[project]\nname = "victim"\n\n[tool.promptkit.test]\n{key} = "{value}"\n'
    attack.write("pyproject.toml", config)
    before = _snapshot(attack.root)
    argv = ["test", "answer.prompttest.yaml"] + (["--update-baseline"] if key == "baseline" else [])
    proc = attack.run(*argv)
    assert_refused(attack, proc, "pyproject.toml:5:1")
    after = _snapshot(attack.root)
    assert {k: v for k, v in after.items() if not k.startswith(".git/")} == \
        {k: v for k, v in before.items() if not k.startswith(".git/")}


def test_results_on_the_command_line_may_point_outside_but_never_over_a_foreign_file(attack: AttackProject) -> None:
    """The command line is the user's own choice (documented): a results file outside the
    project is written; a file that is not a results file is never replaced."""
    attack.write("answer.prompttest.yaml", SUITE_HEAD + "cases:\n  - id: a\n    vars: {question: q}\n")
    target = attack.outside / "results.json"
    proc = attack.run("test", "answer.prompttest.yaml", "--results", str(target))
    assert "PK011" not in proc.stdout + proc.stderr and json.loads(target.read_text())["cases"], proc.stdout + proc.stderr
    proc = attack.run("test", "answer.prompttest.yaml", "--results", "pyproject.toml")
    assert_refused(attack, proc, "pyproject.toml", outside_before=_snapshot(attack.outside))
    assert "victim" in (attack.root / "pyproject.toml").read_text()


# --------------------------------------------------------------------------- recordings


@pytest.mark.parametrize("mode", ["replay", "record"])
def test_symlinked_recordings_folder_is_refused(attack: AttackProject, mode: str) -> None:
    """Replay (CI) would read recordings from outside; record would write them there."""
    from pytest_promptkit.server import OpenAIServer

    (attack.outside / "recs").mkdir()
    (attack.root / "__recordings__").symlink_to(attack.outside / "recs")
    attack.write("answer.prompttest.yaml", SUITE_HEAD + "cases:\n  - id: a\n    vars: {question: q}\n")
    with OpenAIServer(default_reply="Paris") as server:
        proc = attack.run("test", "answer.prompttest.yaml", "--mode", mode, "--api-base", server.base_url,
                          "--retries", "0", env={"OPENAI_API_KEY": "sk-test"})
    out = assert_no_traceback(proc)
    assert proc.returncode != 0 and "PK011" in out and "recordings folder" in out, out
    assert list((attack.outside / "recs").iterdir()) == []
    assert_nothing_leaked(attack, out, _snapshot(attack.outside))


# --------------------------------------------------------------------------- widening: --project-root


def test_project_root_on_the_command_line_widens_and_only_it(attack: AttackProject) -> None:
    (attack.outside / "rows.jsonl").write_text(json.dumps({"question": "shared question"}) + "\n")
    attack.write("answer.prompttest.yaml", SUITE_HEAD + "cases:\n  - id: rows\n    dataset: ../outside/rows.jsonl\n")
    refused = attack.run("test", "answer.prompttest.yaml")
    assert "PK011" in refused.stdout + refused.stderr
    widened = attack.run("test", "--project-root", str(attack.root.parent), "answer.prompttest.yaml")
    assert "PK011" not in widened.stdout + widened.stderr, widened.stdout + widened.stderr
    # a config file cannot set it: there is no such setting
    attack.write("pyproject.toml", f'[project]\nname = "victim"\n\n[tool.promptkit]\nproject-root = "{attack.root.parent}"\n')
    proc = attack.run("lint", "answer.prompty")
    assert proc.returncode == 2 and "unknown setting 'project-root'" in proc.stderr, proc.stderr
    assert os.path.exists(attack.secret_file)
