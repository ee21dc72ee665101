"""What a template's body *does* with its inputs, and which of its text is prose.

One analysis of a loaded :class:`~promptkit.template.model.PromptTemplate`, shared by the
linter (undefined variables, unused inputs, untrusted input placement), and by the parts
that edit templates (perturbations, the optimizer, review): where is ``{{ ticket }}``
used, in which message and component, inside which loop or condition; which declared
inputs the body never reads; and which spans are instruction prose that may be rewritten,
as opposed to template syntax, code, examples and literals that must stay as they are.

``analyze(template)`` computes it once per template object and caches it (templates are
treated as immutable: an edit makes a new one). Everything here runs in time linear in
the size of the file -- a template is a stranger's pull request, and a linter that a
40 kB line of ``{{aaaa`` stalls for seconds is a denial of service.

How the positions are found: Jinja's AST knows which names are read or bound, but only
their line. A small linear scanner finds every ``{{ }}`` / ``{% %}`` / ``{# #}`` tag
with exact offsets and tokenizes the inside of each tag the way Jinja's lexer does
(strings, brackets); each AST name is then matched, in source order, to the next token of
that name on its line. When the body does not parse, the tokens alone give the uses
(:attr:`TemplateAnalysis.parsed` is False, and bound/free is a best guess). Handlebars and
Mustache bodies (dotprompt) are tokenized tag by tag.

This module depends on the template model only: nothing from ``promptkit.lint`` or
``promptkit.runner``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from promptkit.diagnostics import Diagnostic, Span
from promptkit.template.model import Component, Engine, FileKind, Message, PromptTemplate

__all__ = [
    "JINJA_GLOBALS", "HandlebarsTag", "Region", "RegionKind", "Scope", "TemplateAnalysis", "TemplateTag",
    "VariableUse", "analyze",
]

#: Most enclosing blocks a Handlebars use records (the innermost ones): nesting there has
#: no parser limit, and a use may not cost time proportional to its depth.
MAX_SCOPES = 64

#: Names Jinja provides itself: never inputs.
JINJA_GLOBALS = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace", "loop", "self",
                           "varargs", "kwargs", "caller", "super", "true", "false", "none",
                           "True", "False", "None"})

#: What a region of the file is. ``prose`` is instruction text: safe to perturb or
#: rewrite. Everything else must be kept byte for byte by an editor.
RegionKind = Literal["front_matter", "role_line", "syntax", "comment", "raw", "code", "examples", "json",
                     "quoted", "prose"]

# Priority when regions overlap: the first listed wins (a tag inside a code fence is syntax).
_PRIORITY: tuple[str, ...] = ("front_matter", "role_line", "syntax", "comment", "raw", "code", "examples",
                              "json", "quoted", "prose")


@dataclass(frozen=True, slots=True)
class Scope:
    """A block a use sits in: a loop, a condition branch, a macro, a ``with`` block...

    ``kind`` is the block's tag (``for``, ``if``, ``elif``, ``macro``, ``call``, ``with``,
    ``filter``, ``block``, ``set``; Handlebars ``each``, ``with``, ``if``, ``unless``...),
    ``header`` the source text after the keyword (``item in items``, ``x is defined``),
    ``targets`` the names the block binds (loop variables, macro arguments, ``as |x|``),
    ``branch`` ``"then"`` or ``"else"`` for conditions and loops (``for ... else``), and
    ``span`` the opening tag (None when it could not be located)."""

    kind: str
    header: str
    span: Span | None
    targets: tuple[str, ...] = ()
    branch: str = "then"


@dataclass(frozen=True, slots=True)
class VariableUse:
    """One place the body reads (or binds) a variable.

    ``name`` is the root name (``ticket`` in ``ticket.body.text``), ``path`` the attribute
    path after it (``("body", "text")``; constant subscripts ``x['a']`` count too), ``span``
    the name's own characters, ``tag_span`` the whole ``{{ }}`` / ``{% %}`` tag around it.
    ``output`` is True inside an output tag (the value is rendered into the prompt),
    False inside a statement (``{% if x %}``, ``{% for i in x %}``). ``kind`` is ``load``,
    ``store`` (``set``, ``for`` target) or ``param`` (macro/call argument). ``free`` is True
    when the name can only come from the caller's inputs: not bound anywhere in the
    template, not a Jinja global, not inside a Handlebars ``each``/``with`` block (where a
    bare name may be a field of the current item). ``message`` / ``component`` index
    :attr:`PromptTemplate.messages` and that message's ``components`` (innermost)."""

    name: str
    path: tuple[str, ...]
    span: Span
    tag_span: Span
    output: bool
    kind: str = "load"
    free: bool = True
    scopes: tuple[Scope, ...] = ()
    message: int | None = None
    role: str | None = None
    component: int | None = None

    @property
    def offset(self) -> int:
        return self.span.start.offset

    @property
    def line(self) -> int:
        return self.span.start.line


@dataclass(frozen=True, slots=True)
class Region:
    """A maximal run of the file of one :data:`RegionKind`."""

    kind: str
    start: int
    end: int
    span: Span


