"""The last stages, one at a time on a built context: links, visibility, persist.

Each test checks what the stage changed and the decision it recorded (outcome and reason)."""
from __future__ import annotations

import hashlib
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select

from backend.models import Attachment, MailMessage, Participant

from .stagekit import assert_readable, kit_fixture, mail  # noqa: F401

ALICE = "alice@acme.example"
BOB = "Bob Buyer <bob@cust.example>"
CAROL = "Carol Client <carol@cust.example>"


def _links(ctx) -> dict[tuple[str, int], object]:
    return {(lk.item_type, lk.item_id): lk for lk in ctx.thread.links}


def _decided(ctx, stage: str) -> dict[str, dict]:
    return {d["outcome"]: d for d in ctx.decisions if d["stage"] == stage}


def _deal_rule(ctx) -> dict:
    """The only-open-deal rule's decision (the deal-choice policy's own decision follows it)."""
    return next(d for d in ctx.decisions if d["stage"] == "links" and d.get("rule") == "only-open-deal")


def _naive(when: datetime) -> datetime:
    return when.replace(tzinfo=None)


# --- links -------------------------------------------------------------------------------------

def test_links_two_contacts_with_an_open_deal_each_ask_for_a_choice(kit):
    bob, carol = kit.person("Bob Buyer", "bob@cust.example"), kit.person("Carol Client", "carol@cust.example")
    bob_deal, carol_deal = kit.deal("Bob's first order", bob), kit.deal("Carol's order", carol)
    ctx, decision = kit.stage(mail(ALICE, BOB, "Quote", cc=CAROL), "links")
    decision = _deal_rule(ctx)
    assert set(_links(ctx)) == {("person", bob.id), ("person", carol.id)}
    assert ctx.thread.needs_deal_choice is True
    assert (decision["outcome"], decision["rule"], decision["hit"]) == ("needs-deal-choice", "only-open-deal", False)
    assert decision["candidates"] == [bob_deal.id, carol_deal.id]
    assert decision["reason"] == ("Bob Buyer and Carol Client have 2 open deals: "
                                  "no deal is linked until you pick one.")
    assert_readable(decision, "Bob Buyer", "Carol Client")
    persons = _decided(ctx, "links")["person-linked"]
    assert persons["reason"] == "Bob Buyer and Carol Client took part in the conversation."


def test_links_the_only_open_deal_with_its_rule_and_facts(kit):
    bob = kit.person("Bob Buyer", "bob@cust.example")
    kit.deal("An old won deal", bob, status="won")
    deal = kit.deal("Bob's first order", bob)
    ctx, decision = kit.stage(mail(ALICE, BOB, "Quote"), "links")
    decision = _deal_rule(ctx)
    link = _links(ctx)[("deal", deal.id)]
    assert (link.origin, link.rule, link.facts) == ("auto", "only-open-deal", {"person_ids": [bob.id]})
    assert not link.removed
    assert link.reason == "Linked because 'Bob's first order' is Bob Buyer's only open deal."
    assert set(_links(ctx)) == {("person", bob.id), ("deal", deal.id)}
    assert ctx.thread.needs_deal_choice is False
    assert (decision["outcome"], decision["rule"], decision["hit"]) == ("deal-linked", "only-open-deal", True)
    assert (decision["item_type"], decision["item_id"]) == ("deal", deal.id)
    assert decision["reason"] == link.reason
    assert_readable(decision, "Bob's first order", "Bob Buyer")


def test_links_with_the_setting_off_only_the_contacts(kit):
    bob = kit.person("Bob Buyer", "bob@cust.example")
    kit.deal("Bob's first order", bob)
    kit.lead("Bob's lead", bob)
    kit.user.link_emails_to_items = False
    ctx, decision = kit.stage(mail(ALICE, BOB, "Quote"), "links")
    assert set(_links(ctx)) == {("person", bob.id)}
    assert (decision["outcome"], decision["rule"], decision["hit"]) == ("setting-off", "link-setting", True)
    assert decision["reason"] == ("Alice Rep's setting 'link emails to items' is off: the contacts' deals, "
                                  "leads and projects are not linked.")
    assert_readable(decision, "Alice Rep")


