"""Plain text from mail HTML, and snippets."""
from __future__ import annotations

import html as html_lib
import re

import nh3

_BLOCK = re.compile(r"(?i)<\s*(br|/p|/div|/tr|/li|/h[1-6])\b[^>]*>")
_STYLE = re.compile(r"(?is)<(style|script|head)\b.*?</\1\s*>")
_SPACE = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\n{3,}")


def html_to_text(markup: str, limit: int = 2_000_000) -> str:
    markup = _STYLE.sub(" ", markup[:limit])
    markup = _BLOCK.sub("\n", markup)
    # nh3 with no allowed tags is a real HTML parser, unlike a tag regex.
    text = html_lib.unescape(nh3.clean(markup, tags=set()))
    text = _SPACE.sub(" ", text)
    return _LINES.sub("\n\n", "\n".join(line.strip() for line in text.split("\n"))).strip()


def snippet(text: str | None, html: str | None, length: int = 200) -> str:
    body = text if text and text.strip() else (html_to_text(html) if html else "")
    flat = " ".join(body.split())
    return flat[:length]