@dataclass(slots=True)
class TemplateTag:
    """One Jinja tag with exact offsets: ``kind`` is ``output`` (``{{ }}``),
    ``statement`` (``{% %}``), ``comment`` (``{# #}``) or ``raw`` (the content of a
    ``{% raw %}`` block, which Jinja outputs verbatim). ``keyword`` is a statement's first
    name (``for``, ``endif``); ``closed`` is False for a tag the file never closes."""

    kind: str
    start: int
    end: int
    inner_start: int
    inner_end: int
    keyword: str = ""
    closed: bool = True


@dataclass(slots=True)
class HandlebarsTag:
    """One ``{{...}}`` tag of a Handlebars/Mustache body (offsets into the file text).
    ``inner`` is the text between the braces with ``~`` and whitespace trimmed, and
    ``inner_start`` its offset; ``end == start`` and ``closed`` False when unclosed."""

    start: int
    end: int
    inner: str
    inner_start: int = 0
    closed: bool = True


@dataclass(slots=True)
class TemplateAnalysis:
    """The analysis of one template; build it with :func:`analyze`.

    ``uses`` are in file order. ``declared`` are the front matter's inputs; ``known``
    adds the names of the top-level ``sample`` mapping (values a caller is expected to
    pass). ``parsed`` is False for a Jinja body that does not parse (then ``uses`` come
    from the tokens alone and ``syntax_error`` says why)."""

    template: PromptTemplate
    engine: Engine
    uses: list[VariableUse] = field(default_factory=list)
    declared: frozenset[str] = frozenset()
    known: frozenset[str] = frozenset()
    bound: frozenset[str] = frozenset()  # names set/looped/bound anywhere in the template
    parsed: bool = True
    syntax_error: Diagnostic | None = None
    jinja_ast: Any = None
    has_include: bool = False  # include/extends/import, or a Handlebars partial: other files may read inputs
    filters: list[tuple[str, int]] = field(default_factory=list)  # (name, 1-based file line)
    tests: list[tuple[str, int]] = field(default_factory=list)
    tags: list[TemplateTag] = field(default_factory=list)
    handlebars_tags: list[HandlebarsTag] = field(default_factory=list)
    stray_close: list[int] = field(default_factory=list)  # Handlebars ``}}`` outside any tag
    _regions: list[Region] | None = None

    # -- variables ---------------------------------------------------------------------

    @property
    def used(self) -> frozenset[str]:
        """Every root name the body reads, bound or free, in any scope."""
        return frozenset(u.name for u in self.uses if u.kind == "load")

    @property
    def free_names(self) -> frozenset[str]:
        """Names the body reads that only the caller can supply."""
        return frozenset(u.name for u in self.uses if u.kind == "load" and u.free)

    @property
    def undeclared(self) -> list[str]:
        """Used but undeclared: free names neither in the inputs nor in the sample mapping
        (loop variables, ``set`` variables, macro arguments and Jinja globals are not)."""
        return sorted(self.free_names - self.known)

    @property
    def unused(self) -> list[str]:
        """Declared but unused inputs, in declaration order. Empty when other files may
        read them (include/extends/import, partials); Prompty ``kind: thread`` inputs,
        which the runtime splices in as messages, are never unused."""
        if self.engine not in (Engine.JINJA2, Engine.NUNJUCKS, Engine.HANDLEBARS, Engine.MUSTACHE):
            return []
        if self.has_include or (self.engine.renders and not self.parsed):
            return []
        used = self.used
        return [n for n, spec in self.template.inputs.items() if spec.type != "thread" and n not in used]

    def uses_of(self, name: str) -> list[VariableUse]:
        """Where ``name`` is used (reads and bindings), in file order."""
        return [u for u in self.uses if u.name == name]

    # -- regions -----------------------------------------------------------------------

    @property
    def regions(self) -> list[Region]:
        """The file cut into regions (front matter, role lines, template syntax, comments,
        code, examples, JSON and quoted literals, prose), in order, covering every
        character once. Computed on first use."""
        if self._regions is None:
            self._regions = _regions(self)
        return self._regions

    def prose_spans(self) -> list[Span]:
        """Spans of instruction prose: what perturbations and rewrites may change."""
        return [r.span for r in self.regions if r.kind == "prose"]

    def region_at(self, offset: int) -> Region | None:
        regions = self.regions
        i = bisect.bisect_right([r.start for r in regions], offset) - 1
        if 0 <= i < len(regions) and regions[i].start <= offset < regions[i].end:
            return regions[i]
        return None


# =========================================================================== entry point

#: Where the analysis is kept on the template object (in its ``__dict__``, like a
#: ``cached_property``: pydantic ignores such keys in ``==`` and ``model_dump``).
_SLOT = "_promptkit_analysis"


def analyze(template: PromptTemplate) -> TemplateAnalysis:
    """The analysis of ``template``, computed once per template object and kept on it.

    Templates are treated as immutable (edits build a new one); a copy made with
    ``model_copy`` is analysed afresh, because the kept result names its template."""
    kept = template.__dict__.get(_SLOT)
    if kept is not None and kept.template is template:
        return kept  # type: ignore[no-any-return]
    result = _analyze(template)
    template.__dict__[_SLOT] = result
    return result


