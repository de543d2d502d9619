"""Settings > Operator mail: mail to postmaster@ and abuse@, for the admins who run the deployment."""
from __future__ import annotations

from backend.domain import operator_mail

from .conftest import PASSWORD, sign_in

URL = "/settings/operator-mail"


def _raw(subject: str, sender: str = "Ops <ops@far.example>") -> bytes:
    return (f"From: {sender}\r\nTo: postmaster@bcc.test\r\nSubject: {subject}\r\n"
            "Date: Mon, 3 Mar 2025 10:00:00 +0000\r\n\r\n<html><script>alert(1)</script></html>\r\n").encode()


class _Settings:
    def __init__(self, base, **changed):
        self._base, self._changed = base, changed

    def __getattr__(self, name):
        return self._changed[name] if name in self._changed else getattr(self._base, name)


def _first_id(services) -> int:
    from sqlalchemy import select

    from backend.models import OperatorMail

    with services.db.session() as session:
        return session.scalars(select(OperatorMail.id).order_by(OperatorMail.id)).first()


def test_admin_sees_operator_mail_newest_first(web, send_mail):
    send_mail(_raw("First report"), ["postmaster@bcc.test"], "ops@far.example")
    send_mail(_raw("Second report <b>bold</b>", "Abuse Desk <abuse-desk@isp.example>"), ["abuse@bcc.test"],
              "abuse-desk@isp.example")
    page = web.get(URL)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.index("Second report") < html.index("First report")  # newest first
    assert "Abuse Desk &lt;abuse-desk@isp.example&gt;" in html and "Ops &lt;ops@far.example&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html  # a stranger's subject is text, never markup
    assert "To abuse@bcc.test" in html and "To postmaster@bcc.test" in html
    assert "<time datetime=" in html
    assert html.count(f'href="{URL}/') == 2 and "Download .eml" in html
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_admin_sees_an_empty_list_in_words(web):
    html = web.get(URL).get_data(as_text=True)
    assert "No mail has arrived for postmaster@ or abuse@." in html


def test_download_is_inert_and_exact(web, send_mail, services):
    raw = _raw("Inert")
    send_mail(raw, ["postmaster@bcc.test"], "ops@far.example")
    mail_id = _first_id(services)
    response = web.get(f"{URL}/{mail_id}.eml")
    assert response.status_code == 200
    assert response.get_data() == raw
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"] == f"attachment; filename=postmaster-{mail_id}.eml"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "no-store" in response.headers["Cache-Control"]


def test_download_of_unknown_mail_is_404(web):
    assert web.get(f"{URL}/999999.eml").status_code == 404


def test_member_gets_403_for_page_and_download(app, bert, send_mail, services):
    send_mail(_raw("Secret report"), ["abuse@bcc.test"], "ops@far.example")
    client = app.test_client()
    sign_in(client, bert.email)
    page = client.get(URL)
    assert page.status_code == 403
    assert "Secret report" not in page.get_data(as_text=True)
    assert operator_mail.NOT_OPERATOR in page.get_data(as_text=True)
    download = client.get(f"{URL}/{_first_id(services)}.eml")
    assert download.status_code == 403
    assert b"Secret report" not in download.get_data()


def test_signed_out_is_sent_to_sign_in(app):
    response = app.test_client().get(URL)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_with_several_companies_only_the_operator_company_admins_read_it(
        app, alice, make_account, send_mail, services, monkeypatch):
    """An abuse report about one company's mail must not reach another company's admins."""
    gary = make_account("globex.example", "gary@globex.example", admin=True, name="Gary", password=PASSWORD)
    send_mail(_raw("About globex"), ["abuse@bcc.test"], "ops@far.example")
    alice_client, gary_client = app.test_client(), app.test_client()
    sign_in(alice_client, alice.email)
    sign_in(gary_client, gary.email)
    # Unset: with several companies nobody reads it until the setting names the operators' company.
    assert alice_client.get(URL).status_code == 403
    assert gary_client.get(URL).status_code == 403
    monkeypatch.setattr(services, "settings", _Settings(services.settings, operator_company_id=gary.company_id))
    assert alice_client.get(URL).status_code == 403
    page = gary_client.get(URL)
    assert page.status_code == 200 and "About globex" in page.get_data(as_text=True)


def test_pages_of_fifty_newest_first(web, services):
    from datetime import datetime, timedelta, timezone

    from backend.models import OperatorMail

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with services.db.session() as session:
        session.add_all(OperatorMail(mailbox="abuse", header_from="x@far.example", subject=f"Report {n:03d}",
                                     received_at=start + timedelta(minutes=n), raw_sha256="0" * 64, size=10)
                        for n in range(operator_mail.PER_PAGE + 1))
    first = web.get(URL).get_data(as_text=True)
    assert f"Report {operator_mail.PER_PAGE:03d}" in first and "Report 000" not in first
    assert "Page 1 of 2" in first
    second = web.get(URL + "?page=2").get_data(as_text=True)
    assert "Report 000" in second and "Report 001" not in second
    assert web.get(URL + "?page=99999999999999999999").status_code == 200
