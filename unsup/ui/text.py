"""Text from files, cards and uploads, made safe to show through ``st.markdown``, ``st.success``,
captions and labels: escaped for markdown as well as HTML, so a title holding ``![x](http://…)``
or ``<img src=…>`` is shown as those characters and never fetches or runs anything."""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<&$:])")


def md(text: object) -> str:
    """``text`` with every markdown/HTML-significant character backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")
