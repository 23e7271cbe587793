"""Text from files, cards and uploads, made safe to show through ``st.markdown``, ``st.success``,
captions and labels: escaped for markdown as well as HTML, so a title holding ``![x](http://…)``
or ``<img src=…>`` is shown as those characters and never fetches or runs anything.

Every message a page shows goes through this module. Two helpers, one rule:

- ``md(x)`` escapes ``x`` unless it is already :class:`Safe` (markdown built by ``safe``);
- ``safe(template, *values)`` formats a template *we wrote* (a literal in the code) with every value
  escaped, so the result is :class:`Safe` and may be passed on, stored and shown later.

``tests/test_text_safety.py`` reads ``unsup/ui`` and ``pages`` and fails on any message, label or
help text that is neither a literal, an f-string interpolating only ``md(...)`` and numbers, nor a
call to one of these helpers.
"""

from __future__ import annotations

import numbers
import re
import string

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()!|>~<$:])")
"""Characters that make markdown or HTML anywhere in a line: emphasis, code, links and images
(``[``, ``]``, ``(``, ``)``, ``!``), HTML and autolinks (``<``, ``>``; ``:`` so that no
``http://`` or ``javascript:`` becomes a link), tables, strike-through, math, Streamlit's
``:colour[…]`` and ``:shortcode:``."""
_LINE_START = re.compile(r"(#{1,6}|[-+]|\d{1,9}[.)])(?=\s|$)")
"""What makes a block only at the start of a line: a list item, a heading, a numbered item."""
_WWW = re.compile(r"(?i)\b(www)\.")


class Safe(str):
    """Markdown whose every piece from outside (a file name, a card, an upload, an error) has been
    escaped. Only :func:`safe` and :func:`md` make one; concatenating two gives a plain ``str``."""

    __slots__ = ()


def md(text: object) -> Safe:
    """``text`` with every markdown/HTML-significant character backslash-escaped (``Safe`` text,
    already escaped by :func:`safe`, is returned as it is)."""
    if isinstance(text, Safe):
        return text
    out = _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\r", " ").replace("\n", " ")
    out = _WWW.sub(r"\1\\.", out)  # no www. autolink
    body = out.lstrip()
    m = _LINE_START.match(body)
    if m:  # "- x", "# x", "1. x" at the start: shown as text, not a list or a heading
        mark = m.group(1)
        mark = mark[:-1] + "\\" + mark[-1] if mark[0].isdigit() else "\\" + mark
        out = out[:len(out) - len(body)] + mark + body[m.end():]
    return Safe(out)


class _Escaping(string.Formatter):
    def format_field(self, value, format_spec):
        if isinstance(value, Safe) and not format_spec:
            return value
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            return md(format(value, format_spec))
        return md(format(str(value) if format_spec == "" else value, format_spec))


_FORMATTER = _Escaping()


def safe(template: str, *values: object, **named: object) -> Safe:
    """``template.format(*values, **named)`` with every value escaped by :func:`md` (numbers are
    formatted by their spec first, e.g. ``{:.1%}``; ``Safe`` values are kept as they are).

    ``template`` is markdown written in the code; never pass text from outside as the template.
    """
    return Safe(_FORMATTER.vformat(template, values, named))


def code(text: object) -> Safe:
    """``text`` as an inline code span (shown verbatim: a span cannot hold a link or an image);
    backticks and line breaks in it are dropped so it cannot end the span early."""
    body = str(text).replace("`", "'").replace("\r", " ").replace("\n", " ")
    return Safe(f"`{body}`")


def join(sep: str, parts) -> Safe:
    """``sep.join(parts)`` with every part that is not :class:`Safe` escaped (``sep`` is ours)."""
    return Safe(md(sep).join(md(p) for p in parts))
