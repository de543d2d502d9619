"""Gmail add-on card endpoints (Google Workspace add-on on HTTP): homepage, open message, compose, and the Bcc draft update."""
from __future__ import annotations

import email.utils
import logging
from functools import wraps
from urllib.parse import quote

import requests
from flask import Blueprint, g, request
from sqlalchemy import select

from .. import addresses
from ..api.auth import enforce_api_limits
from ..api.common import db_session, services
from ..domain.autolink import contacts_by_address
from ..domain.items import titles
from ..domain.linkrules import contact_items
from ..domain import manual
from ..domain.errors import DomainError
from ..domain.visibility import thread_for, thread_id_by_message_id
from ..request_scope import actor
from ..api.errors import ApiError
from ..models import Company, MailThread, ThreadLink
from . import gmail_cards as cards
from .auth import unauthorized
from .resolve import Choice, parse_addresses, parse_privacy, resolve
from .tokens import TokenError, user_for_address
from .tokens_google import verify_system_token, verify_user_token

log = logging.getLogger(__name__)
bp = Blueprint("gmail_addon", __name__, url_prefix="/addons/gmail")
GMAIL_TIMEOUT = 5.0


def _settings():
    return services().settings


def _event() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "Send the add-on event object as JSON.")
    return body


def google_request(view):
    """Google's bearer must be our add-on's; the user comes from the body's userIdToken."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        settings = _settings()
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("Only Google may call the Gmail add-on endpoints (no bearer token).")
        event = _event()
        auth = event.get("authorizationEventObject") or {}
        try:
            verify_system_token(settings, token.strip(), f"{settings.base_url.rstrip('/')}{request.path}")
            user_token = auth.get("userIdToken") if isinstance(auth, dict) else None
            if not isinstance(user_token, str) or not user_token:
                raise TokenError("The request has no userIdToken; the add-on needs the userinfo.email scope.")
            user = user_for_address(db_session(), verify_user_token(settings, user_token))
        except TokenError as exc:
            raise unauthorized(exc.message) from exc
        g.user, g.company_id, g.addon_event = user, user.company_id, event
        enforce_api_limits(user)
        return view(*args, **kwargs)
    return wrapper


def _gmail(event: dict) -> dict:
    value = event.get("gmail")
    return value if isinstance(value, dict) else {}


def _action_url() -> str:
    return f"{_settings().base_url}/addons/gmail/bcc-action"


@bp.post("/homepage")
@google_request
def homepage():
    company = db_session().get(Company, g.company_id)
    return cards.homepage(g.user.email, addresses.company_address(company.slug, _settings().mail_domain),
                          _settings().base_url)


def message_headers(event: dict) -> dict[str, str]:
    """Message-ID, From, In-Reply-To and References of the open message, read with the add-on's
    per-message Gmail token (``gmail.accessToken`` of the event object)."""
    gmail = _gmail(event)
    auth = event.get("authorizationEventObject") or {}
    message_id, access_token = gmail.get("messageId"), gmail.get("accessToken")
    oauth_token = auth.get("userOAuthToken") if isinstance(auth, dict) else None
    if not all(isinstance(v, str) and v for v in (message_id, access_token, oauth_token)):
        return {}
    api = _settings().gmail_api_url.rstrip("/")
    url = f"{api}/gmail/v1/users/me/messages/{quote(message_id, safe='')}"
    try:
        response = requests.get(url, timeout=GMAIL_TIMEOUT, params=[
            ("format", "metadata"), ("metadataHeaders", "Message-ID"), ("metadataHeaders", "From"),
            ("metadataHeaders", "In-Reply-To"), ("metadataHeaders", "References")],
            headers={"Authorization": f"Bearer {oauth_token}", "X-Goog-Gmail-Access-Token": access_token})
        response.raise_for_status()
        headers = response.json().get("payload", {}).get("headers", [])
    except (requests.RequestException, ValueError, AttributeError) as exc:
        log.warning("cannot read Gmail message metadata: %s", exc.__class__.__name__)
        return {}
    found = {}
    for header in headers if isinstance(headers, list) else []:
        if isinstance(header, dict) and isinstance(header.get("value"), str):
            found.setdefault(str(header.get("name", "")).lower(), header["value"])
    return found


def _normalize_message_id(value: str) -> str:
    # The pipeline stores Message-IDs without angle brackets or whitespace.
    return "".join(value.split()).strip("<>")


def _thread_links(thread_id: int) -> list[tuple[str, str]]:
    session = db_session()
    links = session.execute(select(ThreadLink.item_type, ThreadLink.item_id).where(
        ThreadLink.company_id == g.company_id, ThreadLink.thread_id == thread_id,
        ThreadLink.removed.is_(False)).order_by(ThreadLink.id)).all()
    found = titles(session, g.company_id, links)
    return [(item_type, found[(item_type, item_id)]) for item_type, item_id in links if (item_type, item_id) in found]


def _sender(address: str) -> tuple[str | None, list[tuple[str, str]]]:
    """What the CRM knows of a sender: their name, open deals and leads (as the link rules see them)."""
    session = db_session()
    contacts = contacts_by_address(session, g.company_id, [address])
    if not contacts:
        return None, []
    leads, _projects, deals = contact_items(session, g.company_id, [contacts[0].person_id])
    pid = contacts[0].person_id
    return contacts[0].name, [("deal", d.title) for d in deals[pid]] + [("lead", lead.title) for lead in leads[pid]]


MAX_REFERENCES = 20


def _conversation(headers: dict[str, str]) -> tuple[int | None, bool]:
    """The visible thread of the open message: its own copy's (logged=True), else the thread of the
    newest mail it replies to or references that is logged (the conversation, logged=False)."""
    own = _normalize_message_id(headers.get("message-id", ""))
    def ids(name: str) -> list[str]:
        return [_normalize_message_id(v) for v in headers.get(name, "").replace(">", "> ").split()]

    # The mail it answers first, then the rest of the conversation, newest first.
    refs = ids("in-reply-to") + list(reversed(ids("references")))
    refs = list(dict.fromkeys(r for r in refs if r and r != own))[:MAX_REFERENCES]
    for number, message_id in enumerate([own, *refs] if own else refs):
        # A colleague's private thread stays invisible here too.
        thread_id = thread_id_by_message_id(db_session(), actor(), message_id)
        if thread_id is not None:
            return thread_id, bool(own) and number == 0
    return None, False


def thread_found(thread: MailThread, logged: bool) -> dict:
    """What the card shows of a logged conversation (one the rep may see): its links, and the
    ranked deals (score, reasons) to pick from when it waits for the rep's choice — the same
    ``deal_choice`` as the thread page and the API."""
    found = {"logged": logged, "conversation": True, "thread_id": thread.id, "links": _thread_links(thread.id)}
    choice = manual.deal_choice(db_session(), actor(), thread)
    if choice is not None:
        found["deal_choice"] = choice
    return found


def lookup_message(headers: dict[str, str]) -> dict:
    """Where the open message's conversation is logged, else what the CRM knows of its sender."""
    found: dict = {}
    thread_id, logged = _conversation(headers)
    if thread_id is not None:  # visible: thread_id_by_message_id looks only at the rep's visible mail
        found = thread_found(db_session().get(MailThread, thread_id), logged)
    sender = email.utils.parseaddr(headers.get("from", ""))[1].strip().lower()
    if sender and not found.get("links"):
        found["sender"] = sender
        found["person"], found["items"] = _sender(sender)
    if not headers:
        found["error"] = "Smart Bcc could not read this message's headers from Gmail; open it again."
    return found


