"""What the settings pages' form handlers share: a domain call whose field errors show next to their
fields, the words after a change (or after no change), and a mail handed to the job runner."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash

from ..domain.errors import DomainError
from ..request_scope import db_session, services


def attempt(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, dict | None]:
    """(what ``call`` returned, None), or (None, the field messages) when the rule refused the form
    input: the change is rolled back and the page shows each message next to its field. A refusal
    without field messages (403, 404, 409...) is raised as it is: the error page says what to do."""
    try:
        return call(*args, **kwargs), None
    except DomainError as exc:
        db_session().rollback()
        if not exc.errors:
            raise
        return None, exc.errors


def saved(changed: bool, done: str, nothing: str) -> None:
    """Commits, and says what changed, or that nothing did."""
    db_session().commit()
    flash(done if changed else nothing, "ok" if changed else "info")


def commit_and_mail(job: str, args: tuple, not_sent: Callable[[], str | None], sent: str) -> None:
    """Commits, then queues ``job`` with ``args`` (the job runner sends the mail, never the request),
    and says where the mail goes, or, when the job already gave up, ``not_sent()``'s words."""
    db_session().commit()
    services().jobs.enqueue(job, *args)
    failed = not_sent()
    flash(failed or sent, "error" if failed else "ok")
