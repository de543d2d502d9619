"""Stage persist: the message, its participants and attachments, and the thread's summary."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import insert

from ..domain import expectations, threads
from ..mail.textutil import snippet
from ..models import Attachment, MailMessage, Participant
from .context import Context

MAX_STORED_BODY = 2_000_000


class Persist:
    name = "persist"

    def run(self, ctx: Context) -> None:
        view, parsed, thread = ctx.view, ctx.parsed, ctx.thread
        sent_at = view.date or ctx.record.received_at or datetime.now(timezone.utc)
        text = (view.text or None) and view.text[:MAX_STORED_BODY]
        html = (view.html or None) and view.html[:MAX_STORED_BODY]
        message = MailMessage(
            company_id=ctx.company_id, thread=thread, owner_id=ctx.user.id,
            dedupe_key=ctx.dedupe_key,
            message_id_header=(view.message_id or None) and view.message_id[:255],
            smartbcc_ref=parsed.smartbcc_ref,
            in_reply_to=(view.in_reply_to[0][:255] if view.in_reply_to else None),
            references=[r[:255] for r in view.references[-50:]],
            subject=(view.subject or "")[:998], sent_at=sent_at,
            sender_email=view.sender.key[:320] if view.sender else "",
            sender_name=(view.sender.name or "")[:200] if view.sender else "",
            snippet=snippet(text, html), body_text=text, body_html=html,
            forwarded_by_user_id=ctx.user.id if view.forwarded_by else None,
            forwarded_by_email=view.forwarded_by.key if view.forwarded_by else None,
            forward_note=_note(ctx),
            auto_kind=parsed.auto_kind, raw_sha256=ctx.record.raw_sha256,
            defects=parsed.defects[:50],
        )
        for part in _attachments(ctx):
            digest = ctx.services.blobs.put(part.content, part.sha256)
            message.attachments.append(Attachment(
                company_id=ctx.company_id, filename=(part.filename or None) and part.filename[:255],
                content_type=part.content_type[:255], size=part.size, sha256=digest,
                content_id=(part.content_id or None) and part.content_id[:255], inline=part.inline))
        if ctx.new_thread:
            ctx.session.add(thread)  # the thread stage left it out of the session until now
        ctx.session.add(message)
        threads.add_message(thread, message)
        ctx.message = message
        # The add-in announced this mail: its expectation is met (backend/domain/expectations.py).
        # Not asked when the rep has nothing announced waiting (asked once per batch).
        announced = ctx.lookups.announcements_waiting(ctx.session, ctx.company_id, ctx.user.id)
        ctx.decide(self.name, "stored", "Logged.", message_id=None, thread_id=None)  # ids: ``written``
        # A batch writes its messages together at its end (the runner calls ``written``).
        later = ctx.lookups.defer_writes and not announced
        ctx.lookups.stored(ctx, thread.normalized_subject, unwritten=later)
        if later:
            return
        written(ctx.session, [ctx])
        if announced:
            expectations.settle(ctx.session, ctx.company_id, ctx.user.id, ref=parsed.smartbcc_ref,
                                message_ids=[parsed.message_id, view.message_id], message_pk=message.id,
                                now=datetime.now(timezone.utc))


def written(session, contexts: list[Context]) -> None:
    """Flushes the stored messages of ``contexts`` (with their threads, links and attachments, one
    INSERT per table), then writes all their participants in one INSERT and gives each record and
    decision its message's id. Persist calls it for its own message; a batch for all of its own."""
    session.flush()
    rows = [{"company_id": ctx.company_id, "message_id": ctx.message.id, "role": p.role,
             "email": p.address.key[:320], "name": (p.address.name or "")[:200],
             "person_id": p.person_id, "user_id": p.user_id}
            for ctx in contexts for p in ctx.participants]
    if rows:
        # The table's INSERT, none read back (every row with the same columns, where the ORM's bulk
        # insert would split the rows by which ids are None).
        session.execute(insert(Participant.__table__), rows)
    for ctx in contexts:
        message = ctx.message
        ctx.lookups.message_stored(ctx.company_id, ctx.dedupe_key, message.id)
        ctx.record.message_id = message.id
        stored = next(d for d in reversed(ctx.decisions) if d["stage"] == Persist.name)
        stored.update(message_id=message.id, thread_id=message.thread_id)


def _attachments(ctx: Context):
    """The outer message's attachments, plus the forwarded original's when it came attached."""
    parts = list(ctx.parsed.attachments)
    original = ctx.forwarded
    if original is not None and original.source == "attachment":
        for attached in ctx.parsed.attached_messages:
            if attached.message_id == original.message_id or len(ctx.parsed.attached_messages) == 1:
                parts.extend(attached.attachments)
                break
    seen, unique = set(), []
    for part in parts:
        key = (part.sha256, part.filename)
        if key not in seen:
            seen.add(key)
            unique.append(part)
    return unique


def _note(ctx: Context) -> str | None:
    """What the rep wrote above the mail they forwarded (shown above it on the pages)."""
    note = ctx.forwarded.note if ctx.forwarded is not None and ctx.view.forwarded_by else None
    return note[:MAX_STORED_BODY] if note and note.strip() else None
