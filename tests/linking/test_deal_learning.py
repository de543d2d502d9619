"""The deal ranking learns from the company's own picks (backend/domain/dealpicks.py, dealfit.py):
end to end over SMTP and the API, with the fixed points as long as there are too few picks."""
from __future__ import annotations

from sqlalchemy import select

from backend.domain import dealpicks
from backend.domain.dealfit import FEATURES, Pick, fit
from backend.domain.dealrank import FIXED
from backend.models import Company

from .conftest import mail


def bob_with_two_deals(crm):
    bob = crm.person("Bob Buyer", "bob@customer.example")
    return [crm.deal(title, bob["id"]) for title in ("Payroll renewal", "Helpdesk rollout")]


def send_stale_subject(acme, send_mail, named_in_subject, named_in_text, n):
    """A mail whose subject names one deal (an old thread's subject) and whose text the other."""
    send_mail(mail(acme.email, "bob@customer.example", f"Re: {named_in_subject['title']} (no. {n})",
                   f"Hello Bob,\n\nAbout the {named_in_text['title']}: the dates are fine.\n", msgid=f"learn{n}@t"),
              acme.bcc_address, acme.email)


def newest_thread(crm):
    return max(crm.threads(), key=lambda t: t["id"])


def choice(crm, thread_id):
    response = crm.get(f"mailbox/mailThreads/{thread_id}")
    assert response.status_code == 200, response.json
    return response.json["data"]["deal_choice"]


def pick(crm, thread_id, deal_id):
    response = crm.client.patch(f"/api/v1/mailbox/mailThreads/{thread_id}", json={"deal_id": deal_id},
                                headers=crm.account.auth)
    assert response.status_code == 200, response.json


def text_said(candidate):
    return next(e["reason"] for e in candidate["evidence"] if e["rule"] == "similar-text")


def stored_fit(services, company_id):
    with services.db.session() as session:
        return session.get(Company, company_id).deal_choice_fit


def test_the_team_s_picks_reweigh_the_evidence_after_enough_of_them(crm, acme, send_mail, services):
    payroll, helpdesk = bob_with_two_deals(crm)
    # The team's reps keep replying under old subjects: the deal they pick is the one the text names.
    for n in range(dealpicks.MIN_PICKS - 1):
        subject_deal, text_deal = (payroll, helpdesk) if n % 2 else (helpdesk, payroll)
        send_stale_subject(acme, send_mail, subject_deal, text_deal, n)
        thread = newest_thread(crm)
        assert thread["needs_deal_choice"] is True, (n, thread)
        pick(crm, thread["id"], text_deal["id"])

    # One pick short of MIN_PICKS: the fixed points still rank, and the subject (60) beats the text (40).
    send_stale_subject(acme, send_mail, payroll, helpdesk, "probe-1")
    probe = newest_thread(crm)
    fixed = choice(crm, probe["id"])["candidates"]
    assert [c["id"] for c in fixed] == [payroll["id"], helpdesk["id"]]
    assert "The subject names 'payroll' and 'renewal' from its title." in fixed[0]["reasons"]
    assert stored_fit(services, acme.company_id) is None

    # The rep picks the text's deal once more: 30 picks, the points are fitted on them.
    pick(crm, probe["id"], helpdesk["id"])
    send_stale_subject(acme, send_mail, payroll, helpdesk, "probe-2")
    probe = newest_thread(crm)
    learned = choice(crm, probe["id"])["candidates"]
    assert [c["id"] for c in learned] == [helpdesk["id"], payroll["id"]]
    # The same sentences as before (one more earlier conversation counted); only the points changed.
    assert [text_said(c) for c in learned] == [text_said(fixed[1]), text_said(fixed[0])]
    assert text_said(learned[0]) == "The text names 'helpdesk' and 'rollout' from its title."
    said = {e["rule"]: e["points"] for e in learned[0]["evidence"]}
    assert said["similar-text"] > 40  # the text weighs more for this team than the fixed 40 points
    stored = stored_fit(services, acme.company_id)
    assert stored["picks"] == dealpicks.MIN_PICKS and stored["used"] == dealpicks.MIN_PICKS
    assert stored["points"]["text"] > stored["points"]["subject"]
    # The pipeline ranked the probe with the learned points too (it arrived after the 30th pick).
    messages = crm.get(f"mailbox/mailThreads/{probe['id']}/mailMessages").json["data"]
    needs = next(d for d in messages[0]["arrivals"][0]["decisions"] if d["outcome"] == "needs-deal-choice")
    assert [r["deal_id"] for r in needs["ranking"]] == [helpdesk["id"], payroll["id"]]


