"""Forwards from each client and language, sent over SMTP, are logged as the customer's mail."""
from __future__ import annotations

from email.message import EmailMessage

import pytest

from tests.mail.test_forwards import LANGS, MATRIX, _parts


def _forward_mime(rep: str, bcc: str, client: str, lang: str) -> bytes:
    info = LANGS[lang]
    text, html = _parts(client, lang)
    msg = EmailMessage()
    prefix = info.outlook_prefix if client in ("outlook", "owa") else "Fwd: "
    msg["From"] = f"Rep <{rep}>"
    msg["To"] = bcc
    msg["Subject"] = prefix + info.subject
    msg["Date"] = info.outer_date
    msg["Message-ID"] = f"<fwd-{client}-{lang}@acme.example>"
    if text:
        msg.set_content(text)
        if html:
            msg.add_alternative(html, subtype="html")
    else:
        msg.set_content(html, subtype="html")
    return bytes(msg)


@pytest.mark.parametrize(("client", "lang"), MATRIX, ids=[f"{c}-{l}" for c, l in MATRIX])
def test_forward_is_attributed_to_the_customer(client, lang, acme, send_mail, app):
    info = LANGS[lang]
    send_mail(_forward_mime(acme.email, acme.bcc_address, client, lang), acme.bcc_address, acme.email)
    api = app.test_client()
    threads = api.get("/api/v1/mailbox/mailThreads", headers=acme.auth).json["data"]
    assert len(threads) == 1
    message = api.get(f"/api/v1/mailbox/mailThreads/{threads[0]['id']}/mailMessages?include_body=1",
                      headers=acme.auth).json["data"][0]
    assert message["sender"]["email"] == info.sender.email
    assert message["forwarded_by"]["email"] == acme.email
    assert message["subject"].endswith(info.subject)
    assert message["sent_at"].startswith(info.date.strftime("%Y-%m-%dT%H:%M"))
    body = message["body_text"] or message["body_html"]
    assert info.body.split()[2] in body
    participants = {(p["role"], p["email"]) for p in message["participants"]}
    assert ("from", info.sender.email) in participants
    assert ("cc", info.cc.email) in participants or ("to", info.cc.email) in participants
    person_view = api.get("/api/v1/persons", query_string={"email": info.sender.email}, headers=acme.auth)
    assert person_view.json["data"][0]["name"] == info.sender.name
