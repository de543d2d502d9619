"""POST /api/v1/inbound/mime: raw bytes from a webhook or relay, with the same checks and the same
words as the SMTP receiver."""
from __future__ import annotations

import io

import pytest

from backend.config import MAX_MESSAGE_BYTES

from .conftest import make_mail, sha256

URL = "/api/v1/inbound/mime"


def post_raw(client, raw: bytes, recipient: str | None, secret: str | None, *,
             content_type: str = "message/rfc822", headers: dict | None = None, sender: str | None = None):
    query = {}
    if recipient is not None:
        query["recipient"] = recipient
    if sender is not None:
        query["sender"] = sender
    all_headers = {"Authorization": f"Bearer {secret}"} if secret is not None else {}
    all_headers.update(headers or {})
    return client.post(URL, query_string=query, data=raw, content_type=content_type, headers=all_headers)


def error_body(response, status: int) -> dict:
    """The API's one error shape: {"success": false, "error": ..., "errors": {...}}."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"success", "error", "errors"}, body
    assert body["success"] is False
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["errors"], dict)
    assert "Traceback" not in body["error"]
    return body


def smtp_sentence(transact, mail_from, rcpt, raw, *, at: str, mail_options=()) -> tuple[int, str, str]:
    """The SMTP reply for the same case, from the real receiver."""
    result = transact(mail_from, [rcpt], raw, mail_options=mail_options)
    return {"mail": result.mail, "rcpt": result.rcpts[0] if result.rcpts else None, "data": result.data}[at]


def nothing_stored(stored) -> None:
    now = stored()
    assert (now.records, now.messages, now.blobs) == (0, 0, 0), now


# --- success ------------------------------------------------------------------------------------


def test_raw_rfc822_is_accepted_with_201_and_appears_in_mailbox(client, acme, records, blob_bytes, threads,
                                                               thread_messages):
    raw = make_mail(f"Alice <{acme.email}>", "Via webhook", "webhook@acme.example")
    response = post_raw(client, raw, acme.bcc_address, acme.inbound_secret)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["success"] is True
    (record,) = records()
    assert body["data"]["inbound_ids"] == [record.id]
    assert record.source == "http"
    assert record.status == "processed", record.error
    assert blob_bytes(record.raw_sha256) == raw and record.raw_sha256 == sha256(raw)
    (thread,) = threads(acme)
    assert thread["subject"] == "Via webhook"
    (message,) = thread_messages(acme, thread["id"])
    assert "Hello Bob" in message["body_text"]


def test_raw_to_deal_address_links_the_deal(client, acme, make_deal, threads):
    deal = make_deal(acme, "Webhook deal")
    raw = make_mail(acme.email, "For the deal", "deal-http@acme.example")
    assert post_raw(client, raw, deal["bcc_address"], acme.inbound_secret).status_code == 201
    (thread,) = threads(acme)
    assert ("deal", deal["id"]) in {(lk["item_type"], lk["item_id"]) for lk in thread["links"]}


def test_sender_parameter_is_the_envelope_and_mismatch_is_recorded(client, acme, records):
    raw = make_mail(acme.email, "With sender", "sender-http@acme.example")
    response = post_raw(client, raw, acme.bcc_address, acme.inbound_secret, sender="bounce@relay.example")
    assert response.status_code == 201
    (record,) = records()
    assert record.envelope_from == "bounce@relay.example"
    assert record.decisions[0]["envelope_mismatch"] == "bounce@relay.example"


@pytest.mark.parametrize("as_file", [True, False], ids=["file", "field"])
def test_multipart_form_mime_and_recipient_is_accepted(client, acme, records, blob_bytes, threads, as_file):
    raw = make_mail(acme.email, "Via form", "form@acme.example")
    mime = (io.BytesIO(raw), "message.eml") if as_file else raw.decode()
    response = client.post(URL, data={"mime": mime, "recipient": acme.bcc_address},
                           content_type="multipart/form-data", headers={"Authorization": f"Bearer {acme.inbound_secret}"})
    assert response.status_code == 201, response.get_json()
    (record,) = records()
    assert response.get_json()["data"]["inbound_ids"] == [record.id]
    assert blob_bytes(record.raw_sha256) == raw
    assert [t["subject"] for t in threads(acme)] == ["Via form"]


def test_secret_in_x_smartbcc_header_is_accepted(client, acme):
    raw = make_mail(acme.email, "Header secret", "hdr@acme.example")
    response = post_raw(client, raw, acme.bcc_address, None,
                        headers={"X-SmartBcc-Inbound-Secret": acme.inbound_secret})
    assert response.status_code == 201, response.get_json()


def test_same_message_posted_twice_is_one_message_two_records(client, acme, records, stored):
    raw = make_mail(acme.email, "Posted twice", "twice-http@acme.example")
    assert post_raw(client, raw, acme.bcc_address, acme.inbound_secret).status_code == 201
    assert post_raw(client, raw, acme.bcc_address, acme.inbound_secret).status_code == 201
    assert [r.status for r in records()] == ["processed", "duplicate"]
    assert stored().messages == 1


# --- 401 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer sbci_wrong-secret"},
    {"Authorization": "Bearer "},
    {"X-SmartBcc-Inbound-Secret": "sbci_wrong-secret"},
], ids=["missing", "wrong", "empty", "wrong-x-header"])
def test_missing_or_wrong_secret_gets_401(client, acme, stored, headers):
    raw = make_mail(acme.email, "No secret", "nosecret@acme.example")
    response = client.post(URL, query_string={"recipient": acme.bcc_address}, data=raw,
                           content_type="message/rfc822", headers=headers)
    body = error_body(response, 401)
    assert "inbound secret" in body["error"] and "Authorization: Bearer" in body["error"]
    nothing_stored(stored)


def test_user_api_token_or_other_scheme_is_not_an_inbound_secret(client, acme, stored):
    raw = make_mail(acme.email)
    error_body(post_raw(client, raw, acme.bcc_address, acme.token), 401)
    response = client.post(URL, query_string={"recipient": acme.bcc_address}, data=raw,
                           content_type="message/rfc822", headers={"Authorization": f"Basic {acme.inbound_secret}"})
    error_body(response, 401)
    nothing_stored(stored)


# --- 404: recipient -----------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["nobody@bcc.test", "acme+dabcdefghijklmnop@bcc.test", "acme@other.example"])
def test_unknown_recipient_gets_404_with_smtp_511_sentence(client, transact, acme, stored, address):
    raw = make_mail(acme.email, "Lost", "lost@acme.example")
    body = error_body(post_raw(client, raw, address, acme.inbound_secret), 404)
    code, status, sentence = smtp_sentence(transact, acme.email, address, raw, at="rcpt")
    assert (code, status) == (550, "5.1.1")
    assert body["error"] == sentence
    assert body["errors"]["recipient"] == [sentence]
    nothing_stored(stored)


def test_another_companys_secret_for_acme_address_gets_404_with_smtp_511_sentence(
        client, transact, acme, globex, stored):
    """Globex's valid secret does not reach acme's address: it is as unknown to it as a made-up one."""
    raw = make_mail(globex.email, "Wrong company", "wrongco@globex.example")
    body = error_body(post_raw(client, raw, acme.bcc_address, globex.inbound_secret), 404)
    # Over SMTP the same address is acme's own, so take the wording of an unknown one of the same form.
    code, status, sentence = smtp_sentence(transact, acme.email, "acme@other.example", raw, at="rcpt")
    assert body["error"] == sentence.replace("acme@other.example", acme.bcc_address)
    assert "is not a Smart Bcc address" in body["error"]
    nothing_stored(stored)


def test_acme_secret_for_globex_address_gets_404(client, acme, globex, stored):
    raw = make_mail(acme.email, "Wrong company", "wrongco2@acme.example")
    body = error_body(post_raw(client, raw, globex.bcc_address, acme.inbound_secret), 404)
    assert f"<{globex.bcc_address}> is not a Smart Bcc address" in body["error"]
    nothing_stored(stored)


# --- 403: sender --------------------------------------------------------------------------------


def test_sender_not_accepted_gets_403_with_smtp_571_sentence(client, transact, acme, stored):
    raw = make_mail("Eve <eve@stranger.example>", "Hi", "eve-http@stranger.example")
    body = error_body(post_raw(client, raw, acme.bcc_address, acme.inbound_secret), 403)
    code, status, sentence = smtp_sentence(transact, "eve@stranger.example", acme.bcc_address, raw, at="data")
    assert (code, status) == (550, "5.7.1")
    assert body["error"] == sentence
    assert "<eve@stranger.example>" in body["error"]
    assert "Settings > Smart Bcc > accepted addresses" in body["error"]
    nothing_stored(stored)


def test_unverified_alternative_address_gets_403(client, acme, add_sender_address, stored):
    add_sender_address(acme, "alice@home.example", verified=False)
    raw = make_mail("alice@home.example", "Pending", "pending-http@home.example")
    body = error_body(post_raw(client, raw, acme.bcc_address, acme.inbound_secret), 403)
    assert "<alice@home.example>" in body["error"]
    nothing_stored(stored)


def test_other_company_user_as_sender_gets_403(client, acme, globex, stored):
    raw = make_mail(globex.email, "Cross", "cross-http@globex.example")
    body = error_body(post_raw(client, raw, acme.bcc_address, acme.inbound_secret), 403)
    assert f"<{globex.email}>" in body["error"]
    nothing_stored(stored)


def test_verified_alternative_address_is_accepted_into_that_users_mailbox(
        client, acme, make_account, add_sender_address, records, threads):
    bob = make_account("acme.example", "bob@acme.example", admin=False)
    add_sender_address(bob, "bob@home.example", verified=True)
    raw = make_mail("bob@home.example", "Bob from home", "bobhome-http@home.example")
    assert post_raw(client, raw, acme.bcc_address, acme.inbound_secret).status_code == 201
    (record,) = records()
    assert record.user_id == bob.user_id
    (thread,) = threads(bob)
    assert thread["owner_id"] == bob.user_id


# --- 413: size ----------------------------------------------------------------------------------


def _smtp_too_large_sentence(transact, acme) -> str:
    code, status, sentence = smtp_sentence(transact, acme.email, acme.bcc_address, None, at="mail",
                                           mail_options=["SIZE=30000000"])
    assert (code, status) == (552, "5.3.4")
    return sentence


def _big(acme, size: int) -> bytes:
    head = make_mail(acme.email, "Big", "big-http@acme.example", body="")
    return head + b"x" * (size - len(head))


def test_over_limit_within_flask_content_length_gets_413_with_smtp_534_sentence(
        client, app, transact, acme, stored):
    """Between 20 MB and Flask's MAX_CONTENT_LENGTH: refused by the acceptance check."""
    raw = _big(acme, MAX_MESSAGE_BYTES + 1)
    assert len(raw) < app.config["MAX_CONTENT_LENGTH"]
    body = error_body(post_raw(client, raw, acme.bcc_address, acme.inbound_secret), 413)
    assert body["error"] == _smtp_too_large_sentence(transact, acme)
    nothing_stored(stored)


