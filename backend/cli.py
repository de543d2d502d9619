"""The `smartbcc` command: serve, smtpd, db, company, user, contacts, demo, inbound, config, check-ports,
manifest."""
from __future__ import annotations

import json
import logging
import sys

import click
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from . import addresses
from .accounts import AccountError, create_company, create_user, rotate_inbound_secret
from .cli_common import CliError, check_ports_or_fail, cli_services, cli_settings
from .config import ConfigError


def _emit(data: dict) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _guard(fn):
    """Turns expected failures into one clear line instead of a traceback."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AccountError as exc:
            raise CliError(str(exc)) from exc
        except ConfigError as exc:
            raise CliError(str(exc)) from exc
        except OperationalError as exc:
            raise CliError(f"cannot reach the database ({exc.orig.__class__.__name__}); "
                           "check SMARTBCC_DATABASE_URL and run `smartbcc db upgrade`") from exc
        except ProgrammingError as exc:
            # PostgreSQL's "relation does not exist" on a database never migrated.
            raise CliError(f"the database schema is missing or outdated ({exc.orig.__class__.__name__}); "
                           "run `smartbcc db upgrade`") from exc
        except IntegrityError as exc:
            # The driver's message may span lines (DETAIL: ...); the error is one line.
            raise CliError("that conflicts with existing data (" + " ".join(str(exc.orig).split()) + ")") from exc
    return wrapper


@click.group()
def main() -> None:
    """Smart Bcc: log a sales team's email into its CRM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiosmtpd logs every SMTP command at INFO, alembic every plugin; keep the console readable.
    for noisy in ("mail.log", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@_guard
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    from .db import make_engine

    settings = cli_settings()
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    # Connect first, so an unreachable database fails before Alembic logs anything.
    engine = make_engine(settings.database_url)
    try:
        engine.connect().close()
    finally:
        engine.dispose()
    from .migrate import upgrade  # importing Alembic already logs

    upgrade(settings.database_url)
    click.echo("database is at the newest schema", err=True)


@main.group()
def company() -> None:
    """Companies."""


@company.command("create")
@click.option("--name", required=True)
@click.option("--domain", required=True, help="the company's mail domain, e.g. acme.example")
@_guard
def company_create(name: str, domain: str) -> None:
    """Create a company; prints its id, Smart Bcc address and inbound secret."""
    services = cli_services()
    with services.db.session() as session:
        created = create_company(session, name, domain)
        c = created.company
        out = {"id": c.id, "name": c.name, "domain": c.domain,
               "bcc_address": addresses.company_address(c.slug, services.settings.mail_domain),
               "inbound_secret": created.inbound_secret}
    _emit(out)


@company.command("inbound-secret")
@click.option("--company-id", type=int, required=True)
@_guard
def company_inbound_secret(company_id: int) -> None:
    """Issue a new secret for POST /api/v1/inbound/mime (the old one stops working)."""
    from .models import Company

    services = cli_services()
    with services.db.session() as session:
        c = session.get(Company, company_id)
        if c is None:
            raise CliError(f"no company with id {company_id}")
        secret = rotate_inbound_secret(c)
    _emit({"id": company_id, "inbound_secret": secret})


@main.group()
def user() -> None:
    """Users."""


@user.command("create")
@click.option("--company-id", type=int, required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--admin", is_flag=True, help="make the user a company admin")
@click.option("--password", default=None, help="password for the web pages (at least 8 characters)")
@_guard
def user_create(company_id: int, email: str, name: str, admin: bool, password: str | None) -> None:
    """Create a user; prints the id and the API token (shown only once)."""
    services = cli_services()
    with services.db.session() as session:
        created = create_user(session, company_id, email, name, admin=admin, password=password)
        out = {"id": created.user.id, "company_id": company_id, "email": created.user.email,
               "role": created.user.role, "api_token": created.api_token}
    _emit(out)


@main.command("demo")
@click.option("--no-port-check", is_flag=True,
              help="seed even while the ports of `smartbcc serve` are busy (e.g. it already runs)")
@_guard
def demo(no_port_check: bool) -> None:
    """Create the demo company (once) and print how to use it (the same credentials every time)."""
    from .demo import seed_demo

    settings = cli_settings()
    if not no_port_check:
        # `make run` seeds, then serves: when Smart Bcc already runs, stop here with one line.
        check_ports_or_fail(settings)
    services = cli_services(settings)
    try:
        info = seed_demo(services)
    finally:
        services.close()
    click.echo(info.banner(services.settings))


@main.group()
def inbound() -> None:
    """Inbound records (received mail)."""


@inbound.command("retry")
@click.option("--id", "record_ids", type=int, multiple=True, help="only these records (repeatable)")
@_guard
def inbound_retry(record_ids: tuple[int, ...]) -> None:
    """Process failed inbound records again; prints each id with its new status."""
    from .pipeline.runner import retry_failed

    services = cli_services(jobs="eager")
    try:
        results = retry_failed(services, list(record_ids) or None)
    finally:
        services.close()
    _emit({"retried": len(results), "results": {str(k): v for k, v in results.items()}})
    if any(status == "failed" for status in results.values()):
        raise CliError("some records failed again; see `error` on each (GET /api/v1/mailbox/inbound?status=failed)")


@main.group()
def contacts() -> None:
    """Contacts."""


@contacts.command("prune-automatic")
@click.option("--dry-run", is_flag=True, help="only print what would be removed")
@click.option("--company-id", type=int, default=None, help="only this company")
@_guard
def contacts_prune_automatic(dry_run: bool, company_id: int | None) -> None:
    """Remove contacts that are mail servers (mailer-daemon@, postmaster@, ...) and unlink them
    from threads, unless linked by hand or given a deal, lead or project; prints each one."""
    from .domain.machine_contacts import prune_machine_contacts
    from .models import Company

    services = cli_services()
    with services.db.session() as session:
        if company_id is not None and session.get(Company, company_id) is None:
            raise CliError(f"no company with id {company_id}")
        found = prune_machine_contacts(session, dry_run=dry_run, company_id=company_id)
        out = {"dry_run": dry_run,
               "removed": [c.shown() for c in found if not c.kept],
               "kept": [c.shown() for c in found if c.kept]}
    _emit(out)
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {len(out['removed'])} mail-server contact(s); kept {len(out['kept'])}", err=True)


@main.command("serve")
@_guard
def serve() -> None:
    """Run the web app and the SMTP receiver in one process (embedded default)."""
    from .server import PortError, serve_all

    settings = cli_settings()
    check_ports_or_fail(settings)
    try:
        serve_all(cli_services(settings))
    except PortError as exc:  # taken between the check and the start
        raise CliError(str(exc)) from exc


@main.command("smtpd")
@_guard
def smtpd() -> None:
    """Run only the SMTP receiver for Smart Bcc addresses."""
    import errno

    from .intake.smtp import run_forever
    from .server import listen_error

    settings = cli_settings()
    check_ports_or_fail(settings, ("smtp",))
    try:
        run_forever(cli_services(settings))
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise CliError(str(listen_error("smtp", settings, exc))) from exc
        raise


@main.command("check-ports")
@_guard
def check_ports_command() -> None:
    """Exit 1 with one line if the ports of `smartbcc serve` (HTTP and SMTP) are busy."""
    check_ports_or_fail(cli_settings())


@main.command("config")
@click.option("--json", "as_json", is_flag=True, help="print a JSON object instead of NAME=value lines")
@_guard
def config_command(as_json: bool) -> None:
    """Print the effective SMARTBCC_* settings (secrets shown as ***); exit 1 if one is malformed."""
    settings = cli_settings()
    if as_json:
        _emit(settings.shown())
    else:
        for line in settings.lines():
            click.echo(line)


def _register_plugins() -> None:
    # Command groups that live beside their feature (add-in manifests, providers).
    from .addins import cli as addins_cli
    from .providers import cli as providers_cli

    for module in (addins_cli, providers_cli):
        for command in getattr(module, "COMMANDS", []):
            main.add_command(command)


_register_plugins()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
