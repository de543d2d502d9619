"""History that catches up: a deal, lead or project created for a person takes in that person's
recent unlinked conversations, by the link rule-book's own rules.

When an item is created for a person, a deal is reopened, or an item's person changes, the
change is noted on the session (``item_changed``) and, after the commit, the job ``CATCH_UP``
runs ``catch_up``: every conversation of the person from the last ``history_catch_up_days`` days
(company setting, default 90, 0 = off) that does not carry the item (for a deal: no deal at all) is judged by
the rule-book (backend/domain/linkrules.py) as it would judge a new mail in it. Where the rules
link the item, it is linked with the reason "linked when the deal was created"; where several
open deals compete, the conversation waits for the rep's choice and the deals are suggested
(the company's deal-choice policy, backend/domain/dealrank.py). Either way the thread's newest
arrival records it in its decision log.

A conversation from which a user removed a link to this very item is left alone (the link
stays removed), and one that already carries it is not touched: running the job twice adds
nothing. Winning, losing or archiving a deal changes no link.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, exists, select, union
from sqlalchemy.orm import Session

from ..models import (Company, Deal, InboundRecord, Lead, MailMessage, MailThread, Participant, Person, Project,
                      ThreadLink, User)
from . import autolink
from .actor import Actor
from .errors import DomainError
from .users import require_admin
from .items import named
from .reasons import history_sentence

CATCH_UP = "history.catch_up"  # the job: (company id, item type, item id, event)
RULE = "history"  # ThreadLink.rule of the links it makes (reasons.py words them)
STAGE = "history"  # its entries in an arrival's decision log
DEFAULT_DAYS = 90
MAX_DAYS = 365
# Most recent conversations judged in one run: a bound on one job's transaction.
MAX_THREADS = 2000
MODELS = {"deal": Deal, "lead": Lead, "project": Project}
EVENTS = ("created", "reopened", "person-changed")
_PENDING = "history.pending"  # session.info: the changes noted, until the commit


DAYS_HINT = f"Use a whole number of days from 0 (off) to {MAX_DAYS}, such as {DEFAULT_DAYS}."


def days_error(days) -> str | None:
    """Why ``days`` is not a valid setting, or None."""
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_DAYS:
        return DAYS_HINT
    return None


def set_days(actor: Actor, company: Company, days) -> None:
    """The company's window: admins only (403); 400 naming the field when it is not 0-365 (nothing
    changes then)."""
    require_admin(actor, "change how far back a new deal looks", ["history_catch_up_days"])
    problem = days_error(days)
    if problem:
        raise DomainError(400, f"The history window is not valid: {problem[:1].lower()}{problem[1:]}",
                          {"history_catch_up_days": [problem]})
    company.history_catch_up_days = days


def window_words(days: int) -> str:
    if not days:
        return "Off: a new deal, lead or project takes in no earlier conversations."
    return (f"A new deal, lead or project takes in its person's unlinked conversations of the last "
            f"{days} day{'s' if days != 1 else ''}.")


def item_changed(session: Session, item_type: str, item, *, created: bool = False,
                 was_status: str | None = None, was_person_id: int | None = None) -> None:
    """Notes that ``item`` (a Deal, Lead or Project, flushed or not) may take in its person's
    history; the adapter's commit queues the job (``take_pending``). Created: any item with a
    person (a deal: open). Changed: a deal reopened, or an item given another person."""
    if item_type not in MODELS or getattr(item, "person_id", None) is None:
        return
    is_open = item_type != "deal" or (item.status or "open") == "open"  # None: not flushed, the default
    if not is_open:
        return
    if created:
        event = "created"
    elif item.person_id != was_person_id:
        event = "person-changed"
    elif item_type == "deal" and was_status != "open":
        event = "reopened"
    else:
        return
    session.info.setdefault(_PENDING, []).append((item_type, item, event))


def take_pending(session: Session) -> list[tuple[int, str, int, str]]:
    """The catch-ups noted on the session as job arguments (company id, item type, item id,
    event), once each; the note is cleared. Called after the commit, when the items have ids."""
    noted = session.info.pop(_PENDING, [])
    jobs = {}
    for item_type, item, event in noted:
        if item.id is not None:
            jobs.setdefault((item.company_id, item_type, item.id), event)
    return [(*key, event) for key, event in jobs.items()]


def forget_pending(session: Session) -> None:
    """A rollback: nothing was created, nothing catches up."""
    session.info.pop(_PENDING, None)


@dataclass
class Result:
    linked: list[int] = field(default_factory=list)  # thread ids linked now
    suggested: list[int] = field(default_factory=list)  # thread ids that now wait for a deal choice
    skipped: dict[int, str] = field(default_factory=dict)  # thread id -> why not (the rule's words)
    note: str = ""  # why nothing was looked at (off, gone, closed)

    def as_json(self) -> dict:
        return {"linked": self.linked, "suggested": self.suggested, "skipped": len(self.skipped), "note": self.note}


def catch_up(session: Session, company_id: int, item_type: str, item_id: int, event: str = "created",
             now: datetime | None = None) -> Result:
    """Links (or suggests) the item to its person's recent unlinked conversations; idempotent.
    The caller commits."""
    result = Result()
    model = MODELS.get(item_type)
    company = session.get(Company, company_id)
    item = session.scalar(select(model).where(model.company_id == company_id, model.id == item_id)) \
        if model is not None else None
    if company is None or item is None:
        result.note = "The item no longer exists."
        return result
    days = company.history_catch_up_days if company.history_catch_up_days is not None else DEFAULT_DAYS
    if days <= 0:
        result.note = "Catching up is off for the company."
        return result
    if item.person_id is None or (item_type == "deal" and item.status != "open"):
        result.note = f"The {item_type} has no person, or is no longer open."
        return result
    since = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    person = session.get(Person, item.person_id)
    change = _Change(item_type, item_id, item.title or "", event if event in EVENTS else "created",
                     person.name if person is not None else "")
    for thread in _threads(session, company_id, item_type, item_id, item.person_id, since):
        _judge(session, company_id, thread, change, result)
    session.flush()
    return result


@dataclass(frozen=True)
class _Change:
    item_type: str
    item_id: int
    title: str
    event: str
    person: str

    @property
    def key(self) -> tuple[str, int]:
        return (self.item_type, self.item_id)

    @property
    def happened(self) -> str:
        """What happened to the item, after its name: "was created for Bob Buyer"."""
        if self.event == "reopened":
            return "was reopened"
        if self.event == "person-changed":
            return f"now belongs to {self.person or 'a contact'}"
        return f"was created for {self.person or 'a contact'}"


def _threads(session: Session, company_id: int, item_type: str, item_id: int, person_id: int,
             since: datetime) -> list[MailThread]:
    """The person's conversations since ``since`` with no link (live or removed by a user) to the
    item itself and, for a deal, no live deal link, newest first."""
    by_mail = (select(MailMessage.thread_id).join(Participant, Participant.message_id == MailMessage.id)
               .where(Participant.company_id == company_id, Participant.person_id == person_id,
                      MailMessage.deleted_at.is_(None)))
    by_link = select(ThreadLink.thread_id).where(ThreadLink.company_id == company_id,
                                                 ThreadLink.item_type == "person", ThreadLink.item_id == person_id,
                                                 ThreadLink.removed.is_(False))
    # A conversation holds one deal, but every lead and project of its contacts (the rule-book's
    # contact-leads and contact-projects rules): only a deal already linked keeps a thread out.
    of_type = exists().where(ThreadLink.thread_id == MailThread.id, ThreadLink.item_type == "deal",
                             ThreadLink.removed.is_(False)) if item_type == "deal" else None
    to_item = exists().where(ThreadLink.thread_id == MailThread.id,
                             and_(ThreadLink.item_type == item_type, ThreadLink.item_id == item_id))
    return list(session.scalars(
        select(MailThread).where(MailThread.company_id == company_id, MailThread.id.in_(union(by_mail, by_link)),
                                 MailThread.auto.is_(False), MailThread.message_count > 0,
                                 MailThread.last_message_at >= since, ~to_item,
                                 *(() if of_type is None else (~of_type,)))
        .order_by(MailThread.last_message_at.desc(), MailThread.id.desc()).limit(MAX_THREADS)))


def _contacts(session: Session, company_id: int, thread: MailThread) -> list:
    """The conversation's contacts as a new mail in it would see them: its live messages'
    participants' persons, newest mail first, then its person links."""
    from_mail = session.scalars(
        select(Participant.person_id).join(MailMessage, MailMessage.id == Participant.message_id)
        .where(MailMessage.thread_id == thread.id, MailMessage.deleted_at.is_(None),
               Participant.person_id.is_not(None)).order_by(MailMessage.sent_at.desc(), Participant.id))
    linked = [lk.item_id for lk in thread.links if lk.item_type == "person" and not lk.removed]
    return autolink.contacts_of(session, company_id, [*from_mail, *linked])