def test_links_the_deal_address_used(kit):
    bob = kit.person("Bob Buyer", "bob@cust.example")
    deal = kit.deal("Big renewal")
    ctx, _ = kit.stage(mail(ALICE, BOB, "Quote"), "links", routes=[kit.route(deal)])
    assert set(_links(ctx)) == {("person", bob.id), ("deal", deal.id)}
    link = _links(ctx)[("deal", deal.id)]
    assert (link.origin, link.rule) == ("address", "item-address")
    decision = _decided(ctx, "links")["item-address"]
    assert (decision["item_type"], decision["item_id"]) == ("deal", deal.id)
    assert decision["reason"] == "Sent to the Smart Bcc address of deal 'Big renewal'."
    kept = _decided(ctx, "links")["deal-kept"]
    assert kept["reason"] == "Already linked to deal 'Big renewal': no other deal is added."


def test_links_a_reply_inherits_the_conversations_links(kit):
    bob = kit.person("Bob Buyer", "bob@cust.example")
    deal = kit.deal("Bob's first order", bob)
    first = kit.process(mail(ALICE, BOB, "Quote", msgid="q1@acme.example"))
    kit.deal("A second open deal, later", bob)
    ctx, decision = kit.stage(mail(BOB, ALICE, "Re: Quote", extra="In-Reply-To: <q1@acme.example>"), "links")
    decision = _deal_rule(ctx)
    assert ctx.thread is first.thread and set(_links(ctx)) == {("person", bob.id), ("deal", deal.id)}
    inherited = _decided(ctx, "links")["inherited"]
    assert inherited["reason"] == "This conversation's links apply: Bob Buyer, deal 'Bob's first order'."
    assert_readable(inherited, "Bob Buyer", "Bob's first order")
    assert decision["outcome"] == "deal-kept" and ctx.thread.needs_deal_choice is False


def test_links_nothing_for_automatic_mail(kit):
    bob = kit.person("Bob Buyer", "bob@cust.example")
    kit.deal("Bob's first order", bob)
    ctx, decision = kit.stage(mail(BOB, ALICE, "Out of office", extra="Auto-Submitted: auto-replied"), "links")
    assert ctx.thread.links == []
    assert (decision["outcome"], decision["rule"]) == ("automatic", "automatic-mail")
    assert decision["reason"] == "Automatic mail (auto-reply): not linked to the contacts or their items."


# --- visibility --------------------------------------------------------------------------------

def test_visibility_new_thread_takes_the_users_default(kit):
    kit.user.default_sharing = "shared"
    ctx, decision = kit.stage(mail(ALICE, BOB, "Quote"), "visibility")
    assert ctx.thread.shared is True
    assert (decision["outcome"], decision["reason"]) == ("shared", "Shared: Alice Rep's default for new conversations.")
    assert_readable(decision, "Alice Rep")
    kit.user.default_sharing = "private"
    ctx, decision = kit.stage(mail(ALICE, "zed@other.example", "Other"), "visibility")
    assert ctx.thread.shared is False
    assert decision["reason"] == "Private: Alice Rep's default for new conversations."


def test_visibility_existing_thread_keeps_its_own(kit):
    first = kit.process(mail(ALICE, BOB, "Quote", msgid="v1@acme.example"))
    assert first.thread.shared is False
    kit.user.default_sharing = "shared"
    ctx, decision = kit.stage(mail(BOB, ALICE, "Re: Quote", extra="In-Reply-To: <v1@acme.example>"), "visibility")
    assert ctx.thread is first.thread and ctx.thread.shared is False
    assert (decision["outcome"], decision["reason"]) == ("private", "The conversation stays private.")


# --- persist -----------------------------------------------------------------------------------

def _with_attachment() -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Cc"] = f"Alice Rep <{ALICE}>", BOB, CAROL
    msg["Subject"], msg["Message-ID"] = "Quote attached", "<att-1@acme.example>"
    msg["Date"] = "Mon, 3 Mar 2025 10:00:00 +0000"
    msg.set_content("Here is the quote for 200 seats.")
    msg.add_attachment(b"%PDF-1.4 quote", maintype="application", subtype="pdf", filename="quote.pdf")
    return bytes(msg)


