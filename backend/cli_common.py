"""What every `smartbcc` command group shares: the one-line error and the services from the environment."""
from __future__ import annotations

import click

from .config import ConfigError, Settings


class CliError(click.ClickException):
    """Printed as one line on stderr, exit status 1."""

    def show(self, file=None):
        click.echo(f"error: {self.message}", err=True)


def cli_settings(**overrides) -> Settings:
    """The SMARTBCC_* settings, every one validated; a bad one is one clear line."""
    try:
        return Settings.from_env(**overrides)
    except ConfigError as exc:
        raise CliError(str(exc)) from exc


def cli_services(settings: Settings | None = None, **overrides):
    """The process's services from SMARTBCC_* settings; a bad setting is one clear line."""
    from .services import Services

    return Services.create(settings or cli_settings(**overrides))


def check_ports_or_fail(settings: Settings, which: tuple[str, ...] = ("http", "smtp")) -> None:
    """One line naming the busy port and its variable unless the ports can be opened."""
    from .server import PortError, check_ports

    try:
        check_ports(settings, which)
    except PortError as exc:
        raise CliError(str(exc)) from exc
