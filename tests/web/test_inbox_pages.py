"""The inbox, a thread's side panel (link, unlink, create, needs-a-deal) and the item pages."""
from __future__ import annotations

import re

from .conftest import mail


def _api(app, account, method, url, **kwargs):
    return getattr(app.test_client(), method)(url, headers=account.auth, **kwargs).get_json()["data"]


def test_inbox_lists_threads_newest_first_with_markers(web, alice, thread_of):
    thread_of(alice, "First talk")
    second = thread_of(alice, "Second talk")
    web.post(f"/inbox/threads/{second}/share", data={"shared": "1", "csrf_token": web.csrf})
    html = web.get("/inbox").get_data(as_text=True)
    assert "2 conversations" in html
    assert html.index("Second talk") < html.index("First talk")
    assert 'class="thread-sender">You → Bob Buyer' in html
    assert 'class="badge badge-shared"' in html and 'class="badge badge-private"' in html
    assert "chip-person" in html


def test_inbox_search_and_paging(web, alice, thread_of):
    for n in range(27):
        thread_of(alice, f"Topic {n:02d}")
    thread_of(alice, "Unusual % subject")
    page1 = web.get("/inbox").get_data(as_text=True)
    assert "Page 1 of 2" in page1 and 'rel="next"' in page1
    page2 = web.get("/inbox?page=2").get_data(as_text=True)
    assert "Topic 00" in page2 and "Topic 26" not in page2
    found = web.get("/inbox?q=unusual+%25").get_data(as_text=True)
    assert "1 conversation matching" in found and "Unusual % subject" in found
    assert "Topic" not in found.split("<main", 1)[1]
    assert web.get("/inbox?page=abc").status_code == 200


def test_mail_to_a_deal_address_shows_on_the_deal_page(app, web, alice, thread_of):
    person = _api(app, alice, "post", "/api/v1/persons", json={"name": "Bob Buyer",
                                                               "emails": [{"email": "bob@customer.example"}]})
    deal = _api(app, alice, "post", "/api/v1/deals", json={"title": "Big order", "person_id": person["id"]})
    html = web.get(f"/deals/{deal['id']}").get_data(as_text=True)
    assert f'<code id="item-address" class="address">{deal["bcc_address"]}</code>' in html and 'data-copy="item-address"' in html
    thread_of(alice, "Order details", rcpt=deal["bcc_address"])
    html = web.get(f"/deals/{deal['id']}").get_data(as_text=True)
    assert "Order details" in html
    assert "Conversations (1)" in html
    thread_page = web.get("/inbox").get_data(as_text=True)
    thread_id = re.search(r"/inbox/threads/(\d+)", thread_page).group(1)
    panel = web.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    assert "Sent to the Smart Bcc address of deal &#39;Big order&#39;." in panel
    assert f"deal {deal['id']}" not in panel
    person_page = web.get(f"/persons/{person['id']}").get_data(as_text=True)
    assert "Order details" in person_page and "Big order" in person_page


def test_lead_page_has_its_address(app, web, alice):
    lead = _api(app, alice, "post", "/api/v1/leads", json={"title": "Web lead"})
    html = web.get(f"/leads/{lead['id']}").get_data(as_text=True)
    assert lead["bcc_address"] in html
    assert "Web lead" in web.get("/leads").get_data(as_text=True)


