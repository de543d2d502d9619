"""The mail HTML sanitizer: no script, no event handlers, no remote loads unless asked for."""
from __future__ import annotations

from backend.web.sanitize import inline_image_uri, sanitize_mail_html

HOSTILE = """<html><head><title>x</title><style>body{background:url(https://t.example/bg)}</style>
<script>alert(1)</script></head><body onload="alert(2)">
<p style="color:red;background-image:url(https://t.example/s.gif)" onclick="alert(3)">Hello <b>Bob</b></p>
<img src="https://tracker.example/pixel.gif" onerror="alert(4)" width="1" height="1">
<img src="http://tracker.example/plain.gif"><img src="//tracker.example/proto.gif">
<a href="javascript:alert(5)">bad link</a> <a href="https://ok.example/page">good link</a>
<iframe src="https://evil.example"></iframe><form action="https://evil.example"><input name="q"></form>
<svg onload="alert(6)"></svg><object data="x.swf"></object>
</body></html>"""


def test_scripts_handlers_and_remote_sources_are_stripped():
    result = sanitize_mail_html(HOSTILE)
    html = result.html.lower()
    for needle in ("<script", "alert", "onerror", "onload", "onclick", "javascript:", "tracker.example",
                   "<iframe", "<form", "<input", "<svg", "<object", "url(", "t.example"):
        assert needle not in html, needle
    assert "Hello <b>Bob</b>" in result.html
    assert 'style="color:red"' in result.html
    assert 'href="https://ok.example/page"' in result.html
    assert 'target="_blank"' in result.html and "noopener" in result.html
    assert result.blocked_images == 3


def test_show_images_allows_https_images_only():
    result = sanitize_mail_html(HOSTILE, show_images=True)
    assert 'src="https://tracker.example/pixel.gif"' in result.html
    assert "onerror" not in result.html
    assert "http://tracker.example/plain.gif" not in result.html


def test_inline_cid_images_become_data_uris():
    uri = inline_image_uri("image/png", b"\x89PNG")
    result = sanitize_mail_html('<img src="cid:logo@x" alt="Logo"><img src="cid:unknown">',
                                inline_images={"logo@x": uri})
    assert f'src="{uri}"' in result.html
    assert "cid:unknown" not in result.html


def test_non_images_and_huge_images_are_not_inlined():
    assert inline_image_uri("text/html", b"<script>") is None
    assert inline_image_uri("image/png", b"x" * (3 * 1024 * 1024)) is None


def test_empty_body_is_fine():
    assert sanitize_mail_html("").html == ""
