"""The Outlook task pane in the system Chromium: a stub Office object, the real backend on a local server."""
from __future__ import annotations

import json
import re

import pytest

from backend.config import PROJECT_ROOT


pytestmark = pytest.mark.browser

from tests.live import live_port, live_server, settings  # noqa: F401  (fixtures used here)
from tests.pagewait import wait_until

# What Outlook would give the pane: a compose item whose recipients, Bcc and session data the
# test controls and reads back. office.js itself is never fetched (see the route below).
OFFICE_STUB = """
(() => {
  const state = window.__office = Object.assign({ to: [], cc: [], bcc: [], session: {}, roaming: {},
                                                  setCalls: 0, notices: {} }, %s);
  const ok = (value) => ({ status: "succeeded", value });
  const field = (name) => ({ getAsync(cb) { cb(ok(state[name].map((r) => ({ ...r })))); } });
  const item = {
    to: field("to"), cc: field("cc"),
    bcc: Object.assign(field("bcc"), { setAsync(list, cb) {
      state.setCalls += 1; state.bcc = list.map((r) => ({ ...r })); cb(ok()); } }),
    sessionData: {
      getAsync(key, cb) { cb(key in state.session ? ok(state.session[key]) : { status: "failed", error: { message: "no " + key } }); },
      setAsync(key, value, cb) { state.session[key] = value; cb(ok()); },
      removeAsync(key, cb) { delete state.session[key]; cb(ok()); },
    },
    notificationMessages: {
      replaceAsync(key, message, cb) { state.notices[key] = message; cb(ok()); },
      removeAsync(key, cb) { delete state.notices[key]; cb(ok()); },
    },
    addHandlerAsync(type, handler, cb) { state.recipientsChanged = handler; if (cb) cb(ok()); },
  };
  window.Office = {
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    EventType: { RecipientsChanged: "olkRecipientsChanged" },
    MailboxEnums: { ItemNotificationMessageType: { InformationalMessage: "informationalMessage" } },
    context: {
      mailbox: { item },
      requirements: { isSetSupported() { return false; } },
      roamingSettings: {
        get(key) { return state.roaming[key]; }, set(key, value) { state.roaming[key] = value; },
        remove(key) { delete state.roaming[key]; }, saveAsync(cb) { if (cb) cb(ok()); },
      },
    },
    onReady(callback) {
      // host null: what office.js reports in a plain browser tab.
      const info = "host" in state ? { host: state.host, platform: null } : { host: "Outlook", platform: "OfficeOnline" };
      setTimeout(() => callback && callback(info), 0);
      return Promise.resolve(info);
    },
  };
})();
"""






@pytest.fixture
def open_pane(browser, live_server):
    contexts, errors, blocked = [], [], []

    def _open(office: dict | None):
        context = browser.new_context(viewport={"width": 340, "height": 720})
        context.set_default_timeout(15000)
        contexts.append(context)

        def route(request_route):
            url = request_route.request.url
            if url.startswith(live_server):
                request_route.continue_()
            elif url.startswith("https://appsforoffice.microsoft.com/"):
                # office.js is replaced by the stub: no request leaves this machine.
                request_route.fulfill(status=200, content_type="application/javascript", body="/* stub */")
            else:
                blocked.append(url)
                request_route.abort()

        context.route("**/*", route)
        if office is not None:  # None: office.js loads but defines nothing, as outside Outlook
            context.add_init_script(OFFICE_STUB % json.dumps(office))
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{live_server}/static/addin/taskpane.html")
        return page

    yield _open
    for context in contexts:
        context.close()
    assert errors == []
    assert blocked == []


def office_state(page) -> dict:
    return page.evaluate("() => JSON.parse(JSON.stringify(window.__office))")


def test_candidates_are_shown_and_a_pick_updates_the_bcc(open_pane, acme, crm):
    pat = crm.person(acme.company_id, "Pat Customer", "pat@customer.example")
    renewal, renewal_address = crm.deal(acme.company_id, pat, "Renewal")
    upsell, upsell_address = crm.deal(acme.company_id, pat, "Upsell")
    crm.lead(acme.company_id, pat, "Web lead")
    page = open_pane({
        "to": [{"emailAddress": "pat@customer.example", "displayName": "Pat"}],
        "bcc": [{"emailAddress": "boss@acme.example", "displayName": "The Boss"}],
        "roaming": {"smartbccApiToken": acme.token},
    })
    wait_until(page, "document.getElementById('address').textContent.includes('@')")
    assert page.text_content("#address") == acme.bcc_address
    assert "2 open deals" in page.text_content("#reason")
    titles = page.locator("#options .option .title").all_text_contents()
    assert titles == ["Automatic", "Renewal", "Upsell", "Web lead", "No deal"]
    assert page.locator("#options").text_content().count("Pat Customer") == 3
    assert page.get_attribute("#create-deal", "href") == f"{page.url.split('/static/')[0]}/deals"
    assert office_state(page)["setCalls"] == 0  # showing the pane changes nothing

    page.check(f"input[value='deal:{upsell}']")
    wait_until(page, "document.getElementById('status').textContent.startsWith('Bcc updated')")
    state = office_state(page)
    assert [r["emailAddress"] for r in state["bcc"]] == ["boss@acme.example", upsell_address]
    assert state["bcc"][0]["displayName"] == "The Boss"
    assert state["session"] == {"smartbcc.choice": f"deal:{upsell}"}
    assert page.text_content("#address") == upsell_address

    # Another pick replaces the previous Smart Bcc address; the user's own Bcc stays.
    page.check(f"input[value='deal:{renewal}']")
    wait_until(page, f"document.getElementById('address').textContent === {json.dumps(renewal_address)}")
    wait_until(page, "window.__office.setCalls === 2")
    assert [r["emailAddress"] for r in office_state(page)["bcc"]] == ["boss@acme.example", renewal_address]

    page.check("input[value='none']")
    wait_until(page, "window.__office.setCalls === 3")
    state = office_state(page)
    assert [r["emailAddress"] for r in state["bcc"]] == ["boss@acme.example", acme.bcc_address]
    assert state["session"] == {"smartbcc.choice": "none"}

    page.check("input[value='']")  # back to automatic: nothing picked in session data
    wait_until(page, "window.__office.session['smartbcc.choice'] === undefined")


