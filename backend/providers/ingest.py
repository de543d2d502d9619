"""Hands mail fetched from a connected mailbox to the one acceptance function, customers' replies included.

What is provider-specific stays here: which Smart Bcc routes a fetched sent
copy's Bcc names, whose mailbox a reply came from, what is stored already.
Size limit, sender check, raw blob, record and queueing are intake.accept's.
"""
from __future__ import annotations

import email.utils
import logging
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlalchemy import select

from .. import addresses
from ..intake.accept import Fetched, accept_message
from ..intake.checks import Route, route_address
from ..models import Company, MailMessage, User

log = logging.getLogger(__name__)


def normalize_message_id(value: str | None) -> str | None:
    """A Message-ID as the pipeline stores it: no angle brackets, no whitespace."""
    if not value:
        return None
    cleaned = "".join(value.split()).strip("<>")
    return cleaned or None


def header_ids(values: list[str]) -> list[str]:
    """Message-IDs named in In-Reply-To / References values."""
    ids = []
    for value in values:
        for part in value.replace(",", " ").split():
            found = normalize_message_id(part)
            if found and found not in ids:
                ids.append(found)
    return ids


def already_stored(session, company_id: int, message_ids: list[str]) -> set[str]:
    """Which of these Message-IDs the company has a message for (so they need no download)."""
    wanted = [m for m in {normalize_message_id(x) for x in message_ids} if m]
    if not wanted:
        return set()
    rows = session.scalars(select(MailMessage.message_id_header).where(
        MailMessage.company_id == company_id, MailMessage.message_id_header.in_(wanted)))
    return set(rows)


def bcc_of(raw: bytes) -> list[str]:
    """The Bcc addresses written in a sent copy's header."""
    end = min(i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n"), len(raw)) if i >= 0)
    msg = BytesHeaderParser(policy=compat32).parsebytes(raw[:end])
    return [addr for _name, addr in email.utils.getaddresses([str(v) for v in msg.get_all("Bcc") or []]) if addr]


def smartbcc_routes(session, settings, company_id: int, candidates: list[str]) -> list[Route]:
    """Routes of the Smart Bcc addresses among ``candidates`` that lead to ``company_id``.

    A mailbox is read on behalf of its owner's company only; another
    company's address in Bcc is that company's business (it gets its SMTP copy).
    """
    routes = []
    for address in candidates:
        if not addresses.is_smartbcc_address(address, settings.mail_domain):
            continue
        route = route_address(session, address, settings)
        if route is not None and route.company_id == company_id and route not in routes:
            routes.append(route)
    return routes


def company_route(session, settings, company_id: int) -> Route:
    slug = session.scalar(select(Company.slug).where(Company.id == company_id))
    return Route(addresses.company_address(slug, settings.mail_domain), company_id, "company")


def ingest_sent(services, raw: bytes, *, source: str, routes: list[Route], mailbox: str) -> list[int]:
    """The owner's own sent copy: exactly the acceptance every source gets (sender must be accepted)."""
    return accept_message(services, raw, source=source, routes=routes,
                          fetched=Fetched(f"sent copy fetched from the mailbox {mailbox} via {source}"))


def ingest_reply(services, raw: bytes, *, source: str, owner_id: int, thread_id: int) -> list[int]:
    """A message fetched from ``owner_id``'s mailbox because it belongs to one of their logged threads.

    It goes to the owner's company address. From an accepted sender of the
    company it is ordinary acceptance; a customer's reply is taken in for the
    mailbox owner (``Fetched.owner_id``), recorded as a mailbox reply.
    """
    with services.db.session() as session:
        owner = session.get(User, owner_id)
        if owner is None or not owner.active:
            log.info("reply not taken in: user %s is gone or inactive", owner_id)
            return []
        route = company_route(session, services.settings, owner.company_id)
        owner_email = owner.email
    reason = (f"reply fetched from {owner_email}'s mailbox via {source}: it answers thread {thread_id}, "
              "which is logged")
    return accept_message(services, raw, source=source, routes=[route],
                          fetched=Fetched(reason, owner_id=owner_id, thread_id=thread_id))