def test_over_flask_max_content_length_gets_413_with_smtp_534_sentence(client, app, transact, acme, stored):
    """A 22 MB body: refused by Flask's MAX_CONTENT_LENGTH before it is read."""
    raw = _big(acme, 22 * 1024 * 1024)
    assert len(raw) > app.config["MAX_CONTENT_LENGTH"]
    body = error_body(post_raw(client, raw, acme.bcc_address, acme.inbound_secret), 413)
    assert body["error"] == _smtp_too_large_sentence(transact, acme)
    nothing_stored(stored)


def test_over_flask_max_content_length_as_multipart_gets_413_with_smtp_534_sentence(
        client, transact, acme, stored):
    raw = _big(acme, 22 * 1024 * 1024)
    response = client.post(URL, data={"mime": (io.BytesIO(raw), "big.eml"), "recipient": acme.bcc_address},
                           content_type="multipart/form-data",
                           headers={"Authorization": f"Bearer {acme.inbound_secret}"})
    body = error_body(response, 413)
    assert body["error"] == _smtp_too_large_sentence(transact, acme)
    nothing_stored(stored)


def test_message_at_limit_is_accepted(client, acme, records):
    raw = _big(acme, MAX_MESSAGE_BYTES)
    response = post_raw(client, raw, acme.bcc_address, acme.inbound_secret)
    assert response.status_code == 201, response.get_json()
    (record,) = records()
    assert record.raw_size == MAX_MESSAGE_BYTES


