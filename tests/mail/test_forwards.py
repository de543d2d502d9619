"""Tests for backend.mail.forwards: recovering the original of a forwarded mail."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.mail.forward_dates import parse_forward_date
from backend.mail.forward_html import html_to_text
from backend.mail.forward_labels import has_forward_prefix
from backend.mail.forwards import (
    ForwardedOriginal,
    find_forwarded,
    parse_address_list,
    strip_subject_prefixes,
)
from backend.mail.message import Address, ParsedMessage
from tests.corpus import corpus_dir

HERE = Path(__file__).parent / "forwards"
UTC = timezone.utc
REP = Address("Sam Rep", "sam.rep@ourco.example")


@dataclass(frozen=True)
class Lang:
    sender: Address
    cc: Address
    subject: str
    body: str
    note: str
    outer_date: str
    date: datetime
    outlook_prefix: str


LANGS = {
    "en": Lang(Address("Jane Cooper", "jane.cooper@northwind.example"),
               Address("Bob Lee", "bob.lee@northwind.example"), "Pricing for 200 seats",
               "we would like a quote for 200 seats by Friday.", "Team, see Jane's request below.",
               "Mon, 03 Mar 2025 12:00:00 -0500", datetime(2025, 3, 3, 15, 15, tzinfo=UTC), "FW: "),
    "it": Lang(Address("Mario Rossi", "mario.rossi@acme.example"),
               Address("Giulia Bianchi", "giulia.bianchi@acme.example"), "Preventivo per 200 licenze",
               "vorremmo un preventivo per 200 licenze entro venerdì.", "Vedi sotto la richiesta del cliente.",
               "Mon, 03 Mar 2025 12:00:00 +0100", datetime(2025, 3, 3, 9, 15, tzinfo=UTC), "I: "),
    "de": Lang(Address("Jürgen Müller", "j.mueller@beispiel.example"),
               Address("Anna Schmidt", "anna.schmidt@beispiel.example"), "Angebot für 200 Lizenzen",
               "wir hätten gerne ein Angebot für 200 Lizenzen bis Freitag.", "Siehe Anfrage des Kunden unten.",
               "Mon, 03 Mar 2025 12:00:00 +0100", datetime(2025, 3, 3, 9, 15, tzinfo=UTC), "WG: "),
    "fr": Lang(Address("Élodie Martin", "elodie.martin@exemple.example"),
               Address("Luc Petit", "luc.petit@exemple.example"), "Devis pour 200 licences",
               "nous souhaiterions recevoir un devis pour 200 licences avant vendredi.",
               "Voir la demande du client ci-dessous.",
               "Mon, 03 Mar 2025 12:00:00 +0100", datetime(2025, 3, 3, 9, 15, tzinfo=UTC), "TR: "),
    "es": Lang(Address("José García", "jose.garcia@ejemplo.example"),
               Address("Lucía Fernández", "lucia.fernandez@ejemplo.example"), "Presupuesto para 200 licencias",
               "nos gustaría recibir un presupuesto para 200 licencias antes del viernes.",
               "Ver abajo la solicitud del cliente.",
               "Mon, 03 Mar 2025 12:00:00 +0100", datetime(2025, 3, 3, 9, 15, tzinfo=UTC), "RV: "),
}
# fixture prefix -> expected client guess
CLIENTS = {"gmail": "gmail", "outlook": "outlook", "owa": "outlook-web", "apple": "apple-mail",
           "thunderbird": "thunderbird"}
MATRIX = [(client, lang) for client in CLIENTS for lang in LANGS]


def _read(name: str) -> str | None:
    path = HERE / name
    return path.read_text(encoding="utf-8") if path.exists() else None


def _outer(client: str, lang: str, *, text: str | None, html: str | None) -> ParsedMessage:
    info = LANGS[lang]
    prefix = info.outlook_prefix if client in ("outlook", "owa") else "Fwd: "
    return ParsedMessage(
        subject=prefix + info.subject, from_=[REP], to=[Address("", "log@bcc.test")],
        headers=[("Date", info.outer_date), ("Subject", prefix + info.subject)],
        date=datetime(2025, 3, 3, 11, 0, tzinfo=UTC), text=text, html=html,
    )


def _parts(client: str, lang: str) -> tuple[str | None, str | None]:
    text, html = _read(f"{client}_{lang}.txt"), _read(f"{client}_{lang}.html")
    assert text or html, f"missing fixture for {client}_{lang}"
    return text, html


# --- every client in every language -----------------------------------------------

@pytest.mark.parametrize(("client", "lang"), MATRIX, ids=[f"{c}-{l}" for c, l in MATRIX])
def test_inline_forward_matrix(client, lang):
    info = LANGS[lang]
    text, html = _parts(client, lang)
    found = find_forwarded(_outer(client, lang, text=text, html=html))
    assert isinstance(found, ForwardedOriginal)
    assert found.source == "inline"
    assert found.sender == info.sender
    assert found.to == [REP]
    assert found.cc == [info.cc]
    assert found.date == info.date
    assert found.date.tzinfo is not None
    assert found.subject == info.subject
    assert info.body in found.text
    assert info.note not in found.text
    assert found.note == info.note
    assert found.client == CLIENTS[client]
    assert found.message_id is None
    if found.html is not None:  # quotequail sliced out the forwarded part of the HTML
        assert info.body in found.html and info.note not in found.html


BOTH = [(c, l) for c, l in MATRIX if (HERE / f"{c}_{l}.txt").exists() and (HERE / f"{c}_{l}.html").exists()]


@pytest.mark.parametrize("part", ["text-only", "html-only"])
@pytest.mark.parametrize(("client", "lang"), BOTH, ids=[f"{c}-{l}" for c, l in BOTH])
def test_text_and_html_alternatives_agree(client, lang, part):
    text, html = _parts(client, lang)
    msg = _outer(client, lang, text=text if part == "text-only" else None,
                 html=html if part == "html-only" else None)
    found = find_forwarded(msg)
    assert found is not None
    assert (found.sender, found.date, found.subject, found.note) == (
        LANGS[lang].sender, LANGS[lang].date, LANGS[lang].subject, LANGS[lang].note)


def test_separator_alone_is_enough_when_rep_rewrote_the_subject():
    text = _read("gmail_en.txt")
    msg = ParsedMessage(subject="Jane wants 200 seats", from_=[REP], text=text)
    assert find_forwarded(msg).sender.email == "jane.cooper@northwind.example"


# --- quotequail's own corpus (html forwards) ---------------------------------------

QQ_FORWARDS = {
    "apple_forward.html": ("Foo Bar", "foo@bar.example", "The Subject", "Text of the original email", "apple-mail"),
    "gmail_forward.html": ("Foo Bar", "foo@bar.example", "The Subject", "Some text", "gmail"),
    "mailru_forward.html": ("Иван Иванов", "ivanivanov@example.com", "Тестовая тема", "Это тест!", "unknown"),
    "thunderbird_forward.html": ("John Doe", "johndoe@example.com", "Re: Example subject", "This is a test.",
                                 "thunderbird"),
}


def _qq_corpus() -> Path:
    return corpus_dir() / "quotequail"


def test_quotequail_corpus_lists_the_expected_forwards():
    names = {p.name for p in _qq_corpus().glob("*_forward*.html")}
    assert set(QQ_FORWARDS) | {"outlook_forward.html"} <= names


@pytest.mark.parametrize("name", sorted(QQ_FORWARDS))
def test_quotequail_corpus_forwards(name):
    sender_name, email, subject, body, client = QQ_FORWARDS[name]
    html = (_qq_corpus() / name).read_text(encoding="utf-8")
    found = find_forwarded(ParsedMessage(subject="Fwd: " + subject, from_=[REP], html=html))
    assert found.sender == Address(sender_name, email)
    assert found.subject == subject
    assert body in found.text
    assert found.client == client
    assert found.date is not None
    unwrapped = _qq_corpus() / name.replace(".html", "_unwrapped.html")
    if unwrapped.exists():  # quotequail's expected slice of the forwarded HTML
        assert " ".join(found.html.split()) == " ".join(unwrapped.read_text(encoding="utf-8").split())


def test_quotequail_corpus_outlook_forward_without_sender_address_is_not_guessed():
    # Outlook printed only "From: John Doe": there is no address to attribute to.
    html = (_qq_corpus() / "outlook_forward.html").read_text(encoding="utf-8")
    assert find_forwarded(ParsedMessage(subject="FW: The subject!", from_=[REP], html=html)) is None


@pytest.mark.parametrize("name", ["mailru_forward_unwrapped.html", "outlook_forward_unwrapped.html",
                                  "outlook_forward_unwrapped_top.html", "thunderbird_forward_unwrapped.html"])
def test_quotequail_corpus_unwrapped_bodies_hold_no_forward(name):
    html = (_qq_corpus() / name).read_text(encoding="utf-8")
    assert find_forwarded(ParsedMessage(subject="Fwd: x", from_=[REP], html=html)) is None


@pytest.mark.parametrize("name", ["gmail_reply.html", "apple_reply.html", "yahoo_reply_unescaped_address.html",
                                  "ios_mail_reply_unescaped_address.html"])
def test_quotequail_corpus_replies_are_not_forwards(name):
    html = (_qq_corpus() / name).read_text(encoding="utf-8")
    assert find_forwarded(ParsedMessage(subject="Re: x", from_=[REP], html=html)) is None


# --- attached message/rfc822 --------------------------------------------------------

def _original(subject="Pricing for 200 seats", sender=LANGS["en"].sender) -> ParsedMessage:
    return ParsedMessage(
        message_id="CAJane.200seats@mail.northwind.example", subject=subject,
        date=datetime(2025, 3, 3, 15, 15, tzinfo=UTC), from_=[sender] if sender else [], to=[REP],
        cc=[LANGS["en"].cc], text="Hi Sam,\n\nwe would like a quote for 200 seats by Friday.",
        html="<p>we would like a quote for 200 seats by Friday.</p>",
    )


@pytest.mark.parametrize("outer_subject", ["FW: Pricing for 200 seats", "Pricing for 200 seats",
                                           "Fwd: [EXTERNAL] Pricing for 200 seats", "Fwd: Re: Pricing for 200 seats"],
                         ids=["fw-prefix", "same-subject", "tagged", "fwd-of-reply"])
def test_attached_message_with_matching_subject(outer_subject):
    inner = _original("Re: Pricing for 200 seats" if "Re:" in outer_subject else "Pricing for 200 seats")
    msg = ParsedMessage(subject=outer_subject, from_=[REP], text="Jane's request is attached.\n",
                        attached_messages=[inner], headers=[("X-Mailer", "Microsoft Outlook 16.0")])
    found = find_forwarded(msg)
    assert found.source == "attachment"
    assert found.sender == LANGS["en"].sender
    assert (found.to, found.cc) == ([REP], [LANGS["en"].cc])
    assert found.date == datetime(2025, 3, 3, 15, 15, tzinfo=UTC)
    assert found.subject == inner.subject
    assert found.message_id == "CAJane.200seats@mail.northwind.example"
    assert "200 seats" in found.text and "200 seats" in found.html
    assert found.note == "Jane's request is attached."
    assert found.client == "outlook"


def test_only_attached_message_under_forward_subject_is_used_even_if_subject_differs():
    msg = ParsedMessage(subject="Fwd: see this", from_=[REP], attached_messages=[_original("Budget")])
    found = find_forwarded(msg)
    assert found.source == "attachment" and found.subject == "Budget"
    assert found.note is None


def test_matching_attachment_is_chosen_among_several():
    other = _original("Newsletter", Address("News", "news@vendor.example"))
    msg = ParsedMessage(subject="Fwd: Pricing for 200 seats", from_=[REP],
                        attached_messages=[other, _original()])
    assert find_forwarded(msg).sender.email == "jane.cooper@northwind.example"


def test_attachment_that_is_not_a_forward_is_ignored():
    msg = ParsedMessage(subject="Contract draft", from_=[REP], text="See attached.",
                        attached_messages=[_original("Something else")])
    assert find_forwarded(msg) is None


def test_attachment_without_sender_falls_back_to_inline():
    msg = ParsedMessage(subject="Fwd: Pricing for 200 seats", from_=[REP], text=_read("gmail_en.txt"),
                        attached_messages=[_original(sender=None)])
    found = find_forwarded(msg)
    assert found.source == "inline" and found.sender.email == "jane.cooper@northwind.example"


def _mime():
    from backend.mail import mime

    return mime


def test_attached_eml_parsed_by_mime():
    msg = _mime().parse_message((HERE / "outlook_attached_en.eml").read_bytes())
    found = find_forwarded(msg)
    assert found.source == "attachment"
    assert found.sender == LANGS["en"].sender
    assert found.message_id == "CAJane.200seats@mail.northwind.example"
    assert found.date == datetime(2025, 3, 3, 15, 15, tzinfo=UTC)
    assert found.note == "Team, Jane's request is attached."
    assert found.client == "outlook"


@pytest.mark.parametrize(("name", "email"), [
    ("flanker/multi-received-headers.eml", "example@example.com"),  # Gmail "Fwd: Fwd:": innermost original
    ("flanker/apache-message-news-mime.eml", "mangi@moondog.pvi"),  # "[Fwd: ...]" with message/news
    ("flanker/enclosed.eml", None),  # an attached mail under an unrelated subject
], ids=["nested-gmail", "netscape-attached", "enclosed-not-forward"])
def test_corpus_eml(name, email):
    msg = _mime().parse_message((corpus_dir() / name).read_bytes())
    found = find_forwarded(msg)
    assert (found.sender.email if found else None) == email


def _talon_names() -> list[str]:
    try:
        return sorted(p.name for p in (corpus_dir() / "talon").glob("*.eml"))
    except RuntimeError:  # corpus missing: the test below then fails with a clear message
        return ["android.eml"]


@pytest.mark.parametrize("name", _talon_names())
def test_talon_replies_are_not_forwards(name):
    msg = _mime().parse_message((corpus_dir() / "talon" / name).read_bytes())
    assert find_forwarded(msg) is None


# --- what is not a forward -----------------------------------------------------------

GMAIL_REPLY = """Thanks Jane, I will send it today.

