"""Issue 16 point 3, kind by kind: every kind of automatic mail has a named rule, its hit is
recorded in the decision log, and it is recognised both at top level and forwarded by a rep as a
message/rfc822 attachment."""
from __future__ import annotations

import pytest

from backend.pipeline.context import Context
from backend.pipeline.parse import Parse
from backend.pipeline.unwrap import UnwrapForward

from .automatic_forwards import forward_with_email_package

HEAD = ("From: {sender}\nTo: Alice Rep <alice@acme.example>\nSubject: {subject}\n"
        "Date: Mon, 3 Mar 2025 08:00:00 +0000\nMessage-ID: <{key}@customer.example>\n")


def _mail(key: str, headers: str = "", subject: str = "Offer 17", sender: str = "Jane <jane@customer.example>",
          body: str = "Content-Type: text/plain\n\nText.\n") -> bytes:
    text = HEAD.format(sender=sender, subject=subject, key=key) + headers + "MIME-Version: 1.0\n" + body
    return text.replace("\n", "\r\n").encode("utf-8")


def _report(report_type: str, part: str) -> str:
    return (f'Content-Type: multipart/report; report-type={report_type}; boundary="r"\n\n'
            "--r\nContent-Type: text/plain\n\nA report.\n"
            f"--r\nContent-Type: message/{report_type}\n\n{part}\n--r--\n")


DAEMON = "Mail Delivery System <MAILER-DAEMON@mx.customer.example>"
# case -> (raw message, kind, rule)
KINDS = {
    "dsn": (_mail("dsn", subject="Undelivered Mail Returned to Sender", sender=DAEMON,
                  body=_report("delivery-status", "Reporting-MTA: dns; mx.customer.example\n\n"
                               "Final-Recipient: rfc822; bob@customer.example\nAction: failed\nStatus: 5.1.1\n")),
            "bounce", "bounce-report"),
    "exim-failed-recipients": (_mail("exim", "X-Failed-Recipients: bob@customer.example\n",
                                     "Mail delivery failed: returning message to sender", DAEMON), "bounce",
                               "failed-recipients-header"),
    "qmail-failure-notice": (_mail("qmail", "", "failure notice", "MAILER-DAEMON@mx.customer.example"),
                             "bounce", "mailer-daemon-sender"),
    "italian-bounce": (_mail("it", "", "Avviso di mancata consegna", "Postmaster <postmaster@libero.it>"),
                       "bounce", "mailer-daemon-sender"),
    "read-receipt": (_mail("mdn", subject="Read: Offer 17",
                           body=_report("disposition-notification",
                                        "Final-Recipient: rfc822; jane@customer.example\n"
                                        "Disposition: manual-action/MDN-sent-manually; displayed\n")),
                     "auto-reply", "disposition-notification"),
    "auto-submitted": (_mail("as", "Auto-Submitted: auto-replied\n", "Away"), "auto-reply", "auto-submitted"),
    "x-autoreply": (_mail("xa", "X-Autoreply: yes\n", "Away"), "auto-reply", "auto-reply-headers"),
    "x-autorespond": (_mail("xr", "X-Autorespond: Away\n", "Away"), "auto-reply", "auto-reply-headers"),
    "precedence-auto-reply": (_mail("pa", "Precedence: auto_reply\n", "Away"), "auto-reply", "auto-reply-headers"),
    "exchange-oof-suppress": (_mail("oof", "Return-Path: <>\nX-Auto-Response-Suppress: All\n", "Away"),
                              "auto-reply", "auto-response-suppress"),
    "null-sender": (_mail("null", "Return-Path: <>\n", "Away"), "auto-reply", "null-sender"),
    "automatic-reply": (_mail("en", subject="Automatic reply: Offer 17"), "auto-reply", "auto-reply-subject"),
    "risposta-automatica": (_mail("it2", subject="Risposta automatica: Offer 17"), "auto-reply",
                            "auto-reply-subject-localized"),
    "abwesenheitsnotiz": (_mail("de", subject="Abwesenheitsnotiz: Offer 17"), "auto-reply",
                          "auto-reply-subject-localized"),
    "reponse-automatique": (_mail("fr", subject="Réponse automatique : Offer 17"), "auto-reply",
                            "auto-reply-subject-localized"),
    "japanese": (_mail("ja", subject="=?UTF-8?B?6Ieq5YuV5b+c562UOiBPZmZlciAxNw==?="), "auto-reply",
                 "auto-reply-subject-localized"),
    "russian": (_mail("ru", subject="Автоматический ответ: Offer 17"), "auto-reply", "auto-reply-subject-localized"),
    "precedence-bulk": (_mail("pb", "Precedence: bulk\n"), "bulk", "bulk-precedence"),
    "precedence-junk": (_mail("pj", "Precedence: junk\n"), "bulk", "bulk-precedence"),
    "precedence-list": (_mail("pl", "Precedence: list\n"), "bulk", "bulk-precedence"),
    "list-id": (_mail("li", "List-Id: Buyers <buyers.lists.customer.example>\n"), "bulk", "list-id"),
    "list-unsubscribe": (_mail("lu", "List-Unsubscribe: <mailto:leave@lists.customer.example>\n"
                                     "List-Post: <mailto:buyers@lists.customer.example>\n"), "bulk", "list-unsubscribe"),
    "spam-complaint": (_mail("arf", subject="Complaint", sender="staff@feedback.example",
                             body=_report("feedback-report", "Feedback-Type: abuse\nUser-Agent: x/1\nVersion: 1\n")),
                       "complaint", "complaint-report"),
}


def _decisions(raw: bytes, *stages) -> list[dict]:
    ctx = Context(services=None, session=None, record=None, raw=raw)
    for stage in stages:
        stage.run(ctx)
    return [d for d in ctx.decisions if d["outcome"] == "automatic"]


@pytest.mark.parametrize("case", sorted(KINDS))
def test_at_top_level(case):
    raw, kind, rule = KINDS[case]
    (decided,) = _decisions(raw, Parse())
    assert (decided["stage"], decided["kind"], decided["rule"]) == ("parse", kind, rule)


@pytest.mark.parametrize("case", sorted(KINDS))
def test_forwarded_as_attachment(case):
    raw, kind, rule = KINDS[case]
    (decided,) = _decisions(forward_with_email_package(raw), Parse(), UnwrapForward())
    assert (decided["stage"], decided["kind"], decided["rule"]) == ("unwrap_forward", kind, rule)
    assert decided["reason"].startswith("The forwarded mail is automatic.")


@pytest.mark.parametrize("headers", [
    "X-Auto-Response-Suppress: All\n",  # Outlook puts it on ordinary mail
    "List-Unsubscribe: <https://sales-tool.example/u/1>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n",
    "Auto-Submitted: no\nX-Autoreply: no\nPrecedence: first-class\nReturn-Path: <jane@customer.example>\n",
])
@pytest.mark.parametrize("subject", ["Re: Offer 17", "RE: Automatic reply: Offer 17", "Offer 17: out of office?"])
def test_a_persons_reply_is_not_automatic(headers, subject):
    raw = _mail("human", headers, subject, body="Content-Type: text/plain\nIn-Reply-To: <offer-17@acme.example>\n\nYes.\n")
    assert _decisions(raw, Parse()) == []
    assert _decisions(forward_with_email_package(raw), Parse(), UnwrapForward()) == []