def test_the_only_open_deal_is_preselected_by_automatic(open_pane, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    _id, address = crm.deal(acme.company_id, pat, "Renewal")
    page = open_pane({"to": [{"emailAddress": "pat@customer.example", "displayName": "Pat"}],
                      "roaming": {"smartbccApiToken": acme.token}})
    wait_until(page, "document.getElementById('address').textContent.includes('@')")
    assert page.text_content("#address") == address
    assert page.is_checked("input[value='']")


def test_a_rejected_token_is_shown_to_the_user(open_pane):
    page = open_pane({"to": [], "roaming": {"smartbccApiToken": "sbc_revoked"}})
    page.wait_for_selector("#error:not([hidden])")
    assert "API token is not valid" in page.text_content("#error")


# ---- outside Outlook: one sentence, a link to the settings, the web app's look

def _web_app_colours() -> dict:
    # The pages and the pane share one set of design tokens (static/css/tokens.css).
    css = (PROJECT_ROOT / "static" / "css" / "tokens.css").read_text()
    topbar = re.search(r"--topbar: (#[0-9a-f]{6})", css).group(1)
    brand = re.search(r"--brand: (#[0-9a-f]{6})", css).group(1)
    return {"topbar": topbar, "brand": brand}


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@pytest.mark.parametrize("office", [None, {"host": None}], ids=["no-office-global", "onready-without-host"])
def test_outside_outlook_the_pane_says_so_and_links_to_the_settings(open_pane, live_server, office):
    page = open_pane(office)
    page.wait_for_selector("#outside:not([hidden])", timeout=3000)
    assert page.is_hidden("#pane")
    text = " ".join(page.text_content("#outside").split())
    assert text.startswith("Smart Bcc's pane runs inside Outlook")
    assert text.count(".") == 1  # one sentence
    link = page.locator("#outside a")
    assert link.get_attribute("href") == f"{live_server}/settings"
    assert "Reading the recipients" not in page.locator("body").inner_text()
    colours = _web_app_colours()
    assert page.eval_on_selector(".bar", "e => getComputedStyle(e).backgroundColor") == _rgb(colours["topbar"])
    assert page.eval_on_selector("#outside a", "e => getComputedStyle(e).color") == _rgb(colours["brand"])
    assert page.eval_on_selector("body", "e => getComputedStyle(e).fontFamily").startswith("system-ui")
    page.click("#outside a")
    page.wait_for_url(re.compile(r".*/(settings|sign-in|login).*"))


def test_a_missing_smart_bcc_address_is_offered_and_added_from_the_pane(open_pane, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    _id, address = crm.deal(acme.company_id, pat, "Renewal")
    page = open_pane({"to": [{"emailAddress": "pat@customer.example", "displayName": "Pat"}],
                      "roaming": {"smartbccApiToken": acme.token}})
    page.wait_for_selector("#missing:not([hidden])")
    assert address in page.text_content("#missing")
    assert office_state(page)["setCalls"] == 0
    page.click("#add-now")
    wait_until(page, "window.__office.setCalls === 1")
    assert [r["emailAddress"] for r in office_state(page)["bcc"]] == [address]
    assert page.is_hidden("#missing")


# ---- mail sent earlier whose copy has not been logged (issue 17, point 6)

def test_mail_not_logged_is_listed_and_dismissed_from_the_pane(open_pane, acme, services):
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import select

    from backend.models import SentAnnouncement

    with services.db.session() as session:
        session.add(SentAnnouncement(company_id=acme.company_id, user_id=acme.user_id, ref="sbc-pane",
                                     address=acme.bcc_address, status="no_connection", subject="Offer for Pat",
                                     recipients=["pat@customer.example"],
                                     created_at=datetime.now(timezone.utc) - timedelta(minutes=25)))
    page = open_pane({"to": [], "roaming": {"smartbccApiToken": acme.token}})
    page.wait_for_selector("#not-logged:not([hidden])")
    item = " ".join(page.text_content("#not-logged-list").split())
    assert "Offer for Pat" in item and "To pat@customer.example" in item and "sent 25 min ago" in item
    # No connected mailbox: nothing to fetch with, only dismiss.
    assert page.locator("#not-logged-list button").all_text_contents() == ["Dismiss"]
    page.click("#not-logged-list button[data-action='dismiss']")
    page.wait_for_selector("#not-logged", state="hidden")
    assert "Dismissed" in page.text_content("#status")
    with services.db.session() as session:
        assert session.scalar(select(SentAnnouncement.dismissed_at).where(SentAnnouncement.ref == "sbc-pane"))
