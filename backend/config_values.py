"""How SMARTBCC_* values are written: the parsers of config.py's settings, and URL redaction.

A parser takes the variable's text (stripped, never empty) and returns the value, or raises
``Bad`` with the rest of the sentence that follows ``NAME='value'`` in the error.
"""
from __future__ import annotations

import base64
import binascii
import re
from email.utils import parseaddr
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

REDACTED = "***"


class Bad(ValueError):
    """Raised by a parser: the rest of the sentence after ``NAME='value'``."""


# --- parsers: raw text (already stripped, never empty) -> value ----------------------------------

def text(raw: str) -> str:
    return raw


def path(raw: str) -> Path:
    return Path(raw).expanduser()


def integer(minimum: int, maximum: int | None = None, example: int | str = 30) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise Bad(f"is not a whole number; write one like {example}") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" to {maximum}" if maximum is not None else " or more"
            raise Bad(f"is out of range; write a whole number from {minimum}{upper}, e.g. {example}")
        return value
    return parse


def port(example: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not raw.isdigit() or not 1 <= int(raw) <= 65535:
            raise Bad(f"is not a port; write a number from 1 to 65535, e.g. {example}")
        return int(raw)
    return parse


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def boolean(raw: str) -> bool:
    word = raw.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise Bad("is not a yes/no value; write true or false (or 1 or 0)")


def choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in options:
            raise Bad(f"is not one of {', '.join(options[:-1])} or {options[-1]}")
        return raw
    return parse


def host(raw: str) -> str:
    if any(c.isspace() for c in raw) or "/" in raw:
        raise Bad("is not a host name or address; write one like 127.0.0.1 or 0.0.0.0")
    return raw


def host_port(example: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        host, sep, port = raw.rpartition(":")
        if not sep:
            host, port = raw, ""
        if (not host or any(c.isspace() for c in host) or "/" in host
                or (sep and not (port.isdigit() and 1 <= int(port) <= 65535))):
            raise Bad(f"is not host:port; write one like {example}")
        return raw
    return parse


def url(schemes: tuple[str, ...], example: str, strip_slash: bool = True) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        try:
            parts = urlsplit(raw)
            ok = parts.scheme.lower() in schemes and (bool(parts.netloc) or parts.scheme == "unix")
            if parts.port is not None:
                ok = ok and 0 < parts.port < 65536
        except ValueError:
            ok = False
        if not ok or any(c.isspace() for c in raw):
            raise Bad(f"is not a URL; write one like {example}")
        return raw.rstrip("/") if strip_slash else raw
    return parse


def any_url(example: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        scheme, sep, _rest = raw.partition("://")
        if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme) or any(c.isspace() for c in raw):
            raise Bad(f"is not a URL; write one like {example}")
        return raw
    return parse


def database_url(raw: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(raw)
    except (ArgumentError, ValueError):
        raise Bad("is not a database URL; write one like postgresql://user@host/db "
                   "or sqlite:////path/to/file.sqlite3") from None
    return raw


def mail_domain(raw: str) -> str:
    from .addresses import company_address

    domain = raw.lower()
    try:
        company_address("check", domain)
    except ValueError:
        raise Bad("is not a domain name; write one like bcc.example.com") from None
    return domain


def mailbox(raw: str) -> str:
    _name, address = parseaddr(raw)
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain:
        raise Bad("is not a mail address; write one like Smart Bcc <no-reply@bcc.example.com>")
    return raw


def limit(example: str) -> Callable[[str], str]:
    """``COUNT/SECONDS`` (both whole numbers above 0), or ``0`` for no limit; see ratelimit.Limit."""
    def parse(raw: str) -> str:
        if raw == "0":
            return "0"
        match = re.fullmatch(r"(\d+)\s*/\s*(\d+)", raw)
        if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
            raise Bad(f"is not a limit; write COUNT/SECONDS, e.g. {example}")
        return f"{int(match.group(1))}/{int(match.group(2))}"
    return parse


def comma_list(item: Callable[[str], str] | None = None) -> Callable[[str], tuple]:
    def parse(raw: str) -> tuple:
        values = tuple(v.strip() for v in raw.split(",") if v.strip())
        return tuple(item(v) for v in values) if item else values
    return parse


def no_spaces(what: str, example: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if any(c.isspace() for c in raw):
            raise Bad(f"is not {what}; write it without spaces, e.g. {example}")
        return raw
    return parse


def lower(raw: str) -> str:
    return raw.lower()


def fernet_key(raw: str) -> str:
    try:
        ok = len(base64.urlsafe_b64decode(raw.encode("ascii"))) == 32
    except (binascii.Error, ValueError, UnicodeEncodeError):
        ok = False
    if not ok:
        raise Bad("is not a list of Fernet keys; write comma-separated keys of 32 url-safe base64 bytes "
                   "(`smartbcc providers new-key` prints one)")
    return raw


def password(raw: str) -> str:
    if len(raw) < 8:
        raise Bad("is too short; use at least 8 characters")
    return raw


_URL_PASSWORD = re.compile(r"(^|[/\s])([^:/@\s]*):[^@/\s]*@")


def redact_url(url: str) -> str:
    """The URL with its password (``user:password@``), if any, replaced by ***."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{m.group(2)}:{REDACTED}@", url)
