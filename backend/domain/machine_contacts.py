"""Contacts that are mail servers: mailer-daemon@, postmaster@ and the like (the list the
automatic-mail rules use, backend/mail/automatic.py). Bounces a rep forwarded made such contacts
before issue 16; ``smartbcc contacts prune-automatic`` removes them and unlinks them from threads.

A contact is kept when someone made something of it: a link made by hand, a deal, lead or
project, or an address that is not a mail server's."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..mail.automatic import MACHINE_LOCAL_PARTS, is_machine_address
from ..models import Deal, Lead, Participant, Person, PersonEmail, Project, ThreadLink


@dataclass
class MachineContact:
    company_id: int
    person_id: int
    name: str
    emails: list[str]
    threads: list[int] = field(default_factory=list)  # the threads it is (or was) linked to
    kept: str | None = None  # why it stays, or None when it is removed

    def shown(self) -> dict:
        out = {"company_id": self.company_id, "person_id": self.person_id, "name": self.name,
               "emails": self.emails, "threads": self.threads}
        if self.kept:
            out["kept"] = self.kept
        return out


def _escaped(local: str) -> str:
    return local.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "@%"


def find_machine_contacts(session: Session, company_id: int | None = None) -> list[MachineContact]:
    """Every contact with a mail server's address, each saying whether it would be kept and why."""
    clauses = [PersonEmail.email.like(_escaped(local), escape="\\") for local in sorted(MACHINE_LOCAL_PARTS)]
    query = select(PersonEmail.person_id).where(or_(*clauses))
    if company_id is not None:
        query = query.where(PersonEmail.company_id == company_id)
    ids = sorted(set(session.scalars(query)))
    found = []
    for person in session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.id)) if ids else []:
        emails = [e.email for e in person.emails]
        if not any(is_machine_address(e) for e in emails):
            continue  # matched only by LIKE's case rules
        contact = MachineContact(person.company_id, person.id, person.name, emails)
        links = session.execute(select(ThreadLink.thread_id, ThreadLink.origin, ThreadLink.removed).where(
            ThreadLink.company_id == person.company_id, ThreadLink.item_type == "person",
            ThreadLink.item_id == person.id).order_by(ThreadLink.thread_id)).all()
        contact.threads = [thread_id for thread_id, _origin, _removed in links]
        contact.kept = _why_kept(session, person, emails, links)
        found.append(contact)
    return found


def _why_kept(session: Session, person: Person, emails: list[str], links) -> str | None:
    others = [e for e in emails if not is_machine_address(e)]
    if others:
        return "it also has the address " + ", ".join(others)
    if any(origin == "manual" and not removed for _thread, origin, removed in links):
        return "someone linked it to a thread by hand"
    for model, word in ((Deal, "deal"), (Lead, "lead"), (Project, "project")):
        if session.scalar(select(model.id).where(model.company_id == person.company_id,
                                                 model.person_id == person.id).limit(1)):
            return f"it has a {word}"
    return None


def prune_machine_contacts(session: Session, *, dry_run: bool = False,
                           company_id: int | None = None) -> list[MachineContact]:
    """Remove the mail-server contacts nobody made anything of; returns every one found (the kept
    ones with ``kept`` set). With ``dry_run`` nothing changes."""
    found = find_machine_contacts(session, company_id)
    if dry_run:
        return found
    for contact in found:
        if contact.kept:
            continue
        session.execute(ThreadLink.__table__.delete().where(
            ThreadLink.company_id == contact.company_id, ThreadLink.item_type == "person",
            ThreadLink.item_id == contact.person_id))
        session.execute(update(Participant).where(
            Participant.company_id == contact.company_id, Participant.person_id == contact.person_id)
            .values(person_id=None))
        session.delete(session.get(Person, contact.person_id))
    session.flush()
    return found