def test_needs_a_deal_lists_the_open_deals_and_linking_clears_it(app, web, alice, thread_of):
    person = _api(app, alice, "post", "/api/v1/persons", json={"name": "Carla Client",
                                                               "emails": [{"email": "carla@client.example"}]})
    one = _api(app, alice, "post", "/api/v1/deals", json={"title": "Annual licence", "person_id": person["id"]})
    _api(app, alice, "post", "/api/v1/deals", json={"title": "Consulting", "person_id": person["id"]})
    _api(app, alice, "post", "/api/v1/deals", json={"title": "Old order", "person_id": person["id"], "status": "won"})
    thread_id = thread_of(alice, "Questions", to="Carla <carla@client.example>")
    html = web.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    assert "This conversation needs a deal" in html
    panel = html.split('id="needs-deal-h"', 1)[1].split("</section>", 1)[0]
    assert "Annual licence" in panel and "Consulting" in panel and "Old order" not in panel
    assert "Needs a deal" in web.get("/inbox").get_data(as_text=True)
    done = web.post(f"/inbox/threads/{thread_id}/link", data={"item_type": "deal", "item_id": one["id"],
                                                               "csrf_token": web.csrf}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "Linked to deal &#39;Annual licence&#39;" in html
    assert "This conversation needs a deal" not in html
    assert "Linked by Alice Admin" in html


def test_find_and_link_unlink_from_the_panel(app, web, alice, thread_of):
    deal = _api(app, alice, "post", "/api/v1/deals", json={"title": "Renewal 2025"})
    thread_id = thread_of(alice, "Renewal")
    results = web.get(f"/inbox/threads/{thread_id}?find_type=deal&find=renew").get_data(as_text=True)
    assert "1 found" in results and "Renewal 2025" in results
    web.post(f"/inbox/threads/{thread_id}/link", data={"item_type": "deal", "item_id": deal["id"], "csrf_token": web.csrf})
    assert "Renewal" in web.get(f"/deals/{deal['id']}").get_data(as_text=True)
    html = web.post(f"/inbox/threads/{thread_id}/unlink", data={"item_type": "deal", "item_id": deal["id"],
                                                                 "csrf_token": web.csrf},
                    follow_redirects=True).get_data(as_text=True)
    assert "Unlinked deal" in html and "Unlinked earlier (1)" in html
    assert "Conversations (0)" in web.get(f"/deals/{deal['id']}").get_data(as_text=True)


def test_app_api_search_and_link(app, web, alice, thread_of):
    deal = _api(app, alice, "post", "/api/v1/deals", json={"title": "Typeahead deal"})
    thread_id = thread_of(alice, "Typing")
    found = web.get("/app-api/search?type=deal&term=typeah").get_json()["data"]
    assert [f["id"] for f in found] == [deal["id"]]
    assert web.get("/app-api/search?type=bogus&term=x").status_code == 400
    assert web.get("/app-api/search?type=deal&term=100%25").get_json()["data"] == []
    response = web.post(f"/app-api/threads/{thread_id}/links", json={"item_type": "deal", "item_id": deal["id"]},
                        headers={"X-CSRF-Token": web.csrf})
    assert response.status_code == 201
    missing = web.post(f"/app-api/threads/{thread_id}/links", json={"item_type": "deal", "item_id": 99999999},
                       headers={"X-CSRF-Token": web.csrf})
    assert missing.status_code == 400 and "No deal with id" in missing.get_json()["error"]


def test_create_lead_and_person_from_a_thread(web, alice, thread_of):
    thread_id = thread_of(alice, "New prospect", to="Dora Newcomer <dora@new.example>")
    page = web.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    # Dora became a contact automatically, so the person form has no prefill.
    assert "Dora Newcomer" in page
    html = web.post(f"/inbox/threads/{thread_id}/create", data={"type": "lead", "title": "Dora's interest",
                                                                 "csrf_token": web.csrf},
                    follow_redirects=True).get_data(as_text=True)
    assert "Created lead &#39;Dora&#39;s interest&#39;" in html
    lead_id = re.search(r'href="/leads/(\d+)"', html).group(1)
    lead_page = web.get(f"/leads/{lead_id}").get_data(as_text=True)
    assert "New prospect" in lead_page and "Dora Newcomer" in lead_page
    bad = web.post(f"/inbox/threads/{thread_id}/create", data={"type": "person", "name": "X", "email": "nope",
                                                                "csrf_token": web.csrf},
                   follow_redirects=True).get_data(as_text=True)
    assert "is not a valid email address" in bad
    dup = web.post(f"/inbox/threads/{thread_id}/create", data={"type": "person", "email": "dora@new.example",
                                                                "csrf_token": web.csrf},
                   follow_redirects=True).get_data(as_text=True)
    assert "already belongs to a person" in dup
    made = web.post(f"/inbox/threads/{thread_id}/create", data={"type": "person", "name": "Eve Extra",
                                                                 "email": "eve@new.example", "csrf_token": web.csrf},
                    follow_redirects=True).get_data(as_text=True)
    assert "Created person &#39;Eve Extra&#39;" in made


def test_forwarded_reply_shows_the_customer_and_the_rep(web, alice, send_mail):
    text = ("FYI\n\n---------- Forwarded message ---------\nFrom: Jane Cooper <jane@northwind.example>\n"
            "Date: Mon, Mar 3, 2025 at 10:15 AM\nSubject: Pricing for 200 seats\n"
            "To: Alice Admin <alice@acme.example>\n\n\nHi Alice,\n\nwe would like a quote.\n\nJane\n")
    send_mail(mail(alice.email, alice.bcc_address, "Fwd: Pricing for 200 seats", "fwd1@acme.example", text=text),
              [alice.bcc_address], alice.email)
    inbox = web.get("/inbox").get_data(as_text=True)
    assert "Jane Cooper" in inbox
    thread_id = re.search(r"/inbox/threads/(\d+)", inbox).group(1)
    html = web.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    assert "<strong>Jane Cooper</strong>" in html
    assert "Forwarded by Alice Admin" in html


def test_delete_message_removes_it_everywhere(web, alice, thread_of):
    thread_id = thread_of(alice, "To be deleted")
    page = web.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    message_id = re.search(r"/inbox/messages/(\d+)/delete", page).group(1)
    response = web.post(f"/inbox/messages/{message_id}/delete", data={"csrf_token": web.csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox"
    assert "To be deleted" not in web.get("/inbox").get_data(as_text=True)
    person_id = re.search(r'href="/persons/(\d+)"', page).group(1)
    assert "To be deleted" not in web.get(f"/persons/{person_id}").get_data(as_text=True)


def test_images_hidden_until_asked(web, alice, thread_of):
    thread_id = thread_of(alice, "Newsletter", html='<p>Hi</p><img src="https://img.example/a.png">')
    html = web.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    assert "1 image from the web is hidden" in html
    body_url = re.search(r'src="(/inbox/messages/\d+/body)"', html).group(1)
    assert "img.example" not in web.get(body_url).get_data(as_text=True)
    shown = web.get(f"/inbox/threads/{thread_id}?images=1").get_data(as_text=True)
    assert f'src="{body_url}?images=1"' in shown
    assert 'src="https://img.example/a.png"' in web.get(body_url + "?images=1").get_data(as_text=True)


def test_list_pages_search(app, web, alice):
    _api(app, alice, "post", "/api/v1/deals", json={"title": "Alpha deal"})
    _api(app, alice, "post", "/api/v1/deals", json={"title": "Beta deal", "status": "won"})
    _api(app, alice, "post", "/api/v1/persons", json={"name": "Zed", "emails": [{"email": "zed@z.example"}]})
    html = web.get("/deals?q=alpha").get_data(as_text=True)
    assert "Alpha deal" in html and "Beta deal" not in html
    assert "Alpha deal" not in web.get("/deals?status=won").get_data(as_text=True)
    assert "Zed" in web.get("/persons?q=zed%40z").get_data(as_text=True)


def test_a_search_with_more_pages_than_shown_pages_without_a_count(web, alice, thread_of, monkeypatch):
    """A search does not count every match first: it says which page it is and whether older
    ones follow; the last page, whose number is known, says how many there were."""
    monkeypatch.setattr("backend.web.format.PAGE_SIZE", 2)
    for n in range(5):
        thread_of(alice, f"Quarterly review {n}")
    thread_of(alice, "Something else")
    first = web.get("/inbox?q=quarterly").get_data(as_text=True)
    assert "Conversations matching “quarterly”" in first and "Page 1<" in first and 'rel="next"' in first
    assert "Quarterly review 4" in first and "Quarterly review 3" in first and "Quarterly review 2" not in first
    last = web.get("/inbox?q=quarterly&page=3").get_data(as_text=True)
    assert "5 conversations matching" in last and "Page 3 of 3" in last and 'rel="next"' not in last
    assert "Quarterly review 0" in last and 'rel="prev"' in last
    plain = web.get("/inbox").get_data(as_text=True)
    assert "6 conversations" in plain and "Page 1 of 3" in plain


def test_thread_lists_take_the_same_queries_for_three_threads_or_twelve(app, web, alice, bert, thread_of,
                                                                        sql_statements):
    person = _api(app, alice, "post", "/api/v1/persons", json={"name": "Bob Buyer",
                                                               "emails": [{"email": "bob@customer.example"}]})
    deal = _api(app, alice, "post", "/api/v1/deals", json={"title": "Big order", "person_id": person["id"]})

    def count(url):
        sql_statements.clear()
        assert web.get(url).status_code == 200
        return len(sql_statements)

    for n in range(3):
        thread_of(alice, f"Order {n}", rcpt=deal["bcc_address"])
    few = {url: count(url) for url in ("/inbox", f"/deals/{deal['id']}", f"/persons/{person['id']}", "/")}
    for n in range(3, 12):
        thread_of(alice if n % 2 else bert, f"Order {n}", rcpt=deal["bcc_address"] if n % 2 else None)
    many = {url: count(url) for url in few}
    assert many == few, (few, many)


def test_a_busy_deal_page_pages_its_conversations_and_counts_them_all(app, web, alice, thread_of, monkeypatch):
    monkeypatch.setattr("backend.web.items.PAGE_SIZE", 2)
    deal = _api(app, alice, "post", "/api/v1/deals", json={"title": "Busy deal"})
    for n in range(5):
        thread_of(alice, f"Round {n}", rcpt=deal["bcc_address"])
    first = web.get(f"/deals/{deal['id']}").get_data(as_text=True)
    assert "Conversations (5)" in first and "Page 1 of 3" in first
    assert "Round 4" in first and "Round 3" in first and "Round 2" not in first
    last = web.get(f"/deals/{deal['id']}?page=3").get_data(as_text=True)
    assert "Conversations (5)" in last and "Round 0" in last and "Round 4" not in last and 'rel="next"' not in last
