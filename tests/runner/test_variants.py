"""Running a suite against an in-memory template (``run_cases(suite, template=...)``):
the hook perturbations and the optimizer use to try variants without writing files."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from promptkit.diagnostics import PromptkitError
from promptkit.runner.engine import RunConfig, Runner, run_cases
from promptkit.runner.recordings import Mode
from promptkit.runner.results import Outcome, RunResults
from promptkit.runner.suite_file import load_suite
from promptkit.template import PromptTemplate, load
from pytest_promptkit.server import OpenAIServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runner" / "variants"
#: A variant that changes the instructions: the scripted model then answers in French.
FRENCH_BODY = "system:\nAnswer in French, in one short line.\n\nuser:\nEn français : {{ question }}\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES, tmp_path / "project")
    (tmp_path / "project" / "promptkit.toml").write_text("", encoding="utf-8")  # the top of the project
    return tmp_path / "project"


def _script(server: OpenAIServer) -> None:
    server.add_rule(pattern=r"^En français", reply="Je ne sais pas.")
    server.add_rule(pattern=r"capital of France", reply="Paris.")
    server.add_rule(pattern=r"capital of Spain", reply="Madrid.")
    server.add_rule(pattern=r"^Shout", reply="HELLO")


def _outcomes(run: RunResults) -> dict[str, Outcome]:
    return {c.case: c.outcome for c in run.cases}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_variant_fails_original_passes_nothing_written_replay_works(project: Path) -> None:
    suite = load_suite(project / "suites" / "answer.prompttest.yaml")
    original = load(project / "prompts" / "answer.prompty")
    variant = original.with_body(FRENCH_BODY)
    prompts_before = _snapshot(project / "prompts")
    with OpenAIServer() as server:
        _script(server)
        cfg = RunConfig(mode=Mode.RECORD, api_base=server.base_url)
        base = run_cases(suite, config=cfg)
        changed = run_cases(suite, template=variant, config=cfg)
        assert {r["body"]["messages"][-1]["content"] for r in server.requests} >= {
            "En français : What is the capital of France?", "What is the capital of France?"}
    assert _outcomes(base) == {"france": Outcome.PASS, "spain": Outcome.PASS}
    assert _outcomes(changed) == {"france": Outcome.FAIL, "spain": Outcome.FAIL}
    assert [c.id for c in changed.cases] == [c.id for c in base.cases]  # compare case by case
    assert changed.cases[0].samples[0].output == "Je ne sais pas."
    assert _snapshot(project / "prompts") == prompts_before  # no file next to the template
    recordings = list((project / "suites" / "__recordings__" / "answer").glob("*.json"))
    assert len(recordings) == 4  # keyed by rendered messages: variant and original apart

    # the server is gone: both replay from their own recordings
    replay = RunConfig(mode=Mode.REPLAY, api_base="http://127.0.0.1:9/v1")
    again = run_cases(suite, template=variant, config=replay)
    assert _outcomes(again) == _outcomes(changed)
    assert all(c.recordings_hit == 1 for c in again.cases)
    assert _outcomes(run_cases(suite, config=replay)) == _outcomes(base)


def test_variant_render_error_is_a_case_error(project: Path) -> None:
    suite = load_suite(project / "suites" / "answer.prompttest.yaml")
    bad = load(project / "prompts" / "answer.prompty").with_body("user:\n{{ questoin }}\n")
    run = run_cases(suite, template=bad, config=RunConfig(mode=Mode.REPLAY))
    assert _outcomes(run) == {"france": Outcome.ERROR, "spain": Outcome.ERROR}
    assert "questoin" in (run.cases[0].samples[0].error or "")


def test_unrecorded_variant_in_replay_says_how_to_record_it(project: Path) -> None:
    suite = load_suite(project / "suites" / "answer.prompttest.yaml")
    variant = load(project / "prompts" / "answer.prompty").with_body(FRENCH_BODY)
    run = run_cases(suite, template=variant, config=RunConfig(mode=Mode.REPLAY), case_ids=["france"])
    [case] = run.cases
    assert case.outcome is Outcome.ERROR and case.recordings_missed == 1
    assert "in-memory variant" in (case.samples[0].hint or "") and "Mode.AUTO" in (case.samples[0].hint or "")


def test_variant_of_one_prompt_in_a_multi_prompt_suite(project: Path) -> None:
    suite = load_suite(project / "suites" / "two.prompttest.yaml")
    shout = load(project / "prompts" / "shout.prompty")
    with OpenAIServer() as server:
        _script(server)
        runner = Runner(RunConfig(mode=Mode.LIVE, api_base=server.base_url))
        try:  # one runner (client, loop) serves many variants
            first = run_cases(suite, template=shout, runner=runner)
            second = run_cases(suite, template=shout.with_body("user:\nWhisper: {{ word }}\n"), runner=runner,
                               case_ids=["shout"])
        finally:
            runner.close()
    assert _outcomes(first) == {"shout": Outcome.PASS}  # only the replaced prompt's cases run
    assert _outcomes(second) == {"shout": Outcome.FAIL}
    assert first.mode == "live"


def test_variant_that_replaces_no_prompt_is_refused(project: Path) -> None:
    from promptkit.template import loads

    suite = load_suite(project / "suites" / "two.prompttest.yaml")
    stray = loads((project / "prompts" / "shout.prompty").read_text(), path=str(project / "elsewhere.prompty"))
    with pytest.raises(PromptkitError) as err:
        run_cases(suite, template=stray, config=RunConfig(mode=Mode.REPLAY))
    message = err.value.diagnostic.format()
    assert "elsewhere.prompty" in message and "not one of the prompts" in message
    assert "path=" in (err.value.diagnostic.hint or "")
    # a one-prompt suite has nothing to choose: any template replaces its prompt
    single = load_suite(project / "suites" / "answer.prompttest.yaml")
    moved = loads((project / "prompts" / "answer.prompty").read_text(), path=str(project / "elsewhere.prompty"))
    assert len(run_cases(single, template=moved, config=RunConfig(mode=Mode.REPLAY)).cases) == 2


def _stricter(original: PromptTemplate) -> PromptTemplate:
    """The extract prompt with ``b`` also required in its output schema and ``count``
    declared an integer: a front-matter-only variant (its messages render the same)."""
    from promptkit.template.edit import set_field

    stricter = set_field(original, "output.schema.required", ["a", "b"]).template
    return set_field(stricter, "inputs.count.type", "integer").template


def test_variant_schema_and_input_types_come_from_the_variant_not_the_file(project: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """json-schema's default schema and dataset coercion read the in-memory template, and a
    variant run reads no file but its recordings (the prompt file is even deleted first)."""
    import builtins
    import io
    import os

    import promptkit.template.loader
    import promptkit.template.source

    suite = load_suite(project / "suites" / "extract.prompttest.yaml")
    prompt = project / "prompts" / "extract.prompty"
    with OpenAIServer() as server:
        server.add_rule(pattern=r"^Extract", reply='{"a": 1}')
        recorded = run_cases(suite, config=RunConfig(mode=Mode.RECORD, api_base=server.base_url))
    assert _outcomes(recorded) == {"row-one": Outcome.PASS, "row-two": Outcome.PASS}  # the file's schema: a
    assert recorded.by_id()[recorded.cases[1].id].vars["count"] == "2"  # the file says string

    variant = _stricter(load(prompt))
    prompt.unlink()  # nothing may need the file from here on
    opened: list[str] = []

    def spy(real: Any) -> Any:
        def wrapper(file: Any, *args: Any, **kwargs: Any) -> Any:
            opened.append(os.fspath(file) if isinstance(file, (str, os.PathLike)) else repr(file))
            return real(file, *args, **kwargs)
        return wrapper

    def no_reading(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a template file was read during a variant run: {args}")

    monkeypatch.setattr(promptkit.template.source, "read", no_reading)
    monkeypatch.setattr(promptkit.template.loader, "load", no_reading)
    for module, name in ((builtins, "open"), (io, "open"), (os, "open")):
        monkeypatch.setattr(module, name, spy(getattr(module, name)))
    run = run_cases(suite, template=variant, config=RunConfig(mode=Mode.REPLAY, api_base="http://127.0.0.1:9/v1"))
    monkeypatch.undo()

    assert _outcomes(run) == {"row-one": Outcome.FAIL, "row-two": Outcome.FAIL}  # the variant's schema: a and b
    for case in run.cases:
        [check] = case.samples[0].assertions
        assert not check.passed and "'b' is a required property" in check.reason and case.recordings_hit == 1
    assert run.cases[1].vars["count"] == 2  # coerced against the variant's declared integer
    recordings = (project / "suites" / "__recordings__").resolve()
    # What a variant run reads: its recordings, and the project config (which decides the
    # project root that recordings are confined to) -- never the prompt, dataset or suite.
    config_names = {"pyproject.toml", "promptkit.toml"}
    data = [p for p in opened if Path(p).name not in config_names]
    assert data, "the replay read its recordings"
    assert all(Path(p).resolve().is_relative_to(recordings) for p in data), opened
    assert len(set(data)) == 2  # one recording per case, and nothing else
