"""``--promptkit-shard K/N``: run one deterministic Nth of the collected tests (a CI matrix
job). The split lives in :mod:`promptkit.review.shard`; this module only hooks it in.

PYTEST_DONT_REWRITE: plugin code has no test asserts.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("promptkit").addoption(
        "--promptkit-shard", default=None, metavar="K/N",
        help="run shard K of N (deterministic by test id; merge the jobs' results with `promptkit results merge`)")


@pytest.hookimpl(trylast=True)  # after -k/-m and the other filters: shard what is left
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    value = config.getoption("--promptkit-shard", default=None)
    if not value:
        return
    from promptkit.review.shard import parse_shard, split

    try:
        spec = parse_shard(value)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    kept, dropped = split(items, [i.nodeid for i in items], spec)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept
