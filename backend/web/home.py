"""The start page: the sign-in form, or the newest conversations and the Smart Bcc address."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import g, render_template
from sqlalchemy import func, select

from .. import addresses
from ..domain import expectations
from ..request_scope import actor, db_session, services
from ..models import MailThread
from .blueprint import bp
from .inbox import thread_rows, visible_inbox


@bp.get("/")
def home():
    if "user" not in g:
        return render_template("web/sign_in.html", next_url="", email="")
    user = g.user
    recent = thread_rows(db_session().scalars(visible_inbox().limit(5)).all())
    needs_choice = db_session().scalar(select(func.count()).select_from(
        visible_inbox().where(MailThread.needs_deal_choice.is_(True)).order_by(None).subquery()))
    address = addresses.company_address(user.company.slug, services().settings.mail_domain)
    # Mail the add-in announced whose copy has not arrived (backend/domain/expectations.py).
    not_logged = expectations.not_logged(db_session(), actor(), now=datetime.now(timezone.utc),
                                         wait_minutes=services().settings.not_logged_after_minutes)
    db_session().commit()  # what the read found settled
    return render_template("web/home.html", recent=recent, needs_choice=needs_choice, address=address,
                           not_logged=not_logged)