def test_few_picks_keep_the_fixed_points(crm, acme, send_mail, services):
    payroll, helpdesk = bob_with_two_deals(crm)
    for n in range(3):
        send_stale_subject(acme, send_mail, payroll, helpdesk, f"few{n}")
        pick(crm, newest_thread(crm)["id"], helpdesk["id"])
    with services.db.session() as session:
        assert dealpicks.count(session, acme.company_id) == 3
        assert dealpicks.fitted_at(3) == 0 and dealpicks.fitted_at(dealpicks.MIN_PICKS) == dealpicks.MIN_PICKS
        assert dealpicks.fitted_at(dealpicks.MIN_PICKS + dealpicks.REFIT_EVERY - 1) == dealpicks.MIN_PICKS
    send_stale_subject(acme, send_mail, payroll, helpdesk, "few-probe")
    ranked = choice(crm, newest_thread(crm)["id"])["candidates"]
    # The fixed points: the text (40), the three earlier conversations (15) and the most recent
    # mail (20) for the Helpdesk rollout; the subject (60) for the Payroll renewal.
    assert [c["id"] for c in ranked] == [helpdesk["id"], payroll["id"]]
    assert [c["score"] for c in ranked] == [0.75, 0.6]
    assert stored_fit(services, acme.company_id) is None


def test_a_removed_automatic_link_counts_against_that_deal(crm, acme, send_mail, services):
    response = crm.client.patch("/api/v1/settings/smart-bcc", headers=acme.auth, json={
        "deal_choice_policy": "auto_when_confident", "deal_choice_threshold": 0.5, "deal_choice_margin": 0.2})
    assert response.status_code == 200, response.json
    payroll, helpdesk = bob_with_two_deals(crm)
    send_mail(mail(acme.email, "bob@customer.example", "Re: Payroll renewal", "Hello Bob"), acme.bcc_address,
              acme.email)
    thread = newest_thread(crm)
    assert {(lk["item_type"], lk["item_id"]) for lk in thread["links"]} >= {("deal", payroll["id"])}
    with services.db.session() as session:
        assert dealpicks.count(session, acme.company_id) == 0  # linked on its own: nobody chose yet
    response = crm.client.delete(f"/api/v1/mailbox/mailThreads/{thread['id']}/links/deal/{payroll['id']}",
                                 headers=acme.auth)
    assert response.status_code in (200, 204), response.json
    with services.db.session() as session:
        assert dealpicks.count(session, acme.company_id) == 1
        [undone], _aside = dealpicks.read(session, acme.company_id, 1)
    # The deal it was linked to is the wrong one; the other candidate is the right one.
    assert undone.right == {1}
    assert undone.candidates[0]["subject"] == 1.0 and "subject" not in undone.candidates[1]


def test_picks_against_a_feature_lower_its_points_and_few_picks_move_little():
    # 40 removed links of deals whose title the subject named (the other candidate was right).
    against = [Pick([{"subject": 1.0}, {"sender-owns": 1.0}], {1}) for _ in range(40)]
    learned = fit(against)
    assert learned["subject"] < FIXED["subject"] - 20 and learned["sender-owns"] > FIXED["sender-owns"]
    assert set(learned) == set(FEATURES)
    # Features no pick saw keep their fixed points.
    assert learned["address-used"] == FIXED["address-used"]
    # Two picks move the points a little only: drawn towards the fixed ones.
    few = fit(against[:2])
    assert FIXED["subject"] - 20 < few["subject"] < FIXED["subject"]
    # Deterministic: the same picks, the same points.
    assert fit(against) == learned