def _analyze(t: PromptTemplate) -> TemplateAnalysis:
    known = set(t.inputs)
    if isinstance(t.front_matter.sample, dict):
        known |= {str(k) for k in t.front_matter.sample}
    a = TemplateAnalysis(t, t.engine, declared=frozenset(t.inputs), known=frozenset(known))
    if t.engine.renders:
        _JinjaAnalyzer(t, a).run()
    elif t.engine in (Engine.HANDLEBARS, Engine.MUSTACHE):
        _handlebars(t, a)
    a.uses.sort(key=lambda u: u.span.start.offset)
    _place(t, a)
    return a


# =========================================================================== Jinja: scanner

_TAG_OPEN = re.compile(r"\{[{%#]")
_RAW_END = re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}")
_RAW_START = re.compile(r"\{%[-+]?\s*raw\s*[-+]?%\}")
_COMMENT_END = re.compile(r"[-+]?#\}")
_NAME = re.compile(r"[^\W\d]\w*")
_STRING = re.compile(r"'[^'\\]*(?:\\.[^'\\]*)*'|\"[^\"\\]*(?:\\.[^\"\\]*)*\"", re.S)
_NUMBER = re.compile(r"\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?")
_SPACE = re.compile(r"\s+")


@dataclass(slots=True)
class _Tok:
    start: int
    value: str
    kind: str  # "name", "string", "number", "op"
    tag: int  # index into the tag list


def scan_jinja(text: str, start: int) -> tuple[list[TemplateTag], list[_Tok]]:
    """Tags and in-tag tokens of a Jinja body ``text[start:]``, in one left-to-right pass.

    Mirrors Jinja's lexer where it matters for positions: a tag ends at its closing
    delimiter only when its brackets are balanced and not inside a string; ``{% raw %}``
    content is data. Never raises; an unclosed tag runs to the end of the text."""
    tags: list[TemplateTag] = []
    toks: list[_Tok] = []
    unclosed: set[str] = set()
    n = len(text)
    pos = start
    while pos < n:
        m = _TAG_OPEN.search(text, pos)
        if m is None:
            break
        o = m.start()
        ch = text[o + 1]
        if ch == "#":
            c = _COMMENT_END.search(text, o + 2)
            end = c.end() if c else n
            tags.append(TemplateTag("comment", o, end, o + 2, c.start() if c else n, closed=c is not None))
            pos = end
            continue
        raw = _RAW_START.match(text, o) if ch == "%" else None
        if raw is not None:
            tags.append(TemplateTag("statement", o, raw.end(), o + 2, raw.end() - 2, keyword="raw"))
            e = _RAW_END.search(text, raw.end())
            stop = e.start() if e else n
            tags.append(TemplateTag("raw", raw.end(), stop, raw.end(), stop, closed=e is not None))
            if e is not None:
                tags.append(TemplateTag("statement", e.start(), e.end(), e.start() + 2, e.end() - 2, keyword="endraw"))
            pos = e.end() if e else n
            continue
        pos = _scan_tag(text, o, ch, tags, toks, unclosed)
    return tags, toks


def _scan_tag(text: str, o: int, ch: str, tags: list[TemplateTag], toks: list[_Tok], unclosed: set[str]) -> int:
    """Scan the tag opening at ``o``; return the offset after it. ``unclosed`` holds the
    quote characters already known to have no closing quote in the rest of the text."""
    n = len(text)
    close = "}}" if ch == "{" else "%}"
    kind = "output" if ch == "{" else "statement"
    index = len(tags)
    p = o + 2
    if p < n and text[p] in "-+":
        p += 1
    inner_start = p
    depth: list[str] = []
    keyword = ""
    first = len(toks)
    while p < n:
        c = text[p]
        if c.isspace():
            p = _SPACE.match(text, p).end()  # type: ignore[union-attr]
            continue
        if not depth:
            if text.startswith(close, p):
                tags.append(TemplateTag(kind, o, p + 2, inner_start, p, keyword))
                return p + 2
            if c in "-+" and text.startswith(close, p + 1):
                tags.append(TemplateTag(kind, o, p + 3, inner_start, p, keyword))
                return p + 3
        if c == "'" or c == '"':
            s = _STRING.match(text, p) if c not in unclosed else None
            if s is None:
                unclosed.add(c)  # a later quote of this kind cannot close either: do not rescan
            if s is not None:
                toks.append(_Tok(p, s.group(), "string", index))
                p = s.end()
                continue
            toks.append(_Tok(p, c, "op", index))
            p += 1
            continue
        nm = _NAME.match(text, p)
        if nm is not None:
            value = nm.group()
            if not keyword and kind == "statement" and len(toks) == first:
                keyword = value
            toks.append(_Tok(p, value, "name", index))
            p = nm.end()
            continue
        num = _NUMBER.match(text, p)
        if num is not None:
            toks.append(_Tok(p, num.group(), "number", index))
            p = num.end()
            continue
        if c in "([{":
            depth.append(")]}"["([{".index(c)])
        elif c in ")]}" and depth:
            depth.pop()
        toks.append(_Tok(p, c, "op", index))
        p += 1
    tags.append(TemplateTag(kind, o, n, inner_start, n, keyword, closed=False))
    return n


