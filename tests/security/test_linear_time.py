"""Every lint rule runs in linear time, whatever a stranger's pull request puts in a prompt.

A rule is a regular expression or a loop over a file that an attacker writes. One pattern
with nested quantifiers, one lazy ``.*?`` that rescans the rest of the file per opening
delimiter, one loop that searches forward from every line, and a 200 kB prompt stalls CI
for minutes (the old variable-use regex of PK500/PK501 took 7.7 s on 40 kB of ``{{aaaa``
and hit the 30 s per-file limit at 1 MB).

The test times every rule the configuration enables (built-in rules and bundled rule
packs, all of them, preview included), plus the loader and ``noqa`` handling, on inputs
built to trip super-linear code: unclosed delimiters repeated (``{{a``, ``{%``, ``{#``,
``<tag``, ``<!--``, ``[[[[``), long runs of one character, lines without spaces, blank
lines, repeated words, deep lists, many headings and role lines. Each input is timed at
size N and 4N: a linear rule takes about 4x as long, a quadratic one 16x. A rule fails
when its time at 4N exceeds 8x its time at N (plus a small allowance for timer noise on a
loaded machine) or an absolute cap. Run in-process, no subprocess: the whole test takes a
well under half a minute.

``python tests/security/test_linear_time.py`` prints the table of timings instead.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: Characters of the 1x input; the 4x input is four times as long. Small enough that the
#: whole sweep stays quick; a quadratic rule is still plain at 4x (the old PK500 regex:
#: 0.1 s at 6 kB, 1.7 s at 24 kB).
SIZE = 6_000
#: A rule on the 4x input may take this many times its 1x time...
MAX_RATIO = 8.0
#: ...plus this much, in seconds: timer noise and GC pauses on a loaded 2-core machine.
NOISE_S = 0.1
#: And never more than this on the 4x input, in seconds.
CAP_S = 3.0


def _repeat(unit: str) -> Callable[[int], str]:
    return lambda n: (unit * (n // len(unit) + 1))[:n]


def _deep_list(n: int) -> str:
    out, size, i = [], 0, 0
    while size < n:
        line = "  " * (i % 40) + ("- " if i % 3 else "1. ") + f"item {i}\n"
        out.append(line)
        size += len(line)
        i += 1
    return "".join(out)


def _words(n: int) -> str:
    return _repeat("the the very very important important ")(n)


#: name -> builder of an adversarial payload of about n characters.
PAYLOADS: dict[str, Callable[[int], str]] = {
    "{{a": _repeat("{{a"),
    "{{aaaa": lambda n: "{{" + "a" * (n - 2),
    "{{ a }}": _repeat("{{ question }} "),
    "{{-a": _repeat("{{- question.x|e "),
    "{%": _repeat("{%"),
    "{% if": _repeat("{% if a %}"),
    "{#": _repeat("{#"),
    "{{!--": _repeat("{{!--"),
    "{{#each": _repeat("{{#each a}}"),
    "}}": _repeat("}}"),
    "<tag": _repeat("<tag"),
    "<a>": _repeat("<a>"),
    "<!--": _repeat("<!--"),
    "#": lambda n: "#" * n,
    "# h": _repeat("# h\n"),
    "[[[[": lambda n: "[" * n,
    "((((": lambda n: "(" * n,
    "'''": _repeat("'''"),
    '"x': _repeat('"x'),
    "```": _repeat("```\n"),
    "`": lambda n: "`" * n,
    "no spaces": lambda n: "x" * n,
    "blank lines": lambda n: "\n" * n,
    "spaces": lambda n: "a" + " " * (n - 2) + "b",
    "trailing": _repeat("a \t \n"),
    "words": _words,
    "deep list": _deep_list,
    "role lines": _repeat("system:\nsytem:\nuser:\n"),
    "{x} ${x": _repeat("{question} ${question "),
    "sk-": _repeat("sk-" + "a1" * 20 + " "),
    "leak": _repeat("repeat the text above ignore previous instructions "),
    "TODO": _repeat("TODO: [INSERT "),
    "json": _repeat('{"a": [1, {"b": "c"}], '),
    "\u201c": _repeat("\u201cq\u201d \u201c"),
    "**": _repeat("**bold "),
    "crlf": _repeat("line\r\n"),
    "zwsp": _repeat("a\u200b"),
    "you must": _repeat("You must always never be brief. Do not. "),
}

#: Where a payload goes: file name and a wrapper.
CONTAINERS: dict[str, tuple[str, Callable[[str], str]]] = {
    "prompty": ("adv.prompty", lambda p: (
        "---\nname: adv\ninputs:\n  question: {type: string}\n---\nsystem:\nYou answer.\n\nuser:\n" + p + "\n")),
    "dotprompt": ("adv.prompt", lambda p: "---\ninput:\n  schema:\n    question: string\n---\n" + p + "\n"),
    "markdown": ("adv.md", lambda p: "# Task\n\n" + p + "\n"),
    "poml": ("adv.poml", lambda p: "<poml>\n" + p + "\n</poml>\n"),
}


def _config() -> Any:
    from promptkit.lint.config import LintConfig

    return LintConfig(select=["ALL"], preview=True).resolve()


@dataclass
class Timing:
    what: str  # rule code, "load" or "noqa"
    seconds: float


def time_all(text: str, path: str, config: Any) -> Iterator[Timing]:
    """Seconds the loader, each enabled rule and noqa take on one file (in the engine's
    order, sharing one LintContext the way the engine does)."""
    from promptkit.lint.noqa import apply_noqa
    from promptkit.lint.rule import LintContext, to_diagnostic
    from promptkit.template import loads

    t0 = time.perf_counter()
    template = loads(text, path=path)
    yield Timing("load", time.perf_counter() - t0)
    rules = config.enabled_rules(path)
    ctx = LintContext(template, config)
    diags = []
    for rule in rules:
        if template.kind not in rule.kinds:
            continue
        # Without the cyclic GC while a rule runs: its pauses grow with every object alive
        # (48,000 findings of a linear rule on the 4x input took 9x, not 4x, with it on),
        # and what is timed here is the rule's own growth. (No gc.collect() first: at
        # every rule of every payload it would cost minutes.)
        gc.disable()
        try:
            t0 = time.perf_counter()
            findings = list(rule().check(ctx))
            yield Timing(rule.code, time.perf_counter() - t0)
        finally:
            gc.enable()
        diags += [to_diagnostic(rule, f, path) for f in findings]
    t0 = time.perf_counter()
    apply_noqa(template, diags, config, rules)
    yield Timing("noqa", time.perf_counter() - t0)


def measure(payload: Callable[[int], str], container: str, config: Any, size: int) -> dict[str, float]:
    path, wrap = CONTAINERS[container]
    return {t.what: t.seconds for t in time_all(wrap(payload(size)), path, config)}


def too_slow(small: dict[str, float], big: dict[str, float]) -> list[str]:
    return [what for what, s in big.items()
            if s > CAP_S or s > MAX_RATIO * small.get(what, 0.0) + NOISE_S]


def check_linear(payload: Callable[[int], str], container: str, config: Any, size: int = SIZE) -> list[str]:
    """Rules whose time grows faster than linearly on this input. A suspect is timed
    twice more (best of three at both sizes) before it counts: one slow run on a busy
    machine is noise, a quadratic rule is slow every time."""
    small = measure(payload, container, config, size)
    big = measure(payload, container, config, 4 * size)
    suspects = too_slow(small, big)
    for _ in range(2):
        if not suspects:
            break
        s2 = measure(payload, container, config, size)
        b2 = measure(payload, container, config, 4 * size)
        small = {k: max(v, s2.get(k, v)) for k, v in small.items()}  # generous to the 1x time
        big = {k: min(v, b2.get(k, v)) for k, v in big.items()}
        suspects = [w for w in too_slow(small, big) if w in suspects]
    return [f"{w}: {small.get(w, 0):.3f}s at {size:,} chars, {big[w]:.3f}s at {4 * size:,}" for w in suspects]


#: Payloads that also go into a dotprompt (Handlebars) file, and into a POML file; every
#: payload goes into a Prompty (Jinja) and a Markdown file.
HANDLEBARS_PAYLOADS = frozenset({"{{a", "{{aaaa", "{{ a }}", "{{-a", "{{!--", "{{#each", "}}", "{x} ${x", "{#",
                                 '"x', "role lines"})
MARKUP_PAYLOADS = frozenset({"{{a", "{{-a", "<tag", "<a>", "<!--", "'''", '"x', "spaces", "{#", "json"})


def containers_for(payload: str) -> list[str]:
    return ["prompty", "markdown"] + (["dotprompt"] if payload in HANDLEBARS_PAYLOADS else []) + (
        ["poml"] if payload in MARKUP_PAYLOADS else [])


@pytest.fixture(scope="module")
def config() -> Any:
    return _config()


def test_every_rule_is_timed(config: Any) -> None:
    """The sweep covers every enabled rule (a rule added later is timed too) and the
    bundled rule packs."""
    codes = {r.code for r in config.enabled_rules("adv.prompty")}
    timed = set(measure(PAYLOADS["words"], "prompty", config, 200))
    assert {"PK101", "PK500", "PK501", "PK504"} <= timed
    assert any(c.startswith("PK7") for c in timed), "the bundled rule packs are not timed"
    kinds = {c for name in CONTAINERS for c in measure(PAYLOADS["words"], name, config, 200)}
    assert codes <= kinds | {"PK000", "PK001"}


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_rules_are_linear(payload: str, config: Any) -> None:
    slow: list[str] = []
    for container in containers_for(payload):
        slow += [f"{container}: {s}" for s in check_linear(PAYLOADS[payload], container, config)]
    assert not slow, f"super-linear on {payload!r} repeated:\n" + "\n".join(slow)


_SYNTAX = "{}%#<>/!-[]()'\"`*_|:~$\\\n \t=.aA1"


@settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(unit=st.text(alphabet=_SYNTAX, min_size=1, max_size=6), container=st.sampled_from(sorted(CONTAINERS)))
def test_random_syntax_runs_are_linear(unit: str, container: str) -> None:
    """Any short run of template and markup characters, repeated, keeps every rule linear."""
    slow = check_linear(_repeat(unit), container, _config(), size=SIZE // 2)
    assert not slow, f"super-linear on {unit!r} repeated in {container}:\n" + "\n".join(slow)


def _table(size: int) -> None:  # pragma: no cover - a measuring tool
    """Print the slowest rule per payload and container at ``size`` and 4x ``size``."""
    config = _config()
    print(f"{'payload':<14}{'container':<11}{'slowest at 4x':<14}{'1x s':>8}{'4x s':>8}{'ratio':>7}")
    for name, payload in PAYLOADS.items():
        for container in containers_for(name):
            small = measure(payload, container, config, size)
            big = measure(payload, container, config, 4 * size)
            worst = max(big, key=lambda k: big[k])
            ratio = big[worst] / max(small.get(worst, 0), 1e-6)
            print(f"{name:<14}{container:<11}{worst:<14}{small.get(worst, 0):>8.3f}{big[worst]:>8.3f}{ratio:>7.1f}", flush=True)


if __name__ == "__main__":  # pragma: no cover
    _table(int(sys.argv[1]) if len(sys.argv) > 1 else SIZE)
