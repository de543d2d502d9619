"""Fills the add-in manifest templates in addin-manifest/ with a deployment's base URL (Outlook XML and JSON, Gmail deployment)."""
from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from ..config import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "addin-manifest"
ICONS = PROJECT_ROOT / "static" / "addin" / "icons"
VERSION = "1.0.0"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_SSO_BLOCK = re.compile(r"[ \t]*<!--sso-->.*?<!--/sso-->\n?", re.S)
_TEMPLATE_NOTE = re.compile(r"<!--template.*?template-->\n?", re.S)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ManifestError(Exception):
    """A value the manifests cannot carry; the message says which and what to use instead."""


def check_base_url(url: str) -> str:
    """The base URL without trailing slash; Office and Google load add-ins over HTTPS only."""
    url = (url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ManifestError(f"the base URL must be an https:// URL that Outlook and Gmail can reach, got {url!r}; "
                            "set SMARTBCC_BASE_URL or pass --base-url https://crm.example.com")
    if parts.query or parts.fragment or parts.username or any(c in url for c in "\"'<>&{} \\"):
        raise ManifestError(f"the base URL must be a plain https://host[:port][/path], got {url!r}")
    return url


@dataclass(frozen=True)
class Values:
    base_url: str
    ms_client_id: str = ""
    app_id: str = ""

    @classmethod
    def make(cls, base_url: str, ms_client_id: str = "", app_id: str | None = None) -> "Values":
        base = check_base_url(base_url)
        if ms_client_id and not _GUID.match(ms_client_id):
            raise ManifestError(f"the Microsoft client ID must be a GUID, got {ms_client_id!r}")
        if app_id and not _GUID.match(app_id):
            raise ManifestError(f"the add-in ID must be a GUID, got {app_id!r}")
        # Derived from the base URL, so regenerating gives the same add-in ID and
        # Outlook treats the new manifest as an update, not as a second add-in.
        stable = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base}#smartbcc-outlook"))
        return cls(base, ms_client_id.lower(), (app_id or stable).lower())

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    def mapping(self) -> dict[str, str]:
        resource = f"api://{self.host}/{self.ms_client_id}" if self.ms_client_id else ""
        return {"base_url": self.base_url, "app_id": self.app_id, "ms_client_id": self.ms_client_id,
                "resource": resource, "host": self.host, "version": VERSION}


def _fill(text: str, mapping: dict[str, str], quote) -> str:
    def sub(match):
        name = match.group(1)
        if name not in mapping:
            raise ManifestError(f"unknown placeholder {{{{{name}}}}} in a manifest template")
        return quote(mapping[name])
    return _PLACEHOLDER.sub(sub, text)


def outlook_xml(values: Values) -> str:
    text = _TEMPLATE_NOTE.sub("", (TEMPLATES / "outlook" / "manifest.xml").read_text(encoding="utf-8"))
    if not values.ms_client_id:
        # Without an app registration there is no SSO resource to declare.
        text = _SSO_BLOCK.sub("", text)
    else:
        text = text.replace("<!--sso-->", "").replace("<!--/sso-->", "")
    return _fill(text, values.mapping(), lambda v: escape(v, {'"': "&quot;"}))


def _fill_json(node, mapping):
    if isinstance(node, str):
        return _fill(node, mapping, lambda v: v)
    if isinstance(node, list):
        return [_fill_json(v, mapping) for v in node]
    if isinstance(node, dict):
        return {k: _fill_json(v, mapping) for k, v in node.items()}
    return node


def _json_template(*parts: str) -> dict:
    return json.loads(TEMPLATES.joinpath(*parts).read_text(encoding="utf-8"))


def outlook_json(values: Values) -> dict:
    manifest = _fill_json(_json_template("outlook", "manifest.json"), values.mapping())
    if not values.ms_client_id:
        manifest.pop("webApplicationInfo", None)
    return manifest


def gmail_deployment(values: Values) -> dict:
    return _fill_json(_json_template("gmail", "deployment.json"), values.mapping())


def dumps(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def outlook_package(values: Values) -> bytes:
    """The Microsoft 365 app package: the JSON manifest and the two icons it names, zipped."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", dumps(outlook_json(values)))
        for name in ("color.png", "outline.png"):
            archive.write(ICONS / name, name)
    return buffer.getvalue()


def write_outlook(values: Values, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in (("manifest.xml", outlook_xml(values)), ("manifest.json", dumps(outlook_json(values)))):
        path = out_dir / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    for name in ("color.png", "outline.png"):
        path = out_dir / name
        path.write_bytes((ICONS / name).read_bytes())
        written.append(path)
    package = out_dir / "smartbcc-outlook.zip"
    package.write_bytes(outlook_package(values))
    written.append(package)
    return written


def write_gmail(values: Values, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "deployment.json"
    path.write_text(dumps(gmail_deployment(values)), encoding="utf-8")
    return [path]
