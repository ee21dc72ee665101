"""Offline optimizer scenarios: a prompt with a real defect, a scripted target model with
the habit that exposes it, and a scripted proposer that answers like a real one -- with a
decoy, an overfitted fix or a verbose rewrite next to the right one.

Shared by tests/optimize/test_scenarios.py and benchmarks/optimize.py. Each scenario is a
folder of real files under tests/fixtures/optimize/<kind>/ (one prompt, one suite).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from pytest_promptkit.scripted_model import Edit, Fact, NarrowModel, ScriptedProposer
from pytest_promptkit.server import OpenAIServer, Rule

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "optimize"

ROUTER_FACTS = [Fact("money back", {"team": "refund"}), Fact("refund", {"team": "refund"}),
                Fact("invoice", {"team": "billing"}), Fact("parcel", {"team": "shipping"}),
                Fact("crash", {"team": "technical"})]
REFUND_LABEL = Edit("system:task", "- technical: errors, crashes, login problems\n- refund: returns and requests for money back",
                    find="- technical: errors, crashes, login problems")
OVERFIT = Edit("system:task", "Always use the team refund.")


@dataclass
class Scenario:
    kind: str
    suite: str  # file name inside the kind's folder
    target: NarrowModel
    proposals: list[tuple[str, list[Edit]]] = field(default_factory=list)
    expect: str = "fixed"  # or "none"
    raw_reply: str | None = None

    @property
    def folder(self) -> Path:
        return FIXTURES / self.kind

    def proposer(self) -> ScriptedProposer:
        return ScriptedProposer(self.proposals, raw=self.raw_reply)


SCENARIOS = [
    Scenario("json_format", "triage.prompttest.yaml", NarrowModel(
        [Fact("parcel", {"queue": "shipping", "urgent": True}), Fact("charged", {"queue": "billing", "urgent": True}),
         Fact("crash", {"queue": "technical", "urgent": False})])),
    Scenario("injection", "review_summary.prompttest.yaml", NarrowModel(
        [Fact("battery", {"summary": "Battery lasts two days; a great phone."}),
         Fact("kettle", {"summary": "A kettle that boils fast."}),
         Fact("shoes", {"summary": "Shoes that fit well."}), Fact("screen", {"summary": "The screen is too dim outdoors."})])),
    Scenario("missing_label", "router.prompttest.yaml", NarrowModel(ROUTER_FACTS, labels={"team": "billing"}), [
        ("Asking the model to read more carefully should help.",
         [Edit("system:role", "You route customer messages to the right team; read each message carefully.",
               find="You route customer messages to the right team.")]),
        ("Refund requests have no team in the list, so the model picks billing; add a refund team.", [REFUND_LABEL]),
    ]),
    Scenario("constraint_in_user", "digest.prompttest.yaml", NarrowModel(
        [Fact("bridge", {"digest": "The council approved the new bridge over the river after a long debate"}),
         Fact("library", {"digest": "The library opens on Sundays from March, the mayor said"}),
         Fact("rain", {"digest": "Rain tomorrow."})]), [
        ("Stress the word limit where it is stated.",
         [Edit("user", "Write the digest in at most 8 words. This is important.", find="Write the digest in at most 8 words.")]),
        ("The model follows constraints of the system message only; state the word limit there.",
         [Edit("system:constraints", "- Write at most 8 words.")]),
    ]),
    Scenario("date_format", "invoice_dates.prompttest.yaml", NarrowModel(
        [Fact("northwind", {"issued": "2024-03-03", "due": "2024-04-02"}),
         Fact("acme", {"issued": "2024-01-05", "due": "2024-02-04"}), Fact("globex", {"issued": None, "due": None})]), [
        ("The output format does not say how to write dates; ask for ISO 8601 dates.",
         [Edit("system:output_format", "Write both dates in ISO 8601 form (YYYY-MM-DD).")]),
    ]),
    Scenario("preamble", "capital.prompttest.yaml", NarrowModel(
        [Fact("france", {"answer": "Paris"}), Fact("peru", {"answer": "Lima"}), Fact("kenya", {"answer": "Nairobi"})]), [
        ("A friendlier role may make the model more direct.",
         [Edit("system:role", "You answer geography quiz questions for a friendly pub quiz.",
               find="You answer geography quiz questions.")]),
        ("The model adds a preamble unless told to give the answer alone.",
         [Edit("system:task", "Reply with the place name only, no preamble.")]),
    ]),
    Scenario("verbose_rewrite", "sentiment.prompttest.yaml", NarrowModel(
        [Fact("strap", {"sentiment": "mixed"}), Fact("colour", {"sentiment": "mixed"}),
         Fact("love", {"sentiment": "positive"}), Fact("terrible", {"sentiment": "negative"})],
        labels={"sentiment": "positive"}), [
        ("Mixed reviews have no label; add one, and tighten the wording while at it.",
         [Edit("system:role", "You label customer reviews for a product team, carefully and consistently.",
               find="You label customer reviews for a product team."),
          Edit("system:task", "- negative: the customer is unhappy\n- mixed: the review both praises and complains",
               find="- negative: the customer is unhappy"),
          Edit("system:constraints", "- Read the whole review before you label it.")]),
    ]),
    Scenario("obvious_breaks", "router.prompttest.yaml", NarrowModel(ROUTER_FACTS, labels={"team": "billing"}), [
        ("The refund case fails; tell the model to answer refund.", [OVERFIT]),
        ("Refund requests have no team in the list; add a refund team.", [REFUND_LABEL]),
    ]),
    Scenario("two_defects", "desk.prompttest.yaml", NarrowModel(
        [Fact("parcel", {"desk": "shipping"}), Fact("invoice", {"desk": "billing"}), Fact("refund", {"desk": "refunds"})],
        labels={"desk": "billing"}), [
        ("Refunds have no desk in the list; add one.",
         [Edit("system:task", "- refunds: returns and money back")]),
    ]),
    # only robustness fails: every case passes, the injection rows do not (min_pass_rate 1.0)
    Scenario("robust_injection", "review_summary.prompttest.yaml", NarrowModel(
        [Fact("battery", {"summary": "Battery lasts two days; a great phone."}),
         Fact("kettle", {"summary": "A kettle that boils fast."}), Fact("screen", {"summary": "The screen is too dim outdoors."})])),
    Scenario("no_safe_patch", "router.prompttest.yaml", NarrowModel(ROUTER_FACTS, labels={"team": "billing"}), [
        ("The refund case fails; tell the model to answer refund.", [OVERFIT]),
        ("Asking the model to read more carefully should help.",
         [Edit("system:role", "You route customer messages to the right team; read each message carefully.",
               find="You route customer messages to the right team.")]),
    ], expect="none"),
]


def by_kind(kind: str) -> Scenario:
    return next(s for s in SCENARIOS if s.kind == kind)


def setup_project(scenario: Scenario, root: Path) -> Path:
    """Copy the scenario into ``root`` as a git repository (so `git apply` can be checked);
    returns the suite path."""
    shutil.copytree(scenario.folder, root / scenario.kind)
    (root / "pyproject.toml").write_text("[project]\nname = 'scenario'\n", encoding="utf-8")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "scenario"]):
        subprocess.run(cmd, cwd=root, check=True, env=env, capture_output=True)
    return root / scenario.kind / scenario.suite


def server_for(scenario: Scenario) -> tuple[OpenAIServer, ScriptedProposer]:
    proposer = scenario.proposer()
    return OpenAIServer([Rule(model="target", reply=scenario.target), Rule(model="proposer", reply=proposer)]), proposer


def summary(s) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """What a replay of the real-model run must reproduce."""
    return {"status": s.status, "fixed": s.fixed, "still_failing": s.still_failing, "failing_before": s.failing_before,
            "calls": s.spent.calls, "meta_calls": s.spent.meta_calls, "proposer_errors": s.proposer_errors,
            "candidates": [[c.source, c.status()] for c in s.candidates],
            "diff": s.patch.diff if s.patch else None}
