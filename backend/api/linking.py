"""Manual linking: link, unlink, and create an item from a thread (prefilled from it)."""
from __future__ import annotations

from flask import g
from sqlalchemy import literal, select, union_all

from .. import addresses
from ..models import Deal, Lead, MailMessage, MailThread, Participant, Person, PersonEmail, Project, ThreadLink
from .common import db_session, in_ids
from .crud import check_references, missing_reference, reference_error
from .errors import ApiError

MODELS = {"deal": Deal, "lead": Lead, "project": Project, "person": Person}


def _require(item_type: str, item_id: int, field: str) -> None:
    """A 400 naming ``field`` unless ``item_id`` is a ``item_type`` of the caller's company."""
    problem = missing_reference(MODELS[item_type], item_type, item_id)
    if problem:
        raise reference_error({field: [problem]})


def link_titles(links: list) -> dict[tuple[str, int], str]:
    """Titles (persons: names) of the linked items, in one query over the item types present."""
    wanted: dict[str, set[int]] = {}
    for link in links:
        if link.item_type in MODELS:
            wanted.setdefault(link.item_type, set()).add(link.item_id)
    if not wanted:
        return {}
    parts = []
    for item_type, ids in wanted.items():
        model = MODELS[item_type]
        label = model.name if item_type == "person" else model.title
        parts.append(select(literal(item_type).label("item_type"), model.id.label("id"), label.label("title"))
                     .where(model.company_id == g.company_id, in_ids(model.id, sorted(ids))))
    query = parts[0] if len(parts) == 1 else union_all(*parts)
    return {(row.item_type, row.id): row.title or "" for row in db_session().execute(query)}


def add_link(thread: MailThread, item_type: str, item_id: int, field: str = "item_id") -> ThreadLink:
    _require(item_type, item_id, field)
    reason = f"linked by {g.user.name}"
    link = next((lk for lk in thread.links if lk.item_type == item_type and lk.item_id == item_id), None)
    if link is None:
        link = ThreadLink(company_id=g.company_id, item_type=item_type, item_id=item_id,
                          origin="manual", reason=reason, created_by_id=g.user.id)
        thread.links.append(link)
    elif link.removed:
        link.removed, link.origin, link.reason, link.created_by_id = False, "manual", reason, g.user.id
    if item_type == "deal":
        thread.needs_deal_choice = False
    db_session().flush()
    return link


def live_link_or_404(thread: MailThread, item_type: str, item_id: int) -> ThreadLink:
    link = next((lk for lk in thread.links if lk.item_type == item_type and lk.item_id == item_id
                 and not lk.removed), None)
    if link is None:
        raise ApiError(404, f"The thread is not linked to {item_type} {item_id}.")
    return link


def remove_link(thread: MailThread, link: ThreadLink) -> None:
    # Kept as a tombstone: the automatic rules must not add it back.
    link.removed = True
    link.reason = f"removed by {g.user.name}"


def _external_participants(thread: MailThread) -> list[Participant]:
    return list(db_session().scalars(
        select(Participant).join(MailMessage, MailMessage.id == Participant.message_id).where(
            MailMessage.thread_id == thread.id, MailMessage.deleted_at.is_(None),
            Participant.user_id.is_(None)).order_by(MailMessage.sent_at.desc(), Participant.id)))


def create_item(thread: MailThread, data: dict):
    """Creates a deal, lead, project or person prefilled from the thread, and links it."""
    session = db_session()
    item_type = data["type"]
    external = _external_participants(thread)
    if item_type == "person":
        email = (data.get("email") or "").strip().lower()
        name = data.get("name")
        if not email:
            unknown = next((p for p in external if p.person_id is None), None)
            if unknown is None:
                raise ApiError(400, "Every participant already is a contact; give an email for the new person.",
                               {"email": ["Required: every participant already is a contact."]})
            email, name = unknown.email, name or unknown.name
        if session.scalar(select(PersonEmail.id).where(PersonEmail.company_id == g.company_id,
                                                       PersonEmail.email == email)):
            raise ApiError(400, f"{email} already belongs to a person.", {"email": ["Already a contact."]})
        item = Person(company_id=g.company_id, name=name or email.split("@")[0], owner_id=g.user.id,
                      organization_id=data.get("organization_id"))
        item.emails.append(PersonEmail(company_id=g.company_id, email=email, primary=True))
    else:
        person_id = data.get("person_id")
        if person_id is not None:
            _require("person", person_id, "person_id")
        else:
            person_id = next((p.person_id for p in external if p.person_id), None)
        model = MODELS[item_type]
        fields = dict(company_id=g.company_id, title=data.get("title") or thread.subject or "(no subject)",
                      person_id=person_id, owner_id=g.user.id, organization_id=data.get("organization_id"))
        if item_type == "deal":
            fields.update(status="open", value=data.get("value"), currency=data.get("currency"))
        item = model(**fields)
        if item_type in ("deal", "lead"):
            item.bcc_token = addresses.new_item_token()
    check_references({"organization_id": data.get("organization_id")})
    session.add(item)
    session.flush()
    add_link(thread, item_type, item.id)
    return item

