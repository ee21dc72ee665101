"""promptkit: prompts as code.

Public API (kept small, httpx-style)::

    import promptkit
    t = promptkit.load("templates/classify_ticket.prompty")
    messages = promptkit.render(t, ticket="My invoice is wrong")
    promptkit.count_tokens(messages, model="gpt-4o-mini")

Names are imported lazily (PEP 562): ``import promptkit`` costs almost nothing, so the
CLI's ``--version`` and the pre-commit hook start fast. litellm is imported only by the
runner, when a model is actually called.

PYTEST_DONT_REWRITE: the package has no test asserts. ``promptkit test`` imports it before
pytest starts; the marker tells pytest (which rewrites the asserts of an installed plugin's
packages) that it need not, so a wheel install prints no PytestAssertRewriteWarning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from promptkit._lazy import lazy_exports
from promptkit._version import __version__

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Diagnostic": "promptkit.diagnostics",
    "PromptkitError": "promptkit.diagnostics",
    "RenderError": "promptkit.diagnostics",
    "Severity": "promptkit.diagnostics",
    "Span": "promptkit.diagnostics",
    "TemplateLoadError": "promptkit.diagnostics",
    "Component": "promptkit.template",
    "Message": "promptkit.template",
    "PromptTemplate": "promptkit.template",
    "RenderedMessage": "promptkit.template",
    "dumps": "promptkit.template",
    "load": "promptkit.template",
    "loads": "promptkit.template",
    "render": "promptkit.template",
    "count_tokens": "promptkit.tokens",
}

#: Written out (not derived from _EXPORTS) so type checkers and linters see the public
#: API; tests/test_public_api.py checks the two agree.
__all__ = [
    "Component",
    "Diagnostic",
    "Message",
    "PromptTemplate",
    "PromptkitError",
    "RenderError",
    "RenderedMessage",
    "Severity",
    "Span",
    "TemplateLoadError",
    "__version__",
    "count_tokens",
    "dumps",
    "load",
    "loads",
    "render",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from promptkit.diagnostics import Diagnostic, PromptkitError, RenderError, Severity, Span, TemplateLoadError
    from promptkit.template import Component, Message, PromptTemplate, RenderedMessage, dumps, load, loads, render
    from promptkit.tokens import count_tokens
