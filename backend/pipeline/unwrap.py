"""Stage unwrap forward: a customer's mail forwarded by the rep is logged as the customer's."""
from __future__ import annotations

from ..mail.automatic import classify_attached, classify_forwarded, explain
from ..mail.forward_labels import has_forward_prefix
from ..mail.forwards import read_forwarded
from ..mail.view import MessageView
from .context import Context


class UnwrapForward:
    name = "unwrap_forward"

    def run(self, ctx: Context) -> None:
        parsed = ctx.parsed
        view = MessageView.of(parsed)
        ctx.view = view
        if parsed.auto_kind:
            ctx.decide(self.name, "skipped", f"Automatic mail ({parsed.auto_kind}): not read as a forward.")
            return
        original, why = read_forwarded(parsed)
        if original is None:
            ctx.decide(self.name, "not-forwarded", why)
            verdict = classify_attached(parsed) if has_forward_prefix(parsed.subject or "") else None
            if verdict is not None:
                # A forwarded bounce whose sender is unreadable ("MAILER-DAEMON <>"): still automatic.
                _automatic(ctx, verdict, None)
            return
        rep = parsed.sender
        if original.sender.key == (rep.key if rep else None):
            # The rep forwarded their own earlier mail: nothing to re-attribute.
            ctx.decide(self.name, "own-mail", "A forward of the rep's own mail: logged as it was sent.")
            return
        ctx.forwarded = original
        view.sender = original.sender
        view.to = list(original.to)
        view.cc = list(original.cc)
        view.subject = original.subject or view.subject
        view.date = original.date or view.date
        view.text = original.text
        view.html = original.html
        view.message_id = original.message_id
        view.forwarded_by = rep
        if original.message_id:
            attached = next((m for m in parsed.attached_messages if m.message_id == original.message_id), None)
            if attached is not None:
                view.in_reply_to = list(attached.in_reply_to)
                view.references = list(attached.references)
        else:
            view.in_reply_to, view.references = [], []
        ctx.decide(self.name, "forwarded",
                   f"Forwarded by {rep.email if rep else 'the rep'}: logged as the mail of "
                   f"{original.sender.name or original.sender.email} ({original.sender.email}), read from the "
                   f"{'attached message' if original.source == 'attachment' else 'forwarded text'}"
                   f"{'' if original.source == 'attachment' else f' by {original.engine}'}.",
                   original_sender=original.sender.email, engine=original.engine)
        verdict = classify_forwarded(original)
        if verdict.kind:
            _automatic(ctx, verdict, original.sender.email)


def _automatic(ctx: Context, verdict, original_sender: str | None) -> None:
    """A bounce or auto-reply the rep passed on: the whole mail is automatic, so it is kept
    apart, and neither its sender (mailer-daemon, an out-of-office) nor anyone in it
    becomes a contact or gets links (the later stages read parsed.auto_kind)."""
    parsed = ctx.parsed
    parsed.auto_kind, parsed.auto_rule, parsed.auto_reason = verdict.kind, verdict.rule, verdict.reason
    ctx.decide(UnwrapForward.name, "automatic",
               "The forwarded mail is automatic. " + explain(verdict.kind, verdict.reason),
               rule=verdict.rule, kind=verdict.kind,
               **({"original_sender": original_sender} if original_sender else {}))
