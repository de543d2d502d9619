"""POST /api/v1/addin/resolve: which address a draft gets, its candidates, what to replace, isolation, CORS."""
from __future__ import annotations

import pytest

from tests.addins.conftest import BASE_URL, bearer

URL = "/api/v1/addin/resolve"


@pytest.fixture
def post(client, acme):
    def _post(body: dict, account=None, **kwargs):
        return client.post(URL, json=body, headers=(account or acme).auth, **kwargs)
    return _post


def data_of(response) -> dict:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["success"] is True
    return body["data"]


def test_unknown_recipients_get_the_company_address(post, acme):
    data = data_of(post({"to": ["nobody@nowhere.example"], "cc": [], "bcc": []}))
    assert data["address"] == acme.bcc_address
    assert data["company_address"] == acme.bcc_address
    assert data["reason_code"] == "no-known-recipients"
    assert data["item"] is None
    assert data["candidates"] == {"deals": [], "leads": []}
    assert data["replace"] == []


def test_empty_draft_is_fine(post, acme):
    data = data_of(post({}))
    assert data["address"] == acme.bcc_address


def test_exactly_one_open_deal_among_the_recipients_contacts(post, acme, crm):
    pat = crm.person(acme.company_id, "Pat Customer", "pat@customer.example")
    crm.person(acme.company_id, "Sam Customer", "sam@customer.example")
    deal_id, deal_address = crm.deal(acme.company_id, pat, "Big order")
    data = data_of(post({"to": ["Pat Customer <PAT@Customer.example>"], "cc": ["sam@customer.example"]}))
    assert data["address"] == deal_address
    assert data["reason_code"] == "only-open-deal"
    assert data["item"] == {"item_type": "deal", "id": deal_id, "title": "Big order", "person_name": "Pat Customer"}
    assert data["candidates"]["deals"] == [{"item_type": "deal", "id": deal_id, "title": "Big order",
                                            "person_name": "Pat Customer", "bcc_address": deal_address}]


