"""Rerun what failed: ``promptkit test --last-failed`` and ``pytest --lf``.

pytest's own ``--lf`` lives in its cache plugin, and promptkit runs turn that plugin off
(``-p no:cacheprovider``: a stranger's pull request must not make a run write outside
``.promptkit/``; this repository's addopts do the same). So the plugin keeps its own
short record, ``.promptkit/lastfailed.json``: the node ids (``suite.prompttest.yaml::case[model]``,
stable across runs) of the items whose last run failed or errored, updated like pytest's
cache: a passing run of an item removes it, a failing one adds it, items not run keep
their state.

``--promptkit-last-failed`` (``promptkit test --lf``) selects those items; with the cache
plugin off, plain ``pytest --lf`` / ``--last-failed`` mean the same (when the cache plugin
is on, pytest's ``--lf`` works as usual and this module only keeps its record). No
recorded failure: everything runs, as with pytest's ``--lf``.

PYTEST_DONT_REWRITE: plugin code has no test asserts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

STATE_FILE = ".promptkit/lastfailed.json"
_KEY = "promptkit_lastfailed"
_FORMAT = "promptkit-lastfailed"
_MAX_BYTES = 8 * 1024 * 1024


def _defined(parser: pytest.Parser, name: str) -> bool:
    """Whether another plugin (pytest's cache plugin) already defines option ``name``."""
    groups = [getattr(parser, "_anonymous", None), *getattr(parser, "_groups", [])]
    return any(name in opt.names() for g in groups if g is not None for opt in g.options)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    names = ["--promptkit-last-failed"]
    if not _defined(parser, "--lf") and not pluginmanager.has_plugin("cacheprovider"):
        names += ["--lf", "--last-failed"]  # the cache plugin is off: its flags mean ours
    parser.getgroup("promptkit").addoption(
        *names, action="store_true", default=False, dest="promptkit_last_failed",
        help=f"rerun only the items that failed or errored last time (recorded in {STATE_FILE}); all when none did")


class LastFailed:
    """The record and the selection for one session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.path = Path(config.rootpath) / STATE_FILE
        self.failed: dict[str, bool] = _read(self.path)
        self.changed = False
        self.message: str | None = None

    def active(self) -> bool:
        if self.config.getoption("promptkit_last_failed"):
            return True
        # pytest's --lf parsed, but its plugin is off (addopts -p no:cacheprovider): ours does it
        return bool(getattr(self.config.option, "lf", False)) and not self.config.pluginmanager.has_plugin("cacheprovider")

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if not self.active():
            return
        if not self.failed:
            self.message = f"run-last-failure: no previously failed cases ({STATE_FILE}), running all {len(items)}"
            return
        keep, drop = [], []
        for item in items:
            (keep if item.nodeid in self.failed or item.nodeid.split("::", 1)[0] in self.failed else drop).append(item)
        if not keep:
            self.message = (f"run-last-failure: none of the {len(self.failed)} previous failure(s) is among the "
                            f"selected items, running all {len(items)}")
            return
        items[:] = keep
        if drop:
            config.hook.pytest_deselected(items=drop)
        self.message = f"run-last-failure: rerun previous {len(keep)} failure(s) (skipped {len(drop)} passing)"

    def pytest_report_collectionfinish(self) -> str | None:
        return self.message

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self._set(report.nodeid, True)
        elif report.passed and report.nodeid in self.failed and not report.nodeid.endswith(".py"):
            self._set(report.nodeid, False)  # a suite that collects again is no longer a failure itself

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if _is_worker(self.config):
            return  # the controller keeps the record (it sees every report)
        if report.failed and not hasattr(report, "wasxfail"):
            self._set(report.nodeid, True)
        elif (report.when == "call" and report.passed) or report.skipped:
            self._set(report.nodeid, False)

    def _set(self, nodeid: str, failed: bool) -> None:
        if failed and not self.failed.get(nodeid):
            self.failed[nodeid] = True
            self.changed = True
        elif not failed and nodeid in self.failed:
            del self.failed[nodeid]
            self.changed = True

    def pytest_sessionfinish(self) -> None:
        if not self.changed or _is_worker(self.config):
            return
        from promptkit.atomic import write_atomic
        from promptkit.paths import PathRefused, confine_output

        try:
            target = confine_output(self.path, Path(self.config.rootpath), what="last-failed record",
                                    base=Path(self.config.rootpath), ours=_is_ours)
            text = json.dumps({"format": _FORMAT, "failed": sorted(self.failed)}, indent=1)
            write_atomic(target, text + "\n")
        except (OSError, PathRefused):
            pass  # only a convenience for the next run; never fails this one


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _read(path: Path) -> dict[str, bool]:
    from promptkit.template.source import read_bytes  # bounded, non-blocking reader

    try:
        data = json.loads(read_bytes(path, max_bytes=_MAX_BYTES))
    except Exception:  # noqa: BLE001 - missing, unreadable or not ours: no record
        return {}
    if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(data.get("failed"), list):
        return {}
    return {str(n): True for n in data["failed"]}


def _is_ours(path: Path) -> bool:
    from promptkit.template.source import read_bytes

    try:
        return _FORMAT.encode() in read_bytes(path, max_bytes=_MAX_BYTES)[:256]
    except OSError:
        return False


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(LastFailed(config), _KEY)


def last_failed(config: pytest.Config) -> Any:
    """This session's :class:`LastFailed`."""
    return config.pluginmanager.get_plugin(_KEY)
