"""The inbox page counts its conversations only up to a limit (issue 18, part 4): past it, the page
says "more than N" and pages on with "Older", so its cost does not grow with the mailbox."""
from __future__ import annotations


def test_the_inbox_counts_up_to_the_limit_then_says_more_than(web, alice, thread_of, monkeypatch):
    monkeypatch.setattr("backend.web.format.PAGE_SIZE", 2)
    monkeypatch.setattr("backend.domain.inbox.PAGE_COUNT_LIMIT", 3)
    for n in range(5):
        thread_of(alice, f"Renewal talk {n}")
    first = web.get("/inbox").get_data(as_text=True)
    assert "More than 3 conversations" in first and "5 conversations" not in first
    assert "Page 1<" in first and 'rel="next"' in first
    assert "Renewal talk 4" in first and "Renewal talk 3" in first and "Renewal talk 2" not in first
    middle = web.get("/inbox?page=2").get_data(as_text=True)
    assert "More than 3 conversations" in middle and 'rel="next"' in middle and "Renewal talk 2" in middle
    # The last page knows how many there are without counting.
    last = web.get("/inbox?page=3").get_data(as_text=True)
    assert "5 conversations" in last and "Page 3 of 3" in last and 'rel="next"' not in last


def test_under_the_limit_the_inbox_shows_the_exact_count(web, alice, thread_of, monkeypatch):
    monkeypatch.setattr("backend.web.format.PAGE_SIZE", 2)
    monkeypatch.setattr("backend.domain.inbox.PAGE_COUNT_LIMIT", 5)
    for n in range(5):
        thread_of(alice, f"Renewal talk {n}")
    first = web.get("/inbox").get_data(as_text=True)
    assert "5 conversations" in first and "More than" not in first and "Page 1 of 3" in first


def test_the_api_total_stays_exact(app, alice, thread_of, monkeypatch):
    monkeypatch.setattr("backend.domain.inbox.PAGE_COUNT_LIMIT", 1)
    for n in range(3):
        thread_of(alice, f"Renewal talk {n}")
    answer = app.test_client().get("/api/v1/mailbox/mailThreads?include_total=1&limit=1", headers=alice.auth)
    assert answer.get_json()["additional_data"]["pagination"]["total"] == 3


def test_an_items_messages_page_by_page_are_the_visible_live_ones_newest_first(app, alice, bert, thread_of):
    """The deal view reads the order from index entries and only the page's rows
    (domain.threads.linked_messages): the same messages, in the same order, as the plain query
    of the visible live messages of the linked threads."""
    from sqlalchemy import select

    from backend.domain.actor import Actor
    from backend.domain.visibility import messages_linked_to
    from backend.models import MailMessage, User

    client = app.test_client()
    deal = client.post("/api/v1/deals", json={"title": "Big order"}, headers=alice.auth).get_json()["data"]
    other = client.post("/api/v1/deals", json={"title": "Other"}, headers=alice.auth).get_json()["data"]
    plan = [(alice, "Alpha", True), (alice, "Private alpha", False), (alice, "Gamma", True),
            (bert, "Private bert", False), (bert, "Shared bert", True), (alice, "Unlinked", True)]
    threads = {}
    for account, subject, shared in plan:
        for n in range(3):
            thread_id = thread_of(account, subject if n == 0 else f"Re: {subject}", text=f"part {n}")
        threads[subject] = thread_id
        client.patch(f"/api/v1/mailbox/mailThreads/{thread_id}", json={"shared": shared}, headers=account.auth)
        target = other if subject == "Unlinked" else deal
        client.patch(f"/api/v1/mailbox/mailThreads/{thread_id}", json={"deal_id": target["id"]},
                     headers=account.auth)
    first = client.get(f"/api/v1/mailbox/mailThreads/{threads['Alpha']}/mailMessages",
                       headers=alice.auth).get_json()["data"][0]
    assert client.delete(f"/api/v1/mailbox/mailMessages/{first['id']}", headers=alice.auth).status_code == 200
    services = app.extensions["smartbcc"]
    for account in (alice, bert):
        with services.db.session() as session:
            who = Actor.of(session.get(User, account.user_id))
            expected = list(session.scalars(messages_linked_to(who, "deal", deal["id"]).with_only_columns(
                MailMessage.id).order_by(MailMessage.sent_at.desc(), MailMessage.id.desc())))
        shown, start = [], 0
        while True:
            answer = client.get(f"/api/v1/deals/{deal['id']}/mailMessages?start={start}&limit=2",
                                headers=account.auth).get_json()
            shown += [m["id"] for m in answer["data"]]
            if not answer["additional_data"]["pagination"]["more_items_in_collection"]:
                break
            start += 2
        assert shown == expected and first["id"] not in shown
        private = threads["Private bert" if account is alice else "Private alpha"]
        assert {m["thread_id"] for m in client.get(f"/api/v1/deals/{deal['id']}/mailMessages?limit=500",
                                                   headers=account.auth).get_json()["data"]} == \
            {threads[s] for s in ("Alpha", "Private alpha", "Gamma", "Private bert", "Shared bert")} - {private}


