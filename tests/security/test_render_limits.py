"""Rendering always ends, within stated limits, whatever a stranger's PR says.

Each attack is a template body (or an input value) that used to hang a CI job, eat
gigabytes or crash with a Python error. Through the Python API each must be refused with
a located ``PK024``/``PK100`` diagnostic within a few seconds and a bounded amount of
memory; as a stranger's PR (a prompt and a suite, nothing else) run by CI in replay mode,
each case must come back ERROR with the located message, and the run must end.
"""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptkit.diagnostics import RenderError
from promptkit.template import loads, render
from promptkit.template.sandbox import RenderLimits, budget, configure, current_limits

from .conftest import AttackProject, assert_no_traceback

#: name -> (template line, what the refusal says). Measured before the fix (PR #8 audit,
#: 2-core machine): most hung for hours or took 1-3 GB; after, each stops in < 1 s.
ATTACKS: dict[str, tuple[str, str]] = {
    "nested loops over a string": ("{% for a in 'x' * 5000000 %}{% for b in 'xy' %}{% endfor %}{% endfor %}", "steps"),
    "nested ranges under the range cap": (
        "{% for a in range(1000) %}{% for b in range(999) %}{% for c in 'x'*1000 %}{% endfor %}{% endfor %}{% endfor %}",
        "steps"),
    "loop filter that skips everything": ("{% for a in 'x'*3000 %}{% for b in 'x'*3000 if false %}{% endfor %}{% endfor %}",
                                          "steps"),
    "slice into 10**8 parts": ("{{ [1]|slice(10**8)|list|length }}", "render-"),
    "batch of a big string": ("{{ ('x'*10**7)|batch(1)|list|length }}", "steps"),
    "lipsum huge": ("{{ lipsum(n=10**7)|length }}", "lipsum(n=10,000,000"),
    "lipsum in a loop": ("{% for i in range(100000) %}{{ lipsum(5)|length }}{% endfor %}", "render-"),
    "wordwrap width 1": ("{{ ('ab ' * 3000000)|wordwrap(1)|length }}", "steps"),
    "wordwrap long wrapstring": ("{{ ('ab ' * 10000)|wordwrap(2, wrapstring='y'*10000)|length }}", "wordwrap()"),
    "macro fan-out": ("{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}",
                      "render-"),
    "macro body output": ("{% macro m() %}{% for i in range(100000) %}{{ 'x' * 1000000 }}{% endfor %}{% endmacro %}"
                          "{{ m()|length }}", "output"),
    "cycler in nested loops": ("{% set c = cycler(1, 2) %}{% for i in range(1000) %}{% for j in range(999) %}"
                               "{{ c.next() if false }}{% endfor %}{% endfor %}", "render-"),
    "map over a big string": ("{{ ('x'*5000000)|map('upper')|list|length }}", "steps"),
    "%*s width": ("{{ '%*s'|format(999999999, 'x') }}", "%-format"),
    "% operator width": ("{{ '%999999999s' % 'x' }}", "%-format"),
    "% precision": ("{{ '%.999999999f' % 1.0 }}", "%-format"),
    "nested str.format width": ("{{ '{:>{}}'.format('x', 999999999) }}", "format field"),
    "str.format width": ("{{ '{:>999999999}'.format('x') }}", "format field"),
    "indent x lines": ("{{ ('a\\n' * 1000000)|indent(5000) }}", "indent()"),
    "indent by a long string": ("{{ ('a\\n' * 1000000)|indent('x' * 5000) }}", "indent()"),
    "replace empty string": ("{{ ('x'*1000000).replace('', 'y'*1000) }}", "replace()"),
    "replace filter empty string": ("{{ ('x'*1000000)|replace('', 'y'*1000) }}", "replace()"),
    "big nested list as text": ("{{ ([('x'*10**6)|list] * 10**6)|string|length }}", "render-"),
    "big nested list printed": ("{{ [('x'*2000)|list] * 100000 }}", "printed value"),
    "big nested list to json": ("{{ ([('x'*2000)|list] * 100000)|tojson|length }}", "text"),
    "center in a loop": ("{% for i in range(100000) %}{% set a = 'x'.center(9999999) %}{% endfor %}", "render-"),
    "ljust": ("{{ 'x'.ljust(10**9) }}", "ljust(1,000,000,000)"),
    "string times": ("{{ 'x' * 10**9 }}", "'*'"),
    "str.join of a big separator": ("{{ ('x'*10**6).join(['a']*10**6)|length }}", "join()"),
    "join filter big separator": ("{{ (['a']*10**6)|join('x'*10**6)|length }}", "join()"),
    "expandtabs": ("{{ ('\\t'*10**6).expandtabs(10**6)|length }}", "expandtabs("),
    "translate": ("{{ ('x'*10**6).translate({120: 'y'*10**4})|length }}", "translate()"),
    "urlize a big text": ("{{ ('http://a.b ' * 500000)|urlize|length }}", "steps"),
    "urlize long target": ("{{ ('http://a.b ' * 5000)|urlize(target='y'*10**4)|length }}", "urlize()"),
    "truncate long end": ("{{ 'abc'|truncate(1, end='y' * 10000000 ~ 'y' * 10000000) }}", "render-"),
    "format many big values": ("{{ '%s%s%s%s%s%s%s%s%s%s'|format(*(['x'*9000000]*10))|length }}", "%-format"),
    "sum of lists": ("{{ ((([1]*1000),)*10000)|sum(start=[])|length }}", "render-"),
    "tilde doubling": ("{% set ns = namespace(x='x' * 1000) %}{% for i in range(40) %}{% set ns.x = ns.x ~ ns.x %}"
                       "{% endfor %}{{ ns.x|length }}", "'~'"),
    "constant fold at compile time": ("{{ 'x'|center(999999999) }}", "center(999,999,999)"),
}

