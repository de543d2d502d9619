"""Why a conversation is linked to an item, in words a rep reads: items by title, people by name,
and true now. A reason whose condition no longer holds says when it held ("Linked on 5 Dec: it
was then Bob Buyer's only open deal"). Worded when read, from the rule and the facts stored on
the link (backend/domain/linkrules.py), so a renamed deal is named by its new title."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Deal, Lead, Person, Project, User
from .items import named, names, titles
from .sql import in_ids


def day(moment: datetime | None, now: datetime | None = None) -> str:
    """"5 Dec", or "5 Dec 2025" when not this year."""
    if moment is None:
        return "an earlier day"
    now = now or datetime.now(timezone.utc)
    text = f"{moment.day} {moment:%b}"
    return text if moment.year == now.year else f"{text} {moment.year}"


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _open_deals_of(session: Session, company_id: int, person_ids: set[int]) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {pid: set() for pid in person_ids}
    if person_ids:
        for deal_id, pid in session.execute(select(Deal.id, Deal.person_id).where(
                Deal.company_id == company_id, Deal.status == "open",
                in_ids(session, Deal.person_id, sorted(person_ids)))):
            found[pid].add(deal_id)
    return found


def _owners(session: Session, company_id: int, links) -> dict[tuple[str, int], int | None]:
    """Current person of the linked leads and projects."""
    owners: dict[tuple[str, int], int | None] = {}
    for kind, model in (("lead", Lead), ("project", Project)):
        ids = sorted({lk.item_id for lk in links if lk.item_type == kind and lk.rule})
        if ids:
            for item_id, pid in session.execute(select(model.id, model.person_id).where(
                    model.company_id == company_id, in_ids(session, model.id, ids))):
                owners[(kind, item_id)] = pid
    return owners


def describe(session: Session, company_id: int, links, now: datetime | None = None,
             item_titles: dict | None = None) -> dict[int, str]:
    """Link id -> the sentence shown for it, for any number of links in a fixed number of queries.
    ``links`` are ThreadLink objects or rows with their columns (id, item_type, item_id, origin,
    rule, facts, reason, removed, created_at, created_by_id); ``item_titles``, the links' titles
    (``items.titles``) when the caller has read them already."""
    links = list(links)
    if not links:
        return {}
    if item_titles is None:
        item_titles = titles(session, company_id, ((lk.item_type, lk.item_id) for lk in links))
    person_ids: set[int] = set()
    for lk in links:
        facts = lk.facts or {}
        person_ids.update(facts.get("person_ids") or [])
        if facts.get("person_id"):
            person_ids.add(facts["person_id"])
    people = names(session, company_id, Person, person_ids)
    users = names(session, company_id, User, (lk.created_by_id for lk in links))
    deals_now = _open_deals_of(session, company_id, {p for lk in links if lk.rule == "only-open-deal"
                                                     for p in (lk.facts or {}).get("person_ids") or []})
    owners = _owners(session, company_id, links)
    out = {}
    for lk in links:
        title = item_titles.get((lk.item_type, lk.item_id), "")
        out[lk.id] = _sentence(lk, title, people, users, deals_now, owners, now)
    return out


def _sentence(lk, title, people, users, deals_now, owners, now) -> str:
    facts = lk.facts or {}
    when = day(lk.created_at, now)
    item = named(lk.item_type, title)
    if lk.removed:
        return lk.reason[:1].upper() + lk.reason[1:] if lk.reason else "Unlinked by hand."
    if lk.rule == "accepted-suggestion":  # the top-ranked deal, accepted by the rep (manual.accept_suggestion)
        who = users.get(lk.created_by_id) or "the rep"
        return f"Suggested (score {facts.get('score', 0):.2f}) and accepted by {who} on {when}.{_evidence(facts)}"
    if lk.origin == "manual":
        who = users.get(lk.created_by_id)
        return f"Linked by {who} on {when}." if who else f"Linked by hand on {when}."
    if lk.rule == "item-address":
        return f"Sent to the Smart Bcc address of {item}."
    if lk.rule == "contacts":
        return f"{title or 'This person'} took part in the conversation."
    if lk.rule in ("contact-leads", "contact-projects"):
        person = people.get(facts.get("person_id"), "a contact")
        if owners.get((lk.item_type, lk.item_id)) == facts.get("person_id"):
            return f"{item[:1].upper()}{item[1:]} belongs to {person}, who took part."
        return f"Linked on {when}: {item} then belonged to {person}."
    if lk.rule == "only-open-deal":
        pids = facts.get("person_ids") or []
        who = _join([people.get(p, "a contact") for p in pids]) if pids else "the contacts"
        only = f"{who}'s only open deal" if len(pids) == 1 else f"the only open deal of {who}"
        together = set().union(*(deals_now.get(p, set()) for p in pids)) if pids else set()
        if together == {lk.item_id}:
            return f"Linked because '{title}' is {only}."
        return f"Linked on {when}: it was then {only}."
    if lk.rule == "confident-deal":  # linked on its own under auto_when_confident (linkrules.ConfidentDeal)
        return (f"Linked on its own on {when}: ranked first of the open deals (score {facts.get('score', 0):.2f}, "
                f"{facts.get('lead', 0):.2f} ahead of the next).{_evidence(facts)}")
    if lk.rule == "history":  # an earlier conversation taken in by a new item (backend/domain/history.py)
        return history_sentence(lk.item_type, facts.get("event", "created"),
                                people.get(facts.get("person_id"), ""))
    # Links made before rules were recorded keep the words of their time.
    text = lk.reason or ""
    return text[:1].upper() + text[1:] if text else f"Linked on {when}."


def _evidence(facts: dict) -> str:
    """The ranking's evidence stored with a deal link, as the sentences the rep was shown."""
    said = [e.get("reason", "") for e in facts.get("evidence") or [] if e.get("reason")]
    return (" " + " ".join(said)) if said else ""


def history_sentence(item_type: str, event: str, person: str = "") -> str:
    """Why history (backend/domain/history.py) linked an earlier conversation to a new, reopened or
    re-assigned item: stored with the link and shown for it."""
    if event == "reopened":
        return f"Linked when the {item_type} was reopened."
    if event == "person-changed":
        return f"Linked when {person or 'the contact'} became the {item_type}'s contact."
    return f"Linked when the {item_type} was created."
