"""Full-text search end to end: mail through real SMTP and the pipeline, found through the API
(backend/domain/search.py; the index is kept by the database's triggers, migration 0011)."""
from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import select

from backend.models import MailMessage

from .conftest import Crm, mail


def _mail(sender: str, to: str, subject: str, body: str, msgid: str, *, attachment: str | None = None,
          date: str = "Mon, 3 Mar 2025 10:00:00 +0000") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"], msg["Date"] = sender, to, subject, f"<{msgid}>", date
    msg.set_content(body)
    if attachment:
        msg.add_attachment(b"%PDF-1.4 list", maintype="application", subtype="pdf", filename=attachment)
    return bytes(msg)


@pytest.fixture
def mailbox(acme, send_mail, services):
    """Alice's mail: {name: thread id}."""
    sent = {
        "offer": _mail("Alice Admin <alice@acme.example>", "Jürgen Müller <juergen@cust.example>",
                       "Angebot für Herrn Müller", "Die Preisliste liegt bei.", "offer@acme.example",
                       attachment="Preisliste_2025.pdf", date="Mon, 3 Mar 2025 10:00:00 +0000"),
        "pricing": _mail("Alice Admin <alice@acme.example>", "Bob Smith <bob@other.example>",
                         "Quarterly pricing", "The statement of work is ready for review.", "pricing@acme.example",
                         date="Tue, 4 Mar 2025 10:00:00 +0000"),
        "meeting": _mail("Alice Admin <alice@acme.example>", "dana@cust.example", "Meeting notes",
                         "See you on Thursday.", "meeting@acme.example", date="Wed, 5 Mar 2025 10:00:00 +0000"),
    }
    for raw in sent.values():
        send_mail(raw, acme.bcc_address, acme.email)
    with services.db.session() as session:
        by_header = {m.message_id_header.strip("<>"): m.thread_id for m in session.scalars(select(MailMessage))}
    return {name: by_header[f"{name}@acme.example"] for name in sent}


def _found(client, account, q: str) -> list[int]:
    response = client.get("/api/v1/mailbox/mailThreads", query_string={"q": q, "include_total": 1},
                          headers=account.auth)
    assert response.status_code == 200, response.json
    data = response.json["data"]
    assert response.json["additional_data"]["pagination"]["total"] == len(data)
    return [t["id"] for t in data]


@pytest.mark.parametrize("q, expected", [
    # words anywhere, any case, accents or not
    ("muller", {"offer"}), ("MÜLLER", {"offer"}), ("herrn muller", {"offer"}), ("thursday", {"meeting"}),
    ("preisliste", {"offer"}),  # body and attachment name
    ("2025", {"offer"}),  # only in the attachment's name
    # phrases
    ('"statement of work"', {"pricing"}), ('"work of statement"', set()),
    # a participant's address, a domain
    ("juergen@cust.example", {"offer"}), ("@cust.example", {"offer", "meeting"}),
    ("cust.example", {"offer", "meeting"}), ("@ust.example", set()), ("jurgen@cust.example", set()),
    # operators
    ("to:bob@other.example", {"pricing"}), ('to:"Bob Smith"', {"pricing"}), ("to:smith", {"pricing"}),
    ("to:@cust.example", {"offer", "meeting"}), ("from:bob@other.example", set()), ("from:smith", set()),
    ("from:alice@acme.example", {"offer", "pricing", "meeting"}), ("from:Alice", {"offer", "pricing", "meeting"}),
    ("from:@acme.example notes", {"meeting"}),
    ("has:attachment", {"offer"}), ("pricing -has:attachment", {"pricing"}),
    ("@cust.example -muller", {"meeting"}),
    ("nothing-like-this", set()),
])
def test_search_finds_by_words_phrases_people_and_operators(client, acme, mailbox, q, expected):
    assert set(_found(client, acme, q)) == {mailbox[name] for name in expected}


def test_deal_operator_by_id_and_title(client, acme, mailbox):
    crm = Crm(client, acme)
    person = crm.person("Jürgen Müller", "juergen2@cust.example")
    deal = crm.deal("Müller expansion", person["id"])
    other = crm.deal("Unrelated", person["id"])
    response = client.patch(f"/api/v1/mailbox/mailThreads/{mailbox['offer']}", json={"deal_id": deal["id"]},
                            headers=acme.auth)
    assert response.status_code == 200, response.json
    assert _found(client, acme, f"deal:{deal['id']}") == [mailbox["offer"]]
    assert _found(client, acme, "deal:expansion") == [mailbox["offer"]]
    assert _found(client, acme, f'deal:"{deal["title"].lower()}" preisliste') == [mailbox["offer"]]
    assert _found(client, acme, f"deal:{deal['id']} thursday") == []
    assert _found(client, acme, f"deal:{other['id']}") == []


