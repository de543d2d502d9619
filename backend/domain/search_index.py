"""Search documents built once per message by a writer that stores many (issue 18, part 2).

The database keeps each live message's search document in step by itself (triggers of
migrations 0011 and 0019), whoever writes. A message written with its participants and
attachments would have its document built after each of those statements; a writer that stores
whole messages (the pipeline's runner, per batch) says ``defer`` first and ``build`` before it
commits: in between the triggers only note which messages changed, and ``build`` writes each
noted document once. Both are statements of the writer's own transaction, so a rollback discards
the deferral with the writes, and a writer that never defers keeps the triggers' usual behaviour.
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def defer(session: Session) -> None:
    """From now until ``build``, in this transaction, the triggers note changed messages only.

    On SQLite this takes the write lock (it writes the deferral's row)."""
    if _is_postgresql(session):
        session.execute(text("SELECT set_config('smartbcc.search_deferred', 'on', true)"))
    else:
        session.execute(text("INSERT OR IGNORE INTO mail_search_pending (message_id) VALUES (0)"))


def build(session: Session) -> None:
    """Ends the deferral: writes the document of every message noted since ``defer``, once."""
    session.flush()  # the writes still held by the session reach the triggers while deferred
    if _is_postgresql(session):
        session.execute(text("SELECT smartbcc_search_build()"))
    else:
        session.execute(text("DELETE FROM mail_search_pending WHERE message_id = 0"))
