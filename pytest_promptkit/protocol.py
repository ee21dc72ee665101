"""A lighter run-test protocol for sessions made only of prompt cases.

pytest runs every item through ``pytest_runtest_setup/call/teardown``, and around each
of the three phases its capture, logging and skipping plugins switch file descriptors,
install log handlers and evaluate marks: about a millisecond per item, a second for
1,000 replayed cases whose results were computed in one batch long before. A case item
has no fixtures, no marks to evaluate and no Python body of its own, so here, when every
collected item is a :class:`~pytest_promptkit.items.CaseItem`, each item runs as:

* ``pytest_runtest_logstart``; the item's collectors set up (pytest's own setup state),
  ``setup()``, ``runtest()``, teardown -- each phase a :class:`pytest.CallInfo` -- with
  output captured once around the three (``Captured stdout setup`` in a report, as before);
* then, for each phase, ``pytest_runtest_makereport`` and ``pytest_runtest_logreport``
  (the terminal, ``--junitxml``, ``-x``, xdist, ``--lf`` and the promptkit summary all
  see the same reports as before), and ``pytest_runtest_logfinish``.

Not called for case items: the ``pytest_runtest_setup/call/teardown`` hooks (so no
per-phase log capture: log records go to pytest's session-wide handlers) and
``PYTEST_CURRENT_TEST`` is not set. Any other session -- one with a Python test, or run
with ``--pdb``, ``--trace``, ``--setup-only``/``--setup-show``/``--setup-plan`` -- keeps
pytest's protocol for every item, as does ``-p no:pytest_promptkit.protocol``.

PYTEST_DONT_REWRITE: plugin code has no test asserts.
"""

from __future__ import annotations

from typing import Any

import pytest

_KEY = pytest.StashKey[bool]()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from pytest_promptkit.items import CaseItem

    opt = config.option
    config.stash[_KEY] = (
        bool(items)
        and all(type(i) is CaseItem for i in items)
        and not any(getattr(opt, name, False) for name in ("usepdb", "trace", "setuponly", "setupshow", "setupplan"))
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    if not item.config.stash.get(_KEY, False):
        return None
    setupstate = getattr(item.session, "_setupstate", None)
    if setupstate is None:  # pytest moved its internals: its own protocol then
        return None
    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    reraise: tuple[type[BaseException], ...] = (pytest.exit.Exception, KeyboardInterrupt)
    capman = item.config.pluginmanager.get_plugin("capturemanager")
    calls: list[pytest.CallInfo[None]] = []
    if capman is not None:
        capman.resume_global_capture()
    try:
        setup = pytest.CallInfo.from_call(lambda: setupstate.setup(item), when="setup", reraise=reraise)
        calls.append(setup)
        if setup.excinfo is None:
            calls.append(pytest.CallInfo.from_call(item.runtest, when="call", reraise=reraise))
        calls.append(pytest.CallInfo.from_call(lambda: setupstate.teardown_exact(nextitem), when="teardown",
                                               reraise=reraise))
    finally:
        if capman is not None:
            capman.suspend_global_capture(in_=False)
            out, err = capman.read_global_capture()
            item.add_report_section("setup", "stdout", out)
            item.add_report_section("setup", "stderr", err)
    for call in calls:
        report = ihook.pytest_runtest_makereport(item=item, call=call)
        ihook.pytest_runtest_logreport(report=report)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def enabled(config: Any) -> bool:
    """Whether this session's case items run through the lighter protocol."""
    return bool(config.stash.get(_KEY, False))
