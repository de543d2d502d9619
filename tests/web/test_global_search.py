"""The global search: the header's search box on every page, its suggestions' JSON (/app-api/find)
grouped by kind, and the full results page /search that works without JavaScript. Conversations are
found by the inbox's search through the inbox rule: a colleague's private conversation never is,
another company's records never are."""
from __future__ import annotations

import html
import re

from .conftest import sign_in
from .test_inbox_filters import finding  # noqa: F401  (acme's mailbox, with a private thread of bert's)


def org_url(app, org_id: int) -> str:
    """An organisation's page where the app has one, else its conversations in the inbox."""
    if "web.organization_view" in app.view_functions:
        return f"/organizations/{org_id}"
    return f"/inbox?organization_id={org_id}"


def signed_in(app, account):
    client = app.test_client()
    sign_in(client, account.email)
    return client


def find(client, term: str) -> dict:
    response = client.get("/app-api/find", query_string={"q": term})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def groups(data) -> dict[str, list[tuple[str, str]]]:
    return {g["kind"]: [(i["title"], i["url"]) for i in g["items"]] for g in data["groups"]}


def test_suggestions_are_grouped_by_kind_with_links(app, finding, alice):
    client = signed_in(app, alice)
    found = groups(find(client, "bob"))
    assert list(found) == ["conversation", "person"]
    assert sorted(found["conversation"]) == sorted([
        ("Quote attached", f"/inbox/threads/{finding['attached']}"),
        ("Bert shared note", f"/inbox/threads/{finding['shared']}")])
    assert found["person"] == [("Bob Buyer", f"/persons/{finding['bob']}")]
    spring = groups(find(client, "spring"))
    assert spring == {"deal": [("Spring renewal", f"/deals/{finding['deal']}")],
                      "lead": [("Spring fair lead", f"/leads/{finding['lead']}")]}
    customer = find(client, "customer")
    assert groups(customer)["organization"] == [("Customer Corp", org_url(app, finding["org"]))]
    assert groups(customer)["person"] == [("Bob Buyer", f"/persons/{finding['bob']}")]  # by address
    assert customer["all_url"] == "/search?q=customer"
    assert customer["count"] == sum(len(g["items"]) for g in customer["groups"])


def test_the_last_word_is_completed_as_you_type(app, finding, alice):
    """The box finds "Quote attached" from "quo" and "quote att"; the inbox's own search keeps whole words."""
    client = signed_in(app, alice)
    quote = ("Quote attached", f"/inbox/threads/{finding['attached']}")
    assert groups(find(client, "quo")).get("conversation") == [quote]
    assert groups(find(client, "quote att")).get("conversation") == [quote]
    assert "conversation" not in groups(find(client, "quox"))
    assert "conversation" not in groups(find(client, '"quo"'))  # a quoted word is a whole word
    inbox = client.get("/inbox", query_string={"q": "quo"})
    assert inbox.status_code == 200 and "Quote attached" not in inbox.get_data(as_text=True)


def test_short_and_unreadable_terms(app, finding, alice):
    client = signed_in(app, alice)
    assert find(client, "b")["groups"] == []
    assert find(client, "  ")["groups"] == []
    unclosed = find(client, '"spring')
    # The conversation search says why it cannot read the term; the records are still found.
    assert "A quote is not closed" in unclosed["problem"]
    assert list(groups(unclosed)) == ["deal", "lead"]
    assert find(client, "x" * 500)["term"] == "x" * 200


def test_suggestions_need_a_session(app, finding):
    response = app.test_client().get("/app-api/find?q=bob")
    assert response.status_code == 401 and response.get_json()["success"] is False


def test_a_colleagues_private_conversation_is_never_found(app, finding, alice, bert):
    alice_client, bert_client = signed_in(app, alice), signed_in(app, bert)
    for term in ("private", "Bert private note", "note", '"private note"', "from:bert@acme.example"):
        found = groups(find(alice_client, term))
        assert all("private" not in title for title, _url in found.get("conversation", [])), term
        page = alice_client.get("/search", query_string={"q": term}).get_data(as_text=True)
        assert f'/inbox/threads/{finding["private"]}"' not in page and "About Bert private" not in page, term
    # Its owner finds it; the shared one is found by both.
    assert ("Bert private note", f"/inbox/threads/{finding['private']}") in groups(find(bert_client, "private"))[
        "conversation"]
    assert [t for t, _u in groups(find(alice_client, "note"))["conversation"]] == ["Bert shared note"]


def test_another_companys_records_are_never_found(app, finding, make_account):
    gary = make_account("globex.example", "gary2@globex.example", name="Gary Two", password="correct horse battery")
    client = signed_in(app, gary)
    for term in ("bob", "spring", "customer", "quote", "note", "Buyer"):
        assert find(client, term)["groups"] == [], term
        page = client.get("/search", query_string={"q": term}).get_data(as_text=True)
        assert "Bob Buyer" not in page and "Spring" not in page and "Customer Corp" not in page, term
    assert groups(find(client, "foreign")) == {"person": [("Foreign Person", f"/persons/{finding['foreign_person']}")]}


def test_the_results_page_works_without_javascript(app, finding, alice):
    client = signed_in(app, alice)
    page = client.get("/search?q=bob")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    sections = re.findall(r'<h2 id="results-(\w+)">([^<]+)</h2>', text)
    assert sections == [("conversation", "Conversations"), ("person", "Persons")]
    assert f'href="/inbox/threads/{finding["attached"]}">Quote attached</a>' in text
    assert f'href="/persons/{finding["bob"]}">Bob Buyer</a>' in text
    # A person's conversations: the inbox filtered by them.
    also = html.unescape(re.search(r'class="search-also" href="([^"]+)"', text).group(1))
    assert also == f"/inbox?person_id={finding['bob']}"
    assert "Quote attached" in client.get(also).get_data(as_text=True)
    assert 'value="bob"' in text  # the search box keeps the term
    empty = client.get("/search").get_data(as_text=True)
    assert "Type a name, a title, an address or words from a mail." in empty
    nothing = client.get("/search?q=zzzqqq").get_data(as_text=True)
    assert "Nothing matches “zzzqqq”." in nothing
    problem = client.get('/search?q=%22spring').get_data(as_text=True)
    assert 'role="alert">Conversations: A quote is not closed' in problem and "Spring renewal" in problem


def test_the_header_search_box_is_on_every_page_and_the_results_page_needs_a_session(app, finding, alice):
    client = signed_in(app, alice)
    for path in ("/", "/inbox", "/deals", "/settings/account"):
        text = client.get(path).get_data(as_text=True)
        assert re.search(r'<form class="finder" method="get" action="/search" role="search"', text), path
        assert 'data-suggest="/app-api/find"' in text and "js/app/finder.js" in text
    signed_out = app.test_client().get("/search?q=bob")
    assert signed_out.status_code == 302 and "/sign-in" in signed_out.headers["Location"]