@bp.post("/on-message")
@google_request
def on_message():
    return cards.message(lookup_message(message_headers(g.addon_event)), _settings().base_url, _pick_url(),
                         _accept_url())


def _parameters(event: dict) -> dict:
    common = event.get("commonEventObject") or {}
    params = common.get("parameters") if isinstance(common, dict) else None
    return params if isinstance(params, dict) else {}


def _whole(params: dict, name: str) -> int:
    raw = str(params.get(name, ""))
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw) < 19):
        raise ApiError(400, f"Unknown {name} parameter.", {name: ["Must be a whole number."]})
    return int(raw)


@bp.post("/pick-deal")
@google_request
def pick_deal():
    """A conversation waiting for the rep's choice gets its deal from the message card."""
    params = _parameters(g.addon_event)
    thread_id, deal_id = _whole(params, "thread"), _whole(params, "deal")
    session = db_session()
    thread = thread_for(session, actor(), thread_id)
    link = manual.set_deal(session, actor(), thread, deal_id, "deal")
    session.commit()
    sentence = f"Linked to {manual.link_sentence(session, actor(), link)}."
    found = thread_found(thread, params.get("logged") == "1")
    return cards.update_card(cards.message_card(found, _settings().base_url, _pick_url(), _accept_url()), sentence)