# --- 400 / 415 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"  \r\n"], ids=["empty", "blank"])
def test_empty_body_gets_400_with_mime_field_error(client, acme, stored, raw):
    body = error_body(post_raw(client, raw, acme.bcc_address, acme.inbound_secret), 400)
    assert list(body["errors"]) == ["mime"]
    nothing_stored(stored)


def test_missing_recipient_gets_400_with_recipient_field_error(client, acme, stored):
    raw = make_mail(acme.email)
    body = error_body(post_raw(client, raw, None, acme.inbound_secret), 400)
    assert list(body["errors"]) == ["recipient"]
    assert "recipient=" in body["errors"]["recipient"][0]
    body = error_body(post_raw(client, raw, "   ", acme.inbound_secret), 400)
    assert list(body["errors"]) == ["recipient"]
    nothing_stored(stored)


def test_empty_body_and_missing_recipient_get_both_field_errors(client, acme):
    body = error_body(post_raw(client, b"", None, acme.inbound_secret), 400)
    assert set(body["errors"]) == {"mime", "recipient"}


def test_multipart_without_mime_field_gets_400(client, acme, stored):
    response = client.post(URL, data={"recipient": acme.bcc_address}, content_type="multipart/form-data",
                           headers={"Authorization": f"Bearer {acme.inbound_secret}"})
    body = error_body(response, 400)
    assert list(body["errors"]) == ["mime"]
    nothing_stored(stored)


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded", "image/png"])
def test_wrong_content_type_gets_415(client, acme, stored, content_type):
    raw = make_mail(acme.email)
    body = error_body(post_raw(client, raw, acme.bcc_address, acme.inbound_secret, content_type=content_type), 415)
    assert "message/rfc822" in body["error"] and "multipart/form-data" in body["error"]
    nothing_stored(stored)


