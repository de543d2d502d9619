"""`smartbcc providers ...`: key rotation, a new key, and running a sync by hand."""
from __future__ import annotations

import json

import click

COMMANDS: list = []


@click.group("providers")
def providers() -> None:
    """Mailbox connections (Outlook, Gmail)."""


@providers.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt every stored provider token with the first key of SMARTBCC_TOKEN_KEYS.

    Rotation: put a new key first in SMARTBCC_TOKEN_KEYS (keep the old ones after
    it), restart, run this, then drop the old keys.
    """
    from ..cli_common import cli_services
    from .crypto import rotate_all

    services = cli_services()
    try:
        result = rotate_all(services)
    finally:
        services.close()
    click.echo(json.dumps(result))
    if result["unreadable"]:
        raise click.ClickException(f"{result['unreadable']} connection(s) could not be decrypted with any "
                                   "configured key; those users must connect again")


@providers.command("new-key")
def new_key_command() -> None:
    """Print a new Fernet key for SMARTBCC_TOKEN_KEYS."""
    from .crypto import new_key

    click.echo(new_key())


@providers.command("sync")
@click.option("--connection-id", type=int, multiple=True, help="only these connections (repeatable)")
def sync_command(connection_id: tuple[int, ...]) -> None:
    """Sync mailboxes now, in this process (normally the worker does it every few minutes)."""
    from sqlalchemy import select, update

    from ..cli_common import cli_services
    from ..models import MailboxConnection
    from .sync import sync_connection

    services = cli_services(jobs="eager")
    try:
        with services.db.session() as session:
            ids = list(connection_id) or list(session.scalars(select(MailboxConnection.id).where(
                MailboxConnection.status != "broken")))
            # By hand means now, whatever the schedule says.
            session.execute(update(MailboxConnection).where(MailboxConnection.id.in_(ids))
                            .values(next_sync_at=None))
        results = {str(i): sync_connection(services, i) for i in ids}
    finally:
        services.close()
    click.echo(json.dumps(results, indent=2, default=str))


COMMANDS.append(providers)