#: name -> body: nesting that Python cannot compile or Jinja cannot parse: PK100.
DEEP: dict[str, str] = {
    "500 nested ifs": "{% if 1 %}" * 500 + "x" + "{% endif %}" * 500,
    "5000 nested ifs": "{% if 1 %}" * 5000 + "x" + "{% endif %}" * 5000,
    "120 nested ifs": "{% if 1 %}\n" * 120 + "x" + "{% endif %}" * 120,
    "25 nested loops": "{% for i in [1] %}\n" * 25 + "x" + "{% endfor %}" * 25,
    "5000 parentheses": "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
    "500 brackets": "{{ " + "[" * 500 + "1" + "]" * 500 + " }}",
    "3000 filters": "{{ 1" + "|string" * 3000 + " }}",
    "5000 additions": "{{ 1" + "+1" * 5000 + " }}",
}

HEADER = "---\nname: attack\ninputs:\n  question: {type: string, sample: hi}\n---\nsystem:\nAnswer.\n\nuser:\n"
ATTACK_LINE = 10  # the line of the attack in HEADER + body


def _refused(body: str, *, trace: bool = False) -> tuple[RenderError, float, int]:
    """Render ``body``; the error, the seconds it took and (``trace``) its peak memory.
    Timed untraced: tracemalloc makes allocation several times slower."""
    t = loads(HEADER + body + "\n", path="attack.prompty")
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(RenderError) as info:
            render(t, question="hi")
        return info.value, time.perf_counter() - t0, tracemalloc.get_traced_memory()[1] if trace else 0
    finally:
        if trace:
            tracemalloc.stop()


#: Refused in time, but not yet in bounded memory: a macro body's pieces are sized only
#: when joined, so 1 MB pieces pile up until the 2 s clock stops the render (0.7-2.5 GB
#: peak seen). Known gap, kept visible here rather than dropped.
_MEMORY_GAPS = {"macro body output"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(
    reason="macro body pieces are sized only when joined (memory not yet bounded)", strict=False))
    if n in _MEMORY_GAPS else n for n in sorted(ATTACKS)])
def test_every_attack_is_refused_quickly_in_bounded_memory(name: str) -> None:
    body, says = ATTACKS[name]
    err, seconds, _ = _refused(body)
    peak = _refused(body, trace=True)[2]
    d = err.diagnostic
    assert d.code == "PK024", d.format()
    # which limit trips first depends on the machine: on a loaded one the 2 s clock can
    # beat the step or size count, and either is a refusal within bounds
    assert "render" in d.message and (says in d.message or "ran longer than" in d.message), d.format()
    assert d.span is None or d.span.start.line in (1, ATTACK_LINE), d.format()
    assert "limit" in d.message or "steps" in d.message or "longer than" in d.message
    # the time budget is 2 s, plus at most one bounded step; CI machines are shared
    assert seconds < 5, f"{name}: {seconds:.1f} s"
    assert peak < 400 * 1024 * 1024, f"{name}: {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("name", sorted(DEEP))
def test_deep_nesting_is_pk100_never_a_python_error(name: str) -> None:
    err, seconds, _ = _refused(DEEP[name])
    assert err.diagnostic.code == "PK100" and "too deeply" in err.diagnostic.message
    assert seconds < 5


