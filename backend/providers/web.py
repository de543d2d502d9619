"""Settings > Connections pages: connect Outlook or Gmail, see a broken connection and fix it, disconnect."""
from __future__ import annotations

import json
import logging

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import select

from ..request_scope import db_session, services
from ..models import SenderAddress, SentAnnouncement
from . import crypto
from .announcements import announcement_json
from .connections import LABELS, OAUTH, connection_json, disconnect, save_connection, user_connections
from .limits import ProviderError
from .tokens import ConnectError, NotConfigured

log = logging.getLogger(__name__)
bp = Blueprint("providers_web", __name__)
FLOW_KEY = "providers_flow"


@bp.before_request
def _signed_in():
    # The session and CSRF rules of the web pages (backend/web), applied to this blueprint too.
    from ..web.auth import load_user
    from ..web.csrf import check_csrf

    load_user()
    if "user" not in g:
        flash("Sign in to see that page.", "info")
        return redirect(url_for("web.sign_in", next=request.full_path.rstrip("?")))
    check_csrf()
    return None


def _provider(name: str) -> str:
    if name not in LABELS:
        abort(404)
    return name


def _callback_url(provider: str) -> str:
    # Registered with Microsoft/Google as the redirect URI, so it is built from base_url, not the request.
    return f"{services().settings.base_url.rstrip('/')}/settings/connections/{provider}/callback"


@bp.get("/settings/connections")
def connections_page():
    settings = services().settings
    session_ = db_session()
    rows = user_connections(session_, g.user.id)
    accepted = {g.user.email} | set(session_.scalars(select(SenderAddress.email).where(
        SenderAddress.user_id == g.user.id, SenderAddress.verified_at.is_not(None))))
    cards = []
    for provider in LABELS:
        data = connection_json(settings, provider, rows.get(provider))
        data["sender_not_accepted"] = bool(data["account_email"] and data["account_email"] not in accepted)
        cards.append(data)
    recent = [announcement_json(a) for a in session_.scalars(
        select(SentAnnouncement).where(SentAnnouncement.user_id == g.user.id)
        .order_by(SentAnnouncement.id.desc()).limit(10))]
    return render_template("providers/connections.html", cards=cards, recent=recent)


@bp.get("/settings/connections/<provider>/start")
def connect_start(provider: str):
    provider = _provider(provider)
    settings = services().settings
    try:
        url, flow = OAUTH[provider].start(settings, _callback_url(provider), login_hint=g.user.email)
    except NotConfigured as exc:
        flash(f"{exc} Ask your admin.", "error")
        return redirect(url_for("providers_web.connections_page"))
    except ProviderError as exc:
        flash(f"Could not start connecting {LABELS[provider]}: {exc.message}. Try again in a minute.", "error")
        return redirect(url_for("providers_web.connections_page"))
    # The flow holds the PKCE verifier and nonce: encrypted, since the session cookie is only signed.
    session[FLOW_KEY] = crypto.encrypt(settings, json.dumps(
        {"provider": provider, "user_id": g.user.id, "flow": flow}))
    return redirect(url)


@bp.get("/settings/connections/<provider>/callback")
def connect_callback(provider: str):
    provider = _provider(provider)
    svc = services()
    sealed = session.pop(FLOW_KEY, None)
    try:
        pending = json.loads(crypto.decrypt(svc.settings, sealed)) if sealed else None
    except (crypto.TokenDecryptError, ValueError):
        pending = None
    label = LABELS[provider]
    if not pending or pending.get("provider") != provider or pending.get("user_id") != g.user.id:
        flash(f"That {label} sign-in was not started here (or has expired). Choose \"Connect {label}\" again.",
              "error")
        return redirect(url_for("providers_web.connections_page"))
    try:
        tokens = OAUTH[provider].finish(svc.settings, pending["flow"], request.args.to_dict())
        account, cursor = _account_and_cursor(svc, provider, tokens)
    except (ConnectError, NotConfigured) as exc:
        flash(f"{label} was not connected: {exc}", "error")
        return redirect(url_for("providers_web.connections_page"))
    except ProviderError as exc:
        flash(f"{label} was not connected: {exc.message}. Try again in a minute.", "error")
        return redirect(url_for("providers_web.connections_page"))
    save_connection(svc, company_id=g.user.company_id, user_id=g.user.id, provider=provider,
                    tokens=tokens, account_email=account, cursor=cursor)
    flash(f"{label} is connected ({account}). Sent mail with a Smart Bcc address in Bcc, and replies in "
          "logged conversations, are now fetched from this mailbox.", "ok")
    return redirect(url_for("providers_web.connections_page"))


def _account_and_cursor(svc, provider: str, tokens) -> tuple[str, str | None]:
    """The mailbox address, and where the sync starts (Gmail: the current history id)."""
    if provider == "outlook":
        if not tokens.account_email:
            raise ConnectError("Microsoft did not say which mailbox this is; try again.")
        return tokens.account_email, None
    from .gmail import GmailClient

    class _Fixed:  # the fresh token, before anything is stored
        def get(self):
            return tokens.access_token

        def refresh(self):
            raise ConnectError("Google's new access token was refused; try again.")

    profile = GmailClient(svc.settings.gmail_api_url, _Fixed(), ("connecting", g.user.id)).profile()
    return str(profile.get("emailAddress", "")).lower(), str(profile.get("historyId") or "") or None


@bp.post("/settings/connections/<provider>/disconnect")
def connect_disconnect(provider: str):
    provider = _provider(provider)
    if disconnect(services(), g.user.id, provider):
        flash(f"{LABELS[provider]} is disconnected; Smart Bcc deleted its access to the mailbox. You can also "
              "remove Smart Bcc from your account's app permissions.", "ok")
    else:
        flash(f"{LABELS[provider]} was not connected.", "info")
    return redirect(url_for("providers_web.connections_page"))
