"""backend.mail.automatic: each automatic-mail rule on its own (hit and miss), and the chain's order."""
from __future__ import annotations

import pytest

from backend.mail import automatic
from backend.mail.automatic import RULES, AutoVerdict, classify, explain
from backend.mail.message import Address, ParsedMessage
from backend.mail.mime import parse_message

RULE = {rule.name: rule for rule in RULES}


def _msg(**fields) -> ParsedMessage:
    fields.setdefault("from_", [Address("Jane", "jane@customer.example")])
    fields.setdefault("subject", "Pricing for 200 seats")
    return ParsedMessage(**fields)


# (rule name, a message it hits, a text the reason contains, a message it misses)
CASES = [
    ("complaint-report", _msg(report_types=["feedback-report"]), "report-type=feedback-report",
     _msg(report_types=["delivery-status"])),
    ("complaint-report", _msg(content_types=["message/feedback-report"]), "message/feedback-report",
     _msg(content_types=["text/plain", "multipart/report"])),
    ("bounce-report", _msg(report_types=["delivery-status"]), "multipart/report; report-type=delivery-status",
     _msg(report_types=["disposition-notification", ""])),
    ("bounce-report", _msg(content_types=["message/delivery-status"]), "message/delivery-status",
     _msg(content_types=["text/plain"])),
    ("failed-recipients-header", _msg(auto_headers={"x-failed-recipients": "gone@x.example"}),
     "gone@x.example", _msg(auto_headers={"precedence": "bulk"})),
    ("failed-recipients-header", _msg(auto_headers={"x-failed-recipients": ""}), "X-Failed-Recipients",
     _msg()),
    ("mailer-daemon-sender", _msg(from_=[Address("", "MAILER-DAEMON@mx.example")], subject="Your invoice"),
     "mailer-daemon@mx.example", _msg(from_=[Address("", "postmaster@mx.example")], subject="Your invoice")),
    # "From: MAILER-DAEMON <>" / "<MAILER-DAEMON>" (DragonFly, sendmail): no address can be read.
    ("mailer-daemon-sender", _msg(from_=[], auto_headers={"from": "MAILER-DAEMON <>"}, subject="Mail delivery failed"),
     '"MAILER-DAEMON"', _msg(from_=[], auto_headers={"from": "MAILER-DAEMON <>"}, subject="Hello")),
    ("mailer-daemon-sender", _msg(from_=[], auto_headers={"from": "<>", "return-path": "< >"}, subject="failure notice"),
     "null sender", _msg(from_=[], auto_headers={"from": "<>", "return-path": "<bob@x.example>"}, subject="failure notice")),
    ("mailer-daemon-sender", _msg(from_=[Address("Mail Delivery System", "mds@mx.example")], subject="Delivery status notification"),
     '"Mail Delivery System"', _msg(from_=[Address("Mail Delivery System", "mds@mx.example")], subject="Hi")),
    ("mailer-daemon-sender", _msg(sender_header=Address("", "postmaster@mx.example"), subject="failure notice"),
     "postmaster@mx.example", _msg(from_=[Address("", "jane@customer.example")], subject="Returned mail")),
    ("disposition-notification", _msg(report_types=["disposition-notification"]), "disposition-notification",
     _msg(report_types=["feedback-report"])),
    ("disposition-notification", _msg(content_types=["message/disposition-notification"]),
     "message/disposition-notification", _msg(content_types=["message/rfc822"])),
    ("auto-submitted", _msg(auto_headers={"auto-submitted": "auto-replied"}), '"auto-replied"',
     _msg(auto_headers={"auto-submitted": "No"})),
    ("auto-submitted", _msg(auto_headers={"auto-submitted": "auto-generated; type=x"}), "auto-generated",
     _msg(auto_headers={"auto-submitted": " no ; comment"})),
    ("auto-submitted", _msg(auto_headers={"auto-submitted": "auto-notified"}), "RFC 3834",
     _msg(auto_headers={"auto-submitted": ""})),
    ("auto-reply-headers", _msg(auto_headers={"x-autoreply": "yes"}), "X-Autoreply",
     _msg(auto_headers={"x-autoreply": "no"})),
    ("auto-reply-headers", _msg(auto_headers={"x-autorespond": ""}), "X-Autorespond",
     _msg(auto_headers={"x-autoreply": ""})),
    ("auto-reply-headers", _msg(auto_headers={"precedence": "auto_reply"}), '"auto_reply"',
     _msg(auto_headers={"precedence": "first-class"})),
    # Outlook puts X-Auto-Response-Suppress on ordinary mail too: only with the null sender.
    ("auto-response-suppress", _msg(auto_headers={"x-auto-response-suppress": "All", "return-path": "<>"}),
     '"All"', _msg(auto_headers={"x-auto-response-suppress": "All", "return-path": "<jane@customer.example>"})),
    ("null-sender", _msg(auto_headers={"return-path": "<>"}), "Return-Path is <>",
     _msg(auto_headers={"return-path": "<jane@customer.example>"})),
    ("auto-reply-subject", _msg(subject="Out of Office: back Monday"), '"Out of Office:"',
     _msg(subject="I am out of office next week: call me")),
    ("auto-reply-subject", _msg(subject="Automatic reply: Pricing"), "Automatic reply",
     _msg(subject="Re: Automatic reply: Pricing")),
    ("mailer-daemon-sender", _msg(from_=[Address("", "mailer-daemon@libero.it")],
                                  subject="Avviso di mancata consegna"), "mancata consegna",
     _msg(from_=[Address("", "mario.rossi@libero.it")], subject="Avviso di mancata consegna")),
    ("mailer-daemon-sender", _msg(from_=[Address("", "Postmaster@gmx.de")],
                                  subject="Unzustellbar: Angebot"), "postmaster@gmx.de",
     _msg(from_=[Address("", "postmaster@gmx.de")], subject="Angebot")),
    ("auto-reply-subject-localized", _msg(subject="Risposta automatica: Preventivo"), '"Risposta automatica:"',
     _msg(subject="Re: Risposta automatica: Preventivo")),
    ("auto-reply-subject-localized", _msg(subject="Automatische Antwort: Angebot"), "Automatische Antwort",
     _msg(subject="Automatic reply: Angebot")),
    ("auto-reply-subject-localized", _msg(subject="Réponse automatique : Devis"), "Réponse automatique :",
     _msg(subject="Une réponse automatique serait utile: non")),
    ("auto-reply-subject-localized", _msg(subject="RESPUESTA AUTOMÁTICA: Presupuesto"), "RESPUESTA",
     _msg(subject="Presupuesto: respuesta automática")),
    ("bulk-precedence", _msg(auto_headers={"precedence": "Bulk"}), '"bulk"',
     _msg(auto_headers={"precedence": "first-class"})),
    ("bulk-precedence", _msg(auto_headers={"precedence": " list "}), '"list"',
     _msg(auto_headers={"list-id": "<x.example>"})),
    ("bulk-precedence", _msg(auto_headers={"precedence": "junk"}), '"junk"', _msg()),
    ("list-id", _msg(auto_headers={"list-id": "Sales <sales.lists.example>"}), "sales.lists.example",
     _msg(auto_headers={"precedence": "bulk"})),
    # List-Unsubscribe alone is on one-to-one mail from sales tools: not enough.
    ("list-unsubscribe", _msg(auto_headers={"list-unsubscribe": "<mailto:u@l.example>", "list-post": "<mailto:l@l.example>"}),
     "List-Post", _msg(auto_headers={"list-unsubscribe": "<https://tool.example/u/1>"})),
]


