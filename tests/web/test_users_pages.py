"""Settings > Users (issue 20): invitations, roles, deactivation; admins only, own company only."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.domain import invitations, users
from backend.domain.actor import Actor
from backend.domain.errors import DomainError
from backend.models import MailThread, User
from backend.models.company import Invitation

from .conftest import PASSWORD, sign_in

NEW_PASSWORD = "violet tractor umbrella"


def outbox_mails(services, prefix: str = "invite-") -> list:
    folder = Path(services.settings.outbox_dir)
    paths = sorted(folder.glob(f"{prefix}*.eml"), key=lambda p: p.stat().st_mtime_ns) if folder.exists() else []
    return [message_from_bytes(p.read_bytes(), policy=default) for p in paths]


def link_in(mail, path: str) -> str:
    body = mail.get_body(("plain",)).get_content()
    [link] = re.findall(rf"https?://\S+{re.escape(path)}\?token=\S+", body)
    return link.replace("http://testserver", "")


def invite(web, email="nina@acme.example", role="member", name="Nina New"):
    return web.post("/settings/users/invitations", data={"email": email, "role": role, "name": name,
                                                          "csrf_token": web.csrf})


def accept(client, link: str, name="Nina New", password=NEW_PASSWORD, again=None):
    page = client.get(link)
    assert page.status_code == 200, page.get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post("/invitations/accept", data={"token": token, "name": name, "password": password,
                                                    "password_again": again if again is not None else password,
                                                    "csrf_token": csrf})


def pending_invitation(services, company_id: int, email: str) -> int:
    """An invitation waiting to be accepted, made without a mail; its id."""
    with services.db.session() as session:
        pending = Invitation(company_id=company_id, email=email, role="member",
                             expires_at=datetime.now(timezone.utc) + timedelta(days=1), nonce_hash="x" * 64,
                             sent_at=datetime.now(timezone.utc))
        session.add(pending)
        session.flush()
        return pending.id


def test_an_admin_invites_and_the_invited_person_joins_and_signs_in(app, web, services):
    response = invite(web)
    assert response.status_code == 302
    page = web.get("/settings/users").get_data(as_text=True)
    assert "nina@acme.example" in page and "Invited" in page
    assert "outbox" in page  # no relay in the tests: the page names where the mail went
    [mail] = outbox_mails(services)
    assert mail["To"] == "nina@acme.example" and "Acme" in mail["Subject"]
    link = link_in(mail, "/invitations/accept")
    with services.db.session() as session:
        stored = session.scalar(select(Invitation))
        # Only a hash of the link's nonce is stored.
        assert stored.nonce_hash and stored.nonce_hash not in link and len(stored.nonce_hash) == 64
    newcomer = app.test_client()
    done = accept(newcomer, link)
    assert done.status_code == 302
    home = newcomer.get("/").get_data(as_text=True)
    assert "Nina New" in home
    with services.db.session() as session:
        nina = session.scalar(select(User).where(User.email == "nina@acme.example"))
        assert nina.role == "member" and nina.password_changed_at is not None
    # The password works on the sign-in page, from another browser too.
    other = app.test_client()
    sign_in(other, "nina@acme.example", NEW_PASSWORD)
    # The link works once.
    again = app.test_client().get(link)
    assert again.status_code == 409 and "already accepted" in again.get_data(as_text=True)
    # Accepted: no longer listed as waiting.
    assert "Waiting to be accepted" not in web.get("/settings/users").get_data(as_text=True)


def test_an_invited_admin_becomes_an_admin(app, web, services):
    invite(web, "ada@acme.example", role="admin", name="")
    link = link_in(outbox_mails(services)[0], "/invitations/accept")
    client = app.test_client()
    assert accept(client, link, name="Ada Admin").status_code == 302
    assert client.get("/settings/users").status_code == 200


def test_the_accept_form_shows_each_error_next_to_its_field(app, web, services):
    invite(web)
    link = link_in(outbox_mails(services)[0], "/invitations/accept")
    client = app.test_client()
    short = accept(client, link, name="", password="short")
    text = short.get_data(as_text=True)
    assert short.status_code == 400
    assert 'id="name-error"' in text and "Enter your name" in text
    assert 'id="password-error"' in text and "at least 10 characters" in text
    common = accept(client, link, password="Password123!")
    assert common.status_code == 400 and "most common passwords" in common.get_data(as_text=True)
    differ = accept(client, link, password=NEW_PASSWORD, again=NEW_PASSWORD + "x")
    assert differ.status_code == 400 and 'id="password_again-error"' in differ.get_data(as_text=True)
    with services.db.session() as session:
        assert session.scalar(select(User).where(User.email == "nina@acme.example")) is None
    assert accept(client, link).status_code == 302  # the link still works after refused tries


def test_resend_replaces_the_link_and_revoke_withdraws_it(app, web, services):
    invite(web)
    first = link_in(outbox_mails(services)[0], "/invitations/accept")
    with services.db.session() as session:
        invitation_id = session.scalar(select(Invitation.id))
    assert web.post(f"/settings/users/invitations/{invitation_id}/resend", data={"csrf_token": web.csrf}).status_code == 302
    mails = outbox_mails(services)
    assert len(mails) == 2
    second = link_in(mails[1], "/invitations/accept")
    replaced = app.test_client().get(first)
    assert replaced.status_code == 410 and "newer invitation" in replaced.get_data(as_text=True)
    assert app.test_client().get(second).status_code == 200
    assert web.post(f"/settings/users/invitations/{invitation_id}/revoke", data={"csrf_token": web.csrf}).status_code == 302
    revoked = app.test_client().get(second)
    assert revoked.status_code == 410 and "withdrawn" in revoked.get_data(as_text=True)


def test_an_expired_invitation_link_says_so(app, web, services):
    invite(web)
    link = link_in(outbox_mails(services)[0], "/invitations/accept")
    with services.db.session() as session:
        session.scalar(select(Invitation)).expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
    page = app.test_client().get(link)
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)
    assert "Expired" in web.get("/settings/users").get_data(as_text=True)
    garbage = app.test_client().get("/invitations/accept?token=garbage")
    assert garbage.status_code == 404 and "not valid" in garbage.get_data(as_text=True)


@pytest.mark.parametrize("email, words", [
    ("not-an-address", "not a valid email address"),
    ("bert@acme.example", "already is a user of your company"),
    ("gary@globex.example", "another company"),
])
def test_a_bad_invitation_shows_its_error_next_to_the_email_field(web, bert, make_account, email, words):
    make_account("globex.example", "gary@globex.example")
    response = invite(web, email)
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="email-error"' in text and words in text
    assert 'aria-invalid="true"' in text


def test_inviting_the_same_address_twice_asks_for_a_resend(web, services):
    invite(web)
    again = invite(web)
    assert again.status_code == 400 and "already invited" in again.get_data(as_text=True)
    assert len(outbox_mails(services)) == 1


def test_members_cannot_see_or_manage_users(app, alice, bert, services):
    member = app.test_client()
    member.csrf = sign_in(member, bert.email)
    page = member.get("/settings/users")
    assert page.status_code == 403 and "Only a company admin" in page.get_data(as_text=True)
    pending_id = pending_invitation(services, alice.company_id, "p@acme.example")
    for path, data in [("/settings/users/invitations", {"email": "x@acme.example"}),
                       (f"/settings/users/invitations/{pending_id}/resend", {}),
                       (f"/settings/users/invitations/{pending_id}/revoke", {}),
                       (f"/settings/users/{alice.user_id}/role", {"role": "member"}),
                       (f"/settings/users/{alice.user_id}/deactivate", {}),
                       (f"/settings/users/{alice.user_id}/reactivate", {})]:
        response = member.post(path, data={**data, "csrf_token": member.csrf})
        assert response.status_code == 403, path
        assert "Only a company admin" in response.get_data(as_text=True)
    with services.db.session() as session:
        assert session.get(User, alice.user_id).role == "admin" and session.get(User, alice.user_id).active
        assert session.scalar(select(Invitation.id).where(Invitation.id != pending_id)) is None
        assert session.get(Invitation, pending_id).revoked_at is None
    assert outbox_mails(services) == []
    assert "/settings/users" not in member.get("/settings/account").get_data(as_text=True)


def test_the_users_page_lists_role_status_last_sign_in_and_only_counts_of_private_threads(
        web, bert, thread_of, services):
    thread_of(bert, subject="Secret bert deal")
    text = web.get("/settings/users").get_data(as_text=True)
    assert "Bert Member" in text and "Alice Admin" in text
    assert "1 private conversation" in text
    assert "Secret bert deal" not in text
    assert "last sign-in: never" in text  # bert never signed in to the pages
    with services.db.session() as session:
        assert session.scalar(select(User.last_sign_in_at).where(User.email == "alice@acme.example")) is not None


def test_a_deactivated_users_private_conversations_stay_theirs(app, web, alice, bert, thread_of, services):
    thread_id = thread_of(bert, subject="Secret bert pricing")
    assert web.post(f"/settings/users/{bert.user_id}/deactivate", data={"csrf_token": web.csrf}).status_code == 302
    page = web.get("/settings/users").get_data(as_text=True)
    assert "1 private conversation" in page and "Secret bert pricing" not in page
    # The admin sees the count, never the conversation: not on its page, not in the inbox or a search.
    assert web.get(f"/inbox/threads/{thread_id}").status_code == 404
    assert "Secret bert pricing" not in web.get("/inbox").get_data(as_text=True)
    assert "Secret bert pricing" not in web.get("/inbox?q=Secret").get_data(as_text=True)
    with services.db.session() as session:
        thread = session.get(MailThread, thread_id)
        assert thread.owner_id == bert.user_id and not thread.shared
    # Reactivated, bert finds it as it was.
    assert web.post(f"/settings/users/{bert.user_id}/reactivate", data={"csrf_token": web.csrf}).status_code == 302
    member = app.test_client()
    sign_in(member, bert.email)
    assert "Secret bert pricing" in member.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)


def test_the_api_lists_the_company_users_to_admins_only(app, alice, bert, thread_of, make_account):
    gary = make_account("globex.example", "gary@globex.example", name="Gary Globex")
    thread_of(bert, subject="Secret bert deal")
    api = app.test_client()
    response = api.get("/api/v1/users", headers=alice.auth)
    assert response.status_code == 200
    listed = {u["email"]: u for u in response.get_json()["data"]}
    assert set(listed) == {alice.email, bert.email}  # not gary: another company's
    assert listed[bert.email]["private_threads"] == 1 and listed[bert.email]["role"] == "member"
    assert listed[bert.email]["active"] is True and listed[alice.email]["is_you"] is True
    assert "Secret bert deal" not in response.get_data(as_text=True)
    refused = api.get("/api/v1/users", headers=bert.auth)
    assert refused.status_code == 403 and "Only a company admin" in refused.get_json()["error"]
    assert api.get("/api/v1/users", headers=gary.auth).get_json()["data"][0]["email"] == gary.email


def test_role_change_and_deactivation(app, web, alice, bert, services):
    assert web.post(f"/settings/users/{bert.user_id}/role", data={"role": "admin", "csrf_token": web.csrf}).status_code == 302
    with services.db.session() as session:
        assert session.get(User, bert.user_id).role == "admin"
    assert web.post(f"/settings/users/{bert.user_id}/role", data={"role": "member", "csrf_token": web.csrf}).status_code == 302
    bert_browser = app.test_client()
    sign_in(bert_browser, bert.email)
    assert web.post(f"/settings/users/{bert.user_id}/deactivate", data={"csrf_token": web.csrf}).status_code == 302
    assert "Deactivated" in web.get("/settings/users").get_data(as_text=True)
    # Signed out at once, and cannot sign in again.
    assert bert_browser.get("/inbox").status_code == 302
    page = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.get("/sign-in").get_data(as_text=True)).group(1)
    refused = page.post("/sign-in", data={"email": bert.email, "password": PASSWORD, "csrf_token": token})
    assert refused.status_code == 401 and "switched off" in refused.get_data(as_text=True)
    assert web.post(f"/settings/users/{bert.user_id}/reactivate", data={"csrf_token": web.csrf}).status_code == 302
    sign_in(app.test_client(), bert.email)


def test_an_admin_cannot_demote_or_deactivate_themselves(web, alice, services):
    for path, data in [(f"/settings/users/{alice.user_id}/role", {"role": "member"}),
                       (f"/settings/users/{alice.user_id}/deactivate", {})]:
        response = web.post(path, data={**data, "csrf_token": web.csrf})
        assert response.status_code == 400 and "another admin" in response.get_data(as_text=True)
    with services.db.session() as session:
        me = session.get(User, alice.user_id)
        assert me.role == "admin" and me.active


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(services, make_account):
    boss = make_account("acme.example", "boss@acme.example", admin=True, name="Boss")
    other = make_account("acme.example", "other@acme.example", admin=True, name="Other")
    with services.db.session() as session:
        # Another admin deactivated: boss is the last active one. A system-level actor (not boss)
        # still cannot take the company's last admin away.
        session.get(User, other.user_id).active = False
        actor = Actor(user_id=other.user_id, company_id=boss.company_id, name="Other", email=other.email,
                      is_admin=True)
        with pytest.raises(DomainError, match="last active admin"):
            users.change_role(session, actor, boss.user_id, "member")
        with pytest.raises(DomainError, match="last active admin"):
            users.deactivate(session, actor, boss.user_id)


def test_another_companys_user_and_invitation_are_not_found(web, make_account, services):
    gary = make_account("globex.example", "gary@globex.example", name="Gary Globex")
    foreign_id = pending_invitation(services, gary.company_id, "g2@globex.example")
    for path in (f"/settings/users/{gary.user_id}/role", f"/settings/users/{gary.user_id}/deactivate",
                 f"/settings/users/{gary.user_id}/reactivate", f"/settings/users/invitations/{foreign_id}/resend",
                 f"/settings/users/invitations/{foreign_id}/revoke"):
        response = web.post(path, data={"role": "member", "csrf_token": web.csrf})
        assert response.status_code == 404, path
    text = web.get("/settings/users").get_data(as_text=True)
    assert "Gary Globex" not in text and "g2@globex.example" not in text
    with services.db.session() as session:
        assert session.get(User, gary.user_id).active and session.get(Invitation, foreign_id).revoked_at is None


def test_a_relay_that_fails_is_reported_and_the_invitation_can_be_resent(app, web, services, monkeypatch):
    from backend import mailer, sender_tasks

    def refuse(*_args, **_kwargs):
        raise mailer.MailError("the mail relay relay.example:25 did not take the mail (ConnectionRefusedError)")

    monkeypatch.setattr(mailer, "send", refuse)
    monkeypatch.setattr(sender_tasks, "RETRY_DELAYS", (0.0,))
    response = invite(web)
    assert response.status_code == 302
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "could not be handed to the mail relay" in page
    assert "Not sent" in page
    with services.db.session() as session:
        assert session.scalar(select(Invitation)).sent_at is None
        invitation_id = session.scalar(select(Invitation.id))
    monkeypatch.undo()
    assert web.post(f"/settings/users/invitations/{invitation_id}/resend", data={"csrf_token": web.csrf}).status_code == 302
    assert len(outbox_mails(services)) == 1
    assert "Not sent" not in web.get("/settings/users").get_data(as_text=True)


def test_invitation_domain_rules_refuse_a_member(services, make_account):
    member = make_account("acme.example", "m@acme.example", admin=False)
    with services.db.session() as session:
        actor = Actor.of(session.get(User, member.user_id))
        with pytest.raises(DomainError) as refused:
            invitations.invite(session, services.settings, actor, "x@acme.example")
        assert refused.value.status == 403
        with pytest.raises(DomainError) as refused:
            users.user_rows(session, actor)
        assert refused.value.status == 403
        assert session.scalar(select(MailThread.id)) is None


def test_the_connections_page_tells_an_admin_what_to_set_and_a_member_whom_to_ask(app, web, bert):
    admin_text = web.get("/settings/connections").get_data(as_text=True)
    assert "SMARTBCC_MS_CLIENT_ID" in admin_text and "SMARTBCC_GOOGLE_CLIENT_ID" in admin_text
    assert "Ask your admin" not in admin_text
    member = app.test_client()
    sign_in(member, bert.email)
    member_text = member.get("/settings/connections").get_data(as_text=True)
    assert "Ask your admin to configure it" in member_text and "SMARTBCC_MS_CLIENT_ID" not in member_text
