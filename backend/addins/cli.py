"""`smartbcc manifest outlook|gmail`: writes the add-in manifests for a deployment's base URL."""
from __future__ import annotations

from pathlib import Path

import click

from ..config import ConfigError, Settings
from . import manifests


class _Error(click.ClickException):
    def show(self, file=None):
        click.echo(f"error: {self.message}", err=True)


def _values(base_url: str | None, client_id: str | None, app_id: str | None) -> manifests.Values:
    # The same environment variables as the server, so a bare command matches the deployment.
    try:
        base = base_url or Settings.given("base_url") or ""
        client = client_id if client_id is not None else (Settings.given("ms_client_id") or "")
        return manifests.Values.make(base, client, app_id)
    except (manifests.ManifestError, ConfigError) as exc:
        raise _Error(str(exc)) from exc


def _report(paths: list[Path]) -> None:
    for path in paths:
        click.echo(f"wrote {path}")


@click.group("manifest")
def manifest() -> None:
    """Add-in manifests for Outlook and Gmail, filled with this deployment's base URL."""


@manifest.command("outlook")
@click.option("--base-url", help="Public https:// URL of this Smart Bcc server (default: SMARTBCC_BASE_URL).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("build/addin-manifest/outlook"), show_default=True,
              help="Directory to write manifest.xml, manifest.json, its icons and the app package to.")
@click.option("--client-id", default=None,
              help="Microsoft app (client) ID for sign-in (default: SMARTBCC_MS_CLIENT_ID).")
@click.option("--app-id", default=None, help="Add-in ID (GUID); default: derived from the base URL.")
def outlook(base_url, out_dir, client_id, app_id) -> None:
    """Write the Outlook add-in-only XML manifest and the unified JSON manifest (+ app package)."""
    _report(manifests.write_outlook(_values(base_url, client_id, app_id), out_dir))


@manifest.command("gmail")
@click.option("--base-url", help="Public https:// URL of this Smart Bcc server (default: SMARTBCC_BASE_URL).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("build/addin-manifest/gmail"), show_default=True,
              help="Directory to write deployment.json to.")
def gmail(base_url, out_dir) -> None:
    """Write the Google Workspace add-on deployment (HTTP endpoints) for Gmail."""
    _report(manifests.write_gmail(_values(base_url, "", None), out_dir))


COMMANDS: list = [manifest]