# =========================================================================== Jinja: AST walk

_BLOCK_NODES = {"For": "for", "If": "if", "Macro": "macro", "CallBlock": "call", "With": "with",
                "FilterBlock": "filter", "Block": "block", "AssignBlock": "set"}


class _JinjaAnalyzer:
    """Matches the AST's names to the scanner's tokens and records each use."""

    def __init__(self, t: PromptTemplate, a: TemplateAnalysis) -> None:
        self.t = t
        self.a = a
        self.text = t.text
        self.base = t.body_line - 1
        self.tags, self.toks = scan_jinja(t.text, t.body_offset)
        a.tags = self.tags
        # Jinja counts \r\n, \r and \n as one line break each; map body lines to offsets.
        body = t.text[t.body_offset :]
        self.line_starts = [t.body_offset] + [t.body_offset + m.end() for m in re.finditer(r"\r\n|\r|\n", body)]
        self.index = t.index  # a pydantic private attribute: slow to reach, so held here
        self.tag_spans: dict[int, Span] = {}
        self.candidates: dict[tuple[int, str], list[_Tok]] = {}
        self.keyword_tags: dict[tuple[int, str], list[TemplateTag]] = {}

    def _line(self, offset: int) -> int:
        """1-based body line of a file offset (Jinja's numbering)."""
        return bisect.bisect_right(self.line_starts, offset)

    def run(self) -> None:
        from promptkit.template.render import parse_body

        ast, error = parse_body(self.t)
        self.a.jinja_ast = ast
        self.a.syntax_error = error
        self._index_tokens()
        if ast is None:
            self.a.parsed = False
            # the candidates are consumed back to front: restore source order first
            for lst in self.candidates.values():
                lst.reverse()
            self._from_tokens()
            return
        self._walk(ast)

    # -- tokens ------------------------------------------------------------------------

    def _index_tokens(self) -> None:
        """Name tokens that can be a variable (not an attribute, filter, test, keyword
        argument or a statement's keyword), by (body line, name), in source order."""
        toks, tags = self.toks, self.tags
        prev: _Tok | None = None
        prev2: _Tok | None = None
        for i, tok in enumerate(toks):
            tag = tags[tok.tag]
            if prev is not None and prev.tag != tok.tag:
                prev = prev2 = None
            if tok.kind == "name":
                skip = False
                if prev is None and tag.kind == "statement":
                    line = self._line(tok.start)
                    self.keyword_tags.setdefault((line, tok.value), []).append(tag)
                    skip = True
                elif prev is not None and prev.kind == "op" and prev.value in ".|":
                    skip = True  # attribute or filter name
                elif prev is not None and prev.kind == "name" and prev.value == "is":
                    skip = True  # test name
                elif (prev is not None and prev2 is not None and prev.kind == "name" and prev.value == "not"
                      and prev2.kind == "name" and prev2.value == "is"):
                    skip = True
                elif (i + 1 < len(toks) and toks[i + 1].tag == tok.tag and toks[i + 1].value == "="
                      and not (i + 2 < len(toks) and toks[i + 2].value == "=")
                      and prev is not None and prev.value in "(,"
                      and tag.keyword not in ("macro", "call", "with", "set")):
                    skip = True  # keyword argument name: f(name=...)
                if not skip:
                    self.candidates.setdefault((self._line(tok.start), tok.value), []).append(tok)
            prev2, prev = prev, tok
        for lst in self.candidates.values():
            lst.reverse()
        for tl in self.keyword_tags.values():
            tl.reverse()

    def _take(self, line: int, name: str) -> _Tok | None:
        c = self.candidates.get((line, name))  # reversed: the next in source order is last
        return c.pop() if c else None

    def _tag_for(self, line: int, keyword: str) -> TemplateTag | None:
        c = self.keyword_tags.get((line, keyword))
        return c.pop() if c else None

    def _span(self, start: int, end: int) -> Span:
        return self.index.span(start, end)

    def _tag_span(self, i: int) -> Span:
        span = self.tag_spans.get(i)
        if span is None:
            tag = self.tags[i]
            span = self.tag_spans[i] = self.index.span(tag.start, tag.end)
        return span

    def _record(self, name: str, path: tuple[str, ...], line: int, kind: str, scopes: tuple[Scope, ...]) -> None:
        tok = self._take(line, name)
        if tok is not None:
            tag = self.tags[tok.tag]
            span = self._span(tok.start, tok.start + len(name))
            tag_span = self._tag_span(tok.tag)
            output = tag.kind == "output"
        else:
            # not found on its line (a construct the scanner does not model): the line
            file_line = self.base + line
            span = tag_span = self.index.line_span(file_line)
            output = False
        self.a.uses.append(VariableUse(name, path, span, tag_span, output, kind, True, scopes))

    def _scope(self, kind: str, lineno: int, keyword: str, targets: tuple[str, ...] = (), branch: str = "then") -> Scope:
        tag = self._tag_for(lineno, keyword)
        if tag is None:
            return Scope(kind, "", None, targets, branch)
        header = self.text[tag.inner_start : tag.inner_end].strip().lstrip("-+").strip()
        if header.startswith(keyword):
            header = header[len(keyword) :].strip()
        return Scope(kind, header, self._span(tag.start, tag.end), targets, branch)

    def _walk(self, ast: Any) -> None:
        from jinja2 import nodes

        a = self.a
        bound: set[str] = set()
        # (node, scopes, attribute path when the node is the base of a Getattr chain)
        stack: list[tuple[Any, tuple[Scope, ...], tuple[str, ...]]] = [(ast, (), ())]
        while stack:
            node, scopes, path = stack.pop()
            cls = type(node)
            name = cls.__name__
            lineno = node.lineno or 1
            children: list[tuple[Any, tuple[Scope, ...], tuple[str, ...]]] = []
            if cls is nodes.Name:
                kind = {"load": "load", "store": "store", "param": "param"}.get(node.ctx, "load")
                if kind != "load":
                    bound.add(node.name)
                self._record(node.name, path, lineno, kind, scopes)
            elif cls in (nodes.Getattr, nodes.Getitem):
                attrs: list[str] = []  # outermost first
                subscripts: list[Any] = []
                cur = node
                while True:
                    if type(cur) is nodes.Getattr:
                        attrs.append(cur.attr)
                    elif type(cur) is nodes.Getitem and isinstance(cur.arg, nodes.Const) and isinstance(cur.arg.value, str):
                        attrs.append(cur.arg.value)
                    elif type(cur) is nodes.Getitem:
                        subscripts.append(cur.arg)
                        attrs.clear()  # x.a[i].b: the path of x stops at the computed subscript
                    else:
                        break
                    cur = cur.node
                # the chain's base first, then the subscripts: source order
                children.append((cur, scopes, tuple(reversed(attrs))))
                children += [(x, scopes, ()) for x in reversed(subscripts)]
            elif cls is nodes.For:
                targets = tuple(n.name for n in node.target.find_all(nodes.Name))
                loop = self._scope("for", lineno, "for", targets)
                inner = (*scopes, loop)
                children += [(node.target, scopes, ()), (node.iter, scopes, ())]
                if node.test is not None:
                    children.append((node.test, inner, ()))
                children += [(c, inner, ()) for c in node.body]
                if node.else_:
                    other = (*scopes, Scope("for", loop.header, loop.span, targets, "else"))
                    children += [(c, other, ()) for c in node.else_]
            elif cls is nodes.If:
                children += self._if(node, scopes, "if")[0]
            elif cls is nodes.Macro or cls is nodes.CallBlock:
                args = tuple(x.name for x in node.args)
                if cls is nodes.Macro:
                    bound.add(node.name)
                bound.update(args)
                block = self._scope(_BLOCK_NODES[name], lineno, _BLOCK_NODES[name], args)
                inner = (*scopes, block)
                children += [(x, scopes, ()) for x in node.args] + [(x, scopes, ()) for x in node.defaults]
                if cls is nodes.CallBlock:
                    children.append((node.call, scopes, ()))
                children += [(c, inner, ()) for c in node.body]
            elif cls is nodes.With:
                targets = tuple(n.name for tgt in node.targets for n in tgt.find_all(nodes.Name))
                block = self._scope("with", lineno, "with", targets)
                for tgt, val in zip(node.targets, node.values):
                    children += [(tgt, scopes, ()), (val, scopes, ())]
                children += [(c, (*scopes, block), ()) for c in node.body]
            elif cls is nodes.FilterBlock or cls is nodes.Block or cls is nodes.AssignBlock:
                kw = _BLOCK_NODES[name]
                block = self._scope(kw, lineno, kw)
                if cls is nodes.FilterBlock:
                    children.append((node.filter, scopes, ()))
                elif cls is nodes.AssignBlock:
                    children.append((node.target, scopes, ()))
                    if node.filter is not None:
                        children.append((node.filter, scopes, ()))
                children += [(c, (*scopes, block), ()) for c in node.body]
            elif cls is nodes.CondExpr:
                children += [(x, scopes, ()) for x in (node.expr1, node.test, node.expr2) if x is not None]
            else:
                if cls is nodes.Filter:
                    if node.name:
                        a.filters.append((node.name, self.base + lineno))
                elif cls is nodes.Test:
                    a.tests.append((node.name, self.base + lineno))
                elif cls in (nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport):
                    a.has_include = True
                    if cls is nodes.Import:
                        bound.add(node.target)
                    elif cls is nodes.FromImport:
                        bound.update(x[1] if isinstance(x, tuple) else x for x in node.names)
                children += [(c, scopes, ()) for c in node.iter_child_nodes()]
            stack.extend(reversed(children))
        a.filters.sort(key=lambda x: x[1])
        a.tests.sort(key=lambda x: x[1])
        a.bound = frozenset(bound)
        # Free: read somewhere and never bound anywhere (scope-insensitive, which errs on
        # the side of silence: a name set in one branch is never "undeclared" in another).
        for u in a.uses:
            if u.name in bound or u.name in JINJA_GLOBALS:
                _set(u, free=False)

    def _if(self, node: Any, scopes: tuple[Scope, ...], keyword: str) -> tuple[list[Any], Scope]:
        """Children of an ``if`` (its ``elif`` branches included) with their scopes: the
        body of ``{% elif b %}`` runs in (if a: else, elif b: then)."""
        cond = self._scope(keyword, node.lineno or 1, keyword)
        out: list[tuple[Any, tuple[Scope, ...], tuple[str, ...]]] = [(node.test, scopes, ())]
        out += [(c, (*scopes, cond), ()) for c in node.body]
        other = (*scopes, Scope(cond.kind, cond.header, cond.span, (), "else"))
        for elif_ in node.elif_:
            more, e = self._if(elif_, other, "elif")
            out += more
            other = (*other, Scope(e.kind, e.header, e.span, (), "else"))
        out += [(c, other, ()) for c in node.else_]
        return out, cond

    # -- a body that does not parse ------------------------------------------------------

    def _from_tokens(self) -> None:
        """Uses from the tokens alone: every candidate name, stores guessed from ``for``
        targets, ``set`` targets and macro arguments."""
        bound: set[str] = set()
        tags = self.tags
        stores: set[int] = set()
        toks = self.toks
        for i, tok in enumerate(toks):
            tag = tags[tok.tag]
            if tag.kind != "statement" or tok.kind != "name" or tag.keyword not in ("for", "set", "macro", "with"):
                continue
            j = i
            while j < len(toks) and toks[j].tag == tok.tag:
                j += 1
            # only the first token of the tag starts the scan
            if tok.value != tag.keyword or (i > 0 and toks[i - 1].tag == tok.tag):
                continue
            for k in range(i + 1, j):
                t2 = toks[k]
                if t2.kind == "name" and t2.value == "in" and tag.keyword == "for":
                    break
                if t2.kind == "op" and t2.value == "=" and tag.keyword in ("set", "with"):
                    break
                if t2.kind == "name":
                    bound.add(t2.value)
                    stores.add(t2.start)
        for (line, name), cands in self.candidates.items():
            for tok in cands:
                if name in ("in", "not", "and", "or", "is", "if", "else", "recursive", "as", "import", "with",
                            "without", "context", "ignore", "missing", "from"):
                    continue
                tag = tags[tok.tag]
                kind = "store" if tok.start in stores else "load"
                self.a.uses.append(VariableUse(
                    name, (), self._span(tok.start, tok.start + len(name)), self._tag_span(tok.tag),
                    tag.kind == "output", kind, name not in bound and name not in JINJA_GLOBALS))
        self.a.bound = frozenset(bound)


