"""Output polish: costs with significant digits, one outcome word per failing case."""

from __future__ import annotations

from promptkit.runner.report import money


def test_costs_keep_their_significant_digits() -> None:
    assert [money(x) for x in (0.0, 0.00042123, 0.0123456, 0.5, 1.2549, 1234.5, 0.000000123)] == \
        ["0", "0.00042", "0.012", "0.5", "1.25", "1,234.50", "0.00000012"]


def test_a_failing_case_says_fail_once() -> None:
    """``<id>: FAIL`` heads the reasons; never ``FAIL: <id>: FAIL``."""
    from pytest_promptkit.items import CaseItem, PromptkitCaseFailure

    class Info:
        value = PromptkitCaseFailure("s.prompttest.yaml::c[m]: FAIL\n  contains failed: ...")

    text = CaseItem.repr_failure(object.__new__(CaseItem), Info())  # type: ignore[arg-type]
    assert text.startswith("s.prompttest.yaml::c[m]: FAIL") and "FAIL: " not in text