On Mon, Mar 3, 2025 at 10:15 AM Jane Cooper <jane.cooper@northwind.example> wrote:
> Hi Sam,
>
> we would like a quote for 200 seats by Friday.
"""
OUTLOOK_REPLY = """Sure, attached.

From: Jane Cooper <jane.cooper@northwind.example>
Sent: Monday, March 3, 2025 10:15 AM
To: Sam Rep <sam.rep@ourco.example>
Subject: Pricing for 200 seats

we would like a quote for 200 seats by Friday.
"""
ORIGINAL_MESSAGE_REPLY = OUTLOOK_REPLY.replace("\nFrom: Jane Cooper <jane.cooper@northwind.example>",
                                               "\n-----Original Message-----\nFrom: Jane Cooper [mailto:jane.cooper@northwind.example]")
OWA_REPLY = OUTLOOK_REPLY.replace("\nFrom: ", "\n________________________________\nFrom: ")
SENTENCE = """Hi all,

I read the forwarded message from Jane yesterday; the Forwarded message ---- thread is in the CRM.
From: our side nothing is missing.
Date: tomorrow works.
"""
REPLY_TO_FORWARD = """Thanks Sam!

On Tue, Mar 4, 2025 at 9:00 AM Sam Rep <sam.rep@ourco.example> wrote:
> FYI
>
> ---------- Forwarded message ---------
> From: Jane Cooper <jane.cooper@northwind.example>
> Date: Mon, Mar 3, 2025 at 10:15 AM
> Subject: Pricing for 200 seats
> To: Sam Rep <sam.rep@ourco.example>
>
> we would like a quote for 200 seats by Friday.
"""
NO_ADDRESS = OUTLOOK_REPLY.replace("Jane Cooper <jane.cooper@northwind.example>", "Jane Cooper")


@pytest.mark.parametrize(("subject", "text"), [
    ("Re: Pricing for 200 seats", GMAIL_REPLY),
    ("RE: Pricing for 200 seats", OUTLOOK_REPLY),
    ("RE: Pricing for 200 seats", ORIGINAL_MESSAGE_REPLY),
    ("RE: Pricing for 200 seats", OWA_REPLY),
    ("Quick update", SENTENCE),
    ("Fwd: Pricing for 200 seats", "Jane asked for a quote, details to follow.\n"),
    ("Fwd: Pricing for 200 seats", GMAIL_REPLY),
    ("Re: Fwd: Pricing for 200 seats", REPLY_TO_FORWARD),
    ("FW: Pricing for 200 seats", NO_ADDRESS),
    ("Pricing for 200 seats", "Hello Jane,\n\nplease find our offer below.\n\nSam\n"),
], ids=["gmail-reply-on-wrote", "outlook-reply-header-block", "outlook-reply-original-message",
        "owa-reply-underscores", "sentence-mentions-forwarded-message", "fwd-subject-without-block",
        "fwd-subject-but-reply-quote", "reply-to-a-forward", "sender-without-address", "ordinary-mail"])
def test_not_a_forward(subject, text):
    assert find_forwarded(ParsedMessage(subject=subject, from_=[REP], text=text)) is None


def test_gmail_reply_html_with_forward_subject_is_not_a_forward():
    html = "<div>Thanks</div><div class=gmail_quote>On Mon, Mar 3, 2025 at 10:15 AM Jane &lt;j@x.example&gt; wrote:<br>" \
           "<blockquote>we would like a quote</blockquote></div>"
    assert find_forwarded(ParsedMessage(subject="Fwd: x", html=html)) is None


def test_bounce_and_complaint_reports_are_never_forwards():
    msg = ParsedMessage(subject="FW: Pricing for 200 seats", text=_read("gmail_en.txt"), auto_kind="complaint")
    assert find_forwarded(msg) is None


# --- shapes the matrix does not cover ------------------------------------------------

def test_quoted_forward_is_unquoted():
    text = "FYI\n\n> Begin forwarded message:\n>\n> From: Jane Cooper <jane.cooper@northwind.example>\n" \
           "> Subject: Pricing\n> Date: 3 March 2025 at 10:15:00 GMT-5\n> To: sam.rep@ourco.example\n>\n> Hi Sam,\n> we need 200 seats.\n"
    found = find_forwarded(ParsedMessage(subject="Fwd: Pricing", from_=[REP], text=text))
    assert found.sender.email == "jane.cooper@northwind.example"
    assert found.text == "Hi Sam,\nwe need 200 seats."
    assert found.date == datetime(2025, 3, 3, 15, 15, tzinfo=UTC)
    assert found.to == [Address("", "sam.rep@ourco.example")]


def test_forward_of_a_forward_reaches_the_customer():
    text = ("---------- Forwarded message ---------\nFrom: Sam Rep <sam.rep@ourco.example>\n"
            "Date: Tue, Mar 4, 2025 at 9:00 AM\nSubject: Fwd: Pricing\nTo: Sam Rep <sam.rep@ourco.example>\n\n"
            "note to self\n\n---------- Forwarded message ---------\n"
            "From: Jane Cooper <jane.cooper@northwind.example>\nDate: Mon, Mar 3, 2025 at 10:15 AM\n"
            "Subject: Pricing\nTo: Sam Rep <sam.rep@ourco.example>\n\n\nwe need 200 seats.\n")
    found = find_forwarded(ParsedMessage(subject="Fwd: Fwd: Pricing", from_=[REP], text=text))
    assert found.sender.email == "jane.cooper@northwind.example"
    assert found.text == "we need 200 seats."


def test_customer_forwarding_someone_else_stays_the_sender():
    text = ("FYI\n\n---------- Forwarded message ---------\nFrom: Jane Cooper <jane.cooper@northwind.example>\n"
            "Date: Tue, Mar 4, 2025 at 9:00 AM\nSubject: Fwd: Specs\nTo: Sam Rep <sam.rep@ourco.example>\n\n"
            "Sam, our CTO's requirements:\n\n---------- Forwarded message ---------\n"
            "From: Cto <cto@northwind.example>\nDate: Mon, Mar 3, 2025 at 10:15 AM\nSubject: Specs\n"
            "To: Jane Cooper <jane.cooper@northwind.example>\n\nSSO is a must.\n")
    found = find_forwarded(ParsedMessage(subject="Fwd: Fwd: Specs", from_=[REP], text=text))
    assert found.sender.email == "jane.cooper@northwind.example"
    assert "SSO is a must." in found.text and found.note == "FYI"


def test_outlook_wrapped_recipients_and_semicolons():
    text = ("-----Original Message-----\nFrom: Cooper, Jane <jane.cooper@northwind.example>\n"
            "Sent: Monday, March 3, 2025 10:15 AM\nTo: Rep, Sam <sam.rep@ourco.example>; Lee, Bob\n"
            " <bob.lee@northwind.example>; Ann <ann@northwind.example>\nCc: Info\nSubject: Pricing\n"
            "Importance: High\n\nHello\n")
    found = find_forwarded(ParsedMessage(subject="FW: Pricing", from_=[REP], text=text))
    assert found.sender == Address("Cooper, Jane", "jane.cooper@northwind.example")
    assert [a.email for a in found.to] == ["sam.rep@ourco.example", "bob.lee@northwind.example", "ann@northwind.example"]
    assert found.cc == []  # "Info" names no address
    assert found.text == "Hello"


def test_pine_forward_with_rfc_headers_and_message_id():
    text = ("---------- Forwarded message ----------\nDate: Mon, 01 Dec 1997 12:24:00 -0500\n"
            "From: Internet-Drafts@ns.ietf.org\nTo: IETF-Announce@ns.ietf.org\nSubject: I-D ACTION\n"
            "Message-ID: <abc@ns.ietf.org>\nResent-From: http-wg@cuckoo.example\n\nA new draft.\n-- \nIETF\n")
    found = find_forwarded(ParsedMessage(subject="I-D ACTION (fwd)", text=text))
    assert found.sender == Address("", "Internet-Drafts@ns.ietf.org")
    assert found.message_id == "abc@ns.ietf.org"
    assert found.date == datetime(1997, 12, 1, 17, 24, tzinfo=UTC)
    assert found.text == "A new draft."  # the trivial "-- " signature is dropped


def test_unparseable_date_is_none_not_an_error():
    text = "---------- Forwarded message ---------\nFrom: a@b.example\nDate: someday soon\nSubject: x\n\nbody\n"
    found = find_forwarded(ParsedMessage(subject="Fwd: x", text=text))
    assert found.sender.email == "a@b.example" and found.date is None


def test_subject_falls_back_to_outer_subject():
    text = "Begin forwarded message:\n\nFrom: Jane <jane@northwind.example>\nDate: 3 Mar 2025, at 10:15\n\nbody\n"
    found = find_forwarded(ParsedMessage(subject="Fwd: Re: Pricing", text=text))
    assert found.subject == "Re: Pricing"


# --- helpers -------------------------------------------------------------------------

@pytest.mark.parametrize(("subject", "expected"), [
    ("Re: Fwd: Pricing", "Pricing"), ("RE: FW: Pricing", "Pricing"), ("AW: WG: Angebot", "Angebot"),
    ("R: I: Preventivo", "Preventivo"), ("TR: RE : Devis", "Devis"), ("RV: RE: Presupuesto", "Presupuesto"),
    ("SV: VS: Tilbud", "Tilbud"), ("Antw: Offerte", "Offerte"), ("[EXTERNAL] RE: Pricing", "Pricing"),
    ("RE: [EXTERNAL] Fwd: Pricing", "Pricing"), ("Re[2]: Pricing", "Pricing"), ("Re(3): Pricing", "Pricing"),
    ("[Fwd: Netscape vs Apache]", "Netscape vs Apache"), ("Pricing (fwd)", "Pricing"), ("Fwd:", ""),
    ("Re: re:  RE: Pricing  for  2", "Pricing for 2"), ("Enc: Proposta", "Proposta"),
    ("Inoltro: Preventivo", "Preventivo"), ("Weiterleitung: Angebot", "Angebot"), ("Re：Pricing", "Pricing"),
    ("Results: Q3", "Results: Q3"), ("Pricing", "Pricing"), ("[EXTERNAL]", "[EXTERNAL]"), ("", ""),
])
def test_strip_subject_prefixes(subject, expected):
    assert strip_subject_prefixes(subject) == expected


@pytest.mark.parametrize(("subject", "expected"), [
    ("Fwd: x", True), ("FW: x", True), ("WG: x", True), ("TR: x", True), ("I: x", True), ("RV: x", True),
    ("Enc: x", True), ("Inoltro: x", True), ("Weiterleitung: x", True), ("fwd: FW: x", True),
    ("[EXTERNAL] FW: x", True), ("Fwd: Re: x", True), ("[Fwd: x]", True), ("x (fwd)", True),
    ("Re: Fwd: x", False), ("AW: WG: x", False), ("x", False), ("Fwd x", False), ("", False),
])
def test_has_forward_prefix(subject, expected):
    assert has_forward_prefix(subject) is expected


CET = timezone(timedelta(hours=1))


@pytest.mark.parametrize(("value", "expected"), [
    ("Mon, Mar 3, 2025 at 10:15 AM", datetime(2025, 3, 3, 9, 15, tzinfo=UTC)),
    ("Mon, Mar 3, 2025 at 10:15 PM", datetime(2025, 3, 3, 21, 15, tzinfo=UTC)),
    ("lunedì 3 marzo 2025 10:15", datetime(2025, 3, 3, 9, 15, tzinfo=UTC)),
    ("lun 3 mar 2025 alle ore 10:15", datetime(2025, 3, 3, 9, 15, tzinfo=UTC)),
    ("mar 4 mar 2025 alle ore 10:15", datetime(2025, 3, 4, 9, 15, tzinfo=UTC)),
    ("Montag, 3. März 2025 10:15", datetime(2025, 3, 3, 9, 15, tzinfo=UTC)),
    ("Mo., 3. März 2025 um 10:15 Uhr", datetime(2025, 3, 3, 9, 15, tzinfo=UTC)),
    ("lundi 3 mars 2025 à 10:15", datetime(2025, 3, 3, 9, 15, tzinfo=UTC)),
    ("mer. 5 févr. 2025 à 18:30", datetime(2025, 2, 5, 17, 30, tzinfo=UTC)),
    ("lunes, 3 de marzo de 2025 10:15", datetime(2025, 3, 3, 9, 15, tzinfo=UTC)),
    ("lunes, 3 de marzo de 2025 10:15 p. m.", datetime(2025, 3, 3, 21, 15, tzinfo=UTC)),
    ("3 Mar 2025, at 10:15", datetime(2025, 3, 3, 9, 15, tzinfo=UTC)),
    ("March 24, 2016 at 20:16:25 GMT+1", datetime(2016, 3, 24, 19, 16, 25, tzinfo=UTC)),
    ("3. März 2025 um 10:15:00 MEZ", datetime(2025, 3, 3, 9, 15, tzinfo=UTC)),
    ("3 mars 2025 à 10:15:00 UTC+01:00", datetime(2025, 3, 3, 9, 15, tzinfo=UTC)),
    ("Monday, March 3, 2025 10:15 AM", datetime(2025, 3, 3, 9, 15, tzinfo=UTC)),
    ("Wednesday, July 09, 2014 10:27 PM", datetime(2014, 7, 9, 21, 27, tzinfo=UTC)),
    ("Mon, 3 Mar 2025 10:15:00 -0500", datetime(2025, 3, 3, 15, 15, tzinfo=UTC)),
    ("Tue, 3 May 2016 14:54:27 +0200 (CEST)", datetime(2016, 5, 3, 12, 54, 27, tzinfo=UTC)),
    ("Среда, 14 июня 2017, 15:19 +03:00", datetime(2017, 6, 14, 12, 19, tzinfo=UTC)),
    ("2025-03-03 10:15", datetime(2025, 3, 3, 9, 15, tzinfo=UTC)),
    ("03.03.2025 10:15", datetime(2025, 3, 3, 9, 15, tzinfo=UTC)),
    ("25/03/2025 10:15", datetime(2025, 3, 25, 9, 15, tzinfo=UTC)),
    ("3/4/2025 10:15 AM", datetime(2025, 3, 4, 9, 15, tzinfo=UTC)),  # AM/PM: US month first
    ("someday soon", None), ("10:15", None), ("", None), ("31 February 2025 10:15", None),
    ("Mon, Mar 3, 2025 at 13:15 PM", None),
])
def test_parse_forward_date(value, expected):
    assert parse_forward_date(value, CET) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("Jane Cooper <jane@n.example>", [Address("Jane Cooper", "jane@n.example")]),
    ('"Cooper, Jane" <jane@n.example>', [Address("Cooper, Jane", "jane@n.example")]),
    ("Jane Cooper [mailto:jane@n.example]", [Address("Jane Cooper", "jane@n.example")]),
    ("Jane Cooper <jane@n.example<mailto:jane@n.example>>", [Address("Jane Cooper", "jane@n.example")]),
    ("Foo Bar (foo@bar.example)", [Address("Foo Bar", "foo@bar.example")]),
    ("jane@n.example <jane@n.example>", [Address("", "jane@n.example")]),
    ("<jane@n.example>", [Address("", "jane@n.example")]),
    ("A <a@x.example>, B <b@x.example>", [Address("A", "a@x.example"), Address("B", "b@x.example")]),
    ("Rossi, Mario <m@x.example>; Bianchi, Giulia <g@x.example>",
     [Address("Rossi, Mario", "m@x.example"), Address("Bianchi, Giulia", "g@x.example")]),
    ("John Doe", []), ("", []), ("@@@ <a@b>", []),
])
def test_parse_address_list(value, expected):
    assert parse_address_list(value) == expected


def test_html_to_text_keeps_lines_and_mailto_addresses():
    html = ('<p>Hi<br>there</p><div style="border:none;border-top:solid #E1E1E1 1.0pt"><b>From:</b> '
            '<a href="mailto:j@n.example">Jane</a></div><table><tr><th>Subject:</th><td>x &amp; y</td></tr></table>'
            '<script>From: evil@x.example</script>')
    assert html_to_text(html).split("\n") == ["Hi", "there", "_" * 32, "From: Jane <j@n.example>", "Subject: x & y"]


# --- robustness ----------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    "From: " * 200_000,
    "From: jane@n.example\n" * 50_000,
    "From: \n" * 150_000,
    "---------- Forwarded message ---------\nFrom: a\nDate: b\n" * 20_000,
    ">" * 1_000_000,
    "-" * 1_000_000,
    "a:" * 500_000,
], ids=["from-run", "from-lines", "empty-from-lines", "separators", "quote-markers", "dashes", "colons"])
@pytest.mark.parametrize("as_html", [False, True], ids=["text", "html"])
def test_megabyte_bodies_finish_quickly(body, as_html):
    content = body.replace("\n", "<br>") if as_html else body
    msg = ParsedMessage(subject="Fwd: " * 1000 + "x", text=None if as_html else content,
                        html=content if as_html else None)
    started = time.monotonic()
    find_forwarded(msg)
    # A guard against quadratic reading (minutes on these bodies), not a speed figure: about 1-2 s
    # on a quiet 2-core machine, 6-7 s while the machine runs two test suites at once.
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("msg", [
    ParsedMessage(),
    ParsedMessage(subject="Fwd:", text="", html=""),
    ParsedMessage(subject="Fwd: x", text="\x00\ufffd\ud800", html="<<<>>><a href='mailto:'></a></b></div>"),
    ParsedMessage(subject="Fwd: x", html="<hr><b>From:</b> <a href=mailto:?subject=x>x</a><br>Sent: x<br>To: y"),
    ParsedMessage(subject="Fwd: x", text="Begin forwarded message:\nFrom: " + "a@" * 50_000),
    ParsedMessage(subject="Fwd: x", attached_messages=[ParsedMessage(from_=[Address("", "")])]),
], ids=["empty", "blank", "garbage", "broken-html", "long-from", "attachment-without-address"])
def test_odd_input_never_raises(msg):
    assert find_forwarded(msg) is None


_FRAGMENTS = st.sampled_from([
    "---------- Forwarded message ---------", "Begin forwarded message:", "-----Original Message-----",
    "_" * 32, "From: Jane <jane@n.example>", "Da: Mario <m@x.it>", "De : Élodie", "Date: Mon, Mar 3, 2025",
    "Sent: lunedì 3 marzo 2025 10:15", "Subject: x", "To: a@b.example", "> ", "", "On Mon wrote:",
    "<br>", "<div>", "From:", "mailto:", "\t", "Objet :", "CC:",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.one_of(_FRAGMENTS, st.text(max_size=40)), max_size=40),
       subject=st.sampled_from(["Fwd: x", "Re: x", "x", ""]), as_html=st.booleans())
def test_fuzzed_bodies_never_raise(lines, subject, as_html):
    body = "\n".join(lines)
    found = find_forwarded(ParsedMessage(subject=subject, text=None if as_html else body,
                                         html=body if as_html else None))
    assert found is None or "@" in found.sender.email
