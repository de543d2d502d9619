"""Is this mail automatic (a bounce, an auto-reply, bulk mail, a spam complaint)? Named rules, each with its reason.

In the style of GNU Mailman's rules: every rule has a ``name``, a ``description``, the
``kind`` it yields, and ``check(message)``, which returns the reason sentence when the rule
hits and None when it misses. ``classify`` runs the chain in order; the first hit decides.

The rules read only a ParsedMessage: its senders and subject, its MIME part types
(``content_types``, ``report_types``) and the few header values in ``auto_headers``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .headers import clean_text
from .message import ParsedMessage

if TYPE_CHECKING:  # pragma: no cover
    from .forwards import ForwardedOriginal

# The headers the rules read; the parser keeps their first value in ParsedMessage.auto_headers.
AUTO_HEADERS = ("auto-submitted", "x-autoreply", "x-autorespond", "precedence", "list-id",
                "x-failed-recipients")

# What each kind is, in words for a sales rep.
KIND_WORDS = {
    "complaint": "a spam complaint report",
    "bounce": "a delivery report",
    "auto-reply": "an automatic reply",
    "bulk": "bulk or mailing-list mail",
}

_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|delivery (has )?fail|failure notice|"
    r"returned mail|mail delivery (failed|failure|system|subsystem)|delayed mail|"
    r"could not be delivered|non-?delivery|nondeliverable|"
    # What Italian, German, French and Spanish providers write on their delivery reports.
    r"mancata consegna|non recapitat|impossibile recapitare|unzustellbar|nicht zustellbar|"
    r"non remis|échec de (la )?(remise|distribution)|no se puede entregar|no entregado", re.I)
_BOUNCE_SENDERS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}
# Only prefixes that mail servers generate; a person may well write "out of office next week".
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto-?reply|auto reply|out of office( autoreply)?)\s*:", re.I)
# The same prefix as Outlook and Exchange write it in other languages (an Exchange
# out-of-office reply carries no Auto-Submitted header: its subject is what tells).
_LOCALIZED_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(risposta automatica|automatische antwort|abwesenheitsnotiz|réponse automatique|"
    r"respuesta automática|resposta automática|automatisch antwoord|autosvar|automatisk svar|"
    r"automaattinen vastaus|odpowiedź automatyczna|automatická odpověď|"
    r"automatikus válasz)\s*:", re.I)


def _value(msg: ParsedMessage, name: str) -> str:
    """The header's first value, stripped and lower-cased; "" when absent."""
    return (msg.auto_headers.get(name) or "").strip().lower()


def _quoted(text: str) -> str:
    return '"' + clean_text(text, 80) + '"'


def _report(msg: ParsedMessage, report_type: str, what: str) -> str | None:
    """A multipart/report of ``report_type``, or a bare message/``report_type`` part."""
    if report_type in msg.report_types:
        return f"Content-Type is multipart/report; report-type={report_type} ({what})."
    if f"message/{report_type}" in msg.content_types:
        return f"It has a message/{report_type} part ({what})."
    return None


class ComplaintReport:
    name = "complaint-report"
    description = "An abuse feedback report (ARF, RFC 5965): a recipient marked a mail as spam."
    kind = "complaint"

    def check(self, msg: ParsedMessage) -> str | None:
        return _report(msg, "feedback-report", "an abuse report, RFC 5965")


class BounceReport:
    name = "bounce-report"
    description = "A delivery status notification (DSN, RFC 3464): a mail could not be delivered."
    kind = "bounce"

    def check(self, msg: ParsedMessage) -> str | None:
        return _report(msg, "delivery-status", "a delivery status notification, RFC 3464")


class FailedRecipientsHeader:
    name = "failed-recipients-header"
    description = "An X-Failed-Recipients header, which mail servers (Exim) put on bounces."
    kind = "bounce"

    def check(self, msg: ParsedMessage) -> str | None:
        if "x-failed-recipients" not in msg.auto_headers:
            return None
        return f"It has an X-Failed-Recipients header ({_quoted(msg.auto_headers['x-failed-recipients'])})."


class MailerDaemonSender:
    name = "mailer-daemon-sender"
    description = ("Sent by mailer-daemon, postmaster or the like, with a subject such as "
                   "\"Undeliverable\" or \"Returned mail\".")
    kind = "bounce"

    def check(self, msg: ParsedMessage) -> str | None:
        senders = [a for a in msg.from_ + [msg.sender_header] if a]
        daemon = next((a for a in senders if a.key.partition("@")[0] in _BOUNCE_SENDERS), None)
        if daemon is None or not _BOUNCE_SUBJECT.search(msg.subject):
            return None
        return f"It is from {daemon.key} with the subject {_quoted(msg.subject)}."


class DispositionNotification:
    name = "disposition-notification"
    description = "A message disposition notification (MDN, RFC 8098): a read receipt."
    kind = "auto-reply"

    def check(self, msg: ParsedMessage) -> str | None:
        return _report(msg, "disposition-notification", "a read receipt, RFC 8098")


