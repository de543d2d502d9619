"""One design system (issue 20, part 5): static/css/tokens.css holds the tokens; the pages' and the
Outlook task pane's stylesheets load it first and use only tokens it defines."""
from __future__ import annotations

import re

from backend.config import PROJECT_ROOT

STATIC = PROJECT_ROOT / "static"
TEMPLATES = PROJECT_ROOT / "backend" / "templates" / "web"


def defined(css: str) -> set[str]:
    return set(re.findall(r"(--[a-z0-9-]+)\s*:", css))


def used(css: str) -> set[str]:
    return set(re.findall(r"var\((--[a-z0-9-]+)", css))


def stylesheets(html: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)


def test_tokens_define_the_scales_palette_radii_and_focus_ring():
    tokens = defined((STATIC / "css" / "tokens.css").read_text())
    for name in ("--space-1", "--space-6", "--text-xs", "--text-2xl", "--font-sans", "--ink", "--muted", "--bg",
                 "--card", "--brand", "--on-brand", "--topbar", "--radius-sm", "--radius", "--focus",
                 "--focus-on-dark", "--focus-width"):
        assert name in tokens, name


def test_every_token_a_stylesheet_uses_is_defined_in_tokens_css():
    tokens = defined((STATIC / "css" / "tokens.css").read_text())
    for path in (STATIC / "css" / "app.css", STATIC / "addin" / "taskpane.css"):
        css = path.read_text()
        assert used(css) - tokens == set(), path.name
        # Nobody keeps a palette of their own: a stylesheet only re-sets existing tokens (the pane's dark theme,
        # the top bar's focus colour), never invents new ones.
        assert defined(css) - tokens == set(), path.name


def test_pages_and_task_pane_load_the_tokens_first():
    base = stylesheets((TEMPLATES / "base.html").read_text())
    assert "css/tokens.css" in base[0]
    assert "app.css" in base[1]
    for page in ("taskpane.html", "signin.html"):
        links = stylesheets((STATIC / "addin" / page).read_text())
        assert links[:2] == ["../css/tokens.css", "taskpane.css"], page
        # Served from /static/addin/, the relative link is the file the pages load.
        assert (STATIC / "addin" / links[0]).resolve() == (STATIC / "css" / "tokens.css").resolve()


def test_the_stylesheets_focus_ring_comes_from_the_tokens():
    for path in (STATIC / "css" / "app.css", STATIC / "addin" / "taskpane.css"):
        css = path.read_text()
        assert ":focus-visible { outline: var(--focus-width) solid var(--focus);" in css, path.name


def test_the_gmail_cards_main_button_takes_the_brand_colour_of_the_tokens():
    from backend.addins.gmail_cards import BRAND

    brand = re.search(r"--brand:\s*#([0-9a-f]{6})\s*;", (STATIC / "css" / "tokens.css").read_text()).group(1)
    rgb = [int(brand[i:i + 2], 16) for i in (0, 2, 4)]
    assert [round(BRAND[c] * 255) for c in ("red", "green", "blue")] == rgb and BRAND["alpha"] == 1
