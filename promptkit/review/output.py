"""``promptkit diff`` output: plain text for a terminal, Markdown for a pull-request
comment, JSON for tools.

The Markdown is written to be read in a PR: one summary table first (what changed, the
version verdict, the token delta), then the version findings with the fix, then each prompt's
changes folded in ``<details>``, the results delta and the lint findings on the changed
prompts. It opens with :data:`COMMENT_MARKER`, an HTML comment the CI action searches for to
update its one comment instead of posting a new one on every push. Text taken from the
prompts (a PR author's text) is escaped, so it cannot fake a verdict or inject HTML, and
secret-looking values are masked (:mod:`promptkit.redact`).
"""

from __future__ import annotations

import json
import re
from promptkit.diagnostics import Diagnostic, Severity
from promptkit.redact import redact
from promptkit.review.compare import Review
from promptkit.review.delta import CaseDelta, ResultsDelta
from promptkit.review.semantic import ComponentChange, PromptDiff, TokenDelta

__all__ = ["COMMENT_MARKER", "format_json", "format_markdown", "format_text", "render"]

#: First line of the Markdown: how the CI action finds its own comment.
COMMENT_MARKER = "<!-- promptkit-review -->"

_CONTEXT_WORDS = 6
_MAX_RUN = 240


def _trim_equal(text: str, where: str) -> str:
    words = text.split(" ")
    if len(words) <= 2 * _CONTEXT_WORDS:
        return text
    if where == "start":
        return "… " + " ".join(words[-_CONTEXT_WORDS:])
    if where == "end":
        return " ".join(words[:_CONTEXT_WORDS]) + " …"
    return " ".join(words[:_CONTEXT_WORDS]) + " … " + " ".join(words[-_CONTEXT_WORDS:])


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_RUN else text[: _MAX_RUN - 1] + "…"