# --- 503: our failures --------------------------------------------------------------------------


def test_blob_store_failure_gets_503_with_retry_then_resend_stored_once(
        client, acme, break_blob_store, monkeypatch, stored, records):
    raw = make_mail(acme.email, "Disk full", "diskfull-http@acme.example")
    break_blob_store()
    body = error_body(post_raw(client, raw, acme.bcc_address, acme.inbound_secret), 503)
    assert "retry" in body["error"].lower() or "try again" in body["error"].lower()
    assert "No space" not in body["error"] and "OSError" not in body["error"]
    nothing_stored(stored)
    monkeypatch.undo()
    assert post_raw(client, raw, acme.bcc_address, acme.inbound_secret).status_code == 201
    assert [r.status for r in records()] == ["processed"]
    assert stored().messages == 1


def test_database_down_gets_503_with_retry_then_resend_stored_once(
        client, acme, break_database, monkeypatch, stored, records):
    raw = make_mail(acme.email, "DB down", "dbdown-http@acme.example")
    break_database()
    response = post_raw(client, raw, acme.bcc_address, acme.inbound_secret)
    body = error_body(response, 503)
    assert "retry" in body["error"].lower() or "try again" in body["error"].lower()
    monkeypatch.undo()
    nothing_stored(stored)
    assert post_raw(client, raw, acme.bcc_address, acme.inbound_secret).status_code == 201
    assert [r.status for r in records()] == ["processed"]
    assert stored().messages == 1


def test_pipeline_failure_after_acceptance_still_201_and_record_failed(client, acme, monkeypatch, records, services):
    from backend.pipeline import runner
    from backend.pipeline.parse import Parse

    def boom(self, ctx):
        raise RuntimeError("parser exploded (simulated)")

    raw = make_mail(acme.email, "Later", "later-http@acme.example")
    with monkeypatch.context() as mp:
        mp.setattr(Parse, "run", boom)
        assert post_raw(client, raw, acme.bcc_address, acme.inbound_secret).status_code == 201
    (record,) = records()
    assert record.status == "failed" and "stage parse failed" in record.error
    assert runner.retry_failed(services) == {record.id: "processed"}

