"""Durable acceptance: check, store the raw bytes, commit, then queue processing — for every source."""
from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict

from ..models import InboundRecord
from .checks import (HeaderSummary, Rejection, Route, accepted_user, read_headers, route_address,
                     sender_not_accepted, sender_not_authenticated, too_large, unknown_address)
from .sender_auth import check_sender

log = logging.getLogger(__name__)


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


def accept_message(services, raw: bytes, *, source: str, envelope_from: str | None,
                   recipients: list[str] | None = None, routes: list[Route] | None = None,
                   extra_decisions: list[dict] | None = None) -> list[int]:
    """Stores ``raw`` once per receiving company and returns the inbound record ids.

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
        by_company: "OrderedDict[int, list[Route]]" = OrderedDict()
        for route in routes:
            by_company.setdefault(route.company_id, []).append(route)
        accepted: list[tuple[int, int, list[Route]]] = []
        for company_id, company_routes in by_company.items():
            user = accepted_user(session, company_id, headers.from_address) if headers.from_address else None
            if user is not None:
                accepted.append((company_id, user.id, company_routes))
            else:
                log.info("sender %r not accepted by company %s", headers.from_address, company_id)
        if not accepted:
            raise sender_not_accepted(headers.from_address or _first_from(raw, headers))
        accepted, auth = _authenticate(session, raw, headers.from_address, accepted, settings)
        digest = hashlib.sha256(raw).hexdigest()
        # The bytes are fsynced before the rows commit, and the rows commit
        # before the caller answers 250: an acknowledged mail is never lost.
        services.blobs.put(raw, digest)
        records = []
        for company_id, user_id, company_routes in accepted:
            decisions = [_acceptance_decision(source, headers, envelope_from, company_routes)]
            if company_id in auth:
                verdict, policy = auth[company_id]
                decisions.append({"stage": "intake", "outcome": f"sender-{verdict.verdict}",
                                  "reason": f"sender verification ({verdict.method}, policy {policy}): "
                                            f"{verdict.detail}", "sender_auth": verdict.verdict})
            decisions.extend(extra_decisions or [])
            record = InboundRecord(
                company_id=company_id, user_id=user_id, source=source,
                envelope_from=(envelope_from or "").replace("\x00", "")[:320] or None,
                recipients=[r.as_dict() for r in company_routes],
                header_from=headers.from_address, raw_sha256=digest, raw_size=len(raw),
                sender_auth=auth[company_id][0].verdict if company_id in auth else None,
                status="received", decisions=decisions,
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


def _authenticate(session, raw, from_address, accepted, settings):
    """Applies each company's sender verification policy; drops the companies that reject."""
    from ..models import Company

    # The companies are in the session already (accepted_user loads them with the user).
    policies = {cid: session.get(Company, cid).sender_auth_policy for cid, _u, _r in accepted}
    if all(p == "off" for p in policies.values()):
        return accepted, {}
    verdict = check_sender(raw, from_address, settings)  # one check serves every company
    auth = {cid: (verdict, p) for cid, p in policies.items() if p != "off"}
    if verdict.passed:
        return accepted, auth
    kept = [entry for entry in accepted if policies[entry[0]] != "reject"]
    if not kept:
        raise sender_not_authenticated(from_address, verdict.detail)
    return kept, auth


def _first_from(raw: bytes, headers: HeaderSummary) -> str:
    return "the From: address" if headers.problems else "(no From: address)"


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


__all__ = ["accept_message", "resolve_routes", "Rejection"]
