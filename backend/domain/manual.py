"""What a rep does by hand to a conversation: link, unlink, pick the deal, create an item from it."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from .. import addresses
from ..mail.automatic import is_machine_address
from ..models import Company, Deal, MailMessage, MailThread, Participant, Person, PersonEmail, ThreadLink, User
from . import dealpicks, dealrank, history
from .actor import Actor
from .autolink import contacts_of, conversation
from .dealrank import DealPolicy, Ranked, Ranking
from .errors import DomainError
from .items import MODELS, check_references, named, require_item, title_required, titles
from .linkrules import Item
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
        dealpicks.noted(session, actor.company_id)  # a pick the ranking learns from
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
    session = object_session(thread)
    if found.item_type == "deal" and session is not None:
        dealpicks.noted(session, actor.company_id)  # the deal it was not: the ranking learns from it too


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


def deal_ranking(session: Session, actor: Actor, thread: MailThread) -> tuple[Ranking, dict[int, str]]:
    """The open deals of the conversation's contacts, best first with their evidence (the same
    ranking the pipeline made when the mail arrived: backend/domain/dealrank.py), and each deal's
    contact name. The sender is the thread's owner; earlier conversations count when ``actor``
    may see them."""
    contacts = contacts_of(session, actor.company_id, thread_contacts(session, actor, thread))
    newest = session.execute(
        select(MailMessage.subject, MailMessage.body_text)
        .where(MailMessage.thread_id == thread.id, MailMessage.deleted_at.is_(None))
        .order_by(MailMessage.sent_at.desc(), MailMessage.id.desc()).limit(1)).first()
    owner = session.scalar(select(User.name).where(User.id == thread.owner_id)) or ""
    conv = conversation(session, actor.company_id, user_name=owner, link_emails_to_items=True, contacts=contacts,
                        addressed=[], thread=thread, user_id=thread.owner_id, viewer_id=actor.user_id,
                        subject=newest.subject if newest else thread.subject,
                        text=newest.body_text if newest else "")
    conv.deal_policy = DealPolicy.of(session.get(Company, actor.company_id))
    deals: dict[int, Item] = {}
    names: dict[int, str] = {}
    for contact in contacts:
        for deal in conv.open_deals.get(contact.person_id, []):
            deals.setdefault(deal.id, deal)
            names.setdefault(deal.id, contact.name)
    return dealrank.rank(conv, list(deals.values())), names


def deal_candidates(session: Session, actor: Actor, thread: MailThread) -> list[tuple[Item, str]]:
    """The open deals of the conversation's contacts, best first, with the contact's name: what
    the rep picks from when several matched (the same candidates the link rule-book names)."""
    ranking, names = deal_ranking(session, actor, thread)
    return [(r.item, names.get(r.item.id, "")) for r in ranking.ranked]


def ranked_json(ranked: Ranked, person_name: str = "") -> dict:
    return {"item_type": "deal", "id": ranked.item.id, "title": ranked.item.title, "person_name": person_name,
            "score": ranked.score, "reasons": ranked.reasons, "evidence": [e.as_json() for e in ranked.evidence]}


def deal_choice(session: Session, actor: Actor, thread: MailThread) -> dict | None:
    """What a thread waiting for a deal shows: the policy, the candidates best first (score,
    reasons) and the pre-selected one under ``suggest``; None when it waits for nothing."""
    if not thread.needs_deal_choice:
        return None
    ranking, names = deal_ranking(session, actor, thread)
    suggested = ranking.suggested
    return {"policy": ranking.policy.mode,
            "candidates": [ranked_json(r, names.get(r.item.id, "")) for r in ranking.ranked],
            "top": ranked_json(ranking.top, names.get(ranking.top.item.id, "")) if ranking.top else None,
            "suggested": ranked_json(suggested, names.get(suggested.item.id, "")) if suggested else None}


def accept_suggestion(session: Session, actor: Actor, thread: MailThread,
                      deal_id: int | None = None) -> tuple[ThreadLink, Ranked]:
    """The rep accepts the top-ranked deal (``deal_id``: the one they were shown, checked to be
    it still). 409 with a sentence when the thread no longer waits for a deal, or that deal was
    deleted, closed or is no longer a candidate: nothing is linked then."""
    live = live_links(thread, "deal")
    if live:
        title = titles(session, actor.company_id, [("deal", live[0].item_id)]).get(("deal", live[0].item_id), "")
        raise DomainError(409, f"This conversation is already linked to {named('deal', title)}; "
                               "reload it to see its links.")
    if deal_id is not None:
        # Locked while it is checked and linked: a deal closed at the same moment waits for us.
        row = session.execute(select(Deal.id, Deal.title, Deal.status).where(
            Deal.company_id == actor.company_id, Deal.id == deal_id).with_for_update()).first()
        if row is None:
            raise DomainError(409, "The suggested deal was deleted meanwhile; pick another deal from the list.",
                              {"deal_id": ["Deleted."]})
        if row.status != "open":
            raise DomainError(409, f"{named('deal', row.title).capitalize()} was marked {row.status} meanwhile: "
                                   "closed deals are not linked; pick another deal from the list.",
                              {"deal_id": [f"Marked {row.status}."]})
    ranking, _names = deal_ranking(session, actor, thread)
    top = ranking.top
    if top is None or top.excluded:
        raise DomainError(409, "There is no open deal to suggest for this conversation any more; find a deal "
                               "or create one.")
    if deal_id is not None and top.item.id != deal_id:
        listed = any(r.item.id == deal_id for r in ranking.ranked)
        raise DomainError(409, f"{named('deal', top.item.title).capitalize()} is now ranked first"
                               f"{'' if listed else ' and the deal you saw is no longer a candidate'}; "
                               "reload the conversation and choose again.", {"deal_id": ["No longer the top suggestion."]})
    link = set_deal(session, actor, thread, top.item.id)
    link.rule = "accepted-suggestion"
    link.facts = {"score": top.score, "evidence": [e.as_json() for e in top.evidence]}
    link.reason = f"suggested (score {top.score:.2f}) and accepted by {actor.name}"
    session.flush()
    return link, top


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
        # No title: the conversation's subject; a blank one (or no subject either) is refused.
        title = (data["title"] if data.get("title") is not None else thread.subject or "").strip()
        if not title:
            raise title_required(item_type)
        fields = dict(company_id=company_id, title=title,
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
    history.item_changed(session, item_type, item, created=True)  # its person's other conversations, after commit
    return item


def link_sentence(session: Session, actor: Actor, found: ThreadLink) -> str:
    title = titles(session, actor.company_id, [(found.item_type, found.item_id)]).get(
        (found.item_type, found.item_id), "")
    return named(found.item_type, title)

