"""Addresses as mail clients print them in a forwarded header block."""
from __future__ import annotations

import re

from .message import Address

__all__ = ["parse_address_list", "is_email"]

MAX_HEADER_VALUE = 4000
MAX_ADDRESSES = 200

_TOKEN_SPLIT_RE = re.compile(r"[\s<>()\[\]\"',;]+")
_MAILTO_RE = re.compile(r"mailto:", re.IGNORECASE)
_NAME_JUNK_RE = re.compile(r"[<>()\[\]\"]+")
_SPACES_RE = re.compile(r"\s+")


def is_email(token: str) -> bool:
    if len(token) > 254 or token.count("@") != 1:
        return False
    local, domain = token.split("@")
    return bool(local) and "." in domain and not domain.startswith(".") and not domain.endswith(".")


def _entries(value: str) -> list[str]:
    """Split a recipient list on ";" (Outlook) or "," (everyone else), gluing back
    pieces without an address: "Rossi, Mario <m@x.it>" is one person."""
    pieces = value.split(";") if ";" in value else value.split(",")
    joiner = ";" if ";" in value else ","
    out: list[str] = []
    pending = ""
    for piece in pieces:
        pending = f"{pending}{joiner}{piece}" if pending else piece
        if "@" in pending:
            out.append(pending)
            pending = ""
    if pending.strip():
        out.append(pending)
    return out


def parse_address_list(value: str | None) -> list[Address]:
    """Addresses from a forwarded header value, in the shapes clients print:
    "Name <a@x>", "Name [mailto:a@x]", "Name (a@x)", "a@x", and Outlook's
    "Name <a@x<mailto:a@x>>". Entries without any address are dropped."""
    if not value:
        return []
    value = _MAILTO_RE.sub("", value[:MAX_HEADER_VALUE])
    found: list[Address] = []
    for entry in _entries(value):
        emails: list[str] = []
        for token in _TOKEN_SPLIT_RE.split(entry):
            token = token.strip(".:")
            if is_email(token) and token.lower() not in (e.lower() for e in emails):
                emails.append(token)
        if not emails:
            continue
        name = entry
        for address in emails:
            name = re.sub(re.escape(address), " ", name, flags=re.IGNORECASE)
        name = _SPACES_RE.sub(" ", _NAME_JUNK_RE.sub(" ", name)).strip(" ,;:'\t")
        if name.lower() in (e.lower() for e in emails):
            name = ""
        found.append(Address(name, emails[0]))
        found.extend(Address("", extra) for extra in emails[1:])
        if len(found) >= MAX_ADDRESSES:
            break
    return found
