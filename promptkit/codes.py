"""Every diagnostic code promptkit reports, in one table: code, name and a one-line summary.

``PR`` codes come from ``promptkit diff``/``lock`` (review). ``PK`` codes come from the loader, the renderer, the config reader and the linter
(``PK0xx`` load and config, ``PK1xx`` template ... ``PK6xx`` clarity; see docs/lint-rules.md);
``PT`` codes from ``promptkit test`` (test files, datasets, results). A code is a public,
stable name -- users put it in ``ignore = [...]``, in ``noqa`` comments and in CI filters --
so each one is written exactly once in the code base and everything else refers to it:

* codes reported outside a lint rule's own ``check`` (by the template loader and renderer,
  the config reader, the runner, the lint engine) are defined below, and the modules that
  report them -- and the lint rules that forward them -- use the constant
  (``codes.UNREADABLE_FILE.code``);
* every other lint rule declares its code once, as the rule's ``code`` attribute, and
  :data:`CODES` takes it in when the rule is registered (:func:`promptkit.lint.rule.register`).

:meth:`CodeTable.define` refuses a code defined twice, so a duplicate cannot be
built; ``tests/test_codes.py`` checks that every code literal in ``promptkit/`` is written
once and is in this table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["CODES", "Code", "CodeTable"]


@dataclass(frozen=True, slots=True)
class Code:
    """One diagnostic code: ``code`` (``PK001``), its kebab-case ``name`` and a summary."""

    code: str
    name: str
    summary: str


@dataclass
class CodeTable:
    """Codes by code. Defining a code twice is a :class:`ValueError`.

    Names are not required to be unique across the table: ``PK022 undefined-variable`` (a
    render error) and the lint rule ``PK101 undefined-variable`` have shared one since
    before this table; among lint rules, where a name is a selector, the
    :class:`~promptkit.lint.ruleset.RuleSet` refuses a name used twice."""

    _codes: dict[str, Code] = field(default_factory=dict)

    def define(self, code: str, name: str, summary: str) -> Code:
        if code in self._codes:
            raise ValueError(f"diagnostic code {code} is defined twice ({self._codes[code].name} and {name})")
        entry = Code(code, name, summary)
        self._codes[code] = entry
        return entry

    def admit(self, code: str, name: str, summary: str) -> Code:
        """A lint rule's code: defined here unless the table defines it already (a rule that
        forwards a loader diagnostic), in which case the names must agree."""
        known = self._codes.get(code)
        if known is None:
            return self.define(code, name, summary)
        if known.name != name:
            raise ValueError(f"rule {name} uses code {code}, which is {known.name}")
        return known

    def __getitem__(self, code: str) -> Code:
        return self._codes[code]

    def get(self, code: str) -> Code | None:
        return self._codes.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self._codes

    def __iter__(self) -> Iterator[Code]:
        return iter(sorted(self._codes.values(), key=lambda c: c.code))

    def __len__(self) -> int:
        return len(self._codes)


#: The table. It holds the codes below from import on, and each lint rule's code once the
#: rules are registered (``promptkit.lint.packs.load_builtin_rules``).
CODES = CodeTable()
_define = CODES.define

# -- PK0xx: loading, configuration, rendering -------------------------------------------

INTERNAL_ERROR = _define("PK000", "internal-error", "promptkit crashed on this file (a rule or the loader); please report")
UNREADABLE_FILE = _define("PK001", "unreadable-file", "the file cannot be read as text (binary, bad encoding, too large)")
INVALID_FRONT_MATTER = _define("PK002", "invalid-front-matter", "the YAML front matter does not parse")
LENIENT_FRONT_MATTER = _define("PK003", "lenient-front-matter", "the front matter is not strict YAML; read by quoting a value")
UNSUPPORTED_TEMPLATE_FORMAT = _define("PK004", "unsupported-template-format",
                                      "the front matter names a template format promptkit cannot render")
EMPTY_FILE = _define("PK005", "empty-file", "a prompt file is empty (or only whitespace)")  # firsthour, #14
FRONT_MATTER_SCHEMA = _define("PK006", "front-matter-schema", "a front-matter field has the wrong type or value")
UNUSED_NOQA = _define("PK009", "unused-noqa", "a noqa directive suppresses nothing, or names an unknown code")
INVALID_CONFIG = _define("PK010", "invalid-config", "a config file or rule pack is invalid")
PATH_OUTSIDE_PROJECT = _define("PK011", "path-outside-project",
                               "a path named by a file leaves the project or enters a VCS folder")
MISSING_INPUT = _define("PK020", "missing-input", "rendering needs an input that was not given")
INPUT_TYPE_MISMATCH = _define("PK021", "input-type-mismatch", "an input value does not match its declared type")
UNDEFINED_VARIABLE = _define("PK022", "undefined-variable", "the template uses a variable that is not defined")
SANDBOX_VIOLATION = _define("PK023", "sandbox-violation", "the template tried to reach what the sandbox refuses")
RENDER_ERROR = _define("PK024", "render-error", "rendering failed (an error raised by the template, or a limit)")
INVALID_RENDERED_ROLE = _define("PK025", "invalid-rendered-role", "a role line produced by rendering is not a known role")
JINJA_SYNTAX_ERROR = _define("PK100", "jinja-syntax-error", "the Jinja template does not parse")

# -- PT: promptkit test ----------------------------------------------------------------

INVALID_YAML = _define("PT001", "invalid-yaml", "a test file is not valid YAML")
INVALID_TEST_FILE = _define("PT002", "invalid-test-file", "a test file does not fit the schema")
INVALID_ASSERTION = _define("PT003", "invalid-assertion", "an assertion is unknown or has bad options")
MISSING_FILE = _define("PT004", "missing-file", "a prompt, suite, dataset or other file named by a test is missing")
INVALID_DATASET = _define("PT005", "invalid-dataset", "a dataset file or row is invalid")
INVALID_RESULTS = _define("PT006", "invalid-results", "a results or baseline file is unreadable or not promptkit's")
REFUSED_CALL_PARAMETER = _define("PT010", "refused-call-parameter",
                                 "a prompt or suite sets a model-call parameter outside the allow-list")

# -- PT04x: promptkit suggest (the optimizer, promptkit/optimize) -----------------------

SUGGEST_RESULTS_MISMATCH = _define("PT040", "suggest-results-mismatch",
                                   "a results file given to `promptkit suggest` holds no case of that suite")
SUGGEST_BAD_BUDGET = _define("PT041", "suggest-bad-budget", "an optimizer budget that allows no model call")
SUGGEST_PROPOSER_FORMAT = _define("PT042", "suggest-proposer-format",
                                  "the proposer model's reply is not in the requested format")
SUGGEST_NOTHING_FAILING = _define("PT043", "suggest-nothing-failing", "the suite has no failing case to fix")
SUGGEST_CASES_ERRORED = _define("PT044", "suggest-cases-errored",
                                "cases ended in ERROR (no key, no recording, a refused file): nothing the prompt could fix")

# -- PT02x: perturbations (promptkit perturb, `perturb:` in test files) ----------------

UNKNOWN_OPERATOR = _define("PT020", "unknown-operator", "a perturbation operator, family or option is unknown")
IMPOSSIBLE_PERTURBATION = _define("PT021", "impossible-perturbation",
                                  "a perturbation has nothing it may change under its constraints "
                                  "(it would have to touch a placeholder or protected text)")
INVALID_PAYLOADS = _define("PT022", "invalid-payloads", "a prompt-injection payload list does not parse or is malformed")

# -- PR: promptkit review (diff, version discipline, lock; owned by review, issue #12) --

VERSION_NOT_BUMPED = _define("PR001", "version-not-bumped", "a prompt's content changed but its version did not")
BREAKING_WITHOUT_MAJOR = _define("PR002", "breaking-change-without-major",
                                 "a breaking change (input removed or newly required, output schema broken) "
                                 "without a major version bump")
VERSION_DOWNGRADED = _define("PR003", "version-downgraded", "a prompt's version went down")
VERSION_MISSING = _define("PR004", "version-missing", "a versioned prompt lost its version, or it is not semver")
LOCK_MISMATCH = _define("PR005", "lock-mismatch", "prompts.lock does not match the prompts (content or version)")
UNVERSIONED_PROMPT = _define("PR006", "unversioned-prompt", "a changed prompt has no version to check")
REVIEW_UNKNOWN_REVISION = _define("PR010", "unknown-revision", "a revision given to promptkit diff names no commit")
REVIEW_GIT_ERROR = _define("PR011", "git-error", "git failed: not a repository, git missing, no common ancestor")
REVIEW_BAD_PROMPT = _define("PR012", "unparseable-prompt-revision",
                            "a changed prompt cannot be read at one revision (binary, bad YAML front matter)")