def test_a_page_of_messages_reads_its_lists_in_one_statement_each_message_its_own(app, alice, send_mail,
                                                                                 sql_statements):
    """dump_messages reads the participants, attachments and arrivals of a whole page by one statement
    (api/prepared.children_of): each message still gets only its own."""
    from email.message import EmailMessage

    from sqlalchemy import select

    from backend.models import MailThread

    def mail(n: int, cc: str | None = None, attach: bytes | None = None) -> bytes:
        msg = EmailMessage()
        msg["From"], msg["To"] = alice.email, "Bob Buyer <bob@customer.example>"
        if cc:
            msg["Cc"] = cc
        msg["Subject"] = "Quote" if n == 0 else "Re: Quote"
        msg["Message-ID"] = f"<page-{n}@acme.example>"
        if n:
            msg["In-Reply-To"] = "<page-0@acme.example>"
        msg["Date"] = f"Mon, 3 Mar 2025 1{n}:00:00 +0000"
        msg.set_content(f"part {n}")
        if attach:
            msg.add_attachment(attach, maintype="application", subtype="pdf", filename=f"quote-{n}.pdf")
        return bytes(msg)

    send_mail(mail(0, attach=b"%PDF-1.4 first"), [alice.bcc_address], alice.email)
    send_mail(mail(1, cc="Carl Copy <carl@customer.example>"), [alice.bcc_address], alice.email)
    send_mail(mail(2, attach=b"%PDF-1.4 third"), [alice.bcc_address], alice.email)
    with app.extensions["smartbcc"].db.session() as session:
        thread_id = session.scalar(select(MailThread.id).where(MailThread.owner_id == alice.user_id))
    sql_statements.clear()
    answer = app.test_client().get(f"/api/v1/mailbox/mailThreads/{thread_id}/mailMessages", headers=alice.auth)
    assert answer.status_code == 200
    by_id = {m["message_id"].strip("<>"): m for m in answer.get_json()["data"]}
    assert set(by_id) == {"page-0@acme.example", "page-1@acme.example", "page-2@acme.example"}
    people = {key: sorted(p["email"] for p in m["participants"]) for key, m in by_id.items()}
    assert people["page-1@acme.example"] == ["alice@acme.example", "bob@customer.example", "carl@customer.example"]
    assert people["page-0@acme.example"] == people["page-2@acme.example"] == ["alice@acme.example",
                                                                                  "bob@customer.example"]
    files = {key: [a["filename"] for a in m["attachments"]] for key, m in by_id.items()}
    assert files == {"page-0@acme.example": ["quote-0.pdf"], "page-1@acme.example": [],
                     "page-2@acme.example": ["quote-2.pdf"]}
    arrivals = [a["id"] for m in by_id.values() for a in m["arrivals"]]
    assert len(arrivals) == 3 and len(set(arrivals)) == 3
    assert all(m["arrivals"][0]["status"] == "processed" for m in by_id.values())
    lists = [s for s in sql_statements if "FROM participants" in s or "FROM attachments" in s
             or "FROM inbound_records" in s]
    assert len(lists) == 1 and all(table in lists[0] for table in ("participants", "attachments", "inbound_records"))


