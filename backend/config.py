"""Settings read from the environment, with safe defaults for the embedded setup."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# One place for the size limit: SMTP SIZE, DATA check and HTTP inbound all read it.
MAX_MESSAGE_BYTES = 20 * 1024 * 1024


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _list(name: str) -> tuple:
    return tuple(v.strip() for v in os.environ.get(name, "").split(",") if v.strip())


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _secret_key(instance_dir: Path) -> str:
    """The key from the environment, else one generated once into instance/."""
    from_env = os.environ.get("SMARTBCC_SECRET_KEY")
    if from_env:
        return from_env
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


@dataclass(frozen=True)
class Settings:
    instance_dir: Path
    database_url: str
    mail_domain: str = "bcc.localhost"
    secret_key: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = 5000
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    base_url: str = "http://127.0.0.1:5000"
    blob_dir: Path = field(default=Path("instance/blobs"))
    # "inline": jobs run in a thread pool of this process (embedded default);
    # "eager": jobs run at once in the calling thread (tests);
    # "celery": jobs are sent to the Celery broker below.
    jobs: str = "inline"
    broker_url: str = "redis://127.0.0.1:6379/0"
    smtp_relay: str = ""  # host:port for outgoing mail; empty writes to outbox_dir
    smtp_relay_tls: bool = False
    smtp_relay_user: str = ""
    smtp_relay_password: str = ""
    mail_from: str = "Smart Bcc <no-reply@bcc.localhost>"
    outbox_dir: Path = field(default=Path("instance/outbox"))
    old_address_grace_days: int = 30
    max_message_bytes: int = MAX_MESSAGE_BYTES
    # Microsoft (Outlook add-in tokens, Graph). URLs are settings so tests and
    # sovereign clouds can point them elsewhere.
    ms_client_id: str = ""
    ms_client_secret: str = ""
    ms_authority_host: str = "https://login.microsoftonline.com"
    ms_jwks_url: str = "https://login.microsoftonline.com/common/discovery/v2.0/keys"
    ms_graph_url: str = "https://graph.microsoft.com/v1.0"
    ms_allowed_tenants: tuple = ()
    # Google (Gmail add-on requests, Gmail API).
    google_client_id: str = ""
    google_client_secret: str = ""
    google_auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    google_jwks_url: str = "https://www.googleapis.com/oauth2/v3/certs"
    gmail_api_url: str = "https://gmail.googleapis.com/"
    gmail_addon_audience: str = ""  # the add-on's endpoint URL Google signs tokens for
    gmail_addon_service_account: str = ""
    gmail_addon_client_id: str = ""  # the add-on's OAuth client: the audience of users' userIdTokens
    # Sender authentication: authserv-ids of front MTAs whose Authentication-Results
    # are trusted, and the DNS server for DKIM keys ("host:port"; empty: system's).
    trusted_authserv_ids: tuple = ()
    dns_resolver: str = ""
    # Rate limits as "count/seconds" ("" or "0": none); Redis shares them across processes.
    smtp_limit_per_sender: str = "120/60"
    smtp_limit_per_company: str = "1200/60"
    api_limit_per_user: str = "600/60"
    api_limit_per_company: str = "3000/60"
    rate_limit_redis_url: str = ""
    # Fernet keys for provider refresh tokens, newest first (rotation: prepend).
    token_keys: tuple = ()

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        instance_dir = Path(
            overrides.pop("instance_dir", None)
            or os.environ.get("SMARTBCC_INSTANCE_DIR")
            or PROJECT_ROOT / "instance"
        ).resolve()
        http_port = _int("SMARTBCC_HTTP_PORT", 5000)
        mail_domain = os.environ.get("SMARTBCC_MAIL_DOMAIN", "bcc.localhost").strip().lower()
        values = dict(
            instance_dir=instance_dir,
            database_url=os.environ.get("SMARTBCC_DATABASE_URL")
            or f"sqlite:///{instance_dir / 'smartbcc.sqlite3'}",
            mail_domain=mail_domain,
            http_host=os.environ.get("SMARTBCC_HTTP_HOST", "127.0.0.1"),
            http_port=http_port,
            smtp_host=os.environ.get("SMARTBCC_SMTP_HOST", "127.0.0.1"),
            smtp_port=_int("SMARTBCC_SMTP_PORT", 2525),
            base_url=(os.environ.get("SMARTBCC_BASE_URL") or f"http://127.0.0.1:{http_port}").rstrip("/"),
            blob_dir=Path(os.environ.get("SMARTBCC_BLOB_DIR") or instance_dir / "blobs"),
            jobs=os.environ.get("SMARTBCC_JOBS", "inline"),
            broker_url=os.environ.get("SMARTBCC_BROKER_URL", "redis://127.0.0.1:6379/0"),
            smtp_relay=os.environ.get("SMARTBCC_SMTP_RELAY", ""),
            smtp_relay_tls=os.environ.get("SMARTBCC_SMTP_RELAY_TLS", "") in ("1", "true", "yes"),
            smtp_relay_user=os.environ.get("SMARTBCC_SMTP_RELAY_USER", ""),
            smtp_relay_password=os.environ.get("SMARTBCC_SMTP_RELAY_PASSWORD", ""),
            mail_from=os.environ.get("SMARTBCC_MAIL_FROM", f"Smart Bcc <no-reply@{mail_domain}>"),
            outbox_dir=Path(os.environ.get("SMARTBCC_OUTBOX_DIR") or instance_dir / "outbox"),
            old_address_grace_days=_int("SMARTBCC_OLD_ADDRESS_GRACE_DAYS", 30),
            ms_client_id=os.environ.get("SMARTBCC_MS_CLIENT_ID", ""),
            ms_client_secret=os.environ.get("SMARTBCC_MS_CLIENT_SECRET", ""),
            ms_authority_host=os.environ.get("SMARTBCC_MS_AUTHORITY_HOST", "https://login.microsoftonline.com").rstrip("/"),
            ms_jwks_url=os.environ.get("SMARTBCC_MS_JWKS_URL",
                                       "https://login.microsoftonline.com/common/discovery/v2.0/keys"),
            ms_graph_url=os.environ.get("SMARTBCC_MS_GRAPH_URL", "https://graph.microsoft.com/v1.0").rstrip("/"),
            ms_allowed_tenants=_list("SMARTBCC_MS_ALLOWED_TENANTS"),
            google_client_id=os.environ.get("SMARTBCC_GOOGLE_CLIENT_ID", ""),
            google_client_secret=os.environ.get("SMARTBCC_GOOGLE_CLIENT_SECRET", ""),
            google_auth_url=os.environ.get("SMARTBCC_GOOGLE_AUTH_URL", "https://accounts.google.com/o/oauth2/v2/auth"),
            google_token_url=os.environ.get("SMARTBCC_GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token"),
            google_jwks_url=os.environ.get("SMARTBCC_GOOGLE_JWKS_URL", "https://www.googleapis.com/oauth2/v3/certs"),
            gmail_api_url=os.environ.get("SMARTBCC_GMAIL_API_URL", "https://gmail.googleapis.com/"),
            gmail_addon_audience=os.environ.get("SMARTBCC_GMAIL_ADDON_AUDIENCE", ""),
            gmail_addon_service_account=os.environ.get("SMARTBCC_GMAIL_ADDON_SERVICE_ACCOUNT", ""),
            gmail_addon_client_id=os.environ.get("SMARTBCC_GMAIL_ADDON_CLIENT_ID", "").strip(),
            token_keys=_list("SMARTBCC_TOKEN_KEYS"),
            trusted_authserv_ids=tuple(v.lower() for v in _list("SMARTBCC_TRUSTED_AUTHSERV_IDS")),
            dns_resolver=os.environ.get("SMARTBCC_DNS_RESOLVER", ""),
            smtp_limit_per_sender=os.environ.get("SMARTBCC_SMTP_LIMIT_PER_SENDER", "120/60"),
            smtp_limit_per_company=os.environ.get("SMARTBCC_SMTP_LIMIT_PER_COMPANY", "1200/60"),
            api_limit_per_user=os.environ.get("SMARTBCC_API_LIMIT_PER_USER", "600/60"),
            api_limit_per_company=os.environ.get("SMARTBCC_API_LIMIT_PER_COMPANY", "3000/60"),
            rate_limit_redis_url=os.environ.get("SMARTBCC_RATE_LIMIT_REDIS_URL", ""),
        )
        values.update(overrides)
        if "secret_key" not in overrides:
            values["secret_key"] = _secret_key(instance_dir)
        if values["jobs"] not in ("inline", "eager", "celery"):
            raise ConfigError("SMARTBCC_JOBS must be inline, eager or celery")
        from .addresses import company_address

        try:
            company_address("check", values["mail_domain"])
        except ValueError as exc:
            raise ConfigError(f"SMARTBCC_MAIL_DOMAIN {values['mail_domain']!r} is not a valid domain "
                              "name; use a form like bcc.example.com") from exc
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**values)

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)
