"""Attachments are stored by content hash and downloaded only by who may see the message, inertly."""
from __future__ import annotations

from email.message import EmailMessage

from .conftest import Crm


def _with_attachments(sender: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "bob@cust.example", "Offer attached"
    msg["Message-ID"] = "<att-1@acme.example>"
    msg.set_content("See attached.")
    msg.add_attachment(b"%PDF-1.4 offer", maintype="application", subtype="pdf", filename="offer.pdf")
    msg.add_attachment(b"<script>alert(1)</script>", maintype="text", subtype="html", filename="evil.html")
    return bytes(msg)


def test_attachments_download_inert_and_only_for_viewers(client, acme, make_account, send_mail):
    send_mail(_with_attachments(acme.email), acme.bcc_address, acme.email)
    crm = Crm(client, acme)
    thread = crm.only_thread()
    message = crm.get(f"mailbox/mailThreads/{thread['id']}/mailMessages").json["data"][0]
    by_name = {a["filename"]: a for a in message["attachments"]}
    assert set(by_name) == {"offer.pdf", "evil.html"}
    base = f"/api/v1/mailbox/mailMessages/{message['id']}/attachments"
    pdf = client.get(f"{base}/{by_name['offer.pdf']['id']}", headers=acme.auth)
    assert pdf.status_code == 200 and pdf.data == b"%PDF-1.4 offer"
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    html = client.get(f"{base}/{by_name['evil.html']['id']}", headers=acme.auth)
    assert html.headers["Content-Type"] == "application/octet-stream"
    assert html.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in html.headers["Content-Security-Policy"]
    colleague = make_account("acme.example", "colin@acme.example", admin=False)
    assert client.get(f"{base}/{by_name['offer.pdf']['id']}", headers=colleague.auth).status_code == 404
    assert client.get(f"{base}/999999", headers=acme.auth).status_code == 404


def test_thread_page_explains_each_decision(app, acme, make_account, send_mail):
    import re

    make_account("acme.example", "pat@acme.example", password="correct horse 9")
    send_mail(_with_attachments(acme.email), acme.bcc_address, acme.email)
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/sign-in", data={"email": acme.email, "password": "x" * 9, "csrf_token": token})
    # alice has no password in this fixture: use the API to share, then look as pat
    thread_id = app.test_client().get("/api/v1/mailbox/mailThreads", headers=acme.auth).json["data"][0]["id"]
    app.test_client().patch(f"/api/v1/mailbox/mailThreads/{thread_id}", json={"shared": True}, headers=acme.auth)
    pat = app.test_client()
    page = pat.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    pat.post("/sign-in", data={"email": "pat@acme.example", "password": "correct horse 9", "csrf_token": token})
    html = pat.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    assert "How Smart Bcc handled this mail" in html
    assert "First copy of this mail." in html and "offer.pdf" in html
