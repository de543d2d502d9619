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
                "x-failed-recipients", "x-auto-response-suppress", "return-path", "from",
                "list-unsubscribe", "list-post", "list-archive", "list-help", "list-subscribe",
                "list-owner")

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
    r"could not be delivered|non-?delivery|nondeliverable|fail(ed|ure) delivery|delivery failure|"
    r"mail failed|could not send|postmaster notif|"
    # What Italian, German, French, Spanish and Japanese providers write on their delivery reports.
    r"mancata consegna|non recapitat|impossibile recapitare|unzustellbar|nicht zustellbar|"
    r"non remis|échec de (la )?(remise|distribution)|no se puede entregar|no entregado|"
    r"配信できません|配送できません", re.I)
# The mailboxes of mail servers themselves (RFC 5321 4.5.1 postmaster, the MAILER-DAEMON of
# sendmail, Postfix, Exim, qmail, Gmail, Yahoo). Mail from them is machine mail, and they never
# become contacts: the contacts stage and `smartbcc contacts prune-automatic` read this list.
MACHINE_LOCAL_PARTS = frozenset({
    "mailer-daemon", "mailer_daemon", "mailerdaemon", "mail-daemon", "mail_daemon", "maildaemon",
    "postmaster", "post_master", "post-master"})
# The local parts that only a mail server writes from: their mail is a bounce whatever it says.
_DAEMON_LOCAL_PARTS = MACHINE_LOCAL_PARTS - {"postmaster", "post_master", "post-master"}
# How bounces name their sender when the address is empty or has no domain
# ("MAILER-DAEMON <>", "Mail Delivery Subsystem <MAILER-DAEMON>").
_MACHINE_NAME = re.compile(
    r"\b(mailer[-_ ]?daemon|mail[-_ ]?daemon|post[-_ ]?master|mail delivery (sub)?system)\b", re.I)
# Only prefixes that mail servers generate; a person may well write "out of office next week".
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto-?reply|auto reply|auto-?respon(se|der|s)?|out of office( autoreply)?)"
    r"\s*[:：]", re.I)
# The same prefix as Outlook, Exchange, Gmail and the big webmails write it in other languages
# (an Exchange out-of-office reply carries no Auto-Submitted header: its subject is what tells).
_LOCALIZED_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*("
    r"risposta automatica|automatische antwort|abwesenheitsnotiz|réponse automatique|"  # it de fr
    r"respuesta automática|resposta automática|automatisch antwoord|"  # es pt nl
    r"odpowiedź automatyczna|automatyczna odpowiedź|automatická odpověď|"  # pl cs
    r"automatiskt svar|autosvar|automatisk svar|automatisk besvarelse|"  # sv da no
    r"automaattinen vastaus|automatikus válasz|"  # fi hu
    r"автоматический ответ|автоответ|автоматична відповідь|"  # ru uk
    r"otomatik (yanıt|yanit|cevap)|OTOMATİK (YANIT|CEVAP)|"  # tr (İ/ı do not case-fold to i)
    r"αυτόματη απάντηση|ΑΥΤΟΜΑΤΗ ΑΠΑΝΤΗΣΗ|"  # el
    r"自動応答|自動返信|自动回复|自動回覆|自動回復|자동 회신|자동 응답"  # ja zh-Hans zh-Hant ko
    r")\s*[:：]", re.I)


def _value(msg: ParsedMessage, name: str) -> str:
    """The header's first value, stripped and lower-cased; "" when absent."""
    return (msg.auto_headers.get(name) or "").strip().lower()


def _quoted(text: str) -> str:
    return '"' + clean_text(text, 80) + '"'


def is_machine_address(email: str | None) -> bool:
    """Is this the address of a mail server itself (``MAILER-DAEMON@...``, ``postmaster@...``,
    or a bare ``MAILER-DAEMON``)? Such an address never becomes a contact."""
    text = (email or "").strip().strip("<>").lower()
    local = text.rpartition("@")[0] if "@" in text else text
    return local.strip('"') in MACHINE_LOCAL_PARTS


def _null_sender(msg: ParsedMessage) -> bool:
    """A Return-Path of ``<>``: the null reverse-path, which only automatic notifications use
    (RFC 5321 4.5.5, RFC 3834 3.3, RFC 8098 2.1)."""
    return "".join(_value(msg, "return-path").split()) == "<>"


