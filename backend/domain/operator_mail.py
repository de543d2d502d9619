"""Who reads the mail to the operator mailboxes (postmaster@, abuse@), and the list they read.

That mail belongs to whoever runs the deployment, not to every company on it: an abuse report
about one company's mail must not reach another company's admins. The operators are the admins
of the company the ``operator_company_id`` setting names; unset, the admins of the deployment's
only company (with several companies and no setting, nobody).
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Company, OperatorMail
from .actor import Actor
from .errors import DomainError, not_found

PER_PAGE = 50

NOT_OPERATOR = ("Only the admins who run this Smart Bcc deployment can read mail sent to its "
                "postmaster@ and abuse@ mailboxes.")


def may_read(session: Session, actor: Actor, operator_company_id: int | None) -> bool:
    if not actor.is_admin:
        return False
    if operator_company_id:
        return actor.company_id == operator_company_id
    return session.scalars(select(Company.id).order_by(Company.id).limit(2)).all() == [actor.company_id]


def check_reader(session: Session, actor: Actor, operator_company_id: int | None) -> None:
    if not may_read(session, actor, operator_company_id):
        raise DomainError(403, NOT_OPERATOR)


def newest_first(session: Session, page: int = 1) -> tuple[list[OperatorMail], int]:
    """One page of operator mail, newest first, and how many pages there are."""
    total = session.scalar(select(func.count()).select_from(OperatorMail)) or 0
    rows = session.scalars(select(OperatorMail).order_by(OperatorMail.received_at.desc(), OperatorMail.id.desc())
                           .limit(PER_PAGE).offset((max(page, 1) - 1) * PER_PAGE)).all()
    return list(rows), max(1, -(-total // PER_PAGE))


def one(session: Session, mail_id: int) -> OperatorMail:
    row = session.get(OperatorMail, mail_id)
    if row is None:
        raise not_found("mail")
    return row
