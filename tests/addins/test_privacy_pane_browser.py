"""The Outlook task pane in the system Chromium (issue 19): the Private/Shared toggle that tags the
Smart Bcc address, and the ranked suggestion with its reasons and one button."""
from __future__ import annotations

import json

import pytest

from tests.addins.test_taskpane_browser import open_pane  # noqa: F401  (the pane with a stub Office)
from tests.live import live_port, live_server, settings  # noqa: F401  (fixtures used here)

pytestmark = pytest.mark.browser


def test_the_pane_toggles_privacy_and_accepts_the_suggestion(open_pane, acme, crm):  # noqa: F811
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    renewal, renewal_address = crm.deal(acme.company_id, pat, "Renewal")
    crm.deal(acme.company_id, pat, "Upsell")
    page = open_pane({"to": [{"emailAddress": "pat@customer.example", "displayName": "Pat"}],
                      "bcc": [{"emailAddress": acme.bcc_address, "displayName": "Smart Bcc"}],
                      "roaming": {"smartbccApiToken": acme.token}})
    page.wait_for_function("document.getElementById('address').textContent.includes('@')")
    # The user's setting is pre-selected; nothing is written until the rep chooses.
    assert page.is_checked("#privacy input[value='private']")
    assert page.text_content("#privacy-note") == "Your setting for new conversations (private)."
    assert page.is_visible("#suggestion")
    assert page.text_content("#suggestion-title") == "Renewal (Pat)"
    assert page.locator("#suggestion-reasons li").all_text_contents() == ["No evidence either way."]

    page.check("#privacy input[value='shared']")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Marked shared')")
    state = page.evaluate("() => JSON.parse(JSON.stringify(window.__office))")
    assert state["session"]["smartbcc.privacy"] == "shared"
    assert [r["emailAddress"] for r in state["bcc"]] == ["acme+shared@bcc.test"]
    assert page.text_content("#privacy-note") == "Marked shared for this mail."

    page.click("#use-suggestion")  # ONE action: the top suggestion, the privacy kept
    tagged = renewal_address.replace("@", "+shared@")
    page.wait_for_function(f"document.getElementById('address').textContent === {json.dumps(tagged)}")
    state = page.evaluate("() => JSON.parse(JSON.stringify(window.__office))")
    assert [r["emailAddress"] for r in state["bcc"]] == [tagged]
    assert state["session"]["smartbcc.choice"] == f"deal:{renewal}"
    assert page.is_hidden("#suggestion")
