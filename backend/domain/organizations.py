"""An organisation's conversations: one rule for the organisation's page, the organisations list's
last activity (and its sort) and the inbox filter ``organization_id=N`` (the /inbox page and
GET /api/v1/mailbox/mailThreads).

A conversation is the organisation's when
- a live message of it is from or to one of the organisation's persons (a participant of the
  message is the person: one of their addresses), or
- it is linked to one of the organisation's persons, or to one of its deals, leads or projects
  (items whose ``organization_id`` is the organisation; the item's own person may be anyone).

A removed link (ThreadLink.removed) never counts, nor does a deleted message; a thread whose
messages were all deleted is no conversation. Which conversations the actor may see stays the
caller's (visibility.visible_threads).

The thread ids are found from the organisation's side, each part an index range: its persons
(persons.organization_id), their messages (participants.person_id), its items
(deals/leads/projects.organization_id) and their links (ix_thread_links_item_threads, read from
the index alone). ``organization_id`` may be a number, a bound parameter or a column of an
enclosing query (the organisations list: a correlated subquery per row).
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, CompoundSelect, Select, and_, func, select, union_all

from ..models import Deal, Lead, MailMessage, MailThread, Participant, Person, Project, ThreadLink
from .actor import Actor

# The items of an organisation whose links make a conversation the organisation's.
ITEMS = (("deal", Deal), ("lead", Lead), ("project", Project))


def _of(model, actor: Actor, organization_id) -> Select:
    """The ids of the organisation's rows of ``model`` (persons, deals, leads, projects). Read
    through the model's organization_id index: "company_id + 0" keeps the company's check but stops
    SQLite (no statistics) from walking the company's rows instead. Explicitly correlated (all but
    the model itself): auto-correlation reaches only the enclosing SELECT, and the organisations
    list nests this two levels down."""
    return (select(model.id)
            .where(model.company_id + 0 == actor.company_id, model.organization_id == organization_id)
            .correlate_except(model))


def organization_thread_ids(actor: Actor, organization_id) -> CompoundSelect:
    """The ids of the organisation's conversations (with repeats; visibility not applied)."""
    persons = _of(Person, actor, organization_id)
    via_mail = (select(MailMessage.thread_id).join(Participant, Participant.message_id == MailMessage.id)
                .where(Participant.company_id + 0 == actor.company_id, Participant.person_id.in_(persons),
                       MailMessage.deleted_at.is_(None)))

    def links(item_type: str, item_ids) -> Select:
        return select(ThreadLink.thread_id).where(
            ThreadLink.company_id == actor.company_id, ThreadLink.item_type == item_type,
            ThreadLink.item_id.in_(item_ids), ThreadLink.removed.is_(False))

    items = [links(item_type, _of(model, actor, organization_id)) for item_type, model in ITEMS]
    return union_all(via_mail, links("person", persons), *items)


def organization_threads(actor: Actor, organization_id) -> ColumnElement:
    """The condition on MailThread: a conversation (with a live message) of the organisation. The
    inbox filter and the organisation's page add it to the actor's visible threads."""
    return and_(MailThread.message_count > 0,
                MailThread.id.in_(organization_thread_ids(actor, organization_id)))


def newest_activity(threads: Select, actor: Actor, organization_id) -> Select:
    """The newest ``last_message_at`` of ``threads`` (the caller's visible_threads) that are the
    organisation's conversations: the rule of ``organization_threads``, written as a join to the
    thread ids rather than an IN test, for the organisations list's correlated subquery. There
    SQLite (no statistics) walked the company's whole inbox index for each organisation, testing
    every thread (67 s for 1,000 organisations and 50,000 threads, sorted by activity); the join
    reads each organisation's threads by id (0.5 s; PostgreSQL 0.75 s, 1.15 s with the IN)."""
    ids = organization_thread_ids(actor, organization_id).subquery("organization_threads")
    return (threads.with_only_columns(func.max(MailThread.last_message_at))
            .join(ids, ids.c.thread_id == MailThread.id).where(MailThread.message_count > 0))
