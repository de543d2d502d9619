"""Mail HTML is hostile input: nh3 keeps formatting, drops scripts, handlers and remote loads."""
from __future__ import annotations

import base64
from dataclasses import dataclass

import nh3

TAGS = set(nh3.ALLOWED_TAGS) | {"font", "tfoot", "u", "center"}
ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
for _tag in ("table", "td", "th", "tr", "tbody", "thead", "tfoot"):
    ATTRIBUTES.setdefault(_tag, set()).update({"bgcolor", "width", "height", "valign", "align"})
ATTRIBUTES["table"].update({"border", "cellpadding", "cellspacing"})
ATTRIBUTES["font"] = {"color", "face", "size"}
ATTRIBUTES["*"] = {"style", "dir", "lang", "title"}
# Layout and colour only: url(...) backgrounds are dropped with the property.
STYLE_PROPERTIES = {
    "color", "background-color", "font", "font-family", "font-size", "font-style", "font-weight",
    "text-align", "text-decoration", "text-indent", "text-transform", "line-height", "letter-spacing",
    "white-space", "vertical-align", "margin", "margin-top", "margin-right", "margin-bottom",
    "margin-left", "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "border", "border-top", "border-right", "border-bottom", "border-left", "border-color",
    "border-style", "border-width", "border-collapse", "border-spacing", "border-radius",
    "width", "max-width", "min-width", "height", "list-style-type", "direction",
}
LINK_SCHEMES = ("http:", "https:", "mailto:")
# Inline images travel inside the mail; bigger ones are left out rather than bloat the page.
MAX_INLINE_IMAGE = 2 * 1024 * 1024


@dataclass
class Sanitized:
    html: str
    blocked_images: int  # remote images left out because images were not asked for


def inline_image_uri(content_type: str, data: bytes) -> str | None:
    if not content_type.startswith("image/") or len(data) > MAX_INLINE_IMAGE:
        return None
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


def sanitize_mail_html(html: str, *, show_images: bool = False,
                       inline_images: dict[str, str] | None = None) -> Sanitized:
    """Safe HTML for the sandboxed mail frame; ``inline_images`` maps Content-IDs to data: URIs."""
    inline_images = inline_images or {}
    blocked = 0

    def keep(tag: str, attribute: str, value: str) -> str | None:
        nonlocal blocked
        lowered = value.strip().lower()
        if tag == "img" and attribute == "src":
            if lowered.startswith("data:image/"):
                return value
            if lowered.startswith("cid:"):
                return inline_images.get(value.strip()[4:].strip("<>"))
            if lowered.startswith("https:") and show_images:
                return value
            if lowered.startswith(("http:", "https:", "//")):
                blocked += 1
            return None
        if attribute in ("href", "cite"):
            return value if lowered.startswith(LINK_SCHEMES) else None
        return value

    cleaned = nh3.clean(
        html or "", tags=TAGS, attributes=ATTRIBUTES, attribute_filter=keep,
        clean_content_tags={"script", "style", "title", "head", "noscript", "template"},
        url_schemes={"http", "https", "mailto", "cid", "data"},
        filter_style_properties=STYLE_PROPERTIES,
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
    return Sanitized(cleaned, blocked)
