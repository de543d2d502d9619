"""A checker for the JSON the Gmail add-on answers with, against the documented shapes of Google
Workspace add-ons on the HTTP runtime: the RenderActions / action.navigations envelope, Card v1
(``sections``, ``widgets``, ``buttonList``, ``onClick.action.function`` with ``parameters`` as
key/value pairs) and Gmail's ``updateDraftActionMarkup``. Keys outside the documented ones fail,
so a typo (``onclick``, ``parameter``) is caught here rather than by Gmail showing nothing.

Sources: developers.google.com/workspace/add-ons (Card v1 JSON reference of the card framework,
"Extending the compose UI": UpdateDraftActionMarkup.updateBccRecipients, which replaces the draft's
Bcc; event objects: commonEventObject.parameters)."""
from __future__ import annotations

from urllib.parse import urlparse

CARD_KEYS = {"header", "sections", "cardActions", "name", "fixedFooter", "displayStyle", "peekCardHeader",
             "sectionDividerStyle"}
HEADER_KEYS = {"title", "subtitle", "imageUrl", "imageType", "imageAltText"}
SECTION_KEYS = {"header", "widgets", "collapsible", "uncollapsibleWidgetsCount", "collapseControl"}
WIDGETS = {"textParagraph", "image", "decoratedText", "buttonList", "textInput", "selectionInput",
           "dateTimePicker", "divider", "grid", "columns", "chipList"}
WIDGET_COMMON = {"horizontalAlignment"}
TEXT_PARAGRAPH_KEYS = {"text", "maxLines", "textSyntax"}
DECORATED_TEXT_KEYS = {"icon", "startIcon", "topLabel", "text", "wrapText", "bottomLabel", "onClick", "button",
                       "switchControl", "endIcon", "topLabelText", "contentText", "bottomLabelText"}
BUTTON_KEYS = {"text", "icon", "color", "onClick", "disabled", "altText", "type"}
ON_CLICK = {"action", "openLink", "openDynamicLinkAction", "card", "overflowMenu"}
ACTION_KEYS = {"function", "parameters", "loadIndicator", "persistValues", "interaction", "requiredWidgets",
               "allWidgetsAreRequired"}
OPEN_LINK_KEYS = {"url", "openAs", "onClose"}
DRAFT_UPDATES = {"updateBody", "updateSubject", "updateToRecipients", "updateCcRecipients", "updateBccRecipients"}
RECIPIENTS = {"updateToRecipients": "toRecipients", "updateCcRecipients": "ccRecipients",
              "updateBccRecipients": "bccRecipients"}


class CardError(AssertionError):
    pass


def _check(condition: bool, where: str, what: str) -> None:
    if not condition:
        raise CardError(f"{where}: {what}")


def _keys(value, allowed: set[str], where: str, required: tuple[str, ...] = ()) -> None:
    _check(isinstance(value, dict), where, f"must be an object, not {type(value).__name__}")
    extra = set(value) - allowed
    _check(not extra, where, f"undocumented keys {sorted(extra)}")
    for name in required:
        _check(name in value, where, f"missing {name!r}")


def _text(value, where: str) -> None:
    _check(isinstance(value, str) and value != "", where, "must be a non-empty string")


def check_action(action: dict, where: str, functions: set[str] | None) -> None:
    _keys(action, ACTION_KEYS, where, ("function",))
    url = urlparse(action["function"])
    # HTTP runtime: the function is the URL Google calls.
    _check(url.scheme in ("http", "https") and bool(url.netloc), f"{where}.function", "must be an absolute URL")
    if functions is not None:
        _check(url.path in functions, f"{where}.function", f"{url.path} is not one of our endpoints")
    for i, param in enumerate(action.get("parameters", [])):
        _keys(param, {"key", "value"}, f"{where}.parameters[{i}]", ("key", "value"))
        _check(all(isinstance(param[k], str) for k in ("key", "value")), f"{where}.parameters[{i}]",
               "key and value are strings")


def check_on_click(on_click: dict, where: str, functions: set[str] | None) -> None:
    _keys(on_click, ON_CLICK, where)
    _check(len(on_click) == 1, where, "exactly one of action, openLink, openDynamicLinkAction, card, overflowMenu")
    if "action" in on_click:
        check_action(on_click["action"], f"{where}.action", functions)
    elif "openLink" in on_click:
        _keys(on_click["openLink"], OPEN_LINK_KEYS, f"{where}.openLink", ("url",))
        _check(urlparse(on_click["openLink"]["url"]).scheme in ("http", "https"), f"{where}.openLink.url", "a URL")
    elif "card" in on_click:
        check_card(on_click["card"], f"{where}.card", functions)