def _machine_sender(msg: ParsedMessage) -> str | None:
    """The words saying the mail comes from a mail server, or None."""
    senders = [a for a in msg.from_ + [msg.sender_header] if a]
    daemon = next((a.key for a in senders if is_machine_address(a.key)), None)
    if daemon:
        return f"from {daemon}"
    for text in [a.name for a in senders if a.name] + [msg.auto_headers.get("from", "")]:
        match = _MACHINE_NAME.search(text or "")
        if match:
            return f"from {_quoted(match.group(0))}"
    return "from the null sender (Return-Path: <>)" if _null_sender(msg) else None


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
    description = ("Sent by MAILER-DAEMON (whatever the subject), or by postmaster, \"Mail Delivery "
                   "System\" or the null sender with a subject such as \"Undeliverable\" or "
                   "\"Returned mail\": the bounces of Gmail, Yahoo, Exchange, qmail, Postfix and Exim.")
    kind = "bounce"

    def check(self, msg: ParsedMessage) -> str | None:
        senders = [a for a in msg.from_ + [msg.sender_header] if a]
        daemon = next((a.key for a in senders if a.key.rpartition("@")[0] in _DAEMON_LOCAL_PARTS), None)
        if daemon is not None:
            return f"It is from {daemon}, the mail server itself, with the subject {_quoted(msg.subject)}."
        machine = _machine_sender(msg)
        if machine is None or not _BOUNCE_SUBJECT.search(msg.subject):
            return None
        return f"It is {machine} with the subject {_quoted(msg.subject)}."


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
    description = ("An X-Autoreply header other than \"no\", an X-Autorespond header, or "
                   "\"Precedence: auto_reply\".")
    kind = "auto-reply"

    def check(self, msg: ParsedMessage) -> str | None:
        # X-Auto-Response-Suppress is deliberately ignored: Outlook puts it on ordinary mail.
        if _value(msg, "x-autoreply") not in ("", "no"):
            return f"Its X-Autoreply header is {_quoted(msg.auto_headers['x-autoreply'])}."
        if "x-autorespond" in msg.auto_headers:
            return "It has an X-Autorespond header."
        if _value(msg, "precedence") in ("auto_reply", "auto-reply"):
            return f"Its Precedence header is {_quoted(msg.auto_headers['precedence'])}."
        return None


class AutoResponseSuppress:
    name = "auto-response-suppress"
    description = ("An X-Auto-Response-Suppress header on mail from the null sender: how Exchange "
                   "and Outlook send out-of-office replies (the header alone is on ordinary Outlook mail too).")
    kind = "auto-reply"

    def check(self, msg: ParsedMessage) -> str | None:
        if "x-auto-response-suppress" not in msg.auto_headers or not _null_sender(msg):
            return None
        return (f"It has an X-Auto-Response-Suppress header "
                f"({_quoted(msg.auto_headers['x-auto-response-suppress'])}) and the null sender (Return-Path: <>).")


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


class NullSender:
    name = "null-sender"
    description = ("A Return-Path of <>, the null sender: only delivery reports, read receipts and "
                   "automatic replies are sent so (RFC 5321 4.5.5, RFC 3834).")
    kind = "auto-reply"

    def check(self, msg: ParsedMessage) -> str | None:
        return "Its Return-Path is <>, the null sender of automatic mail (RFC 3834)." if _null_sender(msg) else None


class ListHeaders:
    name = "list-unsubscribe"
    description = ("A List-Unsubscribe header with another RFC 2369 list header (List-Post, "
                   "List-Archive, List-Help, List-Subscribe, List-Owner): sent by mailing-list software.")
    kind = "bulk"

    def check(self, msg: ParsedMessage) -> str | None:
        # List-Unsubscribe alone is not enough: sales tools add it to one-to-one mail.
        others = [h for h in ("list-post", "list-archive", "list-help", "list-subscribe", "list-owner")
                  if h in msg.auto_headers]
        if "list-unsubscribe" not in msg.auto_headers or not others:
            return None
        return f"It has a List-Unsubscribe header and {', '.join(h.title() for h in others)} (RFC 2369)."


# Most specific first: DSNs often carry Auto-Submitted too, vacation(1) replies say
# "Precedence: bulk", and ARF reports arrive with "Precedence: list".
RULES = (ComplaintReport(), BounceReport(), FailedRecipientsHeader(), MailerDaemonSender(),
         DispositionNotification(), AutoSubmitted(), AutoReplyHeaders(), AutoReplySubject(),
         LocalizedAutoReplySubject(), AutoResponseSuppress(), NullSender(), BulkPrecedence(), ListId(),
         ListHeaders())


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


def classify_attached(msg: ParsedMessage, rules=RULES) -> AutoVerdict | None:
    """The verdict on the first automatic message attached to ``msg``, or None: for a forward
    whose original sender cannot be read ("MAILER-DAEMON <>", "From: <>")."""
    for attached in msg.attached_messages:
        verdict = classify(attached, rules)
        if verdict.kind:
            return verdict
    return None


def explain(kind: str, reason: str) -> str:
    """The verdict in plain words, e.g. "This is an automatic mail (a delivery report): ..."."""
    return f"This is an automatic mail ({KIND_WORDS.get(kind, kind)}): {reason}"
