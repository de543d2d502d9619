"""The conversation stages, one at a time on a built context: participants, thread, contacts.

Each test checks what the stage changed and the decision it recorded (outcome and reason)."""
from __future__ import annotations

from sqlalchemy import select

from backend.models import Person, PersonEmail

from .stagekit import assert_readable, kit_fixture, mail  # noqa: F401

ALICE = "alice@acme.example"
JANE = "Jane Cooper <jane@customer.example>"


def _roles(ctx) -> list[tuple[str, str, int | None, int | None]]:
    return [(p.role, p.address.key, p.user_id, p.person_id) for p in ctx.participants]


# --- participants ------------------------------------------------------------------------------

def test_participants_leave_out_smart_bcc_addresses_and_know_colleagues(kit):
    bea = kit.colleague("bea@acme.example", "Bea Colleague")
    deal = kit.deal("Big renewal")
    raw = mail(ALICE, f"{JANE}, {kit.bcc}", "Pricing", cc=f"Bea <bea@acme.example>, {kit.address_of(deal)}")
    ctx, decision = kit.stage(raw, "participants")
    assert _roles(ctx) == [("from", ALICE, kit.user.id, None), ("to", "jane@customer.example", None, None),
                           ("cc", "bea@acme.example", bea.id, None)]
    assert ctx.participants[1].address.name == "Jane Cooper" and ctx.participants[1].external
    assert decision["outcome"] == "listed"
    assert decision["reason"] == ("Outside the company: jane@customer.example. From the company: 2. "
                                  "Smart Bcc addresses are not participants.")
    assert_readable(decision)


def test_participants_match_contacts_and_alternative_addresses(kit):
    jane = kit.person("Jane Cooper", "jane@customer.example")
    kit.alternative("alice@home.example")
    ctx, decision = kit.stage(mail("alice@home.example", JANE, "Pricing"), "participants")
    assert _roles(ctx) == [("from", "alice@home.example", kit.user.id, None),
                           ("to", "jane@customer.example", None, jane.id)]
    assert decision["reason"] == "Outside the company: jane@customer.example. From the company: 1."


def test_participants_a_colleague_listed_as_a_contact_counts_as_the_colleague(kit):
    bea = kit.colleague("bea@acme.example", "Bea Colleague")
    kit.person("Bea (contact)", "bea@acme.example")
    ctx, decision = kit.stage(mail(ALICE, "bea@acme.example", "Lunch"), "participants")
    assert _roles(ctx) == [("from", ALICE, kit.user.id, None), ("to", "bea@acme.example", bea.id, None)]
    assert decision["reason"] == "Nobody outside the company takes part. From the company: 2."


def test_participants_of_a_forward_are_the_originals(kit):
    body = ("FYI\n\n---------- Forwarded message ---------\nFrom: Bob Buyer <bob@cust.example>\n"
            "Date: Mon, Mar 3, 2025 at 11:15 AM\nSubject: Quote\nTo: alice@acme.example\n"
            "Cc: Carol <carol@cust.example>\n\nWe sign.\n")
    ctx, _ = kit.stage(mail(ALICE, kit.bcc, "Fwd: Quote", body), "participants")
    assert [(r, k) for r, k, _u, _p in _roles(ctx)] == [("from", "bob@cust.example"), ("to", ALICE),
                                                         ("cc", "carol@cust.example")]


# --- thread ------------------------------------------------------------------------------------

def test_thread_new_conversation(kit):
    ctx, decision = kit.stage(mail(ALICE, JANE, "Re: Pricing"), "thread")
    thread = ctx.thread
    # Not in the session yet: persist adds it with its first message (one INSERT, no UPDATE after).
    assert ctx.new_thread and thread.id is None and thread not in kit.session
    assert (thread.owner_id, thread.subject, thread.normalized_subject, thread.auto) == (
        kit.user.id, "Re: Pricing", "pricing", False)
    assert (decision["outcome"], decision["reason"]) == ("new", "A new conversation.")


def test_thread_joins_by_in_reply_to_whatever_the_subject(kit):
    first = kit.process(mail(ALICE, JANE, "Pricing", msgid="p1@acme.example"))
    ctx, decision = kit.stage(mail(JANE, ALICE, "Something else", extra="In-Reply-To: <p1@acme.example>",
                                   date="Tue, 4 Mar 2025 10:00:00 +0000"), "thread")
    assert ctx.thread is first.thread and not ctx.new_thread
    assert (decision["outcome"], decision["thread_id"]) == ("references", first.thread.id)
    assert decision["reason"] == "It replies to a mail of this conversation."
    assert_readable(decision)


def test_thread_joins_by_subject_and_someone_in_common_within_the_window(kit):
    first = kit.process(mail(ALICE, JANE, "Pricing", date="Mon, 3 Mar 2025 10:00:00 +0000"))
    ctx, decision = kit.stage(mail(JANE, ALICE, "RE: pricing", date="Mon, 24 Mar 2025 10:00:00 +0000"), "thread")
    assert ctx.thread is first.thread and decision["outcome"] == "subject"
    assert decision["reason"] == ("Same subject and someone in common within 30 days: "
                                  "part of the same conversation.")


def test_thread_same_subject_outside_the_window_or_with_nobody_in_common_is_new(kit):
    first = kit.process(mail(ALICE, JANE, "Pricing", date="Mon, 3 Mar 2025 10:00:00 +0000"))
    late, late_decision = kit.stage(mail(JANE, ALICE, "Re: Pricing", date="Mon, 5 May 2025 10:00:00 +0000"),
                                    "thread")
    other, other_decision = kit.stage(mail("zed@other.example", ALICE, "Re: Pricing"), "thread")
    assert late.thread is not first.thread and late_decision["outcome"] == "new"
    assert other.thread is not first.thread and other_decision["outcome"] == "new"


