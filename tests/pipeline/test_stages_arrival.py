"""The first stages, one at a time on a built context: parse, route, authorize, unwrap forward, dedupe.

Each test checks what the stage changed and the decision it recorded (outcome and reason)."""
from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from backend.models import MailMessage, ThreadLink
from backend.pipeline.authorize import PipelineError
from backend.pipeline.context import StopPipeline

from .stagekit import assert_readable, kit_fixture, mail  # noqa: F401

ALICE = "alice@acme.example"
JANE = "Jane Cooper <jane@customer.example>"

BOUNCE = (b"From: MAILER-DAEMON@mx.example\r\nTo: alice@acme.example\r\n"
          b"Subject: Undelivered Mail Returned to Sender\r\n"
          b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
          b"--b\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n"
          b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n--b--\r\n")

INLINE_FORWARD = """see below

---------- Forwarded message ---------
From: Bob Buyer <bob@cust.example>
Date: Mon, Mar 3, 2025 at 11:15 AM
Subject: Re: Quote
To: alice@acme.example

Looks good, we sign.
"""


def test_the_reason_check_catches_ids_codes_and_stage_keys():
    for reason in ("Linked to deal 12.", "Joined thread #4.", "Rule only-open-deal hit.",
                   "unwrap_forward: skipped.", "Set person_id."):
        with pytest.raises(AssertionError):
            assert_readable({"reason": reason})
    assert_readable({"reason": "From bob_smith@cust.example, Bob's deal 'Q3 2025'."}, "Bob")


# --- parse -------------------------------------------------------------------------------------

def test_parse_reads_the_stored_file_and_records_plain_parsed(kit):
    ctx, decision = kit.stage(mail(ALICE, JANE, "Pricing", "How much for 200 seats?"), "parse")
    assert ctx.parsed.subject == "Pricing" and ctx.parsed.sender.key == ALICE
    assert ctx.parsed.auto_kind is None
    assert [d["outcome"] for d in ctx.decisions] == ["parsed"]
    assert decision["reason"] == "Read the mail." and decision["defects"] == []


def test_parse_records_the_automatic_mail_rule_for_a_bounce(kit):
    ctx, decision = kit.stage(BOUNCE, "parse")
    assert ctx.parsed.auto_kind == "bounce"
    assert [d["outcome"] for d in ctx.decisions] == ["parsed", "automatic"]
    assert (decision["rule"], decision["kind"]) == ("bounce-report", "bounce")
    assert decision["reason"].startswith("This is an automatic mail (a delivery report)")
    assert_readable(decision)


def test_parse_scrubs_nul_characters_from_the_text(kit):
    ctx, _ = kit.stage(mail(ALICE, JANE, "Pri\x00cing", "a\x00b"), "parse")
    assert "\x00" not in ctx.parsed.subject and "\x00" not in ctx.parsed.text
    assert "a\ufffdb" in ctx.parsed.text


# --- route -------------------------------------------------------------------------------------

def test_route_company_address(kit):
    ctx, decision = kit.stage(mail(ALICE, JANE, "Hi"), "route")
    assert ctx.routes == [kit.route()]
    assert (decision["outcome"], decision["address"]) == ("company", kit.bcc)
    assert decision["reason"] == "Sent to the company's Smart Bcc address."


def test_route_deal_and_lead_addresses_name_the_item(kit):
    deal, lead = kit.deal("Big renewal"), kit.lead("Inbound webinar")
    ctx, _ = kit.stage(mail(ALICE, JANE, "Hi"), "route", routes=[kit.route(deal), kit.route(lead)])
    assert ctx.routes == [kit.route(deal), kit.route(lead)]
    by_kind = {d["outcome"]: d for d in ctx.decisions if d["stage"] == "route"}
    assert by_kind["deal"]["item_id"] == deal.id and by_kind["lead"]["item_id"] == lead.id
    assert by_kind["deal"]["reason"] == "Sent to the Smart Bcc address of deal 'Big renewal'."
    assert by_kind["lead"]["reason"] == "Sent to the Smart Bcc address of lead 'Inbound webinar'."
    assert_readable(by_kind["deal"], "Big renewal")


def test_route_deal_deleted_meanwhile_is_item_gone(kit):
    deal = kit.deal("Big renewal")
    route = kit.route(deal)
    kit.session.delete(deal)
    kit.session.flush()
    ctx, _ = kit.stage(mail(ALICE, JANE, "Hi"), "route", routes=[kit.route(), route])
    assert ctx.routes == [kit.route()]
    assert [d["outcome"] for d in ctx.decisions if d["stage"] == "route"] == ["company", "item-gone"]
    gone = ctx.decisions[-1]
    assert gone["address"] == route["address"] and "item_id" not in gone
    assert gone["reason"] == ("Sent to the Smart Bcc address of a deal that was deleted since: "
                              "the mail is logged without it.")
    assert_readable(gone)


def test_route_another_companys_deal_is_item_gone(kit):
    foreign = kit.deal("Their deal", company_id=kit.other_company())
    route = {"address": "x@bcc.test", "kind": "deal", "item_id": foreign.id}
    ctx, decision = kit.stage(mail(ALICE, JANE, "Hi"), "route", routes=[route])
    assert ctx.routes == [] and decision["outcome"] == "item-gone"
    assert "Their deal" not in decision["reason"]


# --- authorize ---------------------------------------------------------------------------------

def test_authorize_account_address(kit):
    ctx, decision = kit.stage(mail(ALICE, JANE, "Hi"), "authorize")
    assert ctx.user is kit.user and ctx.record.user_id == kit.user.id
    assert (decision["outcome"], decision["user_id"]) == ("owner", kit.user.id)
    assert decision["reason"] == ("From alice@acme.example, Alice Rep's account address: "
                                  "logged in their mailbox.")
    assert_readable(decision, "Alice Rep")


def test_authorize_verified_alternative_address(kit):
    kit.alternative("alice@home.example")
    ctx, decision = kit.stage(mail("Alice <alice@home.example>", JANE, "Hi"), "authorize")
    assert ctx.user is kit.user and decision["outcome"] == "owner"
    assert decision["reason"] == ("From alice@home.example, Alice Rep's verified alternative address: "
                                  "logged in their mailbox.")


def test_authorize_the_senders_user_wins_over_the_one_recorded(kit):
    bea = kit.colleague("bea@acme.example", "Bea Colleague")
    ctx, decision = kit.stage(mail("bea@acme.example", JANE, "Hi"), "authorize", user=kit.user)
    assert ctx.user is bea and ctx.record.user_id == bea.id
    assert "Bea Colleague's account address" in decision["reason"]


def test_authorize_fetched_customer_reply_is_the_mailbox_owners(kit):
    fetched = [{"stage": "intake", "outcome": "mailbox-reply", "reason": "a reply in a logged thread",
                "mailbox_owner_id": kit.user.id, "sender": "jane@customer.example"}]
    ctx, decision = kit.stage(mail(JANE, ALICE, "Re: Hi"), "authorize", decisions=fetched)
    assert ctx.user is kit.user and decision["outcome"] == "owner-mailbox"
    assert decision["reason"] == ("A customer's reply (jane@customer.example), fetched from "
                                  "Alice Rep's connected mailbox.")
    assert_readable(decision, "Alice Rep")


def test_authorize_an_unverified_address_keeps_the_owner_from_intake(kit):
    kit.alternative("alice@home.example", verified=False)
    ctx, decision = kit.stage(mail("alice@home.example", JANE, "Hi"), "authorize")
    assert ctx.user is kit.user and decision["outcome"] == "owner-from-intake"
    assert decision["reason"] == ("alice@home.example is no longer an accepted address; logged for Alice Rep, "
                                  "as decided when the mail arrived.")


def test_authorize_without_any_owner_fails(kit):
    ctx = kit.before(mail("stranger@else.example", JANE, "Hi"), "authorize", user=None)
    with pytest.raises(PipelineError, match="stranger@else.example"):
        kit.run(ctx, "authorize")
    assert ctx.user is None


# --- unwrap forward ----------------------------------------------------------------------------

def test_unwrap_not_a_forward_keeps_the_mail_as_sent(kit):
    ctx, decision = kit.stage(mail(ALICE, JANE, "Pricing"), "unwrap_forward")
    assert ctx.forwarded is None and ctx.view.sender.key == ALICE and ctx.view.forwarded_by is None
    assert decision["outcome"] == "not-forwarded"
    assert decision["reason"] == "Not a forward: logged as it was sent."


def test_unwrap_inline_forward_makes_the_customer_the_sender(kit):
    raw = mail(ALICE, kit.bcc, "Fwd: Quote", INLINE_FORWARD, date="Mon, 3 Mar 2025 12:00:00 +0000")
    ctx, decision = kit.stage(raw, "unwrap_forward")
    view = ctx.view
    assert ctx.forwarded.source == "inline"
    assert (view.sender.email, view.sender.name) == ("bob@cust.example", "Bob Buyer")
    assert view.forwarded_by.key == ALICE and [a.key for a in view.to] == [ALICE]
    assert view.subject == "Re: Quote" and "we sign" in view.text
    assert view.date == datetime(2025, 3, 3, 11, 15, tzinfo=UTC)
    # The rep's outer Message-ID is not the customer's mail.
    assert view.message_id is None and view.in_reply_to == [] and view.references == []
    assert ctx.parsed.sender.key == ALICE  # the parsed mail itself is left as it was
    assert (decision["outcome"], decision["original_sender"]) == ("forwarded", "bob@cust.example")
    assert decision["reason"] == ("Forwarded by alice@acme.example: logged as the mail of Bob Buyer "
                                  "(bob@cust.example), read from the forwarded text by email-forward-parser.")
    assert decision["engine"] == "email-forward-parser"
    assert_readable(decision, "Bob Buyer")


def test_unwrap_attached_forward_keeps_the_originals_ids(kit):
    inner = EmailMessage()
    inner["From"], inner["To"], inner["Subject"] = "Bob Buyer <bob@cust.example>", ALICE, "Re: Quote"
    inner["Message-ID"], inner["In-Reply-To"] = "<orig-1@cust.example>", "<quote-1@acme.example>"
    inner["Date"] = "Mon, 3 Mar 2025 11:15:00 +0000"
    inner.set_content("Looks good, we sign.")
    outer = EmailMessage()
    outer["From"], outer["To"], outer["Subject"] = ALICE, kit.bcc, "Fwd: Re: Quote"
    outer["Message-ID"], outer["Date"] = "<fwd-2@acme.example>", "Mon, 3 Mar 2025 12:00:00 +0000"
    outer.set_content("see attached")
    outer.add_attachment(inner)
    ctx, decision = kit.stage(bytes(outer), "unwrap_forward")
    assert ctx.forwarded.source == "attachment" and ctx.view.sender.key == "bob@cust.example"
    assert ctx.view.message_id == "orig-1@cust.example" and ctx.view.in_reply_to == ["quote-1@acme.example"]
    assert decision["reason"].endswith("read from the attached message.")


def test_unwrap_forward_of_the_reps_own_mail_is_left_alone(kit):
    body = INLINE_FORWARD.replace("Bob Buyer <bob@cust.example>", f"Alice Rep <{ALICE}>")
    ctx, decision = kit.stage(mail(ALICE, kit.bcc, "Fwd: Quote", body), "unwrap_forward")
    assert ctx.forwarded is None and ctx.view.forwarded_by is None and ctx.view.subject == "Fwd: Quote"
    assert (decision["outcome"], decision["reason"]) == (
        "own-mail", "A forward of the rep's own mail: logged as it was sent.")


def test_unwrap_skips_automatic_mail(kit):
    raw = mail(ALICE, kit.bcc, "Fwd: Quote", INLINE_FORWARD, extra="Auto-Submitted: auto-replied")
    ctx, decision = kit.stage(raw, "unwrap_forward")
    assert ctx.parsed.auto_kind == "auto-reply"
    assert ctx.forwarded is None and ctx.view.sender.key == ALICE
    assert (decision["outcome"], decision["reason"]) == (
        "skipped", "Automatic mail (auto-reply): not read as a forward.")


# --- dedupe ------------------------------------------------------------------------------------

def test_dedupe_first_copy_is_new(kit):
    ctx, decision = kit.stage(mail(ALICE, JANE, "Hi", msgid="first@acme.example"), "dedupe")
    assert ctx.dedupe_key == "mid:first@acme.example" and ctx.message is None
    assert (decision["outcome"], decision["key"]) == ("new", "mid:first@acme.example")
    assert decision["reason"] == "First copy of this mail."


def test_dedupe_without_message_id_keys_on_the_content(kit):
    ctx, _ = kit.stage(mail(ALICE, JANE, "Hi", msgid=None), "dedupe")
    assert ctx.dedupe_key.startswith("hash:")


def test_dedupe_second_copy_stops_and_adds_its_deal_address(kit):
    deal = kit.deal("Big renewal")
    raw = mail(ALICE, JANE, "Hi", msgid="both@acme.example")
    first = kit.process(raw)
    ctx = kit.before(raw, "dedupe", routes=[kit.route(deal)])
    with pytest.raises(StopPipeline):
        kit.run(ctx, "dedupe")
    decision = ctx.decisions[-1]
    assert ctx.message is first.message and ctx.record.message_id == first.message.id
    assert (decision["stage"], decision["outcome"], decision["message_id"]) == ("dedupe", "duplicate",
                                                                               first.message.id)
    assert decision["reason"] == ("Already logged: this is another copy of the same mail. Also linked to "
                                  "deal 'Big renewal', whose Smart Bcc address it was sent to.")
    assert_readable(decision, "Big renewal")
    kit.session.flush()
    link = kit.session.scalar(select(ThreadLink).where(ThreadLink.item_type == "deal"))
    assert (link.thread_id, link.item_id, link.origin, link.rule) == (first.thread.id, deal.id, "address",
                                                                       "item-address")
    assert kit.session.scalar(select(MailMessage.id).where(MailMessage.id != first.message.id)) is None


def test_dedupe_plain_second_copy_says_already_logged(kit):
    raw = mail(ALICE, JANE, "Hi", msgid="again@acme.example")
    kit.process(raw)
    ctx = kit.before(raw, "dedupe")
    with pytest.raises(StopPipeline):
        kit.run(ctx, "dedupe")
    assert ctx.decisions[-1]["reason"] == "Already logged: this is another copy of the same mail."


def test_dedupe_copy_of_a_deleted_message_is_not_logged_and_its_file_goes(kit):
    first = kit.process(mail(ALICE, JANE, "Hi", msgid="gone@acme.example"))
    first.message.deleted_at = datetime.now(UTC)
    kit.session.flush()
    copy = mail(ALICE, JANE, "Hi", msgid="gone@acme.example", extra="X-Copy: 2")
    ctx = kit.before(copy, "dedupe")
    with pytest.raises(StopPipeline):
        kit.run(ctx, "dedupe")
    decision = ctx.decisions[-1]
    assert (decision["stage"], decision["outcome"]) == ("dedupe", "duplicate-of-deleted")
    assert decision["reason"] == "Another copy of a mail that was deleted: it is not logged again."
    assert ctx.record.message_id == first.message.id
    assert not kit.services.blobs.exists(ctx.record.raw_sha256)
    assert kit.services.blobs.exists(first.record.raw_sha256)


def test_dedupe_the_same_inline_forward_twice_is_one_mail(kit):
    """Unwrap runs first: two forwards of one customer mail share the key of the original."""
    first = kit.process(mail(ALICE, kit.bcc, "Fwd: Quote", INLINE_FORWARD, msgid="fwd-a@acme.example"))
    ctx = kit.before(mail(ALICE, kit.bcc, "Fwd: Quote", "again\n\n" + INLINE_FORWARD, msgid="fwd-b@acme.example"),
                     "dedupe")
    assert ctx.forwarded is not None
    with pytest.raises(StopPipeline):
        kit.run(ctx, "dedupe")
    assert first.dedupe_key.startswith("fwd:") and ctx.dedupe_key == first.dedupe_key
    assert ctx.decisions[-1]["outcome"] == "duplicate"


def test_authorize_a_fetched_reply_without_a_from_address_names_no_none(kit):
    fetched = [{"stage": "intake", "outcome": "mailbox-reply", "reason": "a reply in a logged thread"}]
    raw = b"To: alice@acme.example\r\nSubject: Re: Hi\r\nMessage-ID: <nofrom@cust.example>\r\n\r\nThanks\r\n"
    ctx, decision = kit.stage(raw, "authorize", decisions=fetched)
    assert ctx.user is kit.user and decision["outcome"] == "owner-mailbox"
    assert "None" not in decision["reason"]