def test_words_written_next_to_deals_not_picked_turn_a_mention_into_an_aside():
    from backend.domain.dealrank import DealPolicy, rank
    from backend.domain.dealwords import aside_words
    from backend.domain.linkrules import Contact, Conversation, Item

    payroll, backup = Item("deal", 1, "Payroll renewal", 1), Item("deal", 2, "Backup pilot", 1)
    text = "Hello Bob,\nThe payroll renewal starts in March.\nUnrelated, but the backup pilot can wait.\n"
    history = [(text, {"Payroll renewal": True, "Backup pilot": False})] * 3
    aside = aside_words(history)
    assert aside == ["unrelated", "wait"]  # "March" is written about the picked deal: not an aside word
    assert aside_words(history[:2]) == []  # fewer than three sentences: nothing learned
    # A sentence is about the deal it names most of: "the payroll pilot" is not about the Payroll renewal.
    shared = "The payroll renewal starts in March.\nUnrelated, but the payroll pilot can wait.\n"
    assert aside_words([(shared, {"Payroll renewal": True, "Payroll pilot": False})] * 3) == ["unrelated", "wait"]

    def ranked(policy):
        conv = Conversation(user_name="Alice", link_emails_to_items=True, contacts=[Contact(1, "Bob")],
                            open_deals={1: [payroll, backup]}, user_id=7, deal_policy=policy,
                            text="Hi Bob,\nUnrelated, but the backup pilot can wait.\n")
        return rank(conv, [payroll, backup])

    fixed = ranked(DealPolicy())
    assert fixed.top.item == backup and fixed.top.score == 0.4
    learned = ranked(DealPolicy(learned=(("text-aside", -10.0),), aside=tuple(aside)))
    assert learned.top.item == payroll
    [said] = [r for r in learned.ranked if r.item == backup][0].evidence
    assert said.points == -10.0 and said.reason == (
        "The text names 'backup' and 'pilot' from its title, but next to 'unrelated' and 'wait', as your team "
        "writes of deals a mail is not about.")


def test_picks_are_replayed_with_the_history_the_pipeline_would_have_read(crm, acme, send_mail, services):
    from backend.domain.dealhistory import Earlier, earlier
    from backend.models import MailThread

    payroll, helpdesk = bob_with_two_deals(crm)
    for n in range(6):
        send_stale_subject(acme, send_mail, payroll, helpdesk, f"same{n}")
        pick(crm, newest_thread(crm)["id"], (helpdesk if n % 3 else payroll)["id"])
    with services.db.session() as session:
        threads = sorted(session.scalars(select(MailThread.id)))
        session.get(MailThread, threads[1]).shared = False  # private: counts for its owner only
        session.get(MailThread, threads[2]).shared = True
        session.flush()
        people, deals = [payroll["person_id"]], [payroll["id"], helpdesk["id"]]
        every = Earlier.read(session, acme.company_id, people, deals)
        for thread_id in threads:
            for viewer in (acme.user_id, None, acme.user_id + 100):
                expected = earlier(session, acme.company_id, people, deals, thread_id=thread_id, viewer=viewer,
                                   before=True)
                assert every.before(people, deals, thread_id=thread_id, viewer=viewer) == expected
        assert len(earlier(session, acme.company_id, people, deals, thread_id=threads[-1], viewer=acme.user_id,
                           before=True)[1][helpdesk["id"]].threads) == 3


def test_the_fit_runs_as_a_job_after_the_pick_not_while_ranking(crm, acme, send_mail, services, monkeypatch):
    """A ranking only reads the stored points: with no job run, 30 picks leave the fixed points;
    the job queued after the 30th pick's commit fits them."""
    from backend import dealchoice_tasks

    queued = []
    monkeypatch.setattr(services.jobs, "enqueue", lambda name, *args: queued.append((name, *args)))
    payroll, helpdesk = bob_with_two_deals(crm)
    for n in range(dealpicks.MIN_PICKS):
        subject_deal, text_deal = (payroll, helpdesk) if n % 2 else (helpdesk, payroll)
        send_stale_subject(acme, send_mail, subject_deal, text_deal, f"job{n}")
        from backend.pipeline import runner
        for name, *args in [q for q in queued if q[0] == "process_inbound"]:
            runner.process_inbound(services, *args)
        queued[:] = [q for q in queued if q[0] != "process_inbound"]
        pick(crm, newest_thread(crm)["id"], text_deal["id"])
    assert stored_fit(services, acme.company_id) is None  # nothing fitted while ranking
    assert (dealpicks.REFIT, acme.company_id) in queued     # each pick's commit queued the job
    fit = dealchoice_tasks.refit(services, acme.company_id)
    assert fit["picks"] == dealpicks.MIN_PICKS and stored_fit(services, acme.company_id) == fit
    assert dealchoice_tasks.refit(services, acme.company_id) == fit  # nothing new: the same points