def word_runs(words: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Equal runs shortened to a few words of context on each side."""
    out = []
    for i, (op, text) in enumerate(words):
        if op == "=":
            where = "start" if i == 0 else "end" if i == len(words) - 1 else "middle"
            out.append((op, _trim_equal(text, where)))
        else:
            out.append((op, _clip(text)))
    return out


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else ("±0" if n == 0 else str(n))


def _tokens_text(tokens: list[TokenDelta]) -> str:
    parts = []
    for t in tokens:
        if t.before is None:
            parts.append(f"{t.message} new ({t.after})")
        elif t.after is None:
            parts.append(f"{t.message} removed (was {t.before})")
        else:
            parts.append(f"{t.message} {t.before} → {t.after} ({_signed(t.delta)})")
    return ", ".join(parts)


def _version_text(d: PromptDiff) -> str:
    if d.version_before == d.version_after:
        return d.version_after or "-"
    return f"{d.version_before or '-'} → {d.version_after or '-'}"


# --------------------------------------------------------------------------- text


def _text_words(words: list[tuple[str, str]]) -> str:
    return " ".join(text if op == "=" else f"[-{text}-]" if op == "-" else f"{{+{text}+}}"
                    for op, text in word_runs(words))


def _text_component(c: ComponentChange) -> list[str]:
    lines = [f"    {c.summary()}"]
    if c.kind == "changed":
        lines.append(f"      {_text_words(c.words)}")
    return lines


def format_text(review: Review) -> str:
    head = f"{review.head} ({review.head_commit[:10]})" if review.head_commit else review.head
    lines = [f"promptkit diff {review.base} ({review.base_commit[:10]}) → {head}: "
             f"{len(review.diffs)} prompt{'s' if len(review.diffs) != 1 else ''} changed"]
    for d in review.diffs:
        title = d.path if not d.old_path else f"{d.old_path} → {d.path}"
        lines.append("")
        lines.append(f"{title}  [{d.headline()}]  version {_version_text(d)}")
        for c in d.components:
            lines += _text_component(c)
        lines += [f"    {c.summary()}" for c in d.inputs]
        lines += [f"    model: {c.summary()}" for c in d.model]
        lines += [f"    output {c.summary()}" for c in d.schema]
        lines += [f"    {c.summary()}" for c in d.metadata]
        if d.tokens and (any(t.delta for t in d.tokens) or d.status in ("added", "removed")):
            lines.append(f"    tokens: {_tokens_text(d.tokens)}")
        for x in review.lint.get(d.path, []):
            lines.append(f"    lint: {x.format()}")
    if review.delta is not None:
        lines.append("")
        lines += _text_delta(review.delta)
    lines.append("")
    for f in review.findings:
        lines.append(f.format())
    n = len(review.errors)
    lines.append("version check: ok" if n == 0 else f"version check: {n} error{'s' if n != 1 else ''}")
    return redact("\n".join(lines))


def _text_delta(delta: ResultsDelta) -> list[str]:
    lines = ["results delta (base → head):"]
    for bucket in delta.BUCKETS:
        items = getattr(delta, bucket)
        if not items:
            continue
        lines.append(f"  {bucket.replace('_', ' ')} ({len(items)}):")
        for c in items:
            lines.append(f"    {_case_line(c)}")
    counts = delta.counts()
    lines.append("  " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()))
    return lines


def _case_line(c: CaseDelta) -> str:
    parts = [c.id, f"{c.before or '-'} → {c.after or '-'}"]
    if c.passes_before != c.passes_after and (c.passes_before or c.passes_after):
        parts.append(f"passes {c.passes_before or '-'} → {c.passes_after or '-'}")
    if c.score_delta is not None and abs(c.score_delta) > 1e-9:
        parts.append(f"score {c.score_before:.2f} → {c.score_after:.2f}")
    text = "  ".join(parts)
    return f"{text}: {c.reason}" if c.reason else text


# --------------------------------------------------------------------------- markdown

_MD_SPECIAL = re.compile(r"([\\*_\[\]|~$])")
_CODE_SPAN = re.compile(r"(`[^`\n]+`)")


def md(text: str) -> str:
    """Prompt text made inert in Markdown: specials escaped, HTML tags shown as text."""
    text = re.sub(r"[\r\n]+", " ", text)
    parts = _CODE_SPAN.split(text)  # code spans are inert already: left as they are
    return "".join(p if i % 2 else _MD_SPECIAL.sub(r"\\\1", _html(p)).replace("`", "\\`") for i, p in enumerate(parts))


def code(text: str) -> str:
    """Inline code that survives backticks in the text."""
    text = re.sub(r"[\r\n]+", " ", text)
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def _md_words(words: list[tuple[str, str]]) -> str:
    out = []
    for op, text in word_runs(words):
        if op == "=":
            out.append(md(text))
        elif op == "-":
            out.append(f"<del>{md(text)}</del>")
        else:
            out.append(f"<ins>{md(text)}</ins>")
    return " ".join(out)


_ICON = {"added": "➕", "removed": "➖", "moved": "↕️", "renamed": "🏷️", "changed": "✏️", "whitespace": "␣"}


def _md_component(c: ComponentChange) -> str:
    where = code(c.where)
    if c.kind == "changed":
        return f"- {_ICON[c.kind]} {where} changed: {_md_words(c.words)}"
    if c.kind == "moved":
        return f"- {_ICON[c.kind]} {where} moved" + (f" (was {code(c.old_where)})" if c.old_where != c.where else "")
    if c.kind == "renamed":
        return f"- {_ICON[c.kind]} {code(c.old_where or '')} renamed to {where}"
    if c.kind == "whitespace":
        return f"- {_ICON[c.kind]} {where}: whitespace only"
    text = c.words[0][1] if c.words else ""
    shown = f": {'<ins>' if c.kind == 'added' else '<del>'}{md(_clip(text))}{'</ins>' if c.kind == 'added' else '</del>'}" if text else ""
    return f"- {_ICON[c.kind]} {where} {c.kind}{shown}"


def _verdict_cell(review: Review, d: PromptDiff) -> str:
    v = review.verdict_for(d.path)
    if v is None:
        return ""
    errs = [f for f in v.findings if f.severity is Severity.ERROR]
    warns = [f for f in v.findings if f.severity is not Severity.ERROR]
    if errs:
        return "❌ " + ", ".join(sorted({f.code for f in errs}))
    if warns:
        return "⚠️ " + ", ".join(sorted({f.code for f in warns}))
    if v.needed == "none":
        return "✅ no bump needed"
    return f"✅ {v.made} bump"


def _md_finding(f: Diagnostic) -> str:
    icon = "❌" if f.severity is Severity.ERROR else "⚠️"
    where = f"{f.path}:{f.line}" if f.span else f.path
    hint = f" — *fix:* {md(f.hint)}" if f.hint else ""
    return f"- {icon} {code(where)} **{f.code}** {md(f.message)}{hint}"


def format_markdown(review: Review, *, title: str = "promptkit review") -> str:
    n = len(review.diffs)
    errors = review.errors
    head = f"`{md(review.head)}` (`{review.head_commit[:7]}`)" if review.head_commit else md(review.head)
    verdict = "✅ versions ok" if not errors else f"❌ {len(errors)} version error{'s' if len(errors) != 1 else ''}"
    lines = [COMMENT_MARKER, f"## {title}", ""]
    summary = [f"**{n} prompt{'s' if n != 1 else ''} changed**", f"`{md(review.base)}` (`{review.base_commit[:7]}`) → {head}",
               verdict]
    delta = review.delta
    if delta is not None:
        c = delta.counts()
        summary.append(("❌ " if c["newly_failing"] else "✅ ") + f"results: {c['newly_failing']} newly failing, "
                       f"{c['newly_passing']} newly passing, {c['still_failing']} still failing"
                       + (f", {c['unstable']} unstable" if c["unstable"] else ""))
    lines.append(" · ".join(summary))
    lines.append("")
    if n:
        lines += ["| prompt | change | version | tokens | check |", "|---|---|---|---:|---|"]
        for d in review.diffs:
            name = code(d.path) if not d.old_path else f"{code(d.old_path)} → {code(d.path)}"
            tok = ""
            if d.tokens_after is not None or d.tokens_before is not None:
                tok = f"{d.tokens_after if d.tokens_after is not None else '-'} ({_signed(d.token_delta)})"
            lines.append(f"| {name} | {md(d.headline())} | {md(_version_text(d))} | {tok} | {_verdict_cell(review, d)} |")
        lines.append("")
    if review.findings:
        lines.append("### Version check")
        lines += [_md_finding(f) for f in review.findings]
        lines.append("")
    if n:
        lines.append("### Changes")
        for d in review.diffs:
            lines += _md_prompt(review, d)
    if delta is not None:
        lines += _md_delta(delta)
    lint = [(p, x) for p, xs in review.lint.items() for x in xs]
    if lint:
        lines.append(f"### Lint findings on changed prompts ({len(lint)})")
        for _, x in lint[:50]:
            sev = "❌" if x.severity is Severity.ERROR else "⚠️"
            lines.append(f"- {sev} {code(f'{x.path}:{x.line}:{x.column}')} **{x.code}** {md(x.message)}")
        if len(lint) > 50:
            lines.append(f"- … and {len(lint) - 50} more (run `promptkit lint` on the changed files)")
        lines.append("")
    lines.append("<sub>posted by `promptkit diff --format markdown`</sub>")
    return redact("\n".join(lines).rstrip() + "\n")


def _md_prompt(review: Review, d: PromptDiff) -> list[str]:
    open_ = " open" if len(review.diffs) <= 5 else ""
    lines = [f"<details{open_}><summary>{_html_code(d.old_path + ' → ' + d.path if d.old_path else d.path)} — "
             f"{_html(d.headline())}, version {_html(_version_text(d))}</summary>", ""]
    if d.components:
        lines.append("**Components**")
        lines += [_md_component(c) for c in d.components]
        lines.append("")
    if d.inputs:
        lines.append("**Inputs**")
        lines += [f"- {'💥 ' if c.breaking else ''}{md(c.summary())}" for c in d.inputs]
        lines.append("")
    if d.model:
        lines.append("**Model**")
        lines += [f"- {md(c.summary())}" for c in d.model]
        lines.append("")
    if d.schema:
        lines.append("**Output schema**")
        lines += [f"- {'💥 ' if c.breaking else ''}{code(c.path)} {md(c.what)}" for c in d.schema]
        lines.append("")
    if d.metadata:
        lines.append("**Metadata**")
        lines += [f"- {md(c.summary())}" for c in d.metadata]
        lines.append("")
    if d.tokens and (d.status != "modified" or any(t.delta for t in d.tokens)) and (d.status != "renamed" or d.token_delta):
        lines.append(f"**Tokens** {md(_tokens_text(d.tokens))}")
        lines.append("")
    if not d.content_changed and d.status != "added":
        lines += ["No content change." if not d.whitespace_only else "Whitespace only: nothing the model reads changed.", ""]
    lines += ["</details>", ""]
    return lines


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _html_code(text: str) -> str:
    return f"<code>{_html(text)}</code>"


def _md_delta(delta: ResultsDelta) -> list[str]:
    c = delta.counts()
    lines = ["### Results delta (base → head)", "",
             "| newly failing | newly passing | still failing | unstable | score ↓ | score ↑ | errors | new | removed |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
             f"| {c['newly_failing']} | {c['newly_passing']} | {c['still_failing']} | {c['unstable']} | "
             f"{c['score_down']} | {c['score_up']} | {c['errors']} | {c['new_cases']} | {c['removed_cases']} |", ""]
    titles = {"newly_failing": "❌ Newly failing", "score_down": "📉 Score dropped",
              "unstable": "🎲 Unstable (flipped in some repeats only; not counted)", "errors": "⚠️ Errors",
              "still_failing": "Still failing", "newly_passing": "✅ Newly passing", "score_up": "📈 Score rose"}
    for bucket, heading in titles.items():
        items: list[CaseDelta] = getattr(delta, bucket)
        if not items:
            continue
        fold = bucket in ("still_failing", "newly_passing", "score_up", "errors")
        lines.append(f"<details><summary>{heading} ({len(items)})</summary>\n" if fold else f"**{heading} ({len(items)})**\n")
        lines += ["| case | model | passes | score | why |", "|---|---|---|---|---|"]
        for x in items[:30]:
            score = "" if x.score_delta is None else f"{x.score_before:.2f} → {x.score_after:.2f}"
            lines.append(f"| {code(x.prompt + ' :: ' + x.case)} | {code(x.model)} | "
                         f"{x.passes_before or '-'} → {x.passes_after or '-'} | {score} | {md(_clip(x.reason))} |")
        if len(items) > 30:
            lines.append(f"| … {len(items) - 30} more | | | | |")
        lines.append("\n</details>\n" if fold else "")
    return lines


# --------------------------------------------------------------------------- json


def format_json(review: Review) -> str:
    from promptkit.redact import redact_data

    return json.dumps(redact_data(review.to_dict()), indent=2, ensure_ascii=False, default=str)


def render(review: Review, fmt: str) -> str:
    if fmt == "markdown":
        return format_markdown(review)
    if fmt == "json":
        return format_json(review)
    return format_text(review)


