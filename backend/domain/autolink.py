"""The rule-book applied: the conversation of an arrived mail or of a draft, and the links it gets."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Deal, Lead, MailThread, Person, PersonEmail, ThreadLink
from .items import named, titles
from .linkrules import Contact, Conversation, Item, Verdict, run_rules, with_items
from .sql import in_ids


def contacts_of(session: Session, company_id: int, person_ids: Iterable[int]) -> list[Contact]:
    """The persons, in the order given, with their names; unknown ids are left out."""
    ordered = list(dict.fromkeys(p for p in person_ids if p))
    if not ordered:
        return []
    found = dict(session.execute(select(Person.id, Person.name).where(
        Person.company_id == company_id, in_ids(session, Person.id, ordered))).all())
    return [Contact(pid, found[pid] or "") for pid in ordered if pid in found]


def contacts_by_address(session: Session, company_id: int, emails: list[str]) -> list[Contact]:
    """The contacts whose addresses these are, in the addresses' order."""
    if not emails:
        return []
    rows = session.execute(select(PersonEmail.email, Person.id, Person.name)
                           .join(Person, Person.id == PersonEmail.person_id).where(
        PersonEmail.company_id == company_id, Person.company_id == company_id, PersonEmail.email.in_(emails))).all()
    first: dict[int, tuple[int, str]] = {}
    for email, pid, name in rows:
        rank = emails.index(email)
        if pid not in first or rank < first[pid][0]:
            first[pid] = (rank, name or "")
    return [Contact(pid, name) for pid, (_rank, name) in sorted(first.items(), key=lambda kv: kv[1][0])]


def addressed_items(session: Session, company_id: int, keys: Iterable[tuple[str, int]]) -> list[Item]:
    """The deals and leads (of the company, still existing) whose own address was used."""
    items = []
    for kind, item_id in dict.fromkeys(keys):
        model = Deal if kind == "deal" else Lead if kind == "lead" else None
        if model is None:
            continue
        row = session.execute(select(model.id, model.title, model.person_id, model.bcc_token).where(
            model.company_id == company_id, model.id == item_id)).first()
        if row is not None:
            items.append(Item(kind, row.id, row.title or "", row.person_id, row.bcc_token))
    return items


def conversation(session: Session, company_id: int, *, user_name: str, link_emails_to_items: bool,
                 contacts: list[Contact], addressed: list[Item], automatic: str | None = None,
                 thread: MailThread | None = None, user_id: int | None = None, viewer_id: int | None = None,
                 subject: str = "", text: str | None = "", items=None) -> Conversation:
    """The conversation the rules judge, with the thread's links so far (none for a draft).
    ``user_id`` is the rep who sent it, ``subject`` and ``text`` what the deal ranking reads
    (backend/domain/dealrank.py); ``items``, the contacts' items when the caller holds them
    (``linkrules.with_items``)."""
    existing: dict[tuple[str, int], bool] = {}
    if thread is not None and thread.id is not None:
        existing = {(lk.item_type, lk.item_id): bool(lk.removed) for lk in thread.links}
    conv = Conversation(user_name=user_name, link_emails_to_items=link_emails_to_items, contacts=contacts,
                        addressed=addressed, automatic=automatic, existing=existing,
                        existing_titles=titles(session, company_id, existing) if existing else {},
                        user_id=user_id, viewer_id=viewer_id, thread_id=thread.id if thread is not None else None,
                        subject=subject or "", text=text or "")
    with session.no_autoflush:
        return with_items(session, company_id, conv, items)


def judge(session: Session, company_id: int, **kwargs) -> tuple[Conversation, Verdict]:
    conv = conversation(session, company_id, **kwargs)
    return conv, run_rules(conv)


def apply(session: Session, company_id: int, thread: MailThread, verdict: Verdict) -> list[ThreadLink]:
    """Adds the verdict's links to the thread; returns those added (or brought back)."""
    current = {(lk.item_type, lk.item_id): lk for lk in thread.links}
    reasons = {key: o.reason for o in verdict.outcomes for key in o.items}
    added = []
    for proposal in verdict.proposals:
        key = proposal.item.key
        reason = reasons.get(key, "")
        link = current.get(key)
        if link is not None:
            if not (proposal.reactivate and link.removed):
                continue
            link.removed = False
        else:
            link = ThreadLink(company_id=company_id, item_type=key[0], item_id=key[1])
            thread.links.append(link)
            current[key] = link
        link.origin, link.rule, link.facts, link.reason = proposal.origin, proposal.rule, proposal.facts, reason
        added.append(link)
    if verdict.needs_deal_choice:
        thread.needs_deal_choice = True
    elif verdict.deal is not None:
        thread.needs_deal_choice = False
    return added


def inherited(conv: Conversation) -> str:
    """The sentence for a reply joining a thread whose links apply to it."""
    live = [named(t, conv.existing_titles.get((t, i), "")) for (t, i), removed in conv.existing.items()
            if not removed]
    return "This conversation's links apply: " + ", ".join(live) + "." if live else ""


def merge_addressed(session: Session, company_id: int, thread: MailThread, items: list[Item]) -> list[Item]:
    """A second arrival of a stored message (sent to two deal addresses, or fetched after the Bcc
    copy) adds the deal or lead addresses it was sent to. A link the rep removed stays removed:
    this is the same mail again, not a new choice."""
    current = {(lk.item_type, lk.item_id) for lk in thread.links}
    added = []
    for item in items:
        if item.key in current:
            continue
        thread.links.append(ThreadLink(company_id=company_id, item_type=item.item_type, item_id=item.id,
                                       origin="address", rule="item-address", facts={},
                                       reason=f"Sent to the Smart Bcc address of {named(item.item_type, item.title)}."))
        current.add(item.key)
        added.append(item)
        if item.item_type == "deal":
            thread.needs_deal_choice = False
    return added
