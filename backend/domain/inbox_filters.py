"""The inbox's filters: which conversations a filter keeps, and reading them from query parameters.
The API (GET /api/v1/mailbox/mailThreads) and the /inbox page read them with ``read_filters`` and
pass them to ``inbox.inbox_page``; ``conditions`` turns them into the WHERE clauses it adds.

- ``filter=needs_deal``        the contact has several open deals and none was chosen yet
- ``filter=not_linked``        linked to no deal, lead or project (a link to a person alone does not count)
- ``filter=mine``              the user's own conversations
- ``filter=shared_with_me``    colleagues' conversations they shared
- ``filter=with_attachments``  a live message has an attachment (inline images do not count)
- ``person_id=N``              a message from or to the person (one of their addresses), or linked to them
- ``organization_id=N``        a conversation of the organisation (organizations.organization_threads:
                               mail from or to one of its persons, or linked to one of its persons,
                               deals, leads or projects)
- ``after=YYYY-MM-DD`` / ``before=YYYY-MM-DD``  active in the range (UTC): the last message on or after
                               ``after``, the first before ``before``

Several filters together: a conversation must pass all of them. ``filter`` may repeat or list
several names separated by commas.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from ..models import Attachment, MailMessage, MailThread, Participant, ThreadLink
from ..models.crm import Organization, Person
from .actor import Actor
from .errors import DomainError
from .organizations import organization_threads

FILTERS = {"needs_deal": "Needs a deal", "not_linked": "Not linked", "mine": "Mine",
           "shared_with_me": "Shared with me", "with_attachments": "With attachments"}
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class InboxFilters:
    kinds: tuple[str, ...] = ()  # names from FILTERS, in FILTERS' order
    person_id: int | None = None
    person_name: str = ""
    organization_id: int | None = None
    organization_name: str = ""
    after: date | None = None
    before: date | None = None

    def __bool__(self) -> bool:
        return bool(self.kinds or self.person_id or self.organization_id or self.after or self.before)

    def args(self) -> dict[str, str]:
        """The filters as query parameters (for links that keep them)."""
        args: dict[str, str] = {}
        if self.kinds:
            args["filter"] = ",".join(self.kinds)
        if self.person_id:
            args["person_id"] = str(self.person_id)
        if self.organization_id:
            args["organization_id"] = str(self.organization_id)
        if self.after:
            args["after"] = self.after.isoformat()
        if self.before:
            args["before"] = self.before.isoformat()
        return args


def _id(value: str | None, field: str, errors: dict) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) <= MAX_ID:
        errors[field] = [f"{field} must be a positive whole number (the id of a {field.split('_')[0]})."]
        return None
    return int(value)


def _day(value: str | None, field: str, errors: dict) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    errors[field] = [f"{field} must be a date written YYYY-MM-DD, for example 2026-03-31."]
    return None


def read_filters(session: Session, actor: Actor, args) -> InboxFilters:
    """The filters named by ``args`` (a multi-value mapping of query parameters: ``get`` and
    ``getlist``). A value that cannot be used raises a DomainError (400) with a message per field;
    a person or organisation must be one of the company's."""
    errors: dict[str, list[str]] = {}
    names = {n.strip() for value in args.getlist("filter") for n in value.split(",") if n.strip()}
    unknown = sorted(names - set(FILTERS))
    if unknown:
        errors["filter"] = [f"Unknown filter {', '.join(unknown)}: use {', '.join(FILTERS)}."]
    elif {"mine", "shared_with_me"} <= names:
        errors["filter"] = ["mine and shared_with_me exclude each other: choose one."]
    person_id = _id(args.get("person_id"), "person_id", errors)
    organization_id = _id(args.get("organization_id"), "organization_id", errors)
    after, before = _day(args.get("after"), "after", errors), _day(args.get("before"), "before", errors)
    if after and before and before <= after:
        errors["before"] = ["before must be a later day than after."]
    person_name = organization_name = ""
    if person_id and "person_id" not in errors:
        person_name = session.scalar(select(Person.name).where(
            Person.company_id == actor.company_id, Person.id == person_id)) or ""
        if not person_name:
            errors["person_id"] = [f"There is no person {person_id} in your company."]
    if organization_id and "organization_id" not in errors:
        organization_name = session.scalar(select(Organization.name).where(
            Organization.company_id == actor.company_id, Organization.id == organization_id)) or ""
        if not organization_name:
            errors["organization_id"] = [f"There is no organisation {organization_id} in your company."]
    if errors:
        first = next(iter(errors.values()))[0]
        raise DomainError(400, f"The inbox filter cannot be used: {first}", errors)
    return InboxFilters(tuple(k for k in FILTERS if k in names), person_id, person_name, organization_id,
                        organization_name, after, before)


def _with_persons(actor: Actor, persons) -> ColumnElement:
    """A live message of the thread has one of ``persons`` as sender or recipient, or the thread is
    linked to one of them."""
    via_mail = exists(select(Participant.id).join(MailMessage, MailMessage.id == Participant.message_id).where(
        MailMessage.thread_id == MailThread.id, MailMessage.deleted_at.is_(None),
        Participant.company_id == actor.company_id, Participant.person_id.in_(persons)))
    via_link = exists(select(ThreadLink.id).where(
        ThreadLink.thread_id == MailThread.id, ThreadLink.item_type == "person",
        ThreadLink.item_id.in_(persons), ThreadLink.removed.is_(False)))
    return or_(via_mail, via_link)


def conditions(actor: Actor, filters: InboxFilters | None) -> list[ColumnElement]:
    """The WHERE clauses on MailThread of ``filters`` (the inbox's visibility rule stays the caller's)."""
    if not filters:
        return []
    where: list[ColumnElement] = []
    kinds = set(filters.kinds)
    if "needs_deal" in kinds:
        where.append(MailThread.needs_deal_choice.is_(True))
    if "not_linked" in kinds:
        where.append(~exists(select(ThreadLink.id).where(
            ThreadLink.thread_id == MailThread.id, ThreadLink.item_type.in_(("deal", "lead", "project")),
            ThreadLink.removed.is_(False))))
    if "mine" in kinds:
        where.append(MailThread.owner_id == actor.user_id)
    if "shared_with_me" in kinds:
        where.append(and_(MailThread.owner_id != actor.user_id, MailThread.shared.is_(True)))
    if "with_attachments" in kinds:
        where.append(exists(select(Attachment.id).join(MailMessage, MailMessage.id == Attachment.message_id).where(
            MailMessage.thread_id == MailThread.id, MailMessage.deleted_at.is_(None), Attachment.inline.is_(False))))
    if filters.person_id:
        where.append(_with_persons(actor, [filters.person_id]))
    if filters.organization_id:
        where.append(organization_threads(actor, filters.organization_id))
    if filters.after:
        where.append(MailThread.last_message_at >= datetime.combine(filters.after, datetime.min.time()))
    if filters.before:
        where.append(MailThread.first_message_at < datetime.combine(filters.before, datetime.min.time()))
    return where