def test_two_open_deals_give_the_company_address_and_both_candidates(post, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    sam = crm.person(acme.company_id, "Sam", "sam@customer.example")
    first, first_address = crm.deal(acme.company_id, pat, "Renewal")
    second, second_address = crm.deal(acme.company_id, sam, "Upsell")
    data = data_of(post({"to": ["sam@customer.example"], "cc": ["pat@customer.example"]}))
    assert data["address"] == acme.bcc_address
    assert data["reason_code"] == "several-open-deals"
    assert data["item"] is None
    # The To person's deal first, then the Cc person's.
    assert [(d["id"], d["bcc_address"]) for d in data["candidates"]["deals"]] == [
        (second, second_address), (first, first_address)]


def test_two_open_deals_of_one_person(post, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    crm.deal(acme.company_id, pat, "One")
    crm.deal(acme.company_id, pat, "Two")
    data = data_of(post({"to": ["pat@customer.example"]}))
    assert data["address"] == acme.bcc_address
    assert len(data["candidates"]["deals"]) == 2


def test_won_and_lost_deals_are_ignored(post, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    crm.deal(acme.company_id, pat, "Old win", status="won")
    crm.deal(acme.company_id, pat, "Old loss", status="lost")
    data = data_of(post({"to": ["pat@customer.example"]}))
    assert data["address"] == acme.bcc_address
    assert data["reason_code"] == "no-open-deal"
    assert data["candidates"]["deals"] == []
    open_id, open_address = crm.deal(acme.company_id, pat, "Current")
    data = data_of(post({"to": ["pat@customer.example"]}))
    assert data["address"] == open_address
    assert [d["id"] for d in data["candidates"]["deals"]] == [open_id]


def test_leads_are_candidates_but_never_chosen_automatically(post, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    lead_id, lead_address = crm.lead(acme.company_id, pat, "Website lead")
    data = data_of(post({"to": ["pat@customer.example"]}))
    assert data["address"] == acme.bcc_address
    assert data["candidates"]["leads"] == [{"item_type": "lead", "id": lead_id, "title": "Website lead",
                                            "person_name": "Pat", "bcc_address": lead_address}]


def test_a_chosen_deal_or_lead_wins(post, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    crm.deal(acme.company_id, pat, "Only open deal")
    other_id, other_address = crm.deal(acme.company_id, None, "Unrelated deal")
    lead_id, lead_address = crm.lead(acme.company_id, pat, "A lead")
    data = data_of(post({"to": ["pat@customer.example"], "item": {"item_type": "deal", "item_id": other_id}}))
    assert data["address"] == other_address
    assert data["reason_code"] == "chosen"
    assert data["item"] == {"item_type": "deal", "id": other_id, "title": "Unrelated deal", "person_name": None}
    data = data_of(post({"to": ["pat@customer.example"], "item": {"item_type": "lead", "item_id": lead_id}}))
    assert data["address"] == lead_address
    assert data["item"]["person_name"] == "Pat"


def test_none_chosen_means_the_company_address(post, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    crm.deal(acme.company_id, pat, "Only open deal")
    data = data_of(post({"to": ["pat@customer.example"], "item": "none"}))
    assert data["address"] == acme.bcc_address
    assert data["reason_code"] == "none-chosen"
    assert len(data["candidates"]["deals"]) == 1


def test_a_chosen_item_of_another_company_is_not_found(post, acme, globex, crm):
    theirs, _ = crm.deal(globex.company_id, None, "Globex secret")
    response = post({"to": [], "item": {"item_type": "deal", "item_id": theirs}})
    assert response.status_code == 404
    assert "Globex" not in response.get_data(as_text=True)
    assert post({"item": {"item_type": "lead", "item_id": 987654321}}).status_code == 404


def test_another_companys_contacts_are_never_visible(post, acme, globex, crm):
    theirs = crm.person(globex.company_id, "Pat at Globex", "pat@customer.example")
    crm.deal(globex.company_id, theirs, "Globex deal")
    crm.lead(globex.company_id, theirs, "Globex lead")
    data = data_of(post({"to": ["pat@customer.example"]}))
    assert data["address"] == acme.bcc_address
    assert data["reason_code"] == "no-known-recipients"
    assert data["candidates"] == {"deals": [], "leads": []}
    # And the other way round: Globex sees only its own.
    data = data_of(post({"to": ["pat@customer.example"]}, account=globex))
    assert data["company_address"] == globex.bcc_address
    assert data["address"].startswith("globex+d")
    assert [d["title"] for d in data["candidates"]["deals"]] == ["Globex deal"]


def test_old_smart_bcc_addresses_in_bcc_are_listed_for_replacement(post, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    _old, old_address = crm.deal(acme.company_id, None, "Some other deal")
    _new, new_address = crm.deal(acme.company_id, pat, "The deal")
    data = data_of(post({"to": ["pat@customer.example"],
                         "bcc": ["boss@acme.example", old_address.upper(), acme.bcc_address, new_address]}))
    assert data["address"] == new_address
    # The user's own Bcc stays; the address already right is not "replaced".
    assert data["replace"] == [old_address, acme.bcc_address]


def test_bcc_recipients_are_not_contacts_as_in_the_arrived_copy(post, acme, crm):
    """A sent mail's Bcc recipients are not in the copy the pipeline links, so resolve does not
    count them either (tests/linking/test_resolve_parity.py)."""
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    crm.deal(acme.company_id, pat, "Quiet deal")
    data = data_of(post({"to": [], "bcc": ["pat@customer.example"]}))
    assert data["address"] == acme.bcc_address and data["reason_code"] == "no-known-recipients"
    data = data_of(post({"to": [], "cc": ["pat@customer.example"]}))
    assert data["reason_code"] == "only-open-deal"


@pytest.mark.parametrize("body, field", [
    ({"to": "pat@customer.example"}, "to"),
    ({"cc": [1, 2]}, "cc"),
    ({"bcc": ["x@y.example"] * 501}, "bcc"),
    ({"item": {"item_type": "project", "item_id": 1}}, "item.item_type"),
    ({"item": {"item_type": "deal", "item_id": "7"}}, "item.item_id"),
    ({"item": {"item_type": "deal", "item_id": True}}, "item.item_id"),
    ({"item": 7}, "item"),
])
def test_invalid_requests_are_400_with_the_field(post, body, field):
    response = post(body)
    assert response.status_code == 400
    assert field in response.get_json()["errors"]


def test_a_non_json_body_is_400(client, acme):
    response = client.post(URL, data="to=x", headers=acme.auth)
    assert response.status_code == 400


def test_members_may_resolve(post, make_account):
    member = make_account("acme.example", "bob@acme.example", admin=False)
    assert post({}, account=member).status_code == 200


def test_no_token_and_a_bad_api_token_are_401_with_a_message(client):
    response = client.post(URL, json={})
    assert response.status_code == 401
    assert "sign in" in response.get_json()["error"].lower()
    response = client.post(URL, json={}, headers=bearer("sbc_not-a-real-token"))
    assert response.status_code == 401
    assert "API token is not valid" in response.get_json()["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_resolve_takes_a_handful_of_queries_whatever_the_recipients(client, acme, crm, sql_statements):
    for n in range(30):
        person = crm.person(acme.company_id, f"Person {n}", f"p{n}@customer.example")
        crm.deal(acme.company_id, person, f"Deal {n}")
        crm.lead(acme.company_id, person, f"Lead {n}")
    sql_statements.clear()
    response = client.post(URL, headers=acme.auth, json={
        "to": [f"p{n}@customer.example" for n in range(20)], "cc": [f"p{n}@customer.example" for n in range(20, 30)],
        "bcc": ["unknown@else.example"]})
    statements = list(sql_statements)
    data = data_of(response)
    assert len(data["candidates"]["deals"]) == 30 and len(data["candidates"]["leads"]) == 30
    # user by token, company, persons, deals+leads (SQLite adds no extra round trips); 30 open
    # deals are ranked (backend/domain/dealrank.py): their evidence adds a fixed number.
    assert len(statements) <= 7, statements


# ---- CORS and the files Outlook fetches

def test_preflight_from_the_add_in_origin_allows_authorization(client):
    response = client.options(URL, headers={"Origin": BASE_URL, "Access-Control-Request-Method": "POST",
                                            "Access-Control-Request-Headers": "authorization, content-type"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == BASE_URL
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Origin" in response.headers["Vary"]


@pytest.mark.parametrize("origin", ["https://outlook.office.com", "https://outlook.office365.com",
                                    "https://outlook.live.com"])
def test_outlook_origins_are_reflected(client, origin):
    response = client.options(URL, headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert response.headers["Access-Control-Allow-Origin"] == origin


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "https://crm.example.evil.test",
                                    "http://crm.example"])
def test_other_origins_get_no_cors_headers(client, acme, origin):
    response = client.options(URL, headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in response.headers
    response = client.post(URL, json={}, headers={**acme.auth, "Origin": origin})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_errors_carry_cors_headers_so_the_pane_can_read_them(client):
    response = client.post(URL, json={}, headers={"Origin": BASE_URL})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == BASE_URL
    assert "credentials" not in " ".join(response.headers.keys()).lower()


def test_well_known_file_lists_the_handler_script(client):
    response = client.get("/.well-known/microsoft-officeaddins-allowed.json")
    assert response.status_code == 200
    assert response.get_json() == {"allowed": [f"{BASE_URL}/addin/commands.js"]}


def test_the_handler_script_is_served_with_its_settings(client, settings):
    response = client.get("/addin/commands.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    text = response.get_data(as_text=True)
    assert text.startswith(f'var SMARTBCC_BASE_URL = "{BASE_URL}";\nvar SMARTBCC_MS_CLIENT_ID = "{settings.ms_client_id}";\n')
    assert 'Office.actions' in text or 'o.actions.associate' in text
    config = client.get("/addin/config.js").get_data(as_text=True)
    assert config == text[:len(config)]


def test_resolve_and_the_downloads_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/addin/resolve"]["post"]
    assert "requestBody" in operation
    schema_name = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(spec["components"]["schemas"][schema_name]["properties"]) == {"to", "cc", "bcc", "item", "subject", "body",
                                                                                 "privacy"}
    assert "get" in spec["paths"]["/addin/manifests/outlook.xml"]