def _set(u: VariableUse, **kw: Any) -> None:
    """Fill in fields of a use while the analysis builds it (``dataclasses.replace`` per
    use costs more than the whole scan). Uses are frozen once :func:`analyze` returns."""
    for k, v in kw.items():
        object.__setattr__(u, k, v)


# =========================================================================== Handlebars

_HB_TOKEN = re.compile(r'"[^"]*"|\'[^\']*\'|\(|\)|[^\s()]+')
_HB_SCOPED = frozenset({"each", "with"})
_HB_NO_ARG_HELPERS = frozenset({"history", "else", "this", "media", "section", "json", "role"})
_HB_LITERAL = re.compile(r"^(-?\d+(\.\d+)?|true|false|null|undefined)$")
_HB_NAME = re.compile(r"[A-Za-z_$][\w$-]*")


class _Finder:
    """``str.find`` that remembers its last answer per needle. Scanners ask for the next
    ``}}`` from ever later positions; without the memo a body of ``{{a`` repeated (no
    ``}}`` anywhere) rescans the rest of the text once per tag: quadratic."""

    __slots__ = ("text", "memo")

    def __init__(self, text: str) -> None:
        self.text = text
        self.memo: dict[str, tuple[int, int]] = {}

    def find(self, needle: str, start: int) -> int:
        hit = self.memo.get(needle)
        if hit is not None and hit[0] <= start and (hit[1] == -1 or hit[1] >= start):
            return hit[1]
        found = self.text.find(needle, start)
        self.memo[needle] = (start, found)
        return found