def test_thread_automatic_mail_is_kept_apart(kit):
    first = kit.process(mail(ALICE, JANE, "Pricing"))
    ctx, decision = kit.stage(mail(JANE, ALICE, "Re: Pricing", extra="Auto-Submitted: auto-replied"), "thread")
    assert ctx.thread is not first.thread and ctx.new_thread and ctx.thread.auto is True
    assert decision["reason"] == "Automatic mail (auto-reply): kept apart from the sales conversations."


def test_thread_automatic_reply_to_a_known_mail_joins_it(kit):
    """docs/architecture-notes.md: automatic mail goes apart only when it replies to no known thread."""
    first = kit.process(mail(ALICE, JANE, "Pricing", msgid="p2@acme.example"))
    ctx, decision = kit.stage(mail(JANE, ALICE, "Out of office", extra="Auto-Submitted: auto-replied\n"
                                   "In-Reply-To: <p2@acme.example>"), "thread")
    assert ctx.thread is first.thread and decision["outcome"] == "references"


def test_thread_does_not_join_a_colleagues_private_thread(kit):
    bea = kit.colleague("bea@acme.example", "Bea Colleague")
    theirs = kit.process(mail("bea@acme.example", JANE, "Pricing", msgid="bea-1@acme.example"), user=bea)
    assert theirs.thread.owner_id == bea.id and theirs.thread.shared is False
    reply = mail(ALICE, JANE, "Re: Pricing", extra="In-Reply-To: <bea-1@acme.example>")
    ctx, decision = kit.stage(reply, "thread")
    assert ctx.thread is not theirs.thread and ctx.thread.owner_id == kit.user.id
    assert decision["outcome"] == "new"
    theirs.thread.shared = True
    kit.session.flush()
    ctx, decision = kit.stage(mail(ALICE, JANE, "Re: Pricing", extra="In-Reply-To: <bea-1@acme.example>"),
                              "thread")
    assert ctx.thread is theirs.thread and decision["outcome"] == "references"


# --- contacts ----------------------------------------------------------------------------------

def test_contacts_creates_a_contact_with_the_display_name(kit):
    ctx, decision = kit.stage(mail(ALICE, f"{JANE}, bob.smith@cust.example", "Pricing"), "contacts")
    people = {e.email: e.person for e in kit.session.scalars(select(PersonEmail))}
    assert people["jane@customer.example"].name == "Jane Cooper"
    assert people["bob.smith@cust.example"].name == "Bob Smith"  # guessed from the address
    assert all(p.owner_id == kit.user.id for p in people.values())
    assert {p.address.key: p.person_id for p in ctx.participants if p.external} == {
        e: p.id for e, p in people.items()}
    assert decision["outcome"] == "created"
    assert decision["reason"] == ("New contacts: Jane Cooper <jane@customer.example>, "
                                  "Bob Smith <bob.smith@cust.example>.")
    assert_readable(decision, "Jane Cooper")


def test_contacts_known_contacts_are_not_created_again(kit):
    jane = kit.person("Jane C.", "jane@customer.example")
    _ctx, decision = kit.stage(mail(ALICE, JANE, "Pricing"), "contacts")
    assert kit.session.scalars(select(Person)).all() == [jane]
    assert (decision["outcome"], decision["reason"]) == (
        "none", "Everyone outside the company already is a contact.")


def test_contacts_never_made_for_company_users(kit):
    kit.colleague("bea@acme.example", "Bea Colleague")
    kit.alternative("alice@home.example")
    raw = mail(ALICE, f"Bea <bea@acme.example>, {JANE}", "Pricing", cc="Alice <alice@home.example>")
    _ctx, decision = kit.stage(raw, "contacts")
    emails = set(kit.session.scalars(select(PersonEmail.email)))
    assert emails == {"jane@customer.example"}
    assert decision["reason"] == "New contact: Jane Cooper <jane@customer.example>."


def test_contacts_skip_automatic_mail(kit):
    ctx, decision = kit.stage(mail("Robot <robot@cust.example>", ALICE, "Out of office",
                                   extra="Auto-Submitted: auto-replied"), "contacts")
    assert kit.session.scalars(select(Person)).all() == []
    assert all(p.person_id is None for p in ctx.participants)
    assert (decision["outcome"], decision["reason"]) == (
        "skipped", "Automatic mail (auto-reply): nobody in it becomes a contact.")


def test_contacts_one_address_in_two_roles_is_one_contact(kit):
    ctx, _ = kit.stage(mail(JANE, ALICE, "Pricing", cc=JANE), "contacts")
    assert len(kit.session.scalars(select(Person)).all()) == 1
    ids = {p.person_id for p in ctx.participants if p.address.key == "jane@customer.example"}
    assert len(ids) == 1 and None not in ids



def test_thread_a_reply_to_a_deleted_conversation_does_not_revive_it_empty(kit):
    from backend.domain.actor import Actor
    from backend.domain.threads import delete_message

    first = kit.process(mail(ALICE, JANE, "Personal thing", msgid="del@acme.example"))
    delete_message(kit.session, Actor.of(kit.user), first.message.id)
    kit.session.flush()
    assert first.thread.message_count == 0 and first.thread.subject == ""
    ctx = kit.process(mail(JANE, ALICE, "Re: Work", extra="In-Reply-To: <del@acme.example>"))
    assert ctx.thread.subject == "Re: Work"
