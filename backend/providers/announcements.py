"""An announced sent copy's record: how an announcement ends, and how it is shown."""
from __future__ import annotations

from datetime import datetime

from ..models import SentAnnouncement


def finish(ann: SentAnnouncement, now: datetime, status: str, message: str | None) -> None:
    """Ends the announcement with ``status`` (and the reason shown to the user)."""
    ann.status = status
    ann.last_error = message
    ann.finished_at = now
    ann.next_attempt_at = None
    # An On-Behalf-Of access token is kept no longer than its announcement needs it.
    ann.access_token_enc = None
    ann.access_expires_at = None


def announcement_json(ann: SentAnnouncement) -> dict:
    iso = lambda value: value.isoformat() if value else None  # noqa: E731
    return {"id": ann.id, "ref": ann.ref, "address": ann.address,
            "internet_message_id": ann.internet_message_id, "provider": ann.provider, "status": ann.status,
            "attempts": ann.attempts, "next_attempt_at": iso(ann.next_attempt_at), "error": ann.last_error,
            "inbound_record_ids": ann.inbound_record_ids or [], "created_at": iso(ann.created_at),
            "finished_at": iso(ann.finished_at)}
