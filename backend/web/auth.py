"""Session sign-in for the pages: who is signed in, sign in and sign out (the start page: home.py)."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from functools import wraps
from urllib.parse import urlsplit

from flask import flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..api.errors import error_response
from ..domain import password_reset
from ..domain.errors import DomainError
from ..request_scope import db_session, services
from ..models import User
from ..ratelimit import Limit
from ..security import check_password
from .blueprint import bp
from .csrf import rotate

SESSION_KEY = "uid"
BAD_LOGIN = "That email address and password do not match an account. Check both and try again."

# Failed sign-ins allowed per account email and per client address: the settings
# SMARTBCC_SIGNIN_LIMIT_PER_EMAIL / _PER_IP (config.py). Successful sign-ins are not counted.
# The client address is request.remote_addr: behind reverse proxies, create_app puts werkzeug's
# ProxyFix in front for SMARTBCC_TRUSTED_PROXIES hops, so it is the address the proxies saw.
THROTTLED = {
    "email": "Too many failed sign-in attempts for this account. To protect it, signing in to it is "
             "paused for a while; retry in {seconds} seconds (about {minutes}).",
    "ip": "Too many failed sign-in attempts from your network. To protect the accounts, signing in "
          "from it is paused for a while; retry in {seconds} seconds (about {minutes}).",
}


def session_stamp(user: User) -> str:
    """Stored in the cookie and compared on every request: a new password, or "sign out other
    sessions" (a new ``session_version``), ends every session that holds an older stamp."""
    version = user.session_version or 0
    # Version 0 keeps the stamp sessions had before versions existed: an upgrade signs no one out.
    seed = (user.password_hash or "") if not version else f"{user.password_hash or ''}|{version}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


_password_stamp = session_stamp  # the name tests/addins/test_manifests.py knows


def restamp(user: User) -> None:
    """Keeps this session signed in after its own user's stamp changed (new password, others signed out)."""
    session["pw"] = session_stamp(user)


def session_user() -> User | None:
    """The signed-in user of this request, or None; cached on ``g``."""
    if "web_user" in g:
        return g.web_user
    user = None
    uid = session.get(SESSION_KEY)
    if isinstance(uid, int):
        try:
            # With the company (one join): pages read its address and settings, and need no second query.
            user = db_session().get(User, uid, options=[joinedload(User.company)])
        except Exception:  # an error page must render even when the database is down
            user = None
        if user is not None and (not user.active or session.get("pw") != session_stamp(user)):
            user = None
    g.web_user = user
    return user


def load_user() -> None:
    """Runs before every web view: the API helpers read ``g.user`` and ``g.company_id``."""
    user = session_user()
    if user is not None:
        g.user = user
        g.company_id = user.company_id


