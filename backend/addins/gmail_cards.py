"""The JSON cards and actions the Gmail add-on returns (Google Workspace add-on card framework, HTTP runtime)."""
from __future__ import annotations

from html import escape

TITLE = "Smart Bcc"


def push_card(card: dict) -> dict:
    """The response to a trigger (homepage, message, compose): show this card."""
    return {"action": {"navigations": [{"pushCard": card}]}}


def update_bcc(emails: list[str], card: dict | None = None, text: str | None = None) -> dict:
    """The response to a compose-card button: replace the draft's Bcc with ``emails`` and, in the
    same response, redraw the compose card (``card``, computed for the Bcc as rewritten) with a
    toast (``text``) saying what is in Bcc now.

    Why one response may carry both (Google's documentation of the HTTP runtime):
    - RenderActions has ``action`` (navigations, notification) and ``hostAppAction`` as two separate
      fields, not a union; its SubmitFormResponse example pairs ``action.notification`` with a
      ``hostAppAction.gmailAction`` ("tells the card to perform an action and/or tells the add-on
      host app to perform an app-specific action"); Navigation ``updateCard`` "updates the top card
      with a new card": https://developers.google.com/workspace/add-ons/reference/rpc/google.apps.card.v1
    - the JSON "Render action" schema of HTTP add-ons (the composeTrigger's response is
      ``renderActions``), likewise with both properties:
      https://developers.google.com/workspace/add-ons/guides/alternate-runtimes
    - only inside ``hostAppAction`` is there one action: HostAppActionMarkup (``gmailAction``) and
      GmailClientActionMarkup (``updateDraftActionMarkup``) are unions; ``updateBccRecipients``
      "replaces the existing Bcc recipients":
      https://developers.google.com/workspace/add-ons/reference/rpc/apps.extensions.markup
    Apps Script is narrower (a draft-updating callback returns an UpdateDraftActionResponse, whose
    builder has no navigation or notification):
    https://developers.google.com/workspace/add-ons/gmail/extending-compose-ui,
    https://developers.google.com/apps-script/reference/card-service/update-draft-action-response-builder.
    The draft update stays whole: were Gmail to ignore ``action`` here, the Bcc would still be
    rewritten."""
    render: dict = {"hostAppAction": {"gmailAction": {"updateDraftActionMarkup": {
        "updateBccRecipients": {"bccRecipients": [{"email": e} for e in emails]}}}}}
    action: dict = {}
    if card is not None:
        action["navigations"] = [{"updateCard": card}]
    if text:
        action["notification"] = {"text": text}
    if action:
        render["action"] = action
    return {"renderActions": render}


def bcc_sentence(result: dict) -> str:
    """The toast after a rewrite: the address now in Bcc, what it links and who will see the mail."""
    item = result.get("item")
    what = f"{item['item_type']} '{item['title']}'" if item else "no deal or lead"
    privacy = (result.get("privacy") or {}).get("effective")
    return f"In Bcc now: {result['address']} ({what}{f', {privacy}' if privacy else ''})."


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


# The one main action of a card takes the pages' brand colour (static/css/tokens.css --brand, #1f5fbf;
# tests/test_design_tokens.py keeps them equal): a card takes no CSS, but a button takes a colour.
BRAND = {"red": 0x1F / 255, "green": 0x5F / 255, "blue": 0xBF / 255, "alpha": 1}


def action_button(label: str, url: str, primary: bool = False, **parameters: str) -> dict:
    action: dict = {"function": url}
    if parameters:
        action["parameters"] = [{"key": k, "value": v} for k, v in parameters.items()]
    return {"text": label, "onClick": {"action": action}, **({"color": BRAND} if primary else {})}


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


def message(found: dict, base_url: str, pick_url: str, accept_url: str) -> dict:
    return push_card(message_card(found, base_url, pick_url, accept_url))


def _who(title: str, person: str) -> str:
    return f"{title} ({person})" if person else title


def ranked_deal(entry: dict, top: bool = False) -> dict:
    """One ranked candidate: its title, score and, underneath, the evidence in words."""
    label = f"Suggested · score {entry['score']:.2f}" if top else f"Score {entry['score']:.2f}"
    return labelled(label, _who(entry["title"], entry.get("person_name") or ""),
                    "; ".join(entry.get("reasons") or []) or "No evidence either way.")


