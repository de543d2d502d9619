"""Every SMARTBCC_* setting, read once from the environment and validated at start.

Each field of ``Settings`` carries its environment variable, parser, default and
description (``setting(...)``); ``Settings.from_env()`` loops over the fields, so a
setting's default is written once, here. No other module reads the environment:
they get the ``Settings`` of their process. A malformed value raises ``ConfigError``
with one sentence naming the variable and saying how to write it; the process
entry points (``smartbcc serve|smtpd|…``, ``create_app``, the Celery worker) stop
with that sentence. README's configuration table is generated from the fields
(``python -m backend.config``; tests/test_settings.py checks it is current).
"""
from __future__ import annotations

import os
import secrets
import sys
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable

from . import config_values as cv
from .config_values import REDACTED, redact_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# One place for the size limit: SMTP SIZE, DATA check and HTTP inbound all read it.
# Not an environment setting (the product promises 20 MB).
MAX_MESSAGE_BYTES = 20 * 1024 * 1024


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


# --- the settings --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    """What ``setting(...)`` records on a field."""
    env: str
    parse: Callable[[str], Any]
    doc: str
    derive: Callable[[dict], Any] | None = None  # default computed from the fields before it
    default_doc: str | None = None  # the default as README shows it, when not the plain value
    secret: bool = False
    url_secret: bool = False  # a URL whose password part is hidden when shown


def setting(env: str, default: Any = MISSING, *, parse: Callable[[str], Any] = cv.text, doc: str,
            derive: Callable[[dict], Any] | None = None, default_doc: str | None = None,
            secret: bool = False, url_secret: bool = False):
    spec = Spec(env, parse, doc, derive, default_doc, secret, url_secret)
    return field(default=default, metadata={"setting": spec})


def limit_setting(env: str, default: str, *, doc: str):
    """A rate limit: its default is also the example its error message gives."""
    return setting(env, default, parse=cv.limit(default), doc=doc)


