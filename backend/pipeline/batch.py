"""What the records of one batch share: lookups made once per batch instead of once per message.

The runner processes several inbound records in one session and one transaction
(backend/pipeline/runner.py). Within it the same sender, the same customers and the
same company users come back message after message; a ``BatchLookups`` answers
them from memory after the first question, and learns what the batch itself wrote
(a contact created, a message stored), so a later record of the same batch sees it
exactly as it would have seen the committed row.

A lookup cached here is as fresh as the batch's own reads: a row another process
changes while the batch runs is seen by the next batch (as a one-record run would
have seen it had it started a little earlier). Stages run alone (tests, one
record) get a fresh ``BatchLookups`` with every context, so nothing outlives it.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import autolink, linkrules
from ..domain.identity import company_user_ids
from ..intake.checks import accepted_user
from ..models import MailMessage, MailThread, PersonEmail, SentAnnouncement, User

_MISSING = object()


def _fold(value: str) -> str:
    """A subject or Message-ID as compared here: in any case, and with NUL as the column stores it
    (models.base.Str), so a match in the database is never missed in memory."""
    return value.replace("\x00", "\ufffd").lower()


class BatchLookups:
    def __init__(self) -> None:
        self._senders: dict[tuple[int, str], int | None] = {}   # accepted sender -> user id
        self._users: dict[tuple[int, str], int | None] = {}     # address -> company user id
        self._persons: dict[tuple[int, str], int | None] = {}   # address -> contact person id
        self._messages: dict[tuple[int, str], int | MailMessage | None] = {}  # dedupe key -> stored id
        self._names: dict[tuple[int, int], str | None] = {}      # contact person id -> name (None: gone)
        self._items: dict[tuple[int, int], tuple] = {}           # person id -> (leads, projects, open deals)
        self._addressed: dict[tuple[int, tuple[str, int]], linkrules.Item | None] = {}  # (kind, id) -> item
        self._announced: dict[tuple[int, int], bool] = {}        # user -> has announcements not logged
        # Set by the runner: persist leaves each message unflushed until the batch's end (``pending``).
        self.defer_writes = False
        self._pending_subjects: set[tuple[int, str]] = set()     # threads the batch stored to, by subject
        self._pending_ids: set[tuple[int, str]] = set()          # Message-IDs of the batch's messages
        self._unwritten: list = []                               # their contexts, not written yet
        self._stored_subjects: dict[int, set[str]] = {}          # the batch's subjects with a thread
        self._stored_ids: dict[int, set[str]] = {}               # its referenced Message-IDs stored

    # --- the accepted sender (stage authorize) --------------------------------------------------

    def accepted_user(self, session: Session, company_id: int, sender: str) -> User | None:
        key = (company_id, sender)
        user_id = self._senders.get(key, _MISSING)
        if user_id is _MISSING:
            user = accepted_user(session, company_id, sender)
            self._senders[key] = user.id if user is not None else None
            return user
        # The user row is in the session's identity map since the first lookup: no query.
        return session.get(User, user_id) if user_id is not None else None

    # --- participants: company users and contacts by address (stages participants, contacts) ----

    def prefetch_people(self, session: Session, company_id: int, emails: Iterable[str]) -> None:
        """Looks up, in two queries, every address of the batch not looked up yet."""
        wanted = sorted({e for e in emails if e and (company_id, e) not in self._persons})
        if not wanted:
            return
        users = company_user_ids(session, company_id, wanted)
        persons = dict(session.execute(select(PersonEmail.email, PersonEmail.person_id).where(
            PersonEmail.company_id == company_id, PersonEmail.email.in_(wanted))).all())
        for email in wanted:
            self._users[(company_id, email)] = users.get(email)
            self._persons[(company_id, email)] = persons.get(email)

    def people(self, session: Session, company_id: int,
               emails: Iterable[str]) -> tuple[dict[str, int], dict[str, int]]:
        """(address -> user id, address -> person id) for ``emails``, each asked at most once per batch."""
        emails = set(emails)
        self.prefetch_people(session, company_id, emails)
        users = {e: self._users[(company_id, e)] for e in emails if self._users.get((company_id, e))}
        persons = {e: self._persons[(company_id, e)] for e in emails if self._persons.get((company_id, e))}
        return users, persons

    def person_created(self, company_id: int, email: str, person_id: int, name: str) -> None:
        """A contact the batch created: known by address, by name, and with no items yet."""
        self._persons[(company_id, email)] = person_id
        self._names[(company_id, person_id)] = name
        self._items[(company_id, person_id)] = ([], [], [])

    # --- stored copies by dedupe key (stages dedupe, persist) -----------------------------------

    def prefetch_messages(self, session: Session, company_id: int, keys: Iterable[str]) -> None:
        wanted = sorted({k for k in keys if k and (company_id, k) not in self._messages})
        if not wanted:
            return
        found = dict(session.execute(select(MailMessage.dedupe_key, MailMessage.id).where(
            MailMessage.company_id == company_id, MailMessage.dedupe_key.in_(wanted))).all())
        for key in wanted:
            self._messages[(company_id, key)] = found.get(key)

    def stored_copy(self, session: Session, company_id: int, key: str) -> MailMessage | None:
        """The message already stored under ``key`` in this company, if any."""
        message_id = self._messages.get((company_id, key), _MISSING)
        if isinstance(message_id, MailMessage):  # stored earlier in this batch (``pending``)
            if message_id.id is None:
                session.flush()  # a duplicate names the copy it is of
            return message_id
        if message_id is _MISSING:
            message = session.scalar(select(MailMessage).where(
                MailMessage.company_id == company_id, MailMessage.dedupe_key == key))
            self._messages[(company_id, key)] = message.id if message is not None else None
            return message
        return session.get(MailMessage, message_id) if message_id is not None else None

    def message_stored(self, company_id: int, key: str, message_id: int) -> None:
        self._messages[(company_id, key)] = message_id

    # --- what the batch wrote and has not flushed (stages thread, persist) ----------------------

    def stored(self, ctx, thread_subject: str, unwritten: bool) -> None:
        """The message ``ctx`` stored: known to ``stored_copy`` by its key, and to ``may_join_batch``
        by its Message-ID and its thread. ``unwritten`` (``defer_writes``): still in the session only,
        until ``take_unwritten`` hands it to ``persist.written``."""
        message = ctx.message
        self._messages[(ctx.company_id, message.dedupe_key)] = message
        if thread_subject:  # an empty subject never joins by subject (stage thread)
            self._pending_subjects.add((ctx.company_id, _fold(thread_subject)))
        if message.message_id_header:
            self._pending_ids.add((ctx.company_id, _fold(message.message_id_header)))
        if unwritten:
            self._unwritten.append(ctx)

    def prefetch_threads(self, session: Session, company_id: int, subjects: Iterable[str],
                         message_ids: Iterable[str]) -> None:
        """Which of the batch's subjects have a thread and which of the Message-IDs its mails refer
        to are stored, whoever may see them, in two queries (``nothing_to_join``)."""
        subjects, message_ids = sorted(set(filter(None, subjects))), sorted(set(filter(None, message_ids)))
        with session.no_autoflush:
            found = session.scalars(select(MailThread.normalized_subject).where(
                MailThread.company_id == company_id, MailThread.normalized_subject.in_(subjects))) if subjects else []
            self._stored_subjects[company_id] = {_fold(x) for x in found}
            found = session.scalars(select(MailMessage.message_id_header).where(
                MailMessage.company_id == company_id, MailMessage.message_id_header.in_(message_ids))) \
                if message_ids else []
            self._stored_ids[company_id] = {_fold(x) for x in found}

    def nothing_to_join(self, company_id: int, normalized_subject: str, message_ids: Iterable[str]) -> bool:
        """True when no thread has this subject and no message one of these ids (as prefetched, and
        nothing the batch stored since shares them: ``may_join_batch``): the thread stage's lookups
        would find nothing, and are not run. False when not prefetched."""
        subjects, ids = self._stored_subjects.get(company_id), self._stored_ids.get(company_id)
        if subjects is None or ids is None:
            return False
        return _fold(normalized_subject) not in subjects and not any(_fold(i) in ids for i in message_ids)

    def take_unwritten(self) -> list:
        """The contexts whose messages persist left for the batch to write (and forgets them)."""
        taken, self._unwritten = self._unwritten, []
        return taken

    def may_join_batch(self, company_id: int, normalized_subject: str, message_ids: Iterable[str]) -> bool:
        """Whether a thread lookup for this subject and these Message-IDs could find what the batch
        stored (``stored``): only a thread of the same subject or a message with one of these ids
        can be found (stage thread), and what the batch has not written is written first if so.
        Otherwise the lookup runs without flushing (or not at all: ``nothing_to_join``), and the
        batch's writes go out together at its end."""
        return (bool(normalized_subject) and (company_id, _fold(normalized_subject)) in self._pending_subjects
                or any((company_id, _fold(i)) in self._pending_ids for i in message_ids))

    # --- the contacts' names and items (stage links) -------------------------------------------

    def _batch_persons(self, company_id: int, asked: list[int], known: dict) -> list[int]:
        """``asked`` not looked up yet, with every other contact of the batch not looked up yet
        (the participants prefetched above): the first question asks for the whole batch."""
        if all((company_id, pid) in known for pid in asked):
            return []
        others = {pid for (cid, _e), pid in self._persons.items() if cid == company_id and pid}
        return sorted({pid for pid in (*asked, *others) if (company_id, pid) not in known})

    def contacts(self, session: Session, company_id: int, person_ids: Iterable[int]) -> list[linkrules.Contact]:
        """``autolink.contacts_of``, each person asked at most once per batch."""
        ordered = list(dict.fromkeys(p for p in person_ids if p))
        wanted = self._batch_persons(company_id, ordered, self._names)
        if wanted:
            found = {c.person_id: c.name for c in autolink.contacts_of(session, company_id, wanted)}
            for pid in wanted:
                self._names[(company_id, pid)] = found.get(pid)
        return [linkrules.Contact(pid, self._names[(company_id, pid)]) for pid in ordered
                if self._names[(company_id, pid)] is not None]

    def contact_items(self, session: Session, company_id: int, person_ids: list[int]):
        """``linkrules.contact_items``, each person asked at most once per batch (the pipeline
        creates persons but no items, so what was read stays what a one-record run would read)."""
        wanted = self._batch_persons(company_id, person_ids, self._items)
        if wanted:
            leads, projects, deals = linkrules.contact_items(session, company_id, wanted)
            for pid in wanted:
                self._items[(company_id, pid)] = (leads[pid], projects[pid], deals[pid])
        return tuple({pid: list(self._items[(company_id, pid)][k]) for pid in person_ids} for k in range(3))

    # --- the deals and leads whose own address was used (stages route, dedupe, links) -----------

    def addressed_items(self, session: Session, company_id: int,
                        keys: Iterable[tuple[str, int]]) -> list[linkrules.Item]:
        """``autolink.addressed_items``, each item asked at most once per batch: the route stage
        checks it still exists and the link rules read it again for the same mail."""
        keys = list(dict.fromkeys(keys))
        wanted = [k for k in keys if (company_id, k) not in self._addressed]
        if wanted:
            with session.no_autoflush:  # the pipeline writes no deals or leads: nothing to flush first
                found = {item.key: item for item in autolink.addressed_items(session, company_id, wanted)}
            for key in wanted:
                self._addressed[(company_id, key)] = found.get(key)
        return [item for item in (self._addressed[(company_id, k)] for k in keys) if item is not None]

    # --- announced mail waiting for its copy (stage persist) -------------------------------------

    def announcements_waiting(self, session: Session, company_id: int, user_id: int) -> bool:
        """Whether the rep has announced mail not logged yet, asked once per batch: when none,
        storing a message settles nothing (backend/domain/expectations.py) and its query is saved.
        The pipeline never announces. One announced while the batch runs, its copy among the batch's,
        is missed by both transactions, as one announced between a settle query and its commit was:
        ``expectations.not_logged`` settles such a pair from the stored copy when it lists them."""
        key = (company_id, user_id)
        if key not in self._announced:
            with session.no_autoflush:  # the pipeline writes no announcement before it asks
                self._announced[key] = session.scalar(select(SentAnnouncement.id).where(
                    SentAnnouncement.company_id == company_id, SentAnnouncement.user_id == user_id,
                    SentAnnouncement.logged_at.is_(None)).limit(1)) is not None
        return self._announced[key]
