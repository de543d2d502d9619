"""In Chromium (issue 20, part 5): every page passes axe-core's WCAG 2.0/2.1 A and AA rules with no
serious or critical violation, at 1366 and 390 px wide, without sideways scrolling at 360 px; a
full-page screenshot of each page at both widths goes to tests/browser/screenshots/ (gitignored)
for a reviewer.

axe-core comes from npm (package.json, node_modules/axe-core). The pages' Content-Security-Policy
allows no inline script, so Playwright's add_script_tag (which inlines the file) would be blocked:
the source is run with page.evaluate instead, which goes through the DevTools protocol and is not
subject to the page's CSP. The pages keep their real CSP.
"""
from __future__ import annotations

import json

import pytest

from backend.config import PROJECT_ROOT

from tests.addins.test_taskpane_browser import OFFICE_STUB
from tests.pagewait import wait_until

from .conftest import SCREENSHOTS, Session
from .test_users_browser import _link

pytestmark = pytest.mark.browser

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}
NARROWEST = {"width": 360, "height": 740}
SERIOUS = {"serious", "critical"}

# iframes: false -- a thread's mail bodies are sandboxed frames of untrusted mail, not our design.
RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    iframes: false, resultTypes: ['violations'] });
  return result.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => ({ target: n.target.join(' '), summary: n.failureSummary })),
    count: v.nodes.length }));
}"""

OVERFLOW = """() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
  wide: Array.from(document.querySelectorAll('body *'))
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 5).map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')) })"""


def axe_violations(page) -> list[dict]:
    assert AXE.exists(), f"{AXE} is missing: run `npm install` (make test does, through scripts/install-system-deps.sh)"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return [v for v in page.evaluate(RUN_AXE) if v["impact"] in SERIOUS]