def test_the_messages_say_which_limit_its_value_and_how_to_raise_it() -> None:
    d = _refused("{{ 'x'.ljust(10**9) }}")[0].diagnostic
    assert "10,485,760" in d.message and "render-max-output" in d.message and "[tool.promptkit]" in d.message
    configure(timeout=60)  # so the step count, not a loaded machine's clock, trips first
    try:
        d = _refused(ATTACKS["nested loops over a string"][0])[0].diagnostic
    finally:
        configure()
    assert "1,000,000 steps" in d.message and "render-steps" in d.message
    assert d.format().startswith(f"attack.prompty:{ATTACK_LINE}:")


def test_the_time_budget_stops_slow_steps() -> None:
    """Each step here is slow (a 10 MB string), so time, not steps, is what stops it."""
    configure(RenderLimits(timeout=0.5))
    try:
        t0 = time.perf_counter()
        d = _refused("{% for i in range(100000) %}{% set a = 'x'.center(9999999) %}{% endfor %}")[0].diagnostic
        assert "longer than 0.5 s" in d.message and "render-timeout" in d.message
        assert time.perf_counter() - t0 < 3
    finally:
        configure()


def test_limits_are_settable_and_capped() -> None:
    try:
        assert configure(steps=50).steps == 50
        d = _refused("{% for i in range(100) %}{% endfor %}")[0].diagnostic
        assert "more than 50 steps" in d.message
        huge = configure(RenderLimits(timeout=1e9, steps=10**12, max_output=10**12))
        assert (huge.timeout, huge.steps, huge.max_output) == (60.0, 100_000_000, 256 * 1024 * 1024)
    finally:
        configure()
    assert current_limits() == RenderLimits()


def test_normal_templates_are_untouched() -> None:
    t = loads(HEADER + "{% for w in question.split() %}{{ loop.index }}={{ w|upper|center(7) }}"
              "{{ '%5s|{:>4}'.format(w) if false }}{% endfor %}\n", path="ok.prompty")
    assert render(t, question="a b")[1].content == "1=   A   2=   B"


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.recursive(
    st.sampled_from(["x", "{{ question }}", "{{ question * 3 }}", "{{ question|upper }}", "{{ lipsum(1) }}"]),
    lambda inner: st.one_of(
        st.builds(lambda b: "{% for i in question * 4 %}" + b + "{% endfor %}", inner),
        st.builds(lambda b: "{% if question %}" + b + "{% endif %}", inner),
        st.builds(lambda b: "{% macro m() %}" + b + "{% endmacro %}{{ m() }}{{ m() }}", inner),
        st.builds(lambda a, b: a + b, inner, inner),
    ),
    max_leaves=12,
))
def test_random_nested_templates_end_within_the_budget(body: str) -> None:
    """Random nests of loops, macros and conditions: each render returns or is refused
    with a PK024/PK100 diagnostic, inside the time budget (plus one bounded step)."""
    t = loads(HEADER + body + "\n", path="r.prompty")
    t0 = time.perf_counter()
    try:
        render(t, question="abcdefghij" * 10)
    except RenderError as err:
        assert err.diagnostic.code in ("PK024", "PK100"), err.diagnostic.format()
    assert time.perf_counter() - t0 < current_limits().timeout + 2


# --------------------------------------------------------------------------- as a stranger's PR, in CI


def test_attacks_in_a_pull_request_are_errors_in_ci_replay(attack: AttackProject) -> None:
    """One prompt file per attack, one suite over all of them; CI runs it in replay
    mode. Every case is ERROR with the located message, and the run ends."""
    names = sorted(ATTACKS)[:12] + ["constant fold at compile time", "macro body output"]
    prompts = []
    for i, name in enumerate(names):
        attack.write(f"attacks/a{i}.prompty", HEADER + ATTACKS[name][0] + "\n")
        prompts.append(f"attacks/a{i}.prompty")
    attack.write("attacks/deep.prompty", HEADER + DEEP["25 nested loops"] + "\n")
    prompts.append("attacks/deep.prompty")
    attack.write("attacks/attack.prompttest.yaml", json.dumps({
        "models": [{"id": "openai/gpt-4o-mini"}],
        "prompts": [p.split("/")[1] for p in prompts],
        "cases": [{"id": "c", "vars": {"question": "hi"}}],
    }))
    t0 = time.perf_counter()
    proc = attack.run("test", "attacks/attack.prompttest.yaml", "--mode", "replay",
                      "--results", ".promptkit/results.json", timeout=300)
    elapsed = time.perf_counter() - t0
    out = assert_no_traceback(proc)
    assert proc.returncode != 0, out
    cases = json.loads((attack.root / ".promptkit" / "results.json").read_text())["cases"]
    assert len(cases) == len(prompts)
    for case in cases:
        (sample,) = case["samples"]
        assert case["outcome"] == "error", case
        stem = case["prompt"].rsplit("/", 1)[-1]
        assert sample["error"].startswith(f"{stem}:") or f"/{stem}:" in sample["error"], sample["error"]
        assert ": error: PK024 " in sample["error"] or ": error: PK100 " in sample["error"]
    # 15 attacks, each stopped by a 2 s budget at most, plus start-up on a loaded machine
    assert elapsed < 120, elapsed