class AutoSubmitted:
    name = "auto-submitted"
    description = "An Auto-Submitted header other than \"no\" (RFC 3834): sent by a program."
    kind = "auto-reply"

    def check(self, msg: ParsedMessage) -> str | None:
        if _value(msg, "auto-submitted").split(";")[0].strip() in ("", "no"):
            return None
        return f"Its Auto-Submitted header is {_quoted(msg.auto_headers['auto-submitted'])} (RFC 3834)."


class AutoReplyHeaders:
    name = "auto-reply-headers"
    description = "An X-Autoreply header other than \"no\", or an X-Autorespond header."
    kind = "auto-reply"

    def check(self, msg: ParsedMessage) -> str | None:
        # X-Auto-Response-Suppress is deliberately ignored: Outlook puts it on ordinary mail.
        if _value(msg, "x-autoreply") not in ("", "no"):
            return f"Its X-Autoreply header is {_quoted(msg.auto_headers['x-autoreply'])}."
        if "x-autorespond" in msg.auto_headers:
            return "It has an X-Autorespond header."
        return None


class AutoReplySubject:
    name = "auto-reply-subject"
    description = "A subject starting with a prefix that mail servers write on automatic replies."
    kind = "auto-reply"

    def check(self, msg: ParsedMessage) -> str | None:
        match = _AUTO_REPLY_SUBJECT.match(msg.subject)
        return f"The subject starts with {_quoted(match.group(0).strip())}." if match else None


class LocalizedAutoReplySubject:
    name = "auto-reply-subject-localized"
    description = ("A subject starting with \"automatic reply\" in another language, as Outlook and "
                   "Exchange write it: \"Risposta automatica:\", \"Automatische Antwort:\", "
                   "\"Réponse automatique :\", \"Respuesta automática:\" and the like.")
    kind = "auto-reply"

    def check(self, msg: ParsedMessage) -> str | None:
        match = _LOCALIZED_AUTO_REPLY_SUBJECT.match(msg.subject)
        return f"The subject starts with {_quoted(match.group(0).strip())}." if match else None


class BulkPrecedence:
    name = "bulk-precedence"
    description = "A Precedence header of bulk, list or junk."
    kind = "bulk"

    def check(self, msg: ParsedMessage) -> str | None:
        value = _value(msg, "precedence")
        return f"Its Precedence header is \"{value}\"." if value in ("bulk", "list", "junk") else None


class ListId:
    name = "list-id"
    description = "A List-Id header (RFC 2919): sent through a mailing list."
    kind = "bulk"

    def check(self, msg: ParsedMessage) -> str | None:
        # List-Unsubscribe alone is not enough: sales tools add it to one-to-one mail, and
        # bulk senders that matter set Precedence or List-Id as well.
        if "list-id" not in msg.auto_headers:
            return None
        return f"It has a List-Id header ({_quoted(msg.auto_headers['list-id'])})."


# Most specific first: DSNs often carry Auto-Submitted too, vacation(1) replies say
# "Precedence: bulk", and ARF reports arrive with "Precedence: list".
RULES = (ComplaintReport(), BounceReport(), FailedRecipientsHeader(), MailerDaemonSender(),
         DispositionNotification(), AutoSubmitted(), AutoReplyHeaders(), AutoReplySubject(),
         LocalizedAutoReplySubject(), BulkPrecedence(), ListId())


@dataclass
class AutoVerdict:
    """The chain's answer: the first rule that hit decides ``kind``; every rule is listed in
    ``hits`` or ``misses``."""

    kind: str | None
    rule: str | None
    reason: str
    hits: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)


def classify(msg: ParsedMessage, rules=RULES) -> AutoVerdict:
    """Run every rule in order; the first that hits gives the kind, rule and reason."""
    verdict = AutoVerdict(None, None, "No automatic-mail rule matched.")
    for rule in rules:
        reason = rule.check(msg)
        if reason is None:
            verdict.misses.append(rule.name)
            continue
        verdict.hits.append(rule.name)
        if verdict.kind is None:
            verdict.kind, verdict.rule, verdict.reason = rule.kind, rule.name, reason
    return verdict


def classify_forwarded(original: ForwardedOriginal, rules=RULES) -> AutoVerdict:
    """The same chain over a forwarded original: the attached message itself (headers, part
    types, sender, subject) or, for an inline forward, the sender and subject it quotes."""
    msg = original.message if original.message is not None else ParsedMessage(
        from_=[original.sender], subject=original.subject or "")
    return classify(msg, rules)


def explain(kind: str, reason: str) -> str:
    """The verdict in plain words, e.g. "This is an automatic mail (a delivery report): ..."."""
    return f"This is an automatic mail ({KIND_WORDS.get(kind, kind)}): {reason}"