def describe(name: str, width: str, violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{name} @ {width}px: {v['id']} ({v['impact']}, {v['count']} nodes): {v['help']}")
        lines += [f"    {n['target']}: {' '.join(n['summary'].split())[:240]}" for n in v["nodes"]]
    return "\n".join(lines)


def keep_local(context, live_server: str, office: dict | None = None) -> list[str]:
    """Nothing leaves this machine: office.js is an empty script (or the test's Office stub), any other
    outside request is refused and listed."""
    blocked: list[str] = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(live_server):
            request_route.continue_()
        elif url.startswith("https://appsforoffice.microsoft.com/"):
            request_route.fulfill(status=200, content_type="application/javascript", body="/* stub */")
        else:
            blocked.append(url)
            request_route.abort()

    context.route("**/*", route)
    if office is not None:
        context.add_init_script(OFFICE_STUB % json.dumps(office))
    return blocked


def check_pages(browser, live_server, pages: dict[str, str], email: str | None, office: dict | None = None,
                ready: str | None = None, dark: bool = False) -> list[str]:
    """Each page at each width: axe, the 360 px overflow check, a screenshot. Returns the problems."""
    problems: list[str] = []
    for width, viewport in WIDTHS.items():
        session = Session(browser, live_server, viewport, mobile=width == "390")
        try:
            blocked = keep_local(session.context, live_server, office)
            if dark:  # Outlook's dark theme: the pane follows prefers-color-scheme
                session.page.emulate_media(color_scheme="dark")
            if email:
                session.sign_in(email)
            for name, url in pages.items():
                session.page.goto(url)
                session.page.wait_for_load_state("load")
                if ready:
                    wait_until(session.page, ready)
                found = axe_violations(session.page)
                if found:
                    problems.append(describe(name, width, found))
                session.shot(f"{name}-{width}")
                if width == "390":
                    session.page.set_viewport_size(NARROWEST)
                    overflow = session.page.evaluate(OVERFLOW)
                    if overflow["scroll"] > overflow["inner"]:
                        problems.append(f"{name} @ 360px scrolls sideways: {json.dumps(overflow)}")
                    session.page.set_viewport_size(viewport)
            if session.page_errors:
                problems.append(f"page errors at {width}px: {session.page_errors}")
            if blocked:
                problems.append(f"requests to other hosts at {width}px: {blocked}")
        finally:
            session.close()
    return problems


def test_signed_out_pages_pass_axe(browser, live_server):
    pages = {"sign-in": "/sign-in", "forgot-password": "/forgot-password",
             # The task pane as the app serves it (outside Outlook it shows its one sentence).
             "taskpane": "/static/addin/taskpane.html"}
    problems = check_pages(browser, live_server, pages, None)
    assert not problems, "\n".join(problems)


def test_the_task_pane_in_outlook_passes_axe(browser, live_server, alice, api):
    # In Outlook (the Office stub): the Bcc address, the deal picker, privacy, the developer sign-in.
    pat = api(alice, "post", "/api/v1/persons", {"name": "Pat Customer", "emails": [{"email": "pat@customer.example"}]})
    api(alice, "post", "/api/v1/deals", {"title": "Renewal", "person_id": pat["id"]})
    api(alice, "post", "/api/v1/deals", {"title": "Upsell", "person_id": pat["id"]})
    office = {"to": [{"emailAddress": "pat@customer.example", "displayName": "Pat"}],
              "roaming": {"smartbccApiToken": alice.token}}
    problems = check_pages(browser, live_server, {"taskpane-outlook": "/static/addin/taskpane.html"}, None, office,
                           ready="document.querySelectorAll('#options .option').length >= 4")
    problems += check_pages(browser, live_server, {"taskpane-outlook-dark": "/static/addin/taskpane.html"}, None,
                            office, ready="document.querySelectorAll('#options .option').length >= 4", dark=True)
    assert not problems, "\n".join(problems)


def test_signed_in_pages_pass_axe(browser, live_server, alice, bert, api, thread_of):
    org = api(alice, "post", "/api/v1/organizations", {"name": "Customer Ltd"})
    person = api(alice, "post", "/api/v1/persons", {"name": "Bob Buyer",
                                                    "emails": [{"email": "bob@customer.example"}]})
    deal = api(alice, "post", "/api/v1/deals", {"title": "Payroll renewal", "value": 1000, "currency": "EUR"})
    lead = api(alice, "post", "/api/v1/leads", {"title": "Web lead"})
    project = api(alice, "post", "/api/v1/projects", {"title": "Rollout"})
    thread_id = thread_of(alice, "Proposal for the renewal")
    thread_of(alice, "Second proposal")
    pages = {
        "home": "/", "inbox": "/inbox", "thread": f"/inbox/threads/{thread_id}", "search": "/search?q=proposal",
        "deals": "/deals", "leads": "/leads", "projects": "/projects", "persons": "/persons",
        "organizations": "/organizations",
        "deal": f"/deals/{deal['id']}", "lead": f"/leads/{lead['id']}", "project": f"/projects/{project['id']}",
        "person": f"/persons/{person['id']}", "organization": f"/organizations/{org['id']}",
        "deal-new": "/deals/new", "deal-edit": f"/deals/{deal['id']}/edit",
        "person-new": "/persons/new", "person-edit": f"/persons/{person['id']}/edit",
        "organization-new": "/organizations/new", "organization-edit": f"/organizations/{org['id']}/edit",
        "lead-new": "/leads/new", "lead-edit": f"/leads/{lead['id']}/edit",
        "project-new": "/projects/new", "project-edit": f"/projects/{project['id']}/edit",
        "settings-operator-mail": "/settings/operator-mail",
        "settings-smart-bcc": "/settings/smart-bcc", "settings-company-domain": "/settings/company-domain",
        "settings-users": "/settings/users", "settings-account": "/settings/account",
        "settings-connections": "/settings/connections",
        "error-404": "/deals/999999",
    }
    problems = check_pages(browser, live_server, pages, alice.email)
    assert not problems, "\n".join(problems)
    assert {p.name for p in SCREENSHOTS.glob("*.png")} >= {f"{n}-{w}.png" for n in pages for w in WIDTHS}


def test_the_pages_a_mailed_link_opens_pass_axe(browser, live_server, open_session, alice, services):
    """The invitation's accept page and the password reset page, opened from the links the outbox holds."""
    admin = open_session(alice.email)
    admin.page.goto("/settings/users")
    admin.page.get_by_label("Their email address").fill("nina@acme.example")
    admin.page.get_by_role("button", name="Send invitation").click()
    admin.page.get_by_text("an invitation for nina@acme.example was written to").wait_for()
    visitor = open_session()
    visitor.page.goto("/forgot-password")
    visitor.page.get_by_label("Email address").fill(alice.email)
    visitor.page.get_by_role("button", name="Mail me a link").click()
    visitor.page.get_by_text("on its way").wait_for()
    base = live_server.rstrip("/")
    pages = {"invitation-accept": _link(services, "invite-", "/invitations/accept").replace(base, ""),
             "reset-password": _link(services, "reset-", "/reset-password").replace(base, "")}
    problems = check_pages(browser, live_server, pages, None)
    assert not problems, "\n".join(problems)


# Where focus is after each Tab, and whether the ring shows: a 2 px+ outline (the tokens' focus ring).
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el.tagName === 'IFRAME') return null;
  const style = getComputedStyle(el), box = el.getBoundingClientRect();
  return { what: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' + (el.textContent || el.name || '').trim().slice(0, 30),
           key: Array.from(document.querySelectorAll('*')).indexOf(el), ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
           focusVisible: el.matches(':focus-visible'), shown: box.width > 0 && box.height > 0 && box.right > 0 };
}"""


def test_every_control_is_reached_by_tab_and_shows_the_focus_ring(browser, live_server, alice, api, thread_of):
    deal = api(alice, "post", "/api/v1/deals", {"title": "Payroll renewal"})
    thread_id = thread_of(alice, "Proposal")
    session = Session(browser, live_server, WIDTHS["1366"])
    keep_local(session.context, live_server)
    try:
        session.sign_in(alice.email)
        for url in ("/", "/inbox", f"/inbox/threads/{thread_id}", f"/deals/{deal['id']}/edit", "/settings/users",
                    "/settings/smart-bcc"):
            page = session.page
            page.goto(url)
            # What a keyboard can reach, counted in the page itself.
            reachable = page.evaluate("""() => Array.from(document.querySelectorAll(
                'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])'))
                .filter(el => !el.disabled && el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
                // A radio group is one Tab stop (its checked button, or its first); arrows move inside it.
                .filter(el => el.type !== 'radio' || el.checked ||
                  !document.querySelector(`input[type=radio][name="${el.name}"]:checked`) &&
                  document.querySelector(`input[type=radio][name="${el.name}"]`) === el)
                .map(el => Array.from(document.querySelectorAll('*')).indexOf(el))""")
            seen: list[int] = []
            # A date field takes one Tab per part (day, month, year), so allow for more presses than controls.
            for _ in range(3 * len(reachable) + 10):
                page.keyboard.press("Tab")
                focused = page.evaluate(FOCUSED)
                if focused is None:
                    continue
                if seen and focused["key"] == seen[0]:
                    break  # round the page once
                if focused["key"] in seen:
                    continue
                seen.append(focused["key"])
                assert focused["shown"], f"{url}: focus on something hidden: {focused['what']}"
                assert focused["focusVisible"] and focused["ring"], f"{url}: no focus ring on {focused['what']}"
            missed = [page.evaluate("i => document.querySelectorAll('*')[i].outerHTML.slice(0, 160)", i)
                      for i in reachable if i not in seen]
            assert not missed, f"{url}: Tab never reached {missed}"
        assert not session.page_errors
    finally:
        session.close()
