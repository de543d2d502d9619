"""Render an HTML mail body as plain text lines, keeping the layout cues forward detection needs."""
from __future__ import annotations

import re
from html.parser import HTMLParser

# Outlook desktop and Outlook on the web draw the forward separator as a
# border or an <hr>; rendering it as the underscore line Outlook writes in its
# own text parts lets one text scanner handle all of them.
SEPARATOR_LINE = "_" * 32
MAX_HTML = 4_000_000

_BLOCK = frozenset(
    "address article aside blockquote body center dd div dl dt fieldset figure footer form h1 h2 h3 h4 h5 h6"
    " header html li main nav ol p pre section table tbody thead tfoot tr ul".split()
)
_CELL = frozenset({"td", "th"})
_SKIP = frozenset({"script", "style", "head", "title", "template", "xml", "noscript"})
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_BOUNDARY = "\x01"  # edge of a block element: a line break, never a blank line
_SPACE_RE = re.compile(r"[ \t\r\n\f\v]+")
_BORDER_RE = re.compile(r"border-top:\s*solid", re.IGNORECASE)


class _TextRenderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.pre_depth = 0
        self.links: list[str | None] = []

    def _newline(self) -> None:
        self.parts.append("\n")

    def _boundary(self) -> None:
        self.parts.append(_BOUNDARY)

    def handle_starttag(self, tag, attrs):
        tag = tag.lower()
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip_depth += 1
            return
        if self.skip_depth:
            return
        attr = {k.lower(): (v or "") for k, v in attrs}
        if tag == "br":
            self._newline()
        elif tag == "hr":
            self.parts.append("\n" + SEPARATOR_LINE + "\n")
        elif tag in _BLOCK:
            self._boundary()
            if tag == "div" and _BORDER_RE.search(attr.get("style", "")):
                self.parts.append(SEPARATOR_LINE + _BOUNDARY)
            if tag == "pre":
                self.pre_depth += 1
        elif tag in _CELL:
            self.parts.append(" ")
        if tag == "a":
            href = attr.get("href", "").strip()
            self.links.append(href[7:].split("?")[0] if href.lower().startswith("mailto:") else None)
            self.parts.append("\x00")  # marks where the link text starts

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag.lower() == "a":
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        tag = tag.lower()
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if self.skip_depth:
            return
        if tag == "a" and self.links:
            self._close_link(self.links.pop())
        elif tag in _BLOCK:
            self._boundary()
            if tag == "pre":
                self.pre_depth = max(0, self.pre_depth - 1)

    def _close_link(self, address: str | None) -> None:
        # Outlook sometimes shows only the name and keeps the address in the
        # mailto: link; surface it so the sender is not lost.
        start = len(self.parts) - 1
        while start >= 0 and self.parts[start] != "\x00":
            start -= 1
        shown = "".join(self.parts[start + 1:]) if start >= 0 else ""
        if start >= 0:
            self.parts[start] = ""
        if address and "@" in address and address.lower() not in shown.lower():
            self.parts.append(f" <{address}>")

    def handle_data(self, data):
        if self.skip_depth:
            return
        if self.pre_depth:
            self.parts.append(data)
        else:
            self.parts.append(_SPACE_RE.sub(" ", data))


def html_to_text(html: str | None) -> str:
    """Plain text of an HTML body: blocks and <br> become line breaks, cells are
    space-separated, entities decoded. Never raises; returns "" when unusable."""
    if not html:
        return ""
    renderer = _TextRenderer()
    try:
        renderer.feed(html[:MAX_HTML])
        renderer.close()
    except Exception:  # html.parser is lenient, but keep odd input from escaping
        pass
    text = "".join(p for p in renderer.parts if p != "\x00")
    rendered: list[str] = []
    for segment in text.split(_BOUNDARY):
        bare = segment.strip(" ")
        if not bare:
            if "\xa0" in segment:  # Outlook's <p>&nbsp;</p> spacer is a visible blank line
                rendered.append("")
            continue
        if bare == "\n":  # <div><br></div>: an empty line
            rendered.append("")
            continue
        # A <br> that ends a block adds no line in a browser.
        rendered.append(segment.rstrip(" ").removesuffix("\n"))
    lines = [line.strip(" \t\xa0") for line in "\n".join(rendered).replace("\xa0", " ").split("\n")]
    out: list[str] = []
    blank = 0
    for line in lines:
        blank = blank + 1 if not line else 0
        if blank <= 2:
            out.append(line)
    return "\n".join(out).strip("\n")
