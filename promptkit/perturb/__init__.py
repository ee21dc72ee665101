"""Perturbations: seeded, checked edits of a template and its inputs, for robustness tests.

A prompt that passes on the exact wording of its test inputs can still break on a typo, a
reordered example, another separator or a pasted instruction. This package makes such
variants as small registered operators (:mod:`promptkit.perturb.operator`) in five families
-- ``noise``, ``format``, ``order``, ``content``, ``inputs`` -- that edit the structured
template only through the template edit service, never touch placeholders, syntax or
label words, and are checked after every edit (:func:`check`: same variables, roles and
components; the body still parses).

Public API::

    from promptkit.perturb import get, names, generate, apply, Context

    op = get("typo")                       # or names() for all of them
    for v in generate(template, op, n=5, seed=1, vars={"ticket": "..."}):
        print(v.diff())

Running a suite's cases against the variants and scoring them (pass rate per operator,
PDR, spread, sensitivity, attack success with pass@k) is :func:`promptkit.perturb.run.run_perturbations`;
the Hypothesis strategies are :mod:`promptkit.strategies`.
"""

from __future__ import annotations

from promptkit.perturb.operator import (
    FAMILIES,
    Context,
    Mutation,
    Operator,
    PerturbError,
    VarEdit,
    get,
    names,
    register,
    resolve,
    rng_for,
)
from promptkit.perturb.variant import Variant, apply, check, generate, mutations_for

__all__ = [
    "FAMILIES", "Context", "Mutation", "Operator", "PerturbError", "VarEdit", "Variant", "apply", "check",
    "generate", "get", "mutations_for", "names", "register", "resolve", "rng_for",
]