def scan_handlebars(text: str, start: int) -> tuple[list[HandlebarsTag], list[int]]:
    """Tags of a Handlebars body ``text[start:]``, plus offsets of ``}}`` outside any tag.

    A tag is unclosed when the next ``{{`` comes before its ``}}`` (or there is none)."""
    end = len(text)
    pos = start
    tags: list[HandlebarsTag] = []
    stray: list[int] = []
    f = _Finder(text)
    while pos < end:
        o = f.find("{{", pos)
        c = f.find("}}", pos)
        if c != -1 and (o == -1 or c < o):
            stray.append(c)
            pos = c + 2
            continue
        if o == -1:
            break
        if text.startswith("{{!--", o):
            e = f.find("--}}", o + 5)
            if e != -1:
                pos = e + 4
                continue
        triple = text.startswith("{{{", o)
        close = "}}}" if triple else "}}"
        c = f.find(close, o + 2)
        nxt = f.find("{{", o + 2)
        if c == -1 or (nxt != -1 and nxt < c and not text.startswith("{{!", o)):
            tags.append(HandlebarsTag(o, o, text[o + 2 : o + 40].split("\n")[0], o + 2, closed=False))
            pos = o + 2 if nxt == -1 else nxt
            continue
        raw0 = o + (3 if triple else 2)
        raw = text[raw0:c]
        inner = raw.strip("~ \t\r\n")
        lead = len(raw) - len(raw.lstrip("~ \t\r\n"))
        tags.append(HandlebarsTag(o, c + len(close), inner, raw0 + lead))
        pos = c + len(close)
    return tags, stray