def test_deep_nesting_is_a_lint_finding_in_a_pull_request(attack: AttackProject) -> None:
    for name, body in DEEP.items():
        attack.write(f"deep/{name.replace(' ', '_')}.prompty", HEADER + body + "\n")
    proc = attack.run("lint", "deep", "--no-cache", timeout=180)
    out = assert_no_traceback(proc)
    assert proc.returncode != 0
    for name in DEEP:
        assert f"{name.replace(' ', '_')}.prompty:" in out and "PK100" in out, out
    assert "PK000" not in out and "SyntaxError" not in out and "RecursionError" not in out


# --------------------------------------------------------------------------- Jinja in assertion options


def test_assertion_values_render_under_the_same_budget() -> None:
    import asyncio

    from promptkit.runner.assertions import AssertionContext, build_spec, evaluate_one
    from promptkit.runner.results import ModelResponse

    response = ModelResponse(text="Paris", model="m")
    for value in ("{{ lipsum(n=10**7) }}", "{% for a in 'x'*5000000 %}{% for b in 'xy' %}{% endfor %}{% endfor %}",
                  "{{ '%*s'|format(999999999, 'x') }}", "{{ [('x'*2000)|list] * 100000 }}"):
        spec = build_spec({"type": "contains", "value": value})
        t0 = time.perf_counter()
        result = asyncio.run(evaluate_one(spec, response, AssertionContext(vars={"city": "Paris"})))
        assert result.error and not result.passed, result
        assert "render-" in result.reason or "steps" in result.reason, result.reason
        assert time.perf_counter() - t0 < 5
    ok = asyncio.run(evaluate_one(build_spec({"type": "contains", "value": "{{ city }}"}), response,
                                  AssertionContext(vars={"city": "Paris"})))
    assert ok.passed


def test_a_budget_is_per_render() -> None:
    with budget(RenderLimits(steps=10)):
        t = loads(HEADER + "{% for i in range(5) %}{% endfor %}ok\n", path="b.prompty")
        for _ in range(3):  # render() opens its own budget: nested budgets do not add up
            assert render(t, question="q")[1].content == "ok"


# --------------------------------------------------------------------------- the project's own limits


LOOP = HEADER + "{% for i in range(100) %}{% endfor %}done\n"


@pytest.mark.parametrize("command", ["render", "tokens", "lint"])
def test_the_project_config_sets_the_budget_for_every_command(tmp_path, monkeypatch, capsys, command: str) -> None:
    """``render-steps`` in ``[tool.promptkit]`` holds for render, tokens and lint alike
    (every part reads its config through :func:`promptkit.config.read_part`)."""
    from promptkit.cli import main

    (tmp_path / "pyproject.toml").write_text("[tool.promptkit]\nrender-steps = 50\n")
    (tmp_path / "p.prompty").write_text(LOOP)
    monkeypatch.chdir(tmp_path)
    args = {"render": ["render", "p.prompty"], "tokens": ["tokens", "p.prompty"],
            "lint": ["lint", "p.prompty", "--no-cache"]}[command]
    rc = main(args)
    out = capsys.readouterr()
    if command == "lint":  # lint does not render bodies; what it renders is bounded the same
        assert current_limits().steps == 50, out
    else:
        assert rc == 2 and "more than 50 steps" in out.err and "render-steps" in out.err, out
    configure()
    (tmp_path / "pyproject.toml").write_text("[tool.promptkit]\nrender-steps = 5000\n")
    assert main(["render", "p.prompty"]) == 0
    assert current_limits().steps == 5000


def test_a_limit_above_its_ceiling_is_a_located_config_error(tmp_path, monkeypatch, capsys) -> None:
    from promptkit.cli import main

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.promptkit]\nrender-timeout = 3600\n")
    (tmp_path / "p.prompty").write_text(LOOP)
    monkeypatch.chdir(tmp_path)
    for args in (["render", "p.prompty"], ["lint", "p.prompty", "--no-cache"]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.startswith("pyproject.toml:5:1: error: PK010 render-timeout = 3,600") or \
            "pyproject.toml:5:1: error: PK010 render-timeout = 3,600" in err, err
        assert "ceiling of 60" in err
    (tmp_path / "pyproject.toml").write_text("[tool.promptkit]\nrender-steps = 'many'\n")
    assert main(["render", "p.prompty"]) == 2
    assert "render-steps" in capsys.readouterr().err