def test_a_thread_list_reads_each_threads_last_mail_its_user_and_first_recipient_in_one_statement(
        app, web, alice, bert, send_mail, sql_statements):
    """The lists' last sender (API ``last_sender.user_id``, the page's "You → …" for the rep's own mail
    from any of their addresses) comes with each thread's newest mail, by one statement."""
    from datetime import datetime, timezone

    from backend.models import SenderAddress

    from .conftest import mail

    with app.extensions["smartbcc"].db.session() as session:
        session.add(SenderAddress(company_id=alice.company_id, user_id=alice.user_id, email="alice@home.example",
                                  verified_at=datetime.now(timezone.utc)))
    send_mail(mail(alice.email, "Bob Buyer <bob@customer.example>", "Own", "own-1@acme.example"),
              [alice.bcc_address], alice.email)
    send_mail(mail("alice@home.example", '"Carla" <carla@cust.example>', "From home", "home-1@acme.example"),
              [alice.bcc_address], "alice@home.example")
    send_mail(mail(bert.email, "Dora Dealer <dora@cust.example>", "Colleague", "col-1@acme.example"),
              [bert.bcc_address], bert.email)
    client = app.test_client()
    colleague = client.get("/api/v1/mailbox/mailThreads", headers=bert.auth).get_json()["data"][0]
    client.patch(f"/api/v1/mailbox/mailThreads/{colleague['id']}", json={"shared": True}, headers=bert.auth)
    own = next(t for t in client.get("/api/v1/mailbox/mailThreads", headers=alice.auth).get_json()["data"]
               if t["subject"] == "Own")
    deal = client.post("/api/v1/deals", json={"title": "Bob's big order"}, headers=alice.auth).get_json()["data"]
    assert client.post(f"/api/v1/mailbox/mailThreads/{own['id']}/links", json={"item_type": "deal",
                       "item_id": deal["id"]}, headers=alice.auth).status_code in (200, 201)
    sql_statements.clear()
    page = web.get("/inbox").get_data(as_text=True)
    assert "You → Bob Buyer" in page and "You → Carla" in page and "Bert Member" in page
    assert "Bob&#39;s big order" in page
    assert not [s for s in sql_statements if " AS item_type," in s]  # titles come with the links
    assert "You → Dora" not in page
    reads = [s for s in sql_statements if "sender_addresses" in s or "FROM participants" in s]
    assert len(reads) == 1, reads
    sql_statements.clear()
    data = app.test_client().get("/api/v1/mailbox/mailThreads", headers=alice.auth).get_json()["data"]
    senders = {t["subject"]: t["last_sender"] for t in data}
    titles = {t["subject"]: [lk["title"] for lk in t["links"] if lk["item_type"] == "deal"] for t in data}
    assert titles["Own"] == ["Bob's big order"] and not [s for s in sql_statements if " AS item_type," in s]
    assert senders["Own"]["user_id"] == senders["From home"]["user_id"] == alice.user_id
    assert senders["Colleague"] == {"email": "bert@acme.example", "name": "", "user_id": bert.user_id}
    assert len([s for s in sql_statements if "sender_addresses" in s]) == 1  # with the last mails


def test_an_items_page_counts_its_conversations_with_the_page_itself(app, web, alice, thread_of, monkeypatch,
                                                                     sql_statements):
    """The deal page's conversation count comes with its page's rows (a window count); only a page
    past the end asks for the count alone."""
    monkeypatch.setattr("backend.web.items.PAGE_SIZE", 2)
    client = app.test_client()
    deal = client.post("/api/v1/deals", json={"title": "Windowed"}, headers=alice.auth).get_json()["data"]
    for n in range(3):
        thread_id = thread_of(alice, f"Talk {n}")
        assert client.post(f"/api/v1/mailbox/mailThreads/{thread_id}/links", json={"item_type": "deal",
                           "item_id": deal["id"]}, headers=alice.auth).status_code == 201
    counts = {}
    for page in (1, 2, 9):
        sql_statements.clear()
        html = web.get(f"/deals/{deal['id']}?page={page}").get_data(as_text=True)
        assert "Conversations (3)" in html
        counts[page] = len([s for s in sql_statements if s.startswith("SELECT count(*)")])
        shown = [n for n in range(3) if f"Talk {n}" in html]
        assert shown == {1: [1, 2], 2: [0], 9: []}[page]
    assert counts == {1: 0, 2: 0, 9: 1}


def test_a_page_of_messages_read_in_chunks_gives_each_message_the_same_lists(app, alice, send_mail, monkeypatch):
    """children_of asks per IN_CHUNK messages (a thread's messages are not paged): read one message
    at a time, every message still gets exactly its own participants and arrivals."""
    from email.message import EmailMessage

    from sqlalchemy import select

    from backend.models import MailThread

    for n in range(3):
        msg = EmailMessage()
        msg["From"], msg["To"] = alice.email, f"Buyer {n} <buyer{n}@customer.example>"
        msg["Subject"] = "Chunks" if n == 0 else "Re: Chunks"
        msg["Message-ID"] = f"<chunk-{n}@acme.example>"
        if n:
            msg["In-Reply-To"] = "<chunk-0@acme.example>"
        msg.set_content(f"part {n}")
        send_mail(bytes(msg), [alice.bcc_address], alice.email)
    with app.extensions["smartbcc"].db.session() as session:
        thread_id = session.scalar(select(MailThread.id).where(MailThread.owner_id == alice.user_id))
    url = f"/api/v1/mailbox/mailThreads/{thread_id}/mailMessages"
    whole = app.test_client().get(url, headers=alice.auth).get_json()["data"]
    monkeypatch.setattr("backend.api.prepared.IN_CHUNK", 1)
    chunked = app.test_client().get(url, headers=alice.auth).get_json()["data"]
    assert chunked == whole and len(whole) == 3
    for message in whole:
        n = message["message_id"].strip("<>").split("@")[0].split("-")[1]
        assert sorted(p["email"] for p in message["participants"]) == ["alice@acme.example",
                                                                        f"buyer{n}@customer.example"]
        assert len(message["arrivals"]) == 1