def _hb_root(token: str) -> tuple[str, int, tuple[str, ...], bool] | None:
    """``(root name, offset in token, path, certain)`` of a Handlebars argument token.
    ``@root.x`` is a certain use of ``x``; ``../x`` an uncertain one."""
    shift = 0
    if "=" in token:
        shift = token.index("=") + 1
        token = token[shift:]
    certain = True
    if token.startswith("@root."):
        shift += 6
        token = token[6:]
    elif token.startswith("../"):
        while token.startswith("../"):
            shift += 3
            token = token[3:]
        certain = False
    if not token or token[0] in "\"'@.(" or token.startswith("this") or _HB_LITERAL.match(token):
        return None
    m = _HB_NAME.match(token)
    if not m:
        return None
    rest = token[m.end() :]
    path = tuple(p for p in re.split(r"[./]", rest) if p) if rest[:1] in "./" else ()
    return m.group(), shift, path, certain


def _handlebars(t: PromptTemplate, a: TemplateAnalysis) -> None:
    tags, stray = scan_handlebars(t.text, t.body_offset)
    a.handlebars_tags, a.stray_close = tags, stray
    index = t.index
    stack: list[tuple[str, Scope]] = []
    scoped_depth = 0  # open each/with blocks
    for tag in tags:
        inner = tag.inner
        if not tag.closed or not inner or inner[0] == "!":
            continue
        if inner[0] == ">":
            a.has_include = True  # partials see the whole context
            continue
        if inner[0] == "/":
            if stack:
                if stack.pop()[0] in _HB_SCOPED:
                    scoped_depth -= 1
            continue
        block = inner[0] in "#^"
        body = inner[1:] if block else inner
        body0 = tag.inner_start + (1 if block else 0)
        toks = [(m.group(), body0 + m.start()) for m in _HB_TOKEN.finditer(body)]
        if not toks:
            continue
        if block:
            head, args = toks[0][0], toks[1:]
        elif len(toks) == 1:
            head, args = None, toks if toks[0][0] not in _HB_NO_ARG_HELPERS else []
        else:
            head, args = toks[0][0], toks[1:]
        if head == "else":
            args = args[1:] if args[:1] and args[0][0] == "if" else args
        # the innermost MAX_SCOPES blocks only, and a counter for each/with: a file of
        # never-closed {{#each}} nests without limit, and copying the whole stack per tag
        # would be quadratic
        scopes = tuple(s for _, s in stack[-MAX_SCOPES:])
        scoped = scoped_depth > 0
        tag_span = index.span(tag.start, tag.end)
        expect_helper = False
        targets: list[str] = []
        in_as = False
        for tok, off in args:
            if tok == "(":
                expect_helper = True
                continue
            if tok == "as":
                in_as = True
                continue
            if in_as:
                targets += [x for x in tok.strip("|").split("|") if x]
                continue
            if tok == ")" or tok.startswith("|"):
                continue
            if expect_helper:
                expect_helper = False
                continue
            root = _hb_root(tok)
            if root:
                name, shift, path, certain = root
                s = off + shift
                a.uses.append(VariableUse(name, path, index.span(s, s + len(name)), tag_span, not block,
                                          "load", certain and not scoped, scopes))
        if block:
            kind = head or ""
            header = " ".join(x for x, _ in args)
            stack.append((kind, Scope(kind, header, tag_span, tuple(targets))))
            scoped_depth += kind in _HB_SCOPED


# =========================================================================== placing uses


def _place(t: PromptTemplate, a: TemplateAnalysis) -> None:
    """Fill in each use's message, role and innermost component."""
    if not a.uses or not t.messages:
        return
    msgs = t.messages
    starts = [m.content_span.start.offset for m in msgs]
    comp_starts = [[c.span.start.offset for c in m.components] for m in msgs]
    ends = [m.content_span.end.offset for m in msgs]
    roles = [m.role for m in msgs]
    for u in a.uses:
        off = u.span.start.offset
        i = bisect.bisect_right(starts, off) - 1
        if i < 0 or not (starts[i] <= off < max(ends[i], off + 1)):
            continue
        comp = _innermost(msgs[i], comp_starts[i], off) if comp_starts[i] else None
        _set(u, message=i, role=roles[i], component=comp)


def _innermost(m: Message, starts: list[int], off: int) -> int | None:
    """The innermost component containing ``off``: the last one starting at or before it,
    or the nearest of its ancestors that contains it (components nest, never overlap)."""
    comps: tuple[Component, ...] = m.components
    j: int | None = bisect.bisect_right(starts, off) - 1
    while j is not None and j >= 0:
        c = comps[j]
        if c.span.start.offset <= off < c.span.end.offset:
            return j
        j = c.parent
    return None