@bp.post("/accept-suggestion")
@google_request
def accept_suggestion():
    """The card's one action on a ranked conversation: link the top suggestion the rep saw. When
    the ranking changed meanwhile (the deal closed, another one ranks first), nothing is linked:
    the card is redrawn with the new ranking and the sentence saying why."""
    params = _parameters(g.addon_event)
    thread_id, deal_id = _whole(params, "thread"), _whole(params, "deal")
    session = db_session()
    thread = thread_for(session, actor(), thread_id)
    try:
        _link, top = manual.accept_suggestion(session, actor(), thread, deal_id)
        session.commit()
        sentence = f"Linked to deal '{top.item.title}', the suggested deal."
    except DomainError as exc:
        if exc.status != 409:
            raise
        session.rollback()
        sentence = exc.message
    found = thread_found(thread, params.get("logged") == "1")
    return cards.update_card(cards.message_card(found, _settings().base_url, _pick_url(), _accept_url()), sentence)


def _pick_url() -> str:
    return f"{_settings().base_url}/addons/gmail/pick-deal"


def _accept_url() -> str:
    return f"{_settings().base_url}/addons/gmail/accept-suggestion"


def _draft(event: dict) -> dict[str, list[str]]:
    gmail = _gmail(event)
    return {k: gmail.get(f"{k}Recipients") if isinstance(gmail.get(f"{k}Recipients"), list) else []
            for k in ("to", "cc", "bcc")}


def _resolve(event: dict, choice: Choice, privacy: str | None = None) -> tuple[dict, dict[str, list[str]]]:
    draft = _draft(event)
    session = db_session()
    result = resolve(session, actor(), session.get(Company, g.company_id), _settings().mail_domain,
                     to=parse_addresses(draft["to"], "to"), cc=parse_addresses(draft["cc"], "cc"),
                     bcc=parse_addresses(draft["bcc"], "bcc"), choice=choice, privacy=privacy)
    return result, draft


@bp.post("/on-compose")
@google_request
def on_compose():
    result, draft = _resolve(g.addon_event, Choice())
    return cards.compose(result, _action_url(), _settings().base_url, _has(draft["bcc"], result["address"]))


def _has(bcc: list, address: str) -> bool:
    """Whether the draft's Bcc holds ``address``."""
    return address.lower() in {bare.lower() for bare in _bare_addresses(bcc)}


def _bare_addresses(entries: list) -> list[str]:
    """The addresses of a draft's recipient entries ("Name <address>" or bare), in order; not
    strings and empty entries left out."""
    return [bare for raw in entries if isinstance(raw, str) and (bare := email.utils.parseaddr(raw)[1].strip())]


def _choice_from(event: dict) -> Choice:
    raw = _parameters(event).get("item", "auto")
    if raw in ("auto", "none"):
        return Choice(automatic=raw == "auto")
    kind, _, ident = str(raw).partition(":")
    if kind not in ("deal", "lead") or not ident.isdigit():
        raise ApiError(400, "Unknown item parameter.")
    return Choice(automatic=False, item_type=kind, item_id=int(ident))


def merged_bcc(existing: list[str], address: str, replace: list[str], mail_domain: str) -> list[str]:
    """The draft's Bcc with our address once, older Smart Bcc addresses gone, the user's own entries kept."""
    drop = {a.lower() for a in replace} | {address.lower()}
    kept = []
    for bare in _bare_addresses(existing):
        if bare.lower() in drop or addresses.is_smartbcc_address(bare, mail_domain):
            continue
        if bare.lower() not in {k.lower() for k in kept}:
            kept.append(bare)
    return kept + [address]


@bp.post("/bcc-action")
@google_request
def bcc_action():
    """Writes the draft's Bcc: the deal or lead picked (``item``) and the privacy chosen
    (``privacy``: private or shared, carried by the address's tag; left out, the tag already in
    the Bcc stays)."""
    privacy = parse_privacy(_parameters(g.addon_event).get("privacy"))
    result, draft = _resolve(g.addon_event, _choice_from(g.addon_event), privacy)
    bcc = merged_bcc(draft["bcc"], result["address"], result["replace"], _settings().mail_domain)
    # One response: the Bcc rewritten, and the compose card redrawn for the Bcc as rewritten (the
    # deal or lead and the privacy just chosen, the address now in Bcc) with a toast saying so.
    # ``result`` is the state written: the address that goes in, its item and its privacy. Why
    # Google accepts both in one response: the sources in gmail_cards.update_bcc.
    card = cards.compose_card(result, _action_url(), _settings().base_url, in_bcc=True)
    return cards.update_bcc(bcc, card, cards.bcc_sentence(result))