@pytest.mark.parametrize(("name", "hit", "said", "miss"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_hits_and_misses(name, hit, said, miss):
    rule = RULE[name]
    reason = rule.check(hit)
    assert reason is not None and said in reason
    assert reason.endswith(".") and "\n" not in reason
    assert rule.check(miss) is None


def test_every_rule_is_covered_and_described():
    assert {c[0] for c in CASES} == set(RULE)
    assert len(RULE) == len(RULES)  # names are unique
    for rule in RULES:
        assert rule.description and rule.kind in automatic.KIND_WORDS


def test_chain_order():
    assert [r.name for r in RULES] == [
        "complaint-report", "bounce-report", "failed-recipients-header", "mailer-daemon-sender",
        "disposition-notification", "auto-submitted", "auto-reply-headers", "auto-reply-subject",
        "auto-reply-subject-localized", "auto-response-suppress", "null-sender", "bulk-precedence", "list-id",
        "list-unsubscribe"]


def test_ordinary_mail_is_not_automatic():
    verdict = classify(_msg(auto_headers={"auto-submitted": "no"}))
    assert verdict == AutoVerdict(None, None, "No automatic-mail rule matched.", [], [r.name for r in RULES])


@pytest.mark.parametrize(("fields", "kind", "rule"), [
    # ARF reports arrive with "Precedence: list" and often Auto-Submitted: the report wins.
    ({"report_types": ["feedback-report"], "auto_headers": {"precedence": "list", "auto-submitted": "auto-generated"}},
     "complaint", "complaint-report"),
    # DSNs often carry Auto-Submitted too.
    ({"report_types": ["delivery-status"], "auto_headers": {"auto-submitted": "auto-replied"}},
     "bounce", "bounce-report"),
    # vacation(1) replies say "Precedence: bulk".
    ({"auto_headers": {"precedence": "bulk", "x-autoreply": "yes"}}, "auto-reply", "auto-reply-headers"),
    ({"auto_headers": {"list-id": "<l.example>", "precedence": "list"}}, "bulk", "bulk-precedence"),
])
def test_first_hit_wins_and_every_hit_is_listed(fields, kind, rule):
    verdict = classify(_msg(**fields))
    assert (verdict.kind, verdict.rule) == (kind, rule)
    assert verdict.reason == RULE[rule].check(_msg(**fields))
    assert verdict.hits[0] == rule and len(verdict.hits) >= 2
    assert sorted(verdict.hits + verdict.misses) == sorted(RULE)


def test_classify_follows_the_order_of_the_rules_it_is_given():
    msg = _msg(auto_headers={"precedence": "bulk", "auto-submitted": "auto-replied"})
    assert classify(msg).rule == "auto-submitted"
    assert classify(msg, rules=(RULE["bulk-precedence"], RULE["auto-submitted"])).rule == "bulk-precedence"


def test_explain_in_plain_words():
    assert explain("bounce", "Content-Type is multipart/report.") == (
        "This is an automatic mail (a delivery report): Content-Type is multipart/report.")


def test_parser_records_the_verdict():
    raw = (b"From: Jane <jane@customer.example>\r\nSubject: Away\r\nAuto-Submitted: auto-replied\r\n"
           b"Precedence: bulk\r\nX-Other: 1\r\n\r\nI am away.\r\n")
    msg = parse_message(raw)
    assert (msg.auto_kind, msg.auto_rule) == ("auto-reply", "auto-submitted")
    assert msg.auto_reason == 'Its Auto-Submitted header is "auto-replied" (RFC 3834).'
    assert msg.auto_headers == {"auto-submitted": "auto-replied", "precedence": "bulk",
                                "from": "Jane <jane@customer.example>"}
    assert msg.content_types == ["text/plain"] and msg.report_types == []


def test_parser_reads_report_types():
    raw = (b"From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered Mail\r\n"
           b'Content-Type: multipart/report; report-type="delivery-status"; boundary="b"\r\n\r\n'
           b"--b\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n"
           b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
           b"--b--\r\n")
    msg = parse_message(raw)
    assert msg.report_types == ["delivery-status"]
    assert msg.content_types == ["multipart/report", "text/plain", "message/delivery-status"]
    assert (msg.auto_kind, msg.auto_rule) == ("bounce", "bounce-report")
    assert msg.auto_reason.startswith("Content-Type is multipart/report; report-type=delivery-status")


def test_ordinary_parsed_mail_has_no_verdict():
    msg = parse_message(b"From: jane@customer.example\r\nSubject: Hi\r\n\r\nHello\r\n")
    assert (msg.auto_kind, msg.auto_rule, msg.auto_reason) == (None, None, None)


# "Automatic reply:" as Outlook, Exchange and the webmails write it in each language the issue names.
LOCALIZED = [
    "Automatic reply: Offer", "Auto reply: Offer", "Out of Office: Offer", "AutoRespons :Offer",  # en
    "Risposta automatica: Offerta", "Automatische Antwort: Angebot", "Abwesenheitsnotiz: Angebot",  # it de
    "Réponse automatique : Devis", "Respuesta automática: Oferta", "Resposta automática: Proposta",  # fr es pt
    "Automatisch antwoord: Offerte", "Odpowiedź automatyczna: Oferta", "Automatická odpověď: Nabídka",  # nl pl cs
    "Automatiskt svar: Offert", "Autosvar: Offert", "Automatisk svar: Tilbud",  # sv sv/no da/no
    "Automaattinen vastaus: Tarjous", "Автоматический ответ: Предложение",  # fi ru
    "Автоматична відповідь: Пропозиція", "Otomatik yanıt: Teklif", "OTOMATİK YANIT: Teklif",  # uk tr
    "Αυτόματη απάντηση: Προσφορά", "自動応答: お見積り", "自動返信: お見積り",  # el ja
    "自动回复：报价", "自動回覆: 報價", "자동 회신: 견적",  # zh-Hans zh-Hant ko
]
# A person's reply, even to an automatic reply, or a subject that merely mentions one.
HUMAN = [
    "Re: Automatic reply: Offer", "RE: Risposta automatica: Offerta", "AW: Automatische Antwort: Angebot",
    "Re: 自动回复：报价", "Sv: Automatiskt svar: Offert", "Re: Offer", "Risposta: preventivo",
    "Out of office next week: can we meet on Monday?", "Otomatik yanıtı kapattım", "Ответ: предложение",
]


@pytest.mark.parametrize("subject", LOCALIZED)
def test_localized_auto_reply_subjects(subject):
    verdict = classify(_msg(subject=subject))
    assert verdict.kind == "auto-reply" and verdict.rule in ("auto-reply-subject", "auto-reply-subject-localized")


@pytest.mark.parametrize("subject", HUMAN)
def test_human_replies_are_not_auto_replies(subject):
    assert classify(_msg(subject=subject)).kind is None
