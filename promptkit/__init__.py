"""promptkit: prompts as code.

Public API (kept small, httpx-style)::

    import promptkit
    t = promptkit.load("templates/classify_ticket.prompty")
    messages = promptkit.render(t, ticket="My invoice is wrong")
    promptkit.count_tokens(messages, model="gpt-4o-mini")

Nothing heavy is imported here: ``import promptkit`` must stay fast because the linter
and the pre-commit hook start with it. litellm is imported only by the runner, when a
model is actually called.
"""

from promptkit._version import __version__
from promptkit.diagnostics import Diagnostic, PromptkitError, RenderError, Severity, Span, TemplateLoadError
from promptkit.template import (
    Component,
    Message,
    PromptTemplate,
    RenderedMessage,
    dumps,
    load,
    loads,
    render,
)


def count_tokens(messages, model=None):  # type: ignore[no-untyped-def]
    """Token counts per message and in total; see :mod:`promptkit.tokens`."""
    from promptkit.tokens import count_tokens as _count

    return _count(messages, model=model)


__all__ = [
    "Component", "Diagnostic", "Message", "PromptTemplate", "PromptkitError", "RenderError",
    "RenderedMessage", "Severity", "Span", "TemplateLoadError", "__version__", "count_tokens",
    "dumps", "load", "loads", "render",
]