def check_button(button: dict, where: str, functions: set[str] | None) -> None:
    _keys(button, BUTTON_KEYS, where, ("onClick",))
    _check("text" in button or "icon" in button, where, "needs text or an icon")
    if "text" in button:
        _text(button["text"], f"{where}.text")
    check_on_click(button["onClick"], f"{where}.onClick", functions)


def check_widget(widget: dict, where: str, functions: set[str] | None) -> None:
    _check(isinstance(widget, dict), where, "must be an object")
    kinds = set(widget) & WIDGETS
    _keys(widget, WIDGETS | WIDGET_COMMON, where)
    _check(len(kinds) == 1, where, f"exactly one widget kind, found {sorted(kinds)}")
    kind = kinds.pop()
    body, at = widget[kind], f"{where}.{kind}"
    if kind == "textParagraph":
        _keys(body, TEXT_PARAGRAPH_KEYS, at, ("text",))
        _text(body["text"], f"{at}.text")
    elif kind == "decoratedText":
        _keys(body, DECORATED_TEXT_KEYS, at, ("text",))
        _text(body["text"], f"{at}.text")
        if "onClick" in body:
            check_on_click(body["onClick"], f"{at}.onClick", functions)
        if "button" in body:
            check_button(body["button"], f"{at}.button", functions)
    elif kind == "buttonList":
        _keys(body, {"buttons"}, at, ("buttons",))
        _check(isinstance(body["buttons"], list) and body["buttons"], f"{at}.buttons", "a non-empty list")
        for i, button in enumerate(body["buttons"]):
            check_button(button, f"{at}.buttons[{i}]", functions)


def check_card(card: dict, where: str = "card", functions: set[str] | None = None) -> None:
    _keys(card, CARD_KEYS, where, ("sections",))
    if "header" in card:
        _keys(card["header"], HEADER_KEYS, f"{where}.header", ("title",))
        _text(card["header"]["title"], f"{where}.header.title")
    _check(isinstance(card["sections"], list) and card["sections"], f"{where}.sections", "a non-empty list")
    for i, section in enumerate(card["sections"]):
        at = f"{where}.sections[{i}]"
        _keys(section, SECTION_KEYS, at, ("widgets",))
        _check(isinstance(section["widgets"], list) and section["widgets"], f"{at}.widgets", "a non-empty list")
        for j, widget in enumerate(section["widgets"]):
            check_widget(widget, f"{at}.widgets[{j}]", functions)


def check_navigations(action: dict, where: str, functions: set[str] | None) -> None:
    _keys(action, {"navigations", "notification", "link"}, where)
    if "notification" in action:
        _keys(action["notification"], {"text"}, f"{where}.notification", ("text",))
        _text(action["notification"]["text"], f"{where}.notification.text")
    for i, step in enumerate(action.get("navigations", [])):
        at = f"{where}.navigations[{i}]"
        _keys(step, {"pushCard", "updateCard", "popCard", "popToRoot", "popToCard", "endNavigation"}, at)
        _check(len(step) == 1, at, "exactly one navigation")
        for kind in ("pushCard", "updateCard"):
            if kind in step:
                check_card(step[kind], f"{at}.{kind}", functions)


def check_draft_update(markup: dict, where: str) -> None:
    _keys(markup, DRAFT_UPDATES, where)
    _check(bool(markup), where, "an empty update")
    for update, field in RECIPIENTS.items():
        if update in markup:
            _keys(markup[update], {field}, f"{where}.{update}", (field,))
            for i, recipient in enumerate(markup[update][field]):
                _keys(recipient, {"email"}, f"{where}.{update}.{field}[{i}]", ("email",))
                _check("@" in recipient["email"], f"{where}.{update}.{field}[{i}].email", "an address")


def check_response(body: dict, functions: set[str] | None = None) -> None:
    """A trigger's response ({"action": ...}) or a callback's ({"renderActions": ...})."""
    _keys(body, {"action", "renderActions"}, "response")
    _check(len(body) == 1, "response", "exactly one of action, renderActions")
    if "action" in body:
        check_navigations(body["action"], "action", functions)
        return
    render = body["renderActions"]
    _keys(render, {"action", "hostAppAction"}, "renderActions")
    if "action" in render:
        check_navigations(render["action"], "renderActions.action", functions)
    if "hostAppAction" in render:
        _keys(render["hostAppAction"], {"gmailAction"}, "renderActions.hostAppAction", ("gmailAction",))
        gmail = render["hostAppAction"]["gmailAction"]
        _keys(gmail, {"updateDraftActionMarkup"}, "renderActions.hostAppAction.gmailAction",
              ("updateDraftActionMarkup",))
        check_draft_update(gmail["updateDraftActionMarkup"],
                           "renderActions.hostAppAction.gmailAction.updateDraftActionMarkup")
