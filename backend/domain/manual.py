"""What a rep does by hand to a conversation: link, unlink, pick the deal, create an item from it."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import addresses
from ..mail.automatic import is_machine_address
from ..models import MailMessage, MailThread, Participant, Person, PersonEmail, ThreadLink
from .actor import Actor
from .autolink import contacts_of
from .errors import DomainError
from .items import MODELS, check_references, named, require_item, titles
from .linkrules import Item, contact_items
from .visibility import require_owner


def link(session: Session, actor: Actor, thread: MailThread, item_type: str, item_id: int,
         field: str = "item_id") -> ThreadLink:
    """Links the thread to an item of the company (400 naming ``field`` when there is none)."""
    require_item(session, actor.company_id, item_type, item_id, field)
    found = next((lk for lk in thread.links if lk.item_type == item_type and lk.item_id == item_id), None)
    if found is None:
        found = ThreadLink(company_id=actor.company_id, item_type=item_type, item_id=item_id)
        thread.links.append(found)
    found.removed, found.origin, found.rule, found.facts = False, "manual", None, None
    found.reason, found.created_by_id = f"linked by {actor.name}", actor.user_id
    if item_type == "deal":
        thread.needs_deal_choice = False
    session.flush()
    return found


def set_deal(session: Session, actor: Actor, thread: MailThread, deal_id: int, field: str = "deal_id") -> ThreadLink:
    """The rep picks the thread's deal: it replaces any other deal link."""
    require_item(session, actor.company_id, "deal", deal_id, field)
    for lk in live_links(thread, "deal"):
        if lk.item_id != deal_id:
            unlink(actor, thread, lk)
    return link(session, actor, thread, "deal", deal_id, field)


def live_links(thread: MailThread, item_type: str | None = None) -> list[ThreadLink]:
    return [lk for lk in thread.links if not lk.removed and (item_type is None or lk.item_type == item_type)]


def live_link(thread: MailThread, item_type: str, item_id: int) -> ThreadLink:
    found = next((lk for lk in live_links(thread, item_type) if lk.item_id == item_id), None)
    if found is None:
        raise DomainError(404, f"The conversation is not linked to that {item_type} (any more).")
    return found


def unlink(actor: Actor, thread: MailThread, found: ThreadLink) -> None:
    # Kept as a tombstone: the automatic rules must not add it back.
    found.removed = True
    found.reason = f"unlinked by {actor.name}"


def share(actor: Actor, thread: MailThread, shared: bool) -> None:
    require_owner(thread, actor, "share or unshare it")
    thread.shared = shared


def thread_contacts(session: Session, actor: Actor, thread: MailThread) -> list[int]:
    """The contacts of a conversation: its person links and the persons of its live messages'
    participants, newest mail first."""
    linked = [lk.item_id for lk in live_links(thread, "person")]
    from_mail = session.scalars(
        select(Participant.person_id).join(MailMessage, MailMessage.id == Participant.message_id)
        .where(MailMessage.thread_id == thread.id, MailMessage.deleted_at.is_(None),
               Participant.person_id.is_not(None)).order_by(MailMessage.sent_at.desc(), Participant.id))
    return list(dict.fromkeys([*from_mail, *linked]))


def deal_candidates(session: Session, actor: Actor, thread: MailThread) -> list[tuple[Item, str]]:
    """The open deals of the conversation's contacts, with the contact's name: what the rep picks
    from when several matched (the same candidates the link rule-book names)."""
    contacts = contacts_of(session, actor.company_id, thread_contacts(session, actor, thread))
    _leads, _projects, deals = contact_items(session, actor.company_id, [c.person_id for c in contacts])
    out, seen = [], set()
    for contact in contacts:
        for deal in deals[contact.person_id]:
            if deal.id not in seen:
                seen.add(deal.id)
                out.append((deal, contact.name))
    return out


def _external_participants(session: Session, thread: MailThread) -> list[Participant]:
    return list(session.scalars(
        select(Participant).join(MailMessage, MailMessage.id == Participant.message_id).where(
            MailMessage.thread_id == thread.id, MailMessage.deleted_at.is_(None),
            Participant.user_id.is_(None)).order_by(MailMessage.sent_at.desc(), Participant.id)))


def create_item(session: Session, actor: Actor, thread: MailThread, data: dict):
    """Creates a deal, lead, project or person prefilled from the thread, and links it."""
    item_type = data["type"]
    external = _external_participants(session, thread)
    company_id = actor.company_id
    if item_type == "person":
        email = (data.get("email") or "").strip().lower()
        name = data.get("name")
        if not email:
            # mailer-daemon@, postmaster@: a mail server is never offered as the new contact.
            unknown = next((p for p in external if p.person_id is None and not is_machine_address(p.email)), None)
            if unknown is None:
                raise DomainError(400, "Every participant already is a contact; give an email for the new person.",
                                  {"email": ["Required: every participant already is a contact."]})
            email, name = unknown.email, name or unknown.name
        if session.scalar(select(PersonEmail.id).where(PersonEmail.company_id == company_id,
                                                       PersonEmail.email == email)):
            raise DomainError(400, f"{email} already belongs to a person.", {"email": ["Already a contact."]})
        item = Person(company_id=company_id, name=name or email.split("@")[0], owner_id=actor.user_id,
                      organization_id=data.get("organization_id"))
        item.emails.append(PersonEmail(company_id=company_id, email=email, primary=True))
    else:
        person_id = data.get("person_id")
        if person_id is not None:
            require_item(session, company_id, "person", person_id, "person_id")
        else:
            person_id = next((p.person_id for p in external if p.person_id), None)
        fields = dict(company_id=company_id, title=data.get("title") or thread.subject or "(no subject)",
                      person_id=person_id, owner_id=actor.user_id, organization_id=data.get("organization_id"))
        if item_type == "deal":
            fields.update(status="open", value=data.get("value"), currency=data.get("currency"))
        item = MODELS[item_type](**fields)
        if item_type in ("deal", "lead"):
            item.bcc_token = addresses.new_item_token()
    check_references(session, company_id, {"organization_id": data.get("organization_id")})
    session.add(item)
    session.flush()
    link(session, actor, thread, item_type, item.id)
    return item


def link_sentence(session: Session, actor: Actor, found: ThreadLink) -> str:
    title = titles(session, actor.company_id, [(found.item_type, found.item_id)]).get(
        (found.item_type, found.item_id), "")
    return named(found.item_type, title)