# =========================================================================== regions

_FENCE_LINE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})", re.M)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_QUOTED = re.compile(r"\"[^\"\n]{1,400}\"|“[^”\n]{1,400}”|«[^»\n]{1,400}»")
_JSON_START = re.compile(r"^[ \t]*[\[{]", re.M)


def _regions(a: TemplateAnalysis) -> list[Region]:
    t = a.template
    text = t.text
    n = len(text)
    body0 = t.body_offset
    marks: list[tuple[int, int, str]] = []  # (start, end, kind)
    if body0 > 0:
        marks.append((0, body0, "front_matter"))
    for m in t.messages:
        if m.role_span is not None:
            marks.append((m.role_span.start.offset, m.role_span.end.offset, "role_line"))
    for tag in a.tags:
        kind = {"comment": "comment", "raw": "raw"}.get(tag.kind, "syntax")
        marks.append((tag.start, tag.end, kind))
    for htag in a.handlebars_tags:
        if htag.closed:
            marks.append((htag.start, htag.end, "comment" if htag.inner.startswith("!") else "syntax"))
    i = text.find("<!--", body0)
    while i != -1:  # str.find, not a lazy regex: an unclosed "<!--" must not rescan the rest per match
        j = text.find("-->", i + 4)
        if j == -1:
            break
        marks.append((i, j + 3, "comment"))
        i = text.find("<!--", j + 3)
    marks += _fences(text, body0)
    for m in _INLINE_CODE.finditer(text, body0):
        marks.append((m.start(), m.end(), "code"))
    for _, c in t.components():
        if c.kind == "examples":
            marks.append((c.content_span.start.offset, c.content_span.end.offset, "examples"))
    marks += _json_literals(text, body0)
    for m in _QUOTED.finditer(text, body0):
        marks.append((m.start(), m.end(), "quoted"))
    return _paint(marks, body0, n, t)


def _fences(text: str, start: int) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    open_at: int | None = None
    fence = ""
    for m in _FENCE_LINE.finditer(text, start):
        mark = m.group(1)
        line_end = text.find("\n", m.end())
        line_end = len(text) if line_end == -1 else line_end
        if open_at is None:
            open_at, fence = m.start(), mark[0] * len(mark)
        elif mark.startswith(fence) and not text[m.end() : line_end].strip():
            out.append((open_at, line_end, "code"))
            open_at = None
    if open_at is not None:
        out.append((open_at, len(text), "code"))
    return out


def _json_literals(text: str, start: int) -> list[tuple[int, int, str]]:
    """Paragraphs (runs of non-blank lines) that start with ``{`` or ``[`` and decode as
    JSON. Each paragraph is decoded at most once, so the cost stays linear."""
    import json

    out: list[tuple[int, int, str]] = []
    decoder = json.JSONDecoder()
    pos = start
    for m in _JSON_START.finditer(text, start):
        if m.start() < pos:
            continue
        para_end = text.find("\n\n", m.start())
        para_end = len(text) if para_end == -1 else para_end
        pos = para_end
        chunk = text[m.end() - 1 : para_end]
        if not chunk.rstrip().endswith(("}", "]")):
            continue
        try:
            _, used = decoder.raw_decode(chunk)
        except (ValueError, RecursionError):
            continue
        out.append((m.end() - 1, m.end() - 1 + used, "json"))
    return out


def _paint(marks: list[tuple[int, int, str]], body0: int, n: int, t: PromptTemplate) -> list[Region]:
    """Cut ``[0, n)`` into regions: at each point the highest-priority mark wins; the rest
    of the body is prose. A sweep over sorted boundaries, O(k log k) for k marks."""
    import heapq

    rank = {k: i for i, k in enumerate(_PRIORITY)}
    marks = sorted((s, e, k) for s, e, k in marks if e > s)
    active: list[tuple[int, int]] = []  # heap of (rank, end)
    cuts: list[tuple[int, int, str]] = []
    points = sorted({0, n, *(s for s, _, _ in marks), *(e for _, e, _ in marks)})
    mi = 0
    for i in range(len(points) - 1):
        p, q = points[i], points[i + 1]
        while mi < len(marks) and marks[mi][0] <= p:
            heapq.heappush(active, (rank[marks[mi][2]], marks[mi][1]))
            mi += 1
        while active and active[0][1] <= p:
            heapq.heappop(active)
        kind = _PRIORITY[active[0][0]] if active else "prose"
        if cuts and cuts[-1][2] == kind and cuts[-1][1] == p:
            cuts[-1] = (cuts[-1][0], q, kind)
        else:
            cuts.append((p, q, kind))
    return [Region(k, s, e, t.index.span(s, e)) for s, e, k in cuts]


def iter_uses(a: TemplateAnalysis, *, output: bool | None = None, free: bool | None = None) -> Iterator[VariableUse]:
    """Uses filtered by ``output`` (in a ``{{ }}`` tag) and ``free`` (only from inputs)."""
    for u in a.uses:
        if (output is None or u.output == output) and (free is None or u.free == free):
            yield u


_ = FileKind  # re-exported for type checkers of callers that import it from here
