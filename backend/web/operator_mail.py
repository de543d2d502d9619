"""Settings > Operator mail: what arrived for postmaster@ and abuse@, for the deployment's admins."""
from __future__ import annotations

import io

from flask import render_template, send_file

from ..domain import operator_mail
from ..domain.errors import DomainError as ApiError
from ..request_scope import actor, db_session, services
from .auth import signin_required
from .blueprint import bp
from .format import page_number


def _check_reader() -> None:
    # The rule raises a 403 the error pages word; the setting is proposed for backend/config.py.
    operator_company_id = services().settings.operator_company_id
    operator_mail.check_reader(db_session(), actor(), operator_company_id)


@bp.get("/settings/operator-mail")
@signin_required
def operator_mail_page():
    _check_reader()
    page = page_number()
    rows, pages = operator_mail.newest_first(db_session(), page)
    domain = services().settings.mail_domain
    return render_template("web/operator_mail.html", rows=rows, page=page, pages=pages, domain=domain)


@bp.get("/settings/operator-mail/<int:mail_id>.eml")
@signin_required
def operator_mail_raw(mail_id: int):
    """The raw mail as a download, never rendered: it is a stranger's mail."""
    _check_reader()
    row = operator_mail.one(db_session(), mail_id)
    blobs = services().blobs
    if not blobs.exists(row.raw_sha256):
        raise ApiError(404, "The raw mail is no longer stored.")
    response = send_file(io.BytesIO(blobs.get(row.raw_sha256)), mimetype="application/octet-stream",
                         as_attachment=True, download_name=f"{row.mailbox}-{row.id}.eml")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response
