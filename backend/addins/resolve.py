"""Which Smart Bcc address a draft should carry, from its recipients and an optional chosen deal or lead, in a few batched queries."""
from __future__ import annotations

import email.utils
from dataclasses import dataclass

from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import Session

from .. import addresses
from ..api.errors import ApiError, not_found
from ..models import Company, Deal, Lead, Person, PersonEmail

MAX_ADDRESSES = 500  # per list; more is not a draft anybody writes by hand
MAX_CANDIDATES = 100  # per kind; the picker is for people, not for bulk mail
ITEM_TYPES = ("deal", "lead")


@dataclass(frozen=True)
class Choice:
    """What the rep picked: nothing (``automatic``), explicitly no item, or one deal or lead."""

    automatic: bool = True
    item_type: str | None = None
    item_id: int | None = None


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


def _item_address(slug: str, kind: str, token: str | None, mail_domain: str) -> str | None:
    return addresses.item_address(slug, kind, token, mail_domain) if token else None


def _candidates(session: Session, company_id: int, recipients: list[str]):
    """(persons by id, deals, leads) of the recipients' contacts: two queries whatever the number of recipients."""
    if not recipients:
        return {}, [], []
    rows = session.execute(
        select(PersonEmail.email, Person.id, Person.name)
        .join(Person, Person.id == PersonEmail.person_id)
        .where(PersonEmail.company_id == company_id, Person.company_id == company_id,
               PersonEmail.email.in_(recipients))).all()
    order = {addr: i for i, addr in enumerate(recipients)}
    persons: dict[int, tuple[int, str]] = {}
    for addr, pid, name in rows:
        rank = order.get(addr, len(order))
        if pid not in persons or rank < persons[pid][0]:
            persons[pid] = (rank, name)
    if not persons:
        return {}, [], []
    pids = list(persons)
    # "company_id + 0" keeps the company filter but stops SQLite (no ANALYZE statistics) from
    # scanning the whole company through its company_id index instead of using person_id's.
    deals = select(literal("deal").label("kind"), Deal.id, Deal.title, Deal.person_id, Deal.bcc_token).where(
        Deal.person_id.in_(pids), Deal.status == "open", (Deal.company_id + 0) == company_id)
    leads = select(literal("lead").label("kind"), Lead.id, Lead.title, Lead.person_id, Lead.bcc_token).where(
        Lead.person_id.in_(pids), (Lead.company_id + 0) == company_id)
    items = session.execute(union_all(deals, leads)).all()
    # Recipients' order first (the To person before a Cc person), then oldest item first.
    items.sort(key=lambda r: (persons[r.person_id][0], r.id))
    return persons, [r for r in items if r.kind == "deal"], [r for r in items if r.kind == "lead"]


def _chosen(session: Session, company_id: int, choice: Choice):
    model = Deal if choice.item_type == "deal" else Lead
    row = session.execute(
        select(model.id, model.title, model.bcc_token, Person.name.label("person_name"))
        .outerjoin(Person, Person.id == model.person_id)
        .where(model.company_id == company_id, model.id == choice.item_id)).first()
    if row is None:
        # Another company's item looks exactly like a missing one.
        raise not_found(choice.item_type)
    return row


def resolve(session: Session, company: Company, mail_domain: str, *, to: list[str], cc: list[str],
            bcc: list[str], choice: Choice) -> dict:
    """The address for the draft, why, the picker's candidates and the Bcc entries to drop."""
    slug = company.slug
    company_addr = addresses.company_address(slug, mail_domain)
    # Our own addresses are never contacts; the user's own Bcc recipients may be.
    recipients = [a for a in dict.fromkeys(to + cc + bcc) if not addresses.is_smartbcc_address(a, mail_domain)]
    persons, deals, leads = _candidates(session, company.id, recipients)

    def entry(kind, row, person_name):
        return {"item_type": kind, "id": row.id, "title": row.title, "person_name": person_name,
                "bcc_address": _item_address(slug, kind, row.bcc_token, mail_domain)}

    deal_entries = [entry("deal", r, persons[r.person_id][1]) for r in deals[:MAX_CANDIDATES]]
    lead_entries = [entry("lead", r, persons[r.person_id][1]) for r in leads[:MAX_CANDIDATES]]
    item = None
    address = company_addr
    if not choice.automatic and choice.item_type:
        row = _chosen(session, company.id, choice)
        item = {"item_type": choice.item_type, "id": row.id, "title": row.title, "person_name": row.person_name}
        chosen_addr = _item_address(slug, choice.item_type, row.bcc_token, mail_domain)
        if chosen_addr:
            address, code = chosen_addr, "chosen"
            reason = f"You picked {choice.item_type} '{row.title}'."
        else:
            code = "chosen-without-address"
            reason = f"{choice.item_type.title()} '{row.title}' has no Smart Bcc address yet: the company address is used."
    elif not choice.automatic:
        code, reason = "none-chosen", "You chose no deal or lead: the company address logs the mail."
    elif len(deals) == 1 and deals[0].bcc_token:
        only = deals[0]
        address = _item_address(slug, "deal", only.bcc_token, mail_domain)
        item = {"item_type": "deal", "id": only.id, "title": only.title,
                "person_name": persons[only.person_id][1]}
        code = "only-open-deal"
        reason = f"'{only.title}' is the only open deal of the recipients' contacts."
    elif deals:
        code = "several-open-deals"
        reason = (f"The recipients' contacts have {len(deals)} open deals: pick one, or the company "
                  "address logs the mail and you choose the deal later.")
    elif persons:
        code = "no-open-deal"
        reason = "No open deal among the recipients' contacts: the company address logs the mail."
    else:
        code = "no-known-recipients"
        reason = "None of the recipients is a contact yet: the company address logs the mail."
    wanted = address.lower()
    replace = [a for a in bcc if addresses.is_smartbcc_address(a, mail_domain) and a != wanted]
    return {"address": address, "reason": reason, "reason_code": code, "item": item,
            "company_address": company_addr,
            "candidates": {"deals": deal_entries, "leads": lead_entries}, "replace": replace}