def safe_next(target: str | None) -> str:
    # Only a path on this site: "//evil.example" or "https://..." would be an open redirect.
    if not target:
        return url_for("web.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return url_for("web.home")
    return target


def signin_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if "user" not in g:
            if request.path.startswith("/app-api/"):
                return error_response(401, "You are signed out. Sign in again and retry.")
            flash("Sign in to see that page.", "info")
            return redirect(url_for("web.sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper


@bp.get("/sign-in")
def sign_in():
    if "user" in g:
        return redirect(safe_next(request.args.get("next")))
    return render_template("web/sign_in.html", next_url=request.args.get("next", ""), email="")


@bp.post("/sign-in")
def sign_in_post():
    email = (request.form.get("email") or "").strip().lower()
    password = request.form.get("password") or ""
    next_url = request.form.get("next") or ""
    throttles = _signin_throttles(email) if email and password else []
    paused = _paused(throttles)
    if paused is not None:
        # Refused before the password is checked, so guessing on gains nothing; not counted.
        kind, seconds = paused
        error = THROTTLED[kind].format(seconds=seconds, minutes=_minutes(seconds))
        return (render_template("web/sign_in.html", error=error, email=email, next_url=next_url), 429,
                {"Retry-After": str(seconds)})
    user = db_session().scalar(select(User).where(User.email == email)) if email else None
    # Check the password even for unknown users, so timing does not reveal who has an account.
    valid = check_password(user.password_hash if user else None, password)
    if not email or not password:
        error = "Enter your email address and your password."
    elif user is None or not valid:
        error = BAD_LOGIN
    elif not user.active:
        error = "This account is switched off. Ask your company admin to switch it on again."
    else:
        error = None
    if error:
        # Unknown addresses count like known ones, so the limit does not reveal who has an account.
        limiter = services().limiter
        for _kind, key, limit in throttles:
            limiter.hit(key, limit)
        return render_template("web/sign_in.html", error=error, email=email, next_url=next_url), 401
    # A new session at sign-in, so a session id planted before sign-in is worthless after it.
    session.clear()
    session[SESSION_KEY] = user.id
    session["pw"] = session_stamp(user)
    rotate()
    user.last_sign_in_at = datetime.now(timezone.utc)
    db_session().commit()
    flash(f"Signed in as {user.email}.", "ok")
    return redirect(safe_next(next_url))


def _signin_throttles(email: str) -> list[tuple[str, str, Limit | None]]:
    settings = services().settings
    # The address is hashed: the limiter's keys (Redis when shared) need not hold who tried.
    email_key = hashlib.sha256(email.encode("utf-8", "replace")).hexdigest()[:32]
    client = (request.remote_addr or "unknown")[:64]
    return [
        ("email", f"signin:fail:email:{email_key}", Limit.parse(settings.signin_limit_per_email)),
        ("ip", f"signin:fail:ip:{client}", Limit.parse(settings.signin_limit_per_ip)),
    ]


def _minutes(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def _paused(throttles) -> tuple[str, int] | None:
    """(which limit, seconds to wait) if a sign-in limit is used up, else None; counts nothing."""
    worst = None
    for kind, key, limit in throttles:
        verdict = services().limiter.peek(key, limit)
        if not verdict.allowed and (worst is None or verdict.retry_after > worst[1]):
            worst = (kind, verdict.retry_after)
    return worst


@bp.post("/sign-out")
def sign_out():
    session.clear()
    flash("You are signed out.", "ok")
    return redirect(url_for("web.sign_in"))


# --- password reset by mail (the rules: backend/domain/password_reset.py) ------------------------

@bp.get("/forgot-password")
def forgot_password():
    return render_template("web/forgot_password.html", email=request.args.get("email", "")[:320], errors={})


@bp.post("/forgot-password")
def forgot_password_post():
    email = (request.form.get("email") or "").strip().lower()[:320]
    if not email or "@" not in email or "\x00" in email:
        return render_template("web/forgot_password.html", email=email, errors={
            "email": ["Enter the email address you sign in with."]}), 400
    # Counted for every address alike (the sign-in limits, on keys of their own): a flood of reset
    # mails to one inbox, or from one network, stops without telling whether an account exists.
    verdict = services().limiter.check_all([(key.replace("signin:fail:", "reset:"), limit)
                                            for _kind, key, limit in _signin_throttles(email)])
    if not verdict.allowed:
        error = (f"Too many password reset requests for this address or from your network. Retry in "
                 f"{verdict.retry_after} seconds (about {_minutes(verdict.retry_after)}).")
        return (render_template("web/forgot_password.html", email=email, errors={"email": [error]}), 429,
                {"Retry-After": str(verdict.retry_after)})
    # Queued for every address alike: the job finds out whether there is an account, this page never says.
    services().jobs.enqueue(password_reset.SEND_PASSWORD_RESET, email)
    flash(password_reset.requested_message(services().settings, email), "ok")
    return redirect(url_for("web.sign_in"))


@bp.get("/reset-password")
def reset_password():
    token = (request.args.get("token") or "")[:2000]
    opened = password_reset.open_link(db_session(), services().settings, token)
    if opened.state != "pending":
        raise opened.refusal()
    return render_template("web/reset_password.html", token=token, email=opened.user.email, errors={})


@bp.post("/reset-password")
def reset_password_post():
    token = (request.form.get("token") or "")[:2000]
    try:
        user = password_reset.reset_password(db_session(), services().settings, token,
                                             request.form.get("password") or "",
                                             request.form.get("password_again") or "")
    except DomainError as exc:
        db_session().rollback()
        if not exc.errors:
            raise
        email = password_reset.open_link(db_session(), services().settings, token).user.email
        return render_template("web/reset_password.html", token=token, email=email, errors=exc.errors), 400
    db_session().commit()
    session.clear()
    flash(f"Your new password is set and every session of {user.email} was signed out. Sign in with it.", "ok")
    return redirect(url_for("web.sign_in"))