def _judge(session: Session, company_id: int, thread: MailThread, change: _Change, result: Result) -> None:
    """The rule-book's verdict on the conversation as if a mail arrived in it now, applied to
    the one item: linked, suggested among competing deals, or left (with the rule's words)."""
    key, item_type = change.key, change.item_type
    owner = session.get(User, thread.owner_id)
    newest = session.execute(
        select(MailMessage.subject, MailMessage.body_text)
        .where(MailMessage.thread_id == thread.id, MailMessage.deleted_at.is_(None))
        .order_by(MailMessage.sent_at.desc(), MailMessage.id.desc()).limit(1)).first()
    _conv, verdict = autolink.judge(
        session, company_id, user_name=owner.name if owner else "", contacts=_contacts(session, company_id, thread),
        link_emails_to_items=bool(owner.link_emails_to_items) if owner else True, addressed=[], thread=thread,
        user_id=thread.owner_id, subject=newest.subject if newest else thread.subject,
        text=newest.body_text if newest else "")
    name = named(item_type, change.title)
    name = name[:1].upper() + name[1:]
    proposal = next((p for p in verdict.proposals if p.item.key == key), None)
    if proposal is not None:
        reason = history_sentence(item_type, change.event, change.person)
        facts = dict(proposal.facts, event=change.event, via=proposal.rule)
        facts.setdefault("person_id", proposal.item.person_id)
        thread.links.append(ThreadLink(company_id=company_id, item_type=item_type, item_id=change.item_id,
                                       origin="auto", rule=RULE, facts=facts, reason=reason))
        if item_type == "deal":
            thread.needs_deal_choice = False
        why = next((o.reason for o in verdict.outcomes if key in o.items and o.hit), "")
        _record(session, thread, {"outcome": f"{item_type}-linked", "hit": True, "item_type": item_type,
                                  "item_id": change.item_id, "event": change.event,
                                  "reason": f"{name} {change.happened}, so this earlier conversation is linked to it. "
                                            f"{why}".strip()})
        result.linked.append(thread.id)
        return
    competing = [c.key for c in verdict.candidates]
    if item_type == "deal" and not verdict.stopped_by and key in competing:
        # Several open deals: suggested to the rep, best first; never linked behind their back
        # (not even the top one under auto_when_confident: linking here would pick another deal).
        flagged = not thread.needs_deal_choice
        thread.needs_deal_choice = True
        entry = {"outcome": "deal-suggested", "hit": False, "item_type": item_type, "item_id": change.item_id,
                 "event": change.event, "candidates": [k[1] for k in competing],
                 "reason": f"{name} {change.happened}, but the contacts have {len(competing)} open deals: "
                           "they are suggested and the rep picks."}
        if verdict.ranking is not None:
            entry["ranking"] = [{"deal_id": r.item.id, "score": r.score, "reasons": r.reasons}
                                for r in verdict.ranking.ranked]
        if _record(session, thread, entry) or flagged:
            result.suggested.append(thread.id)
        return
    result.skipped[thread.id] = next((o.reason for o in reversed(verdict.outcomes) if not o.hit), "") or \
        "The rules link nothing here."


def _record(session: Session, thread: MailThread, entry: dict) -> bool:
    """Appends ``entry`` to the decision log of the thread's newest arrival, once (False when an
    earlier run recorded it already, or the thread has no arrival)."""
    record = session.scalar(
        select(InboundRecord).join(MailMessage, MailMessage.id == InboundRecord.message_id)
        .where(MailMessage.thread_id == thread.id, MailMessage.deleted_at.is_(None),
               InboundRecord.company_id == thread.company_id)
        .order_by(MailMessage.sent_at.desc(), InboundRecord.id.desc()).limit(1))
    if record is None:
        return False
    decisions = list(record.decisions or [])
    same = ("stage", "outcome", "item_type", "item_id")
    entry = {"stage": STAGE, "rule": RULE, **entry}
    if any(all(d.get(k) == entry.get(k) for k in same) for d in decisions):
        return False
    record.decisions = [*decisions, entry]  # a new list: the JSON column sees the change
    return True
