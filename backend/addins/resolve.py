"""The add-ins' resolve input, checked: the draft's addresses and the rep's choice; the rule is domain/drafts.py."""
from __future__ import annotations

import email.utils

from sqlalchemy.orm import Session

from .. import addresses
from ..domain import drafts, privacy as privacy_rules
from ..domain.actor import Actor
from ..domain.drafts import Choice
from ..domain.errors import DomainError as ApiError
from ..models import Company, User

MAX_ADDRESSES = 500  # per list; more is not a draft anybody writes by hand
ITEM_TYPES = ("deal", "lead")


def parse_choice(raw) -> Choice:
    if raw is None or raw == "auto":
        return Choice()
    if raw == "none":
        return Choice(automatic=False)
    if not isinstance(raw, dict):
        raise ApiError(400, "The request has invalid fields; see errors.",
                       {"item": ['Use null (automatic), "none" (company address) or {"item_type", "item_id"}.']})
    item_type, item_id = raw.get("item_type"), raw.get("item_id")
    errors = {}
    if item_type not in ITEM_TYPES:
        errors["item.item_type"] = ["Use deal or lead."]
    if isinstance(item_id, bool) or not isinstance(item_id, int) or not 1 <= item_id <= 2**63 - 1:
        errors["item.item_id"] = ["Must be a whole number."]
    if errors:
        raise ApiError(400, "The request has invalid fields; see errors.", errors)
    return Choice(automatic=False, item_type=item_type, item_id=item_id)


def parse_addresses(raw, field: str) -> list[str]:
    """Bare lower-cased addresses from a list of "a@b" or "Name <a@b>" strings, in order, without repeats."""
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_ADDRESSES:
        raise ApiError(400, "The request has invalid fields; see errors.",
                       {field: [f"Send a list of at most {MAX_ADDRESSES} addresses."]})
    seen: dict[str, None] = {}
    for value in raw:
        if isinstance(value, dict):  # Office.js EmailAddressDetails, sent as is
            value = value.get("emailAddress")
        if not isinstance(value, str) or len(value) > 998 or "\x00" in value:
            raise ApiError(400, "The request has invalid fields; see errors.",
                           {field: ["Every entry must be an address string."]})
        _name, addr = email.utils.parseaddr(value)
        addr = addr.strip().lower()
        if "@" in addr and len(addr) <= addresses.MAX_ADDRESS_LENGTH:
            seen.setdefault(addr, None)
    return list(seen)


MAX_SUBJECT, MAX_BODY = 998, 100_000


def parse_text(raw, field: str, limit: int) -> str:
    """The draft's subject or text, which the deal ranking reads; optional."""
    if raw is None:
        return ""
    if not isinstance(raw, str) or "\x00" in raw or len(raw) > limit:
        raise ApiError(400, "The request has invalid fields; see errors.",
                       {field: [f"Send the draft's {field} as text of at most {limit} characters."]})
    return raw


PRIVACY_VALUES = ("default", *addresses.PRIVACY_TAGS)


def parse_privacy(raw) -> str | None:
    """The rep's privacy choice: "private", "shared", "default" (no tag: the user's setting), or
    None (absent: keep whatever the draft's Smart Bcc address already says)."""
    if raw is None:
        return None
    if raw not in PRIVACY_VALUES:
        raise ApiError(400, "The request has invalid fields; see errors.",
                       {"privacy": ['Use "private", "shared", "default" or leave it out.']})
    return raw


def resolve(session: Session, actor: Actor, company: Company, mail_domain: str, *, to: list[str], cc: list[str],
            bcc: list[str], choice: Choice, subject: str = "", body: str = "", privacy: str | None = None) -> dict:
    """The address for the draft, from the link rule-book (backend/domain/drafts.py); with several
    open deals, the candidates come best first with their score and reasons, ranked on the
    draft's subject and text as the pipeline ranks the sent mail (backend/domain/dealrank.py).
    The address carries the rep's privacy choice as its tag (``privacy``; absent: the tag of the
    Smart Bcc address already in the draft's Bcc, so a compose event that knows nothing of the
    choice keeps it)."""
    result = drafts.suggest(session, actor, company, mail_domain, to=to, cc=cc, bcc=bcc, choice=choice,
                            subject=subject, text=body)
    if privacy is None:
        privacy = privacy_rules.chosen(bcc, mail_domain).privacy
    tag = privacy if privacy in addresses.PRIVACY_TAGS else None
    address = addresses.with_privacy(result["address"], tag, mail_domain)
    default = privacy_rules.default_for(session.get(User, actor.user_id))
    result.update(
        address=address,
        replace=[a for a in bcc if addresses.is_smartbcc_address(a, mail_domain) and a.lower() != address.lower()],
        privacy={"default": default, "chosen": tag, "effective": tag or default})
    return result