def test_persist_stores_the_message_participants_attachments_and_summary(kit):
    bob = kit.person("Bob Buyer", "bob@cust.example")
    ctx, decision = kit.stage(_with_attachment(), "persist")
    message = ctx.message
    assert message.id is not None and ctx.record.message_id == message.id
    stored = kit.session.scalar(select(MailMessage).where(MailMessage.id == message.id))
    assert (stored.thread_id, stored.owner_id, stored.dedupe_key, stored.message_id_header) == (
        ctx.thread.id, kit.user.id, "mid:att-1@acme.example", "att-1@acme.example")
    assert (stored.sender_email, stored.sender_name, stored.subject) == (ALICE, "Alice Rep", "Quote attached")
    assert stored.raw_sha256 == ctx.record.raw_sha256 and stored.forwarded_by_user_id is None
    rows = kit.session.scalars(select(Participant).where(Participant.message_id == message.id)).all()
    carol_id = next(p.person_id for p in ctx.participants if p.address.key == "carol@cust.example")
    assert [(p.role, p.email, p.name, p.user_id, p.person_id) for p in rows] == [
        ("from", ALICE, "Alice Rep", kit.user.id, None), ("to", "bob@cust.example", "Bob Buyer", None, bob.id),
        ("cc", "carol@cust.example", "Carol Client", None, carol_id)]
    attachment = kit.session.scalars(select(Attachment).where(Attachment.message_id == message.id)).one()
    assert (attachment.filename, attachment.content_type, attachment.size) == ("quote.pdf", "application/pdf", 14)
    assert attachment.sha256 == hashlib.sha256(b"%PDF-1.4 quote").hexdigest()
    assert kit.services.blobs.get(attachment.sha256) == b"%PDF-1.4 quote"
    thread = ctx.thread
    assert thread.message_count == 1
    assert _naive(thread.first_message_at) == _naive(thread.last_message_at) == datetime(2025, 3, 3, 10, 0)
    assert thread.snippet.startswith("Here is the quote for 200 seats.")
    assert (decision["outcome"], decision["reason"]) == ("stored", "Logged.")
    assert_readable(decision)
    assert (decision["message_id"], decision["thread_id"]) == (message.id, thread.id)


def test_persist_an_older_mail_joining_keeps_the_newest_snippet(kit):
    newer = kit.process(mail(ALICE, BOB, "Quote", "The newest words.", msgid="n1@acme.example",
                             date="Wed, 5 Mar 2025 10:00:00 +0000"))
    ctx, _ = kit.stage(mail(BOB, ALICE, "Re: Quote", "Older words.", extra="References: <n1@acme.example>",
                            date="Mon, 3 Mar 2025 09:00:00 +0000"), "persist")
    thread = ctx.thread
    assert thread is newer.thread and thread.message_count == 2
    assert _naive(thread.first_message_at) == datetime(2025, 3, 3, 9, 0)
    assert _naive(thread.last_message_at) == datetime(2025, 3, 5, 10, 0)
    assert thread.snippet.startswith("The newest words.")
    assert ctx.message.references == ["n1@acme.example"] and ctx.message.in_reply_to is None


def test_persist_a_forward_is_the_customers_mail_forwarded_by_the_rep(kit):
    body = ("see below\n\n---------- Forwarded message ---------\nFrom: Bob Buyer <bob@cust.example>\n"
            "Date: Mon, Mar 3, 2025 at 11:15 AM\nSubject: Re: Quote\nTo: alice@acme.example\n\nWe sign.\n")
    ctx, _ = kit.stage(mail(ALICE, kit.bcc, "Fwd: Re: Quote", body, msgid="fw@acme.example"), "persist")
    message = ctx.message
    assert (message.sender_email, message.sender_name, message.subject) == ("bob@cust.example", "Bob Buyer",
                                                                            "Re: Quote")
    assert (message.forwarded_by_user_id, message.forwarded_by_email) == (kit.user.id, ALICE)
    assert message.message_id_header is None and message.dedupe_key.startswith("fwd:")
    assert _naive(message.sent_at) == datetime(2025, 3, 3, 11, 15)
    assert "We sign." in message.body_text and "see below" not in message.body_text
