"""Rendering Mustache bodies (``template: mustache``, Prompty v2's
``template: {format: {kind: mustache}}``) with `chevron`, the renderer Prompty v2 uses.

Mustache is logic-less, so it cannot reach Python; what needs guarding is the rest:

* partials (``{{> name}}``) are never read from disk (chevron would read ``./name.mustache``
  relative to the working directory): they render empty, as an unknown partial does;
* the render budget (:mod:`promptkit.template.sandbox`) counts every section iteration,
  so nested sections over one list cannot multiply into a render that never ends, and
  the output is refused past the size limit;
* role lines are replaced by nonce markers before rendering, exactly as for Jinja bodies,
  so a value holding ``system:`` stays text.

Values are HTML-escaped by ``{{ name }}`` and raw with ``{{{ name }}}``, as the Mustache
specification (and Prompty) does.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from typing import Any

from promptkit.template.model import PromptTemplate, RenderedMessage


class _Counted(list):  # type: ignore[type-arg]
    """A list whose iteration (a ``{{#section}}``) spends the render budget."""

    def __iter__(self) -> Iterator[Any]:
        from promptkit.template.sandbox import _BUDGET

        b = _BUDGET.get()
        for item in super().__iter__():
            if b is not None:
                b.step()
            yield item


def _counted(value: Any, depth: int = 0) -> Any:
    if depth > 200:
        return value
    if isinstance(value, Mapping):
        return {k: _counted(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return _Counted(_counted(v, depth + 1) for v in value)
    return value


def render(template: PromptTemplate, values: Mapping[str, Any], strict: bool) -> list[RenderedMessage]:
    """Render a Mustache body to chat messages (see :func:`promptkit.template.render.render`)."""
    import chevron

    from promptkit.codes import RENDER_ERROR
    from promptkit.diagnostics import Diagnostic, RenderError
    from promptkit.template import parts
    from promptkit.template.render import _NONCE_VAR, _marked_body, _split, finish, rich_kinds
    from promptkit.template.sandbox import RenderLimitError, budget, current_limits

    nonce = secrets.token_hex(16)
    kinds = rich_kinds(template)
    part_nonce = secrets.token_hex(16) if kinds else ""
    data = dict(values)
    for name in kinds:
        data[name] = parts.marker(part_nonce, name)
    data[_NONCE_VAR] = nonce
    body = _marked_body(template)
    limit = current_limits().max_output
    try:
        with budget():
            out = chevron.render(body, _counted(data), partials_path=None, partials_dict={})
    except RenderLimitError as exc:
        raise RenderError(Diagnostic(template.path, f"render limit exceeded: {exc}", code=RENDER_ERROR.code,
                                     name=RENDER_ERROR.name, hint="bound the sections or the values")) from None
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:  # chevron's syntax errors
        raise RenderError(Diagnostic(template.path, f"mustache error: {exc}", code=RENDER_ERROR.code,
                                     name=RENDER_ERROR.name, span=template.front_matter_span,
                                     hint="close every {{#section}} with {{/section}}")) from None
    if len(out) > limit:
        raise RenderError(Diagnostic(template.path, f"render limit exceeded: the rendered prompt passed {limit:,} characters",
                                     code=RENDER_ERROR.code, name=RENDER_ERROR.name, hint="bound the sections or the values"))
    return finish(template, _split(template, out, nonce), part_nonce, kinds, values)