def test_subject_matches_rank_first_then_newest(client, acme, send_mail):
    older = _mail(acme.email, "x@cust.example", "Renewal terms", "As discussed.", "r1@acme.example",
                  date="Mon, 3 Mar 2025 10:00:00 +0000")
    newer = _mail(acme.email, "y@cust.example", "Next steps", "About the renewal: later.", "r2@acme.example",
                  date="Tue, 4 Mar 2025 10:00:00 +0000")
    newest = _mail(acme.email, "z@cust.example", "Renewal date", "Soon.", "r3@acme.example",
                   date="Wed, 5 Mar 2025 10:00:00 +0000")
    for raw in (older, newer, newest):
        send_mail(raw, acme.bcc_address, acme.email)
    subjects = [t["subject"] for t in Crm(client, acme).threads(q="renewal")]
    assert subjects == ["Renewal date", "Renewal terms", "Next steps"]
    assert [t["subject"] for t in Crm(client, acme).threads()] == ["Renewal date", "Next steps", "Renewal terms"]


def test_a_deleted_message_is_not_found(client, acme, mailbox):
    crm = Crm(client, acme)
    message = crm.get(f"mailbox/mailThreads/{mailbox['meeting']}/mailMessages").json["data"][0]
    assert client.delete(f"/api/v1/mailbox/mailMessages/{message['id']}", headers=acme.auth).status_code == 200
    for q in ("thursday", "meeting", "dana@cust.example", "to:dana"):
        assert _found(client, acme, q) == [], q
    assert _found(client, acme, "@cust.example") == [mailbox["offer"]]


def test_an_edited_message_is_found_by_its_new_words_only(client, acme, mailbox, services):
    with services.db.session() as session:
        message = session.scalars(select(MailMessage).where(MailMessage.thread_id == mailbox["pricing"])).one()
        message.subject = "Kickoff agenda"
        message.body_text = "Bring the roadmap."
        session.commit()
    assert _found(client, acme, "kickoff roadmap") == [mailbox["pricing"]]
    assert _found(client, acme, "quarterly") == [] and _found(client, acme, '"statement of work"') == []
    assert _found(client, acme, "to:bob@other.example") == [mailbox["pricing"]]  # the people stay


def test_participants_and_attachments_added_later_are_found(client, acme, mailbox, services):
    from backend.models import Attachment, Participant

    with services.db.session() as session:
        message = session.scalars(select(MailMessage).where(MailMessage.thread_id == mailbox["meeting"])).one()
        session.add(Participant(company_id=acme.company_id, message_id=message.id, role="cc",
                                email="erin@late.example", name="Erin Late"))
        session.add(Attachment(company_id=acme.company_id, message_id=message.id, filename="minutes.docx",
                               content_type="application/octet-stream", size=3, sha256="0" * 64))
        session.commit()
    assert _found(client, acme, "to:erin@late.example") == [mailbox["meeting"]]
    assert set(_found(client, acme, "has:attachment")) == {mailbox["meeting"], mailbox["offer"]}
    assert _found(client, acme, "minutes") == [mailbox["meeting"]]
    with services.db.session() as session:
        for row in session.scalars(select(Participant).where(Participant.email == "erin@late.example")):
            session.delete(row)
        session.commit()
    assert _found(client, acme, "to:erin@late.example") == [] and _found(client, acme, "erin") == []


def test_other_companies_and_colleagues_private_mail_are_never_found(client, acme, globex, make_account, send_mail,
                                                                     mailbox):
    send_mail(mail(globex.email, "juergen@cust.example", "Müller at Globex", "Preisliste"), globex.bcc_address,
              globex.email)
    colleague = make_account("acme.example", "colin@acme.example", admin=False)
    send_mail(mail(colleague.email, "juergen@cust.example", "Müller privately", "Preisliste"),
              colleague.bcc_address, colleague.email)
    assert _found(client, acme, "muller") == [mailbox["offer"]]
    assert _found(client, acme, "juergen@cust.example") == [mailbox["offer"]]
    assert len(_found(client, globex, "muller")) == 1 and _found(client, globex, "angebot") == []
    # Alice's mail is private by default: her colleague finds only his own.
    colins = _found(client, colleague, "muller")
    assert len(colins) == 1 and colins[0] not in mailbox.values()
    client.patch(f"/api/v1/mailbox/mailThreads/{mailbox['offer']}", json={"shared": True}, headers=acme.auth)
    assert mailbox["offer"] in _found(client, colleague, "muller")


@pytest.mark.parametrize("q, field_says", [("from:", "Write who after from:"), ('"open', "quote is not closed"),
                                            ("has:pdf", "has:attachment")])
def test_a_malformed_search_is_a_400_that_says_what_to_write(client, acme, q, field_says):
    response = client.get("/api/v1/mailbox/mailThreads", query_string={"q": q}, headers=acme.auth)
    assert response.status_code == 400
    assert field_says in response.json["error"] and response.json["errors"]["q"]