def deal_choice_section(found: dict, pick_url: str, accept_url: str) -> dict:
    """A conversation waiting for its deal: the candidates best first with their reasons, ONE
    button that accepts the top suggestion, and the others to pick by hand."""
    choice = found["deal_choice"]
    logged = "1" if found.get("logged") else "0"

    def ids(deal_id) -> dict:
        return {"thread": str(found["thread_id"]), "deal": str(deal_id), "logged": logged}

    candidates = choice["candidates"]
    top = choice.get("suggested") or choice.get("top")
    if not candidates or top is None:
        return section("Pick the deal", text("Its contacts' deals are no longer open: find another deal or create "
                                             "one in Smart Bcc."))
    others = [c for c in candidates if c["id"] != top["id"]]
    widgets = [text("Its contacts have several open deals: pick the one this conversation belongs to."),
               *[ranked_deal(c, top=c["id"] == top["id"]) for c in [top, *others]],
               buttons(action_button(f"Accept: {top['title']}"[:100], accept_url, primary=True, **ids(top["id"])))]
    if others:
        widgets.append(buttons(*[action_button(f"Pick {_who(c['title'], c['person_name'])}"[:100], pick_url,
                                               **ids(c["id"])) for c in others]))
    return section("Pick the deal", *widgets)


def message_card(found: dict, base_url: str, pick_url: str, accept_url: str) -> dict:
    """The card beside an open message: its conversation's links in the CRM (and the ranked deals
    to pick from when it waits for the rep's choice), or who its sender is in the CRM."""
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
    if found.get("deal_choice"):
        sections.append(deal_choice_section(found, pick_url, accept_url))
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


PRIVACY_WORDS = {"private": "only you will see the conversation this mail starts",
                 "shared": "everyone in your company will see the conversation this mail starts"}


def privacy_section(result: dict, action_url: str) -> dict:
    """Private or shared, chosen while writing: each button writes the Bcc again with the address
    tagged accordingly (the draft's Bcc is where the choice is kept; Gmail has no compose state)."""
    privacy = result.get("privacy")
    if not privacy:
        return {}
    effective = privacy["effective"]
    how = "marked for this mail" if privacy.get("chosen") else "your setting for new conversations"
    return section("Who sees it",
                   text(f"{effective.capitalize()} ({how}): {PRIVACY_WORDS[effective]}. A reply in an existing "
                        "conversation does not change it; the change is offered on the conversation's page."),
                   buttons(action_button("Mark private", action_url, item="auto", privacy="private"),
                           action_button("Mark shared", action_url, item="auto", privacy="shared")))


def suggestion_section(result: dict, action_url: str) -> dict:
    """Several open deals, ranked: the top one with its reasons and ONE button that puts its address in Bcc."""
    deals = result["candidates"]["deals"]
    top = result.get("suggested") or (deals[0] if result.get("needs_deal_choice") and deals
                                      and "score" in deals[0] else None)
    if top is None:
        return {}
    return section("Suggested deal", ranked_deal(top, top=True),
                   buttons(action_button(f"Use: {top['title']}"[:100], action_url, primary=True, item=f"deal:{top['id']}")))


def compose(result: dict, action_url: str, base_url: str, in_bcc: bool = False) -> dict:
    """The compose trigger's answer: the compose card, shown."""
    return push_card(compose_card(result, action_url, base_url, in_bcc))


def compose_card(result: dict, action_url: str, base_url: str, in_bcc: bool = False) -> dict:
    """The compose card: what "Bcc to CRM" inserts (``in_bcc``: the draft's Bcc has it already,
    as after a button rewrote it), and the recipients' deals and leads to pick from."""
    item = result.get("item")
    chosen = f"{item['item_type'].title()}: {item['title']}" if item else "Company address"
    picks = []
    for entry in result["candidates"]["deals"] + result["candidates"]["leads"]:
        label = f"{entry['item_type'].title()}: {entry['title']}"
        if entry.get("person_name"):
            label += f" ({entry['person_name']})"
        picks.append(action_button(label[:100], action_url, item=f"{entry['item_type']}:{entry['id']}"))
    return card(
        "Log this mail",
        section("In Bcc now" if in_bcc else "Bcc address",
                labelled(chosen, result["address"], result["reason"]),
                buttons(action_button("Bcc to CRM", action_url, primary=True, item="auto"))),
        # A deal or lead already in Bcc is the rep's pick: no suggestion to accept any more.
        {} if in_bcc and item else suggestion_section(result, action_url),
        section("Pick a deal or lead", buttons(*picks)) if picks else
        section("Pick a deal or lead", text("The recipients have no open deals or leads.")),
        privacy_section(result, action_url),
        section(None, buttons(action_button("No deal (company address)", action_url, item="none"),
                              link_button("Create a deal", f"{base_url}/deals"))))