def _secret_key(instance_dir: Path) -> str:
    """The key generated once into instance/ (when SMARTBCC_SECRET_KEY is not set)."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    key_file = instance_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(48)
    # Create with owner-only permissions before writing the secret into it.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


@dataclass(frozen=True, kw_only=True)
class Settings:
    instance_dir: Path = setting(
        "SMARTBCC_INSTANCE_DIR", parse=cv.path, derive=lambda v: PROJECT_ROOT / "instance",
        default_doc="`instance/` in the checkout", doc="SQLite database, secret key, blobs, outbox")
    database_url: str = setting(
        "SMARTBCC_DATABASE_URL", parse=cv.database_url, url_secret=True,
        derive=lambda v: f"sqlite:///{v['instance_dir'] / 'smartbcc.sqlite3'}",
        default_doc="`sqlite:///<instance dir>/smartbcc.sqlite3`",
        doc="SQLAlchemy URL; `postgresql://user@host/db` in production")
    mail_domain: str = setting(
        "SMARTBCC_MAIL_DOMAIN", "bcc.localhost", parse=cv.mail_domain,
        doc="domain of the Smart Bcc addresses (your MX points here)")
    secret_key: str = setting(
        "SMARTBCC_SECRET_KEY", secret=True, derive=lambda v: _secret_key(v["instance_dir"]),
        default_doc="generated once into `<instance dir>/secret_key`",
        doc="signs sessions and confirmation links; set it in production, the same on every process")
    http_host: str = setting(
        "SMARTBCC_HTTP_HOST", "127.0.0.1", parse=cv.host, doc="where `smartbcc serve` listens for HTTP")
    http_port: int = setting(
        "SMARTBCC_HTTP_PORT", 5000, parse=cv.port(5000), doc="port of `smartbcc serve`'s web server")
    smtp_host: str = setting(
        "SMARTBCC_SMTP_HOST", "127.0.0.1", parse=cv.host, doc="where the SMTP receiver listens")
    smtp_port: int = setting(
        "SMARTBCC_SMTP_PORT", 2525, parse=cv.port(2525),
        doc="port of the SMTP receiver (25 behind MX in production)")
    base_url: str = setting(
        "SMARTBCC_BASE_URL", parse=cv.url(("http", "https"), "https://smartbcc.example.com"),
        derive=lambda v: f"http://127.0.0.1:{v['http_port']}", default_doc="`http://127.0.0.1:<HTTP port>`",
        doc="public URL of the web process (links in mails, add-in manifests; `https://` marks cookies Secure)")
    blob_dir: Path = setting(
        "SMARTBCC_BLOB_DIR", parse=cv.path, derive=lambda v: v["instance_dir"] / "blobs",
        default_doc="`<instance dir>/blobs`",
        doc="raw messages and attachments, content-addressed (a shared volume when scaled out)")
    # "inline": jobs run in a thread pool of this process (embedded default);
    # "eager": jobs run at once in the calling thread (tests);
    # "celery": jobs are sent to the Celery broker below.
    jobs: str = setting(
        "SMARTBCC_JOBS", "inline", parse=cv.choice("inline", "eager", "celery"),
        doc="`inline` (thread pool in the process), `eager` (tests), `celery`")
    broker_url: str = setting(
        "SMARTBCC_BROKER_URL", "redis://127.0.0.1:6379/0", parse=cv.any_url("redis://127.0.0.1:6379/0"),
        url_secret=True, doc="Celery broker when `SMARTBCC_JOBS=celery`")
    smtp_relay: str = setting(
        "SMARTBCC_SMTP_RELAY", "", parse=cv.host_port("smtp.example.com:587"),
        default_doc="empty: mails are written to `<instance dir>/outbox/`",
        doc="`host:port` for outgoing mail (address confirmations)")
    smtp_relay_tls: bool = setting(
        "SMARTBCC_SMTP_RELAY_TLS", False, parse=cv.boolean, doc="STARTTLS to the relay")
    smtp_relay_user: str = setting("SMARTBCC_SMTP_RELAY_USER", "", doc="login name at the relay")
    smtp_relay_password: str = setting(
        "SMARTBCC_SMTP_RELAY_PASSWORD", "", secret=True, doc="password at the relay")
    mail_from: str = setting(
        "SMARTBCC_MAIL_FROM", parse=cv.mailbox, derive=lambda v: f"Smart Bcc <no-reply@{v['mail_domain']}>",
        default_doc="`Smart Bcc <no-reply@<mail domain>>`", doc="sender of Smart Bcc's own mail")
    outbox_dir: Path = setting(
        "SMARTBCC_OUTBOX_DIR", parse=cv.path, derive=lambda v: v["instance_dir"] / "outbox",
        default_doc="`<instance dir>/outbox`", doc="where outgoing mail is written when no relay is set")
    old_address_grace_days: int = setting(
        "SMARTBCC_OLD_ADDRESS_GRACE_DAYS", 30, parse=cv.integer(0, example=30),
        doc="how long a company's former address is still accepted after a domain change")
    not_logged_after_minutes: int = setting(
        "SMARTBCC_NOT_LOGGED_AFTER_MINUTES", 10, parse=cv.integer(1, 10080, example=10),
        doc="minutes after an add-in announced a sent mail without its copy arriving before the rep sees it as not logged")
    max_message_bytes: int = MAX_MESSAGE_BYTES  # not an environment setting
    # Microsoft (Outlook add-in tokens, Graph). URLs are settings so tests and
    # sovereign clouds can point them elsewhere.
    ms_client_id: str = setting(
        "SMARTBCC_MS_CLIENT_ID", "", parse=cv.no_spaces("a client ID", "00000000-0000-0000-0000-000000000000"),
        doc="Entra ID app (client) ID for the Outlook add-in and Graph")
    ms_client_secret: str = setting(
        "SMARTBCC_MS_CLIENT_SECRET", "", secret=True, doc="that app's client secret")
    ms_authority_host: str = setting(
        "SMARTBCC_MS_AUTHORITY_HOST", "https://login.microsoftonline.com",
        parse=cv.url(("https", "http"), "https://login.microsoftonline.com"),
        doc="Microsoft sign-in host; override for sovereign clouds and tests")
    ms_jwks_url: str = setting(
        "SMARTBCC_MS_JWKS_URL", "https://login.microsoftonline.com/common/discovery/v2.0/keys",
        parse=cv.url(("https", "http"), "https://login.microsoftonline.com/common/discovery/v2.0/keys", False),
        doc="keys of Microsoft's add-in tokens; override for sovereign clouds and tests")
    ms_graph_url: str = setting(
        "SMARTBCC_MS_GRAPH_URL", "https://graph.microsoft.com/v1.0",
        parse=cv.url(("https", "http"), "https://graph.microsoft.com/v1.0"),
        doc="Microsoft Graph; override for sovereign clouds and tests")
    ms_allowed_tenants: tuple = setting(
        "SMARTBCC_MS_ALLOWED_TENANTS", (), parse=cv.comma_list(), default_doc="empty: any tenant",
        doc="comma-separated tenant ids whose add-in tokens are accepted")
    # Google (Gmail add-on requests, Gmail API).
    google_client_id: str = setting(
        "SMARTBCC_GOOGLE_CLIENT_ID", "", parse=cv.no_spaces("a client ID", "1234-abc.apps.googleusercontent.com"),
        doc="Google OAuth client for the Gmail API")
    google_client_secret: str = setting(
        "SMARTBCC_GOOGLE_CLIENT_SECRET", "", secret=True, doc="that client's secret")
    google_auth_url: str = setting(
        "SMARTBCC_GOOGLE_AUTH_URL", "https://accounts.google.com/o/oauth2/v2/auth",
        parse=cv.url(("https", "http"), "https://accounts.google.com/o/oauth2/v2/auth", False),
        doc="Google's consent page; override for tests")
    google_token_url: str = setting(
        "SMARTBCC_GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token",
        parse=cv.url(("https", "http"), "https://oauth2.googleapis.com/token", False),
        doc="Google's token endpoint; override for tests")
    google_jwks_url: str = setting(
        "SMARTBCC_GOOGLE_JWKS_URL", "https://www.googleapis.com/oauth2/v3/certs",
        parse=cv.url(("https", "http"), "https://www.googleapis.com/oauth2/v3/certs", False),
        doc="keys of Google-signed tokens; override for tests")
    gmail_api_url: str = setting(
        "SMARTBCC_GMAIL_API_URL", "https://gmail.googleapis.com/",
        parse=cv.url(("https", "http"), "https://gmail.googleapis.com/", False),
        doc="the Gmail API; override for tests")
    gmail_addon_audience: str = setting(
        "SMARTBCC_GMAIL_ADDON_AUDIENCE", "",
        doc="the add-on's endpoint URL that Google signs add-on requests for")
    gmail_addon_service_account: str = setting(
        "SMARTBCC_GMAIL_ADDON_SERVICE_ACCOUNT", "",
        doc="the service account that Google-signed add-on requests must come from")
    gmail_addon_client_id: str = setting(
        "SMARTBCC_GMAIL_ADDON_CLIENT_ID", "", parse=cv.no_spaces("a client ID", "1234-abc.apps.googleusercontent.com"),
        doc="the add-on's OAuth client ID: the audience users' `userIdToken`s must have")
    operator_company_id: int | None = setting(
        "SMARTBCC_OPERATOR_COMPANY_ID", None, parse=cv.integer(1, example=1),
        default_doc="empty: the deployment's only company",
        doc="id of the company whose admins read mail to postmaster@ and abuse@ (Settings > Operator mail)")
    # Sender authentication: authserv-ids of front MTAs whose Authentication-Results
    # are trusted, and the DNS server for DKIM keys ("host:port"; empty: system's).
    trusted_authserv_ids: tuple = setting(
        "SMARTBCC_TRUSTED_AUTHSERV_IDS", (), parse=cv.comma_list(cv.lower),
        doc="comma-separated authserv-ids of your front MTAs whose `Authentication-Results` are trusted "
            "for sender verification")
    dns_resolver: str = setting(
        "SMARTBCC_DNS_RESOLVER", "", parse=cv.host_port("127.0.0.1:53"), default_doc="empty: the system's",
        doc="`host:port` of the DNS server used for DKIM keys")
    # Rate limits as "COUNT/SECONDS" ("0": none); Redis shares them across processes.
    # Validated here once; ratelimit.Limit.parse reads the normalized text.
    smtp_limit_per_sender: str = limit_setting(
        "SMARTBCC_SMTP_LIMIT_PER_SENDER", "120/60",
        doc="messages per sender address on SMTP, as COUNT/SECONDS (`0` = no limit)")
    smtp_limit_per_company: str = limit_setting(
        "SMARTBCC_SMTP_LIMIT_PER_COMPANY", "1200/60",
        doc="messages per company (SMTP and HTTP inbound), as COUNT/SECONDS (`0` = no limit)")
    api_limit_per_user: str = limit_setting(
        "SMARTBCC_API_LIMIT_PER_USER", "600/60",
        doc="API requests per user, as COUNT/SECONDS (`0` = no limit)")
    api_limit_per_company: str = limit_setting(
        "SMARTBCC_API_LIMIT_PER_COMPANY", "3000/60",
        doc="API requests per company, as COUNT/SECONDS (`0` = no limit)")
    signin_limit_per_email: str = limit_setting(
        "SMARTBCC_SIGNIN_LIMIT_PER_EMAIL", "10/900",
        doc="failed page sign-ins per account address, as COUNT/SECONDS (`0` = no limit); "
            "successful ones are not counted")
    signin_limit_per_ip: str = limit_setting(
        "SMARTBCC_SIGNIN_LIMIT_PER_IP", "50/900",
        doc="failed page sign-ins per client address, as COUNT/SECONDS (`0` = no limit)")
    rate_limit_redis_url: str = setting(
        "SMARTBCC_RATE_LIMIT_REDIS_URL", "", parse=cv.url(("redis", "rediss", "unix"), "redis://127.0.0.1:6379/1", False),
        url_secret=True, default_doc="empty: counters per process",
        doc="Redis URL that shares the rate-limit counters between processes")
    trusted_proxies: int = setting(
        "SMARTBCC_TRUSTED_PROXIES", 0, parse=cv.integer(0, 10, example=1),
        doc="how many reverse proxies in front of the web process append to `X-Forwarded-For` / "
            "`X-Forwarded-Proto` (werkzeug's ProxyFix trusts that many hops); the client address "
            "(sign-in limit per address) is the one they saw. `0`: the headers are ignored")
    # Fernet keys for provider refresh tokens, newest first (rotation: prepend).
    token_keys: tuple = setting(
        "SMARTBCC_TOKEN_KEYS", (), parse=cv.comma_list(cv.fernet_key), secret=True,
        default_doc="empty: derived from the secret key",
        doc="comma-separated Fernet keys for provider refresh tokens, newest first (prepend to rotate); "
            "set it in production")
    demo_password: str = setting(
        "SMARTBCC_DEMO_PASSWORD", "", parse=cv.password, secret=True,
        default_doc="empty: derived from the secret key",
        doc="password of the demo users that `smartbcc demo` seeds")

    @classmethod
    def specs(cls) -> list[tuple[str, Spec]]:
        """(field name, Spec) of every environment setting, in order."""
        return [(f.name, f.metadata["setting"]) for f in fields(cls) if "setting" in f.metadata]

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> "Settings":
        """Reads every SMARTBCC_* variable (an empty one counts as unset) and validates it.

        ``overrides`` (tests, one-off commands) replace variables by field name; text
        overrides are parsed like the variable would be.
        """
        env = os.environ if environ is None else environ
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        by_name = {f.name: f for f in fields(cls)}
        # First every given value is parsed, so a bad one stops us before a default is derived
        # (deriving the secret key writes a file).
        given: dict[str, Any] = {}
        for name, spec in cls.specs():
            if name in overrides:
                value = overrides[name]
                given[name] = _parse(spec, value) if isinstance(value, str) and value.strip() else value
            elif (env.get(spec.env) or "").strip():
                given[name] = _parse(spec, env[spec.env])
        values: dict[str, Any] = {}
        for name, spec in cls.specs():
            if name in given:
                value = given[name]
            elif spec.derive is not None:
                value = spec.derive(values)
            else:
                value = by_name[name].default
            if name == "instance_dir":
                value = Path(value).resolve()
            values[name] = value
        for name in known - set(values):
            if name in overrides:
                values[name] = overrides[name]
        return cls(**values)

    @classmethod
    def given(cls, name: str, environ: dict | None = None) -> Any:
        """One setting's validated value if its variable is set, else None (no defaults derived):
        for commands that need a value only when the operator gave one (`smartbcc manifest`)."""
        spec = dict(cls.specs())[name]
        raw = ((os.environ if environ is None else environ).get(spec.env) or "").strip()
        return _parse(spec, raw) if raw else None

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    # --- showing the settings (`smartbcc config`) -------------------------------------------

    def shown(self) -> dict[str, Any]:
        """{variable: effective value} with secrets redacted; JSON-friendly values."""
        out: dict[str, Any] = {}
        for name, spec in self.specs():
            value = getattr(self, name)
            if spec.secret:
                value = _redact_all(value)
            elif spec.url_secret:
                value = redact_url(value)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[spec.env] = value
        return out

    def lines(self) -> list[str]:
        """``NAME=value`` per setting (lists comma-separated, booleans true/false), secrets redacted."""
        out = []
        for env, value in self.shown().items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, list):
                value = ",".join(value)
            out.append(f"{env}={value}")
        return out


def _parse(spec: Spec, raw: str) -> Any:
    raw = raw.strip()
    try:
        return spec.parse(raw)
    except cv.Bad as exc:
        shown = "(value hidden)" if spec.secret else f"={redact_url(raw) if spec.url_secret else raw!r}"
        sep = " " if spec.secret else ""
        raise ConfigError(f"{spec.env}{sep}{shown} {exc}") from None


def _redact_all(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(REDACTED for _ in value)
    return REDACTED if value else ""


def default_of(name: str) -> Any:
    """A setting's default value (for settings with a fixed default)."""
    for f in fields(Settings):
        if f.name == name:
            return f.default
    raise KeyError(name)


def markdown_table() -> str:
    """README's configuration table, one row per variable."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, spec in Settings.specs():
        rows.append(f"| `{spec.env}` | {_default_doc(name, spec)} | {spec.doc} |")
    return "\n".join(rows) + "\n"


def _default_doc(name: str, spec: Spec) -> str:
    if spec.default_doc is not None:
        return spec.default_doc
    value = default_of(name)
    if value in ("", ()):
        return "empty"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return f"`{value}`"


def settings_or_exit(**overrides) -> Settings:
    """For process entry points without click: the settings, or one ``error:`` line and exit 2."""
    try:
        return Settings.from_env(**overrides)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":  # python -m backend.config > table: README's configuration table
    sys.stdout.write(markdown_table())
