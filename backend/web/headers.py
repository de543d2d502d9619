"""Security headers: a strict Content-Security-Policy and friends on every page."""
from __future__ import annotations

from flask import g, request

# No 'unsafe-inline' for scripts or styles: every script and style is a file under /static.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")


def mail_body_csp(show_images: bool) -> str:
    """The policy of one sanitized mail body: no script, no remote anything unless images are asked for."""
    images = "data: cid: https:" if show_images else "data: cid:"
    # sandbox repeats the iframe's sandbox attribute, for when the URL is opened on its own.
    return (f"default-src 'none'; img-src {images}; style-src 'unsafe-inline'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'self'; "
            "sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox")


def mark_page() -> str:
    """Called by web/base.html: whatever blueprint renders the layout gets the page headers."""
    g.web_page = True
    return ""


def is_page_request() -> bool:
    # Other responses (API JSON, add-in scripts, Gmail cards) are left to their own modules.
    return request.blueprint == "web" or bool(g.get("web_page")) or bool(g.get("web_error_page"))


def _add_headers(response):
    if not is_page_request():
        return response
    response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # Pages carry mail, CSRF tokens or one-time confirmation results: never cache them.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def register(app) -> None:
    app.after_request(_add_headers)
    app.add_template_global(mark_page, "mark_page")
