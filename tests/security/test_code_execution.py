"""No code runs from data.

An attacker's PR adds only data files: a suite whose ``python``/``pydantic`` assertion
names a standard-library or installed function, a YAML tag that constructs Python
objects, a schema ``$ref`` to their server. The model's reply (from a recording the PR
also commits, or from the local server) is a shell command that would create a marker
file. Each attack must be refused -- at load time with a located error where it can be --
and the marker must never appear.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from pytest_promptkit.server import OpenAIServer
from tests.security.conftest import AttackProject, assert_no_traceback

SUITE = """prompts: [answer.prompty]
cases:
  - id: pwn
    vars: {{question: capital of France?}}
    assert:
      - {{type: {kind}, value: '{value}'}}
"""

MODULE_REFS = [
    ("python", "os:system"),
    ("python", "subprocess:getoutput"),
    ("python", "builtins:eval"),
    ("python", "importlib:import_module"),
    ("python", "os.path:exists"),
    ("pydantic", "subprocess:Popen"),
    ("callable", "pty:spawn"),
]


@pytest.fixture
def shell_reply(attack: AttackProject) -> Iterator[tuple[OpenAIServer, str]]:
    marker = attack.outside / "PWNED"
    with OpenAIServer(default_reply=f"touch {marker}") as server:
        yield server, str(marker)


@pytest.mark.parametrize(("kind", "value"), MODULE_REFS[:2])
def test_module_paths_are_a_load_time_error(attack: AttackProject, kind: str, value: str,
                                             shell_reply: tuple[OpenAIServer, str]) -> None:
    server, marker = shell_reply
    suite = attack.write("pwn.prompttest.yaml", SUITE.format(kind=kind, value=value))
    proc = attack.run("test", "--mode", "record", "--api-base", server.base_url, ci=False)
    out = assert_no_traceback(proc)
    assert proc.returncode == 2, out
    assert f"{suite.name}:6:" in out, out  # located at the assertion
    assert "project" in out and value in out, out
    assert server.calls == 0  # refused before any call
    assert not __import__("os").path.exists(marker)


@pytest.mark.parametrize(("kind", "value"), MODULE_REFS)
def test_every_module_path_is_refused_when_the_suite_loads(kind: str, value: str) -> None:
    from promptkit.runner.assertions import SpecError, build_spec

    with pytest.raises(SpecError, match="standard library"):
        build_spec({"type": kind, "value": value})


def test_installed_module_names_are_not_imported(attack: AttackProject, shell_reply: tuple[OpenAIServer, str]) -> None:
    """A non-stdlib module on sys.path (pytest, litellm...) is looked for as a project file."""
    server, marker = shell_reply
    attack.write("pwn.prompttest.yaml", SUITE.format(kind="python", value="pytest:main"))
    proc = attack.run("test", "--mode", "record", "--api-base", server.base_url, ci=False)
    out = assert_no_traceback(proc)
    assert proc.returncode == 2 and "pytest.py" in out, out


def test_python_file_outside_the_project_or_symlinked_out_is_refused(attack: AttackProject,
                                                                     shell_reply: tuple[OpenAIServer, str]) -> None:
    server, marker = shell_reply
    evil = attack.outside / "evil.py"
    evil.write_text(f"import pathlib\ndef check(output):\n    pathlib.Path({marker!r}).touch()\n    return True\n",
                    encoding="utf-8")
    (attack.root / "linked.py").symlink_to(evil)
    for value in ("../outside/evil.py:check", str(evil) + ":check", "linked.py:check", "linked:check"):
        attack.write("pwn.prompttest.yaml", SUITE.format(kind="python", value=value))
        proc = attack.run("test", "--mode", "record", "--api-base", server.base_url, ci=False)
        out = assert_no_traceback(proc)
        assert proc.returncode in (1, 2), out
        assert "outside the project" in out or "refused" in out, out
        assert not __import__("os").path.exists(marker), value


def test_names_imported_into_a_project_file_are_refused(tmp_path) -> None:
    from promptkit.runner.assertions.project_code import CodeRefused, import_object

    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "checks.py").write_text("import os\nfrom subprocess import getoutput\ndef ok(o):\n    return True\n",
                                        encoding="utf-8")
    assert import_object("checks.py:ok", tmp_path)("x") is True
    for ref in ("checks.py:os.system", "checks.py:getoutput", "checks:getoutput"):
        with pytest.raises(CodeRefused, match="not defined in checks.py"):
            import_object(ref, tmp_path)
    for ref in ("checks.py:__builtins__", "checks.py:_private", "checks.py:ok.__globals__"):
        with pytest.raises(CodeRefused):
            import_object(ref, tmp_path)


def test_installed_code_inside_the_checkout_is_refused(tmp_path) -> None:
    """``uv sync`` leaves a .venv inside the checkout: its packages are not the project's
    code, so a suite cannot name a function there (one that runs its argument, say)."""
    from promptkit.runner.assertions.project_code import CodeRefused, import_object

    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    venv = tmp_path / ".venv"
    pkg = venv / "lib" / "python3.11" / "site-packages" / "tool"
    pkg.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    (pkg / "run.py").write_text("def run(cmd):\n    raise SystemExit('executed ' + cmd)\n", encoding="utf-8")
    env = tmp_path / "env" / "lib"
    env.mkdir(parents=True)
    (tmp_path / "env" / "pyvenv.cfg").write_text("", encoding="utf-8")
    (env / "helper.py").write_text("def run(cmd):\n    raise SystemExit('executed ' + cmd)\n", encoding="utf-8")
    for ref, where in ((".venv/lib/python3.11/site-packages/tool/run.py:run", "site-packages/"),
                       ("env/lib/helper.py:run", "virtual environment env/")):
        with pytest.raises(CodeRefused, match=where):
            import_object(ref, tmp_path)


@pytest.mark.parametrize("where", ["suite", "front-matter"])
def test_yaml_python_tags_construct_nothing(attack: AttackProject, where: str) -> None:
    marker = attack.outside / "PWNED"
    tag = f"!!python/object/apply:os.system ['touch {marker}']"
    if where == "suite":
        attack.write("pwn.prompttest.yaml", f"prompts: [answer.prompty]\ncases:\n  - id: x\n    vars: {{question: {tag}}}\n"
                                            "    assert: [{icontains: paris}]\n")
        proc = attack.run("test")
    else:
        attack.write("pwn.prompty", f"---\nname: pwn\ndescription: {tag}\n---\nuser:\nhi\n")
        proc = attack.run("lint", "pwn.prompty")
    out = assert_no_traceback(proc)
    assert proc.returncode in (1, 2), out
    assert "python/object" in out, out
    assert not marker.exists()


class _Hits(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"type": "integer"}')

    def log_message(self, *args: object) -> None:
        pass


def test_schema_refs_never_reach_the_network(tmp_path) -> None:
    from promptkit.schemas import offline_validator, unresolvable

    server = http.server.HTTPServer(("127.0.0.1", 0), _Hits)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/schema.json"
        schema = {"type": "object", "properties": {"a": {"$ref": url}}, "$defs": {"n": {"type": "number"}},
                  "required": ["a"]}
        with pytest.raises(Exception) as info:  # noqa: PT011 - referencing's error class varies by version
            list(offline_validator(schema).iter_errors({"a": "x"}))
        assert unresolvable(info.value) == url
        local = {"properties": {"a": {"$ref": "#/$defs/n"}}, "$defs": {"n": {"type": "number"}}}
        assert [e.message for e in offline_validator(local).iter_errors({"a": "x"})] == ["'x' is not of type 'number'"]
        assert _Hits.hits == []
    finally:
        server.shutdown()
