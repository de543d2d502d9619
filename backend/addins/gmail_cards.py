"""The JSON cards and actions the Gmail add-on returns (Google Workspace add-on card framework, HTTP runtime)."""
from __future__ import annotations

from html import escape

TITLE = "Smart Bcc"


def push_card(card: dict) -> dict:
    """The response to a trigger (homepage, message, compose): show this card."""
    return {"action": {"navigations": [{"pushCard": card}]}}


def update_bcc(emails: list[str]) -> dict:
    """The response to the "Bcc to CRM" button: replace the draft's Bcc with ``emails``."""
    return {"renderActions": {"hostAppAction": {"gmailAction": {"updateDraftActionMarkup": {
        "updateBccRecipients": {"bccRecipients": [{"email": e} for e in emails]}}}}}}


def update_card(card: dict, text: str | None = None) -> dict:
    """The response to a button on a card: show ``card`` in its place (and a toast)."""
    action: dict = {"navigations": [{"updateCard": card}]}
    if text:
        action["notification"] = {"text": text}
    return {"renderActions": {"action": action}}


def notify(text: str) -> dict:
    """A toast instead of a draft update (for example when the server cannot decide)."""
    return {"renderActions": {"action": {"notification": {"text": text}}}}


def card(subtitle: str, *sections: dict) -> dict:
    return {"header": {"title": TITLE, "subtitle": subtitle}, "sections": [s for s in sections if s]}


def section(header: str | None, *widgets: dict) -> dict:
    body: dict = {"widgets": [w for w in widgets if w]}
    if header:
        body["header"] = header
    return body if body["widgets"] else {}


def text(value: str) -> dict:
    # Card text is a small HTML subset; CRM titles are user input.
    return {"textParagraph": {"text": escape(value)}}


def labelled(label: str, value: str, bottom: str | None = None) -> dict:
    widget = {"topLabel": escape(label), "text": escape(value), "wrapText": True}
    if bottom:
        widget["bottomLabel"] = escape(bottom)
    return {"decoratedText": widget}


def action_button(label: str, url: str, **parameters: str) -> dict:
    action: dict = {"function": url}
    if parameters:
        action["parameters"] = [{"key": k, "value": v} for k, v in parameters.items()]
    return {"text": label, "onClick": {"action": action}}


def link_button(label: str, url: str) -> dict:
    return {"text": label, "onClick": {"openLink": {"url": url}}}


def buttons(*items: dict) -> dict:
    return {"buttonList": {"buttons": list(items)}}


def homepage(user_email: str, company_address: str, base_url: str) -> dict:
    return push_card(card(
        user_email,
        section("Your Smart Bcc address",
                labelled("Company address", company_address),
                text("Put it in Bcc and the CRM logs the mail. While you write a mail, open Smart Bcc "
                     "from the compose window to pick the deal it belongs to.")),
        section(None, buttons(link_button("Open Smart Bcc", f"{base_url}/inbox")))))


def message(found: dict, base_url: str, pick_url: str) -> dict:
    return push_card(message_card(found, base_url, pick_url))


def message_card(found: dict, base_url: str, pick_url: str) -> dict:
    """The card beside an open message: its conversation's links in the CRM (and the deals to pick
    from when it waits for the rep's choice), or who its sender is in the CRM."""
    if found.get("error"):
        return card("This message", section(None, text(found["error"])))
    sections = []
    links = found.get("links") or []
    header = "Logged in the CRM" if found.get("logged") or not found.get("conversation") else \
        "Its conversation in the CRM"
    if links:
        sections.append(section(header, *[labelled(k.title(), title) for k, title in links]))
    elif found.get("conversation"):
        sections.append(section(header, text("Logged, but not linked to a deal, lead or person yet.")))
    else:
        sections.append(section("Not logged yet", text("Smart Bcc has no copy of this message.")))
    if found.get("candidates"):
        logged = "1" if found.get("logged") else "0"
        picks = [action_button(f"{title} ({person})"[:100] if person else title[:100], pick_url,
                               thread=str(found["thread_id"]), deal=str(deal_id), logged=logged)
                 for deal_id, title, person in found["candidates"]]
        sections.append(section("Pick the deal",
                                text("Its contacts have several open deals: pick the one this conversation "
                                     "belongs to."),
                                buttons(*picks)))
    person = found.get("person")
    if person:
        widgets = [labelled("Sender", person)]
        widgets += [labelled(kind.title(), title) for kind, title in found.get("items") or []]
        if not found.get("items"):
            widgets.append(text("No open deal or lead."))
        sections.append(section("Sender in the CRM", *widgets))
    elif not links and found.get("sender"):
        sections.append(section("Sender", text(f"{found['sender']} is not a contact yet.")))
    sections.append(section(None, buttons(link_button("Open Smart Bcc", f"{base_url}/inbox"))))
    return card("This message", *sections)


def compose(result: dict, action_url: str, base_url: str) -> dict:
    """The compose card: what "Bcc to CRM" inserts, and the recipients' deals and leads to pick from."""
    item = result.get("item")
    chosen = f"{item['item_type'].title()}: {item['title']}" if item else "Company address"
    picks = []
    for entry in result["candidates"]["deals"] + result["candidates"]["leads"]:
        label = f"{entry['item_type'].title()}: {entry['title']}"
        if entry.get("person_name"):
            label += f" ({entry['person_name']})"
        picks.append(action_button(label[:100], action_url, item=f"{entry['item_type']}:{entry['id']}"))
    return push_card(card(
        "Log this mail",
        section("Bcc address",
                labelled(chosen, result["address"], result["reason"]),
                buttons(action_button("Bcc to CRM", action_url, item="auto"))),
        section("Pick a deal or lead", buttons(*picks)) if picks else
        section("Pick a deal or lead", text("The recipients have no open deals or leads.")),
        section(None, buttons(action_button("No deal (company address)", action_url, item="none"),
                              link_button("Create a deal", f"{base_url}/deals")))))
