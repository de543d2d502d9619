"""Mail that reads like mail (issue 20, part 2): times in the viewer's zone, quoted history and
signatures folded, the rep's note on a forward, recipients' addresses, attachment previews."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from email.message import EmailMessage

import pytest

from backend.mail.mime import parse_message
from backend.mail.quotes import split_html, split_text
from tests.corpus import corpus_dir
from tests.web.conftest import mail

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def talon_text(name: str) -> str:
    return parse_message((corpus_dir() / "talon" / name).read_bytes()).text


def kinds(segments) -> list[str]:
    return [s.kind for s in segments]


# --- the splitter, on real replies of the corpus ---------------------------------------------

@pytest.mark.parametrize("name", ["gmail.eml", "apple_mail.eml", "aol.eml", "yahoo.eml", "outlook.eml",
                                  "hotmail.eml", "comcast.eml"])
def test_a_reply_shows_its_new_words_and_folds_the_history(name):
    segments = split_text(talon_text(name))
    assert kinds(segments) == ["text", "quote"]
    assert segments[0].text.strip() == "Hello"
    assert len(segments[1].text) > 5


def test_outlooks_header_block_without_a_separator_starts_the_quote():
    segments = split_text(talon_text("outlook.eml"))
    assert segments[1].text.startswith("From: xxx@xxx.mailgun.org")
    assert "Unsubscribe" in segments[1].text


def test_a_phone_signature_and_a_dashed_signature_are_folded_apart():
    assert kinds(split_text(talon_text("iphone.eml"))) == ["text", "signature", "quote"]
    sparrow = split_text(talon_text("sparrow.eml"))
    assert kinds(sparrow) == ["text", "signature", "quote"]
    assert sparrow[1].text.startswith("-- \nxxx")


def test_a_bottom_posted_reply_shows_the_answer_under_the_folded_quote():
    segments = split_text(talon_text("thunderbird.eml"))
    assert kinds(segments) == ["quote", "text"]
    assert segments[1].text == "Hello"


def test_a_mail_that_is_only_a_quote_stays_shown():
    assert kinds(split_text("> just a quote\n> nothing else")) == ["text"]
    assert kinds(split_text("Shipping plan:\nFrom: Berlin\nTo: Paris\nby truck")) == ["text"]
    assert kinds(split_text("No quote here.\n\nBest regards,\nBob")) == ["text"]


def test_an_html_reply_folds_its_quote():
    html = (corpus_dir() / "quotequail" / "gmail_reply.html").read_text()
    shown, quoted = split_html(html)
    assert quoted and "wrote:" in re.sub(r"<[^>]+>", "", quoted)
    assert "wrote:" not in re.sub(r"<[^>]+>", "", shown)


def test_outlooks_html_header_block_folds_too():
    shown, quoted = split_html(parse_message((corpus_dir() / "talon" / "outlook.eml").read_bytes()).html)
    assert "Allo! Follow up MIME!" in shown and "mailto:" not in shown
    assert "The manager has commented" in quoted


# --- times in the viewer's zone --------------------------------------------------------------

def dated(alice, date: str, text: str = "See you tomorrow.") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = alice.email, "Bob Buyer <bob@customer.example>", "Late call"
    msg["Message-ID"], msg["Date"] = "<late1@acme.example>", date
    msg.set_content(text)
    return bytes(msg)


def test_relative_dates_in_the_viewers_zone(app):
    from backend.web.format import full_when, relative_when

    now = datetime(2026, 12, 5, 21, 13, tzinfo=timezone.utc)  # Sat 16:13 in New York
    with app.test_request_context("/", headers={"Cookie": "tz=America/New_York"}):
        assert relative_when(datetime(2026, 12, 5, 19, 5, tzinfo=timezone.utc), now) == "today 14:05"
        # 03:00 UTC on the 5th is still the 4th in New York: Friday.
        assert relative_when(datetime(2026, 12, 5, 3, 0, tzinfo=timezone.utc), now) == "Fri"
        assert relative_when(datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc), now) == "Tue"
        assert relative_when(datetime(2026, 11, 3, 15, 0, tzinfo=timezone.utc), now) == "3 Nov"
        assert relative_when(datetime(2025, 11, 3, 15, 0, tzinfo=timezone.utc), now) == "3 Nov 2025"
        assert full_when(now) == "5 Dec 2026, 16:13 EST"
    with app.test_request_context("/", headers={"Cookie": "tz=../../etc/passwd"}):
        assert full_when(now) == "5 Dec 2026, 21:13 UTC"  # not a zone: UTC
    with app.test_request_context("/"):
        assert relative_when(datetime(2026, 12, 5, 19, 5, tzinfo=timezone.utc), now) == "today 19:05"


def test_the_inbox_and_thread_show_times_in_the_browsers_zone(web, alice, send_mail):
    send_mail(dated(alice, "Mon, 3 Mar 2025 20:30:00 +0000"), [alice.bcc_address], alice.email)
    web.set_cookie("tz", "Asia/Tokyo")
    inbox = web.get("/inbox").get_data(as_text=True)
    assert ">4 Mar 2025</time>" in inbox  # 05:30 the next day in Tokyo
    assert 'title="4 Mar 2025, 05:30 JST"' in inbox
    thread_id = re.search(r"/inbox/threads/(\d+)", inbox).group(1)
    assert "4 Mar 2025, 05:30 JST" in web.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    web.set_cookie("tz", "Not/AZone")
    assert ">3 Mar 2025</time>" in web.get("/inbox").get_data(as_text=True)


def test_a_users_own_time_zone_wins_over_the_browsers(web, alice, thread_of):
    thread_id = thread_of(alice, "Zone check")
    web.set_cookie("tz", "Asia/Tokyo")
    response = web.post("/settings/account/time-zone", data={"time_zone": "Europe/Berlin", "csrf_token": web.csrf})
    assert response.status_code == 302
    page = web.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    assert "3 Mar 2025, 11:00 CET" in page
    account = web.get("/settings/account").get_data(as_text=True)
    assert '<option value="Europe/Berlin" selected>' in account
    assert "Your browser's time zone (Asia/Tokyo)" in account
    bad = web.post("/settings/account/time-zone", data={"time_zone": "Mars/Olympus", "csrf_token": web.csrf})
    assert bad.status_code == 400
    assert "Choose a time zone from the list" in bad.get_data(as_text=True)
    web.post("/settings/account/time-zone", data={"time_zone": "", "csrf_token": web.csrf})
    assert "3 Mar 2025, 19:00 JST" in web.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)


# --- the thread page ---------------------------------------------------------------------------

def test_a_forwarded_reply_shows_the_reps_note_and_folds_the_history(web, alice, send_mail):
    reply = talon_text("gmail.eml")  # "Hello" over Gmail's "On … wrote:" and the quote
    text = ("FYI, logging Bob's reply.\n\n---------- Forwarded message ---------\n"
            "From: Bob Buyer <bob@customer.example>\nDate: Mon, Mar 3, 2025 at 10:15 AM\n"
            "Subject: Re: Pricing for 200 seats\nTo: Alice Admin <alice@acme.example>\n\n\n" + reply)
    send_mail(mail(alice.email, alice.bcc_address, "Fwd: Re: Pricing for 200 seats", "fwd-note@acme.example",
                   text=text), [alice.bcc_address], alice.email)
    inbox = web.get("/inbox").get_data(as_text=True)
    thread_id = re.search(r"/inbox/threads/(\d+)", inbox).group(1)
    page = web.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    assert "<strong>Bob Buyer</strong>" in page
    note = page.index("FYI, logging Bob&#39;s reply.")
    body = page.index('<div class="mail-body">')
    assert note < body  # the note is above the customer's message
    assert "Alice Admin wrote when forwarding:" in page
    shown, folded = page[body:].split('<details class="folded folded-quote">', 1)
    assert "Hello" in shown and "wrote:" not in shown
    assert "Megan One" in folded.split("</details>", 1)[0]


def test_a_signature_alone_is_folded_and_a_signature_over_a_quote_folds_with_it(web, alice, thread_of):
    signed = thread_of(alice, "Signed", text="See you at 3.\n\n-- \nAlice Admin\n+1 555 0100")
    page = web.get(f"/inbox/threads/{signed}").get_data(as_text=True)
    body = page.split('<div class="mail-body">', 1)[1].split('<details class="decisions">', 1)[0]
    assert body.count("<details") == 1 and '<details class="folded folded-signature">' in body
    assert "See you at 3." in body.split("<details", 1)[0] and "+1 555 0100" not in body.split("<details", 1)[0]
    both = thread_of(alice, "Signed reply", text=talon_text("sparrow.eml"))  # text, "-- " signature, quote
    body = web.get(f"/inbox/threads/{both}").get_data(as_text=True).split('<div class="mail-body">', 1)[1]
    body = body.split('<details class="decisions">', 1)[0]
    assert body.count("<details") == 1 and '<details class="folded folded-quote">' in body
    assert "Sparrow" in body.split("<details", 1)[1]


def test_recipients_show_their_addresses_on_hover_and_expand(web, alice, thread_of):
    thread_id = thread_of(alice, "Recipients", to="Bob Buyer <bob@customer.example>",
                          extra={"Cc": "Carol <carol@customer.example>"})
    page = web.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    assert '<span class="recipient" title="bob@customer.example">Bob Buyer</span>' in page
    assert '<span class="recipient" title="carol@customer.example">Carol</span>' in page
    details = page.split('<details class="recipients">', 1)[1].split("</details>", 1)[0]
    assert "Bob Buyer &lt;bob@customer.example&gt;" in details
    assert "Carol &lt;carol@customer.example&gt;" in details


def _with_attachments(alice) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = alice.email, "Bob Buyer <bob@customer.example>", "Files"
    msg["Message-ID"], msg["Date"] = "<files1@acme.example>", "Mon, 3 Mar 2025 10:00:00 +0000"
    msg.set_content("Files attached.")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="chart.png")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="quote.pdf")
    msg.add_attachment(b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", maintype="image",
                       subtype="svg+xml", filename="logo.svg")
    msg.add_attachment(b"<script>alert(1)</script>", maintype="text", subtype="html", filename="page.html")
    msg.add_attachment(b"x" * 2500, maintype="application", subtype="zip", filename="bundle.zip")
    return bytes(msg)


def test_attachments_have_icons_sizes_and_safe_previews(web, alice, send_mail):
    send_mail(_with_attachments(alice), [alice.bcc_address], alice.email)
    inbox = web.get("/inbox").get_data(as_text=True)
    page = web.get("/inbox/threads/" + re.search(r"/inbox/threads/(\d+)", inbox).group(1)).get_data(as_text=True)
    links = dict((name, url) for url, name in re.findall(r'<a href="(/inbox/messages/\d+/attachments/\d+)" download>([^<]+)</a>', page))
    assert set(links) == {"chart.png", "quote.pdf", "logo.svg", "page.html", "bundle.zip"}
    assert f'<img src="{links["chart.png"]}?preview=1" alt="Preview of chart.png"' in page
    assert f'href="{links["quote.pdf"]}?preview=1"' in page
    assert f'{links["logo.svg"]}?preview=1' not in page and f'{links["page.html"]}?preview=1' not in page
    assert '<li class="attachment kind-archive">' in page and "2.4 KB" in page

    image = web.get(links["chart.png"] + "?preview=1")
    assert image.status_code == 200 and image.data == PNG
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["Content-Disposition"].startswith("inline")
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    pdf = web.get(links["quote.pdf"] + "?preview=1")
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.headers["Content-Disposition"].startswith("inline")
    assert pdf.headers["Content-Security-Policy"].startswith("sandbox")
    for name in ("logo.svg", "page.html"):  # never shown by the browser, even when asked
        hostile = web.get(links[name] + "?preview=1")
        assert hostile.headers["Content-Type"] == "application/octet-stream"
        assert hostile.headers["Content-Disposition"].startswith("attachment")
    assert web.get(links["chart.png"]).headers["Content-Disposition"].startswith("attachment")


def test_an_html_reply_folds_its_quote_inside_the_mail_frame(web, alice, thread_of):
    html = (corpus_dir() / "quotequail" / "gmail_reply.html").read_text()
    thread_id = thread_of(alice, "Html reply", html=html)
    page = web.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    body = web.get(re.search(r'src="(/inbox/messages/\d+/body)"', page).group(1)).get_data(as_text=True)
    shown, folded = body.split('<details class="folded folded-quote">', 1)
    assert "wrote:" not in re.sub(r"<[^>]+>", "", shown)
    assert "wrote:" in re.sub(r"<[^>]+>", "", folded)
    assert "<script" not in folded.lower()
