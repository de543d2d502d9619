"""What every `smartbcc` command group shares: the one-line error and the services from the environment."""
from __future__ import annotations

import click

from .config import ConfigError, Settings


class CliError(click.ClickException):
    """Printed as one line on stderr, exit status 1."""

    def show(self, file=None):
        click.echo(f"error: {self.message}", err=True)


def cli_services(**overrides):
    """The process's services from SMARTBCC_* settings; a bad setting is one clear line."""
    from .services import Services

    try:
        return Services.create(Settings.from_env(**overrides))
    except ConfigError as exc:
        raise CliError(str(exc)) from exc
