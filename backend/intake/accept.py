"""Durable acceptance: check, store the raw bytes, commit, then queue processing — for every source.

SMTP, the HTTP inbound endpoint and mail fetched from connected mailboxes (Graph,
Gmail: sent copies and customers' replies) all go through ``accept_message``.
"""
from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

from ..models import InboundRecord, User
from .checks import (HeaderSummary, Rejection, Route, accepted_user, read_headers, route_address,
                     sender_not_accepted, sender_not_authenticated, sender_unknown, too_large,
                     unknown_address)
from .sender_auth import check_sender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fetched:
    """Mail read from a user's connected mailbox rather than delivered to a Smart Bcc address.

    ``reason`` (why it was read) is recorded as an intake decision. With ``owner_id`` —
    a reply in a thread that mailbox owner logged — a sender the company does not
    accept (a customer) is not refused: the owner takes the mail in, recorded as
    ``mailbox-reply``, and no sender verification applies (it verifies accepted senders).
    """

    reason: str
    owner_id: int | None = None
    thread_id: int | None = None


class _Taker(NamedTuple):
    """Who takes a message in for one company: an accepted sender's user, or the mailbox owner."""

    company_id: int
    user_id: int
    routes: list[Route]
    # The company's sender verification policy; None for the mailbox owner (no accepted sender to verify).
    policy: str | None = None
    by_mailbox: bool = False


def resolve_routes(session, recipients: list[str], settings) -> list[Route]:
    """Routes for the recipients that are Smart Bcc addresses; raises when none is."""
    routes = []
    for address in recipients:
        route = route_address(session, address, settings)
        if route is not None and route not in routes:
            routes.append(route)
    if not routes:
        raise unknown_address(recipients[0] if recipients else "")
    return routes


def accept_message(services, raw: bytes, *, source: str, envelope_from: str | None = None,
                   recipients: list[str] | None = None, routes: list[Route] | None = None,
                   fetched: Fetched | None = None) -> list[int]:
    """Stores ``raw`` once per receiving company and returns the inbound record ids.

    ``routes`` are decided by the caller (SMTP at RCPT, HTTP per recipient, a
    provider from the fetched copy's Bcc); otherwise ``recipients`` are resolved.
    Raises a ``Rejection`` for what the sender must hear about; anything else
    raised is our fault and must be answered as a temporary failure.
    """
    settings = services.settings
    if len(raw) > settings.max_message_bytes:
        raise too_large(settings.max_message_bytes)
    headers = read_headers(raw)
    with services.db.session() as session:
        if routes is None:
            routes = resolve_routes(session, recipients or [], settings)
        takers = _takers(session, headers, routes, fetched)
        if not takers:
            if headers.from_address is None:
                raise sender_unknown(raw, headers)
            raise sender_not_accepted(headers.from_address)
        takers, auth = _authenticate(raw, headers.from_address, takers, settings)
        digest = hashlib.sha256(raw).hexdigest()
        # The bytes are fsynced before the rows commit, and the rows commit
        # before the caller answers 250: an acknowledged mail is never lost.
        services.blobs.put(raw, digest)
        records = []
        for taker in takers:
            record = InboundRecord(
                company_id=taker.company_id, user_id=taker.user_id, source=source,
                envelope_from=(envelope_from or "").replace("\x00", "")[:320] or None,
                recipients=[r.as_dict() for r in taker.routes],
                header_from=headers.from_address, raw_sha256=digest, raw_size=len(raw),
                sender_auth=auth[taker.company_id][0].verdict if taker.company_id in auth else None,
                status="received",
                decisions=_decisions(source, headers, envelope_from, taker, auth.get(taker.company_id), fetched),
            )
            session.add(record)
            records.append(record)
        session.flush()
        ids = [r.id for r in records]
    for record_id in ids:
        try:
            services.jobs.enqueue("process_inbound", record_id)
        except Exception:
            # The mail is safe; the periodic resume_pending sweep will queue it.
            log.exception("could not queue inbound record %s; the sweep will pick it up", record_id)
    return ids


def _takers(session, headers: HeaderSummary, routes: list[Route], fetched: Fetched | None) -> list[_Taker]:
    """One taker per company the routes lead to whose sender check passes; companies that refuse are left out."""
    by_company: "OrderedDict[int, list[Route]]" = OrderedDict()
    for route in routes:
        by_company.setdefault(route.company_id, []).append(route)
    takers = []
    for company_id, company_routes in by_company.items():
        user = accepted_user(session, company_id, headers.from_address) if headers.from_address else None
        if user is not None:
            # The company comes with the user (one query): its policy is read here.
            takers.append(_Taker(company_id, user.id, company_routes, user.company.sender_auth_policy))
            continue
        owner = _mailbox_owner(session, fetched, company_id)
        if owner is not None:
            takers.append(_Taker(company_id, owner.id, company_routes, by_mailbox=True))
        else:
            log.info("sender %r not accepted by company %s", headers.from_address, company_id)
    return takers


def _mailbox_owner(session, fetched: Fetched | None, company_id: int) -> User | None:
    if fetched is None or fetched.owner_id is None:
        return None
    owner = session.get(User, fetched.owner_id)
    if owner is None or not owner.active or owner.company_id != company_id:
        return None
    return owner


def _authenticate(raw, from_address, takers: list[_Taker], settings):
    """Applies each company's sender verification policy; drops the companies that reject."""
    # A mailbox owner's taker has no accepted sender to verify.
    policies = {t.company_id: t.policy for t in takers if not t.by_mailbox}
    if all(p == "off" for p in policies.values()):
        return takers, {}
    verdict = check_sender(raw, from_address, settings)  # one check serves every company
    auth = {cid: (verdict, p) for cid, p in policies.items() if p != "off"}
    if verdict.passed:
        return takers, auth
    kept = [t for t in takers if t.by_mailbox or policies[t.company_id] != "reject"]
    if not kept:
        raise sender_not_authenticated(from_address, verdict.detail)
    return kept, auth


def _decisions(source, headers: HeaderSummary, envelope_from, taker: _Taker, auth, fetched) -> list[dict]:
    if taker.by_mailbox:
        return [{"stage": "intake", "outcome": "mailbox-reply", "reason": fetched.reason,
                 "mailbox_owner_id": taker.user_id, "thread_id": fetched.thread_id,
                 "sender": headers.from_address}]
    decisions = [_acceptance_decision(source, headers, envelope_from, taker.routes)]
    if auth is not None:
        verdict, policy = auth
        decisions.append({"stage": "intake", "outcome": f"sender-{verdict.verdict}",
                          "reason": f"sender verification ({verdict.method}, policy {policy}): "
                                    f"{verdict.detail}", "sender_auth": verdict.verdict})
    if fetched is not None:
        decisions.append({"stage": "intake", "outcome": "fetched", "reason": fetched.reason})
    return decisions


def _acceptance_decision(source, headers: HeaderSummary, envelope_from, routes) -> dict:
    reason = f"accepted from {headers.from_address} via {source}"
    decision = {"stage": "intake", "outcome": "accepted", "reason": reason,
                "recipients": [r.address for r in routes]}
    env = (envelope_from or "").strip().lower()
    if env and env != headers.from_address:
        decision["envelope_mismatch"] = env
        decision["reason"] += f"; envelope sender {env} differs from the From: header"
    if any(r.via_alias for r in routes):
        decision["reason"] += "; sent to the company's former address (still accepted during the grace period)"
    return decision


__all__ = ["Fetched", "accept_message", "resolve_routes", "Rejection"]
