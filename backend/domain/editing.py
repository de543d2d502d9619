"""Creating and changing CRM items, for the REST API and the pages alike (one place per rule):
deals, leads, projects and organizations through ``save_item``, persons through ``save_person``.
The callers load the input with the API's schemas (backend/api/schemas.py) first."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import addresses
from ..models import Deal, Lead, Organization, Person, PersonEmail, Project
from ..models.crm import PersonPhone
from . import history
from .actor import Actor
from .errors import DomainError
from .items import check_references, title_required

# What save_item creates and changes (persons: save_person).
EDITABLE = {"deal": Deal, "lead": Lead, "project": Project, "organization": Organization}


def save_item(session: Session, actor: Actor, item_type: str, data: dict, item=None):
    """Creates (``item`` None) or changes a deal, lead, project or organization from fields the
    API's schema loaded (backend/api/schemas.py), for the API and the pages alike: references
    must name rows of the company, a new item is the actor's unless it names an owner, deals and
    leads get their own Smart Bcc address, a deal keeps a lost reason only while it is lost, and
    the history catch-up is told (backend/domain/history.py). Flushed, not committed."""
    model = EDITABLE[item_type]
    data = {key: (None if value == "" else value) for key, value in data.items()}
    if "title" in data and not (data["title"] or "").strip():
        raise title_required(item_type)
    check_references(session, actor.company_id, data)
    created = item is None
    if created:
        item = model(company_id=actor.company_id)
        if item_type in ("deal", "lead"):
            item.bcc_token = addresses.new_item_token()
    was_status, was_person_id = getattr(item, "status", None), getattr(item, "person_id", None)
    for key, value in data.items():
        setattr(item, key, value)
    if created:
        item.owner_id = data.get("owner_id") or actor.user_id
        session.add(item)
    if item_type == "deal":
        item.status = item.status or "open"
        if item.status != "lost":
            item.lost_reason = None
    session.flush()
    if created:
        history.item_changed(session, item_type, item, created=True)
    else:
        history.item_changed(session, item_type, item, was_status=was_status, was_person_id=was_person_id)
    return item


def save_person(session: Session, actor: Actor, data: dict, person: Person | None = None) -> Person:
    """Creates or changes a person: ``emails`` replaces their addresses (one a company: an address
    of another person is refused), ``phones`` their phone numbers. Flushed, not committed."""
    data = {key: (None if value == "" else value) for key, value in data.items()}
    if "name" in data and not (data["name"] or "").strip():
        raise DomainError(400, "Give the person a name.", {"name": ["Give the person a name."]})
    emails, phones = data.pop("emails", None), data.pop("phones", None)
    check_references(session, actor.company_id, data)
    if person is None:
        person = Person(company_id=actor.company_id)
        for key, value in data.items():
            setattr(person, key, value)
        person.owner_id = data.get("owner_id") or actor.user_id
        session.add(person)
    else:
        for key, value in data.items():
            setattr(person, key, value)
    if emails is not None:
        _claim_emails(session, actor.company_id, person, emails)
    if phones is not None:
        person.phones.clear()
        session.flush()
        for entry in phones:
            person.phones.append(PersonPhone(company_id=actor.company_id, phone=entry["phone"],
                                             label=entry.get("label") or "work"))
    session.flush()
    return person


def _claim_emails(session: Session, company_id: int, person: Person, entries: list[dict]) -> None:
    """Replaces the person's addresses; an address of another person is refused."""
    wanted = [e["email"].strip().lower() for e in entries]
    taken = session.execute(select(PersonEmail.email, PersonEmail.person_id).where(
        PersonEmail.company_id == company_id, PersonEmail.email.in_(wanted))).all() if wanted else []
    clashes = [f"{email} already belongs to person {pid}." for email, pid in taken
               if person.id is None or pid != person.id]
    if clashes:
        raise DomainError(400, "An email address can belong to one person only.", {"emails": clashes})
    has_primary = any(e.get("primary") for e in entries)
    person.emails.clear()
    session.flush()
    for index, entry in enumerate(entries):
        person.emails.append(PersonEmail(
            company_id=company_id, email=wanted[index], label=entry.get("label") or "work",
            primary=bool(entry.get("primary")) or (not has_primary and index == 0)))
