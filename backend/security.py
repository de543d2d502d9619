"""Secrets handling: API tokens (stored as hashes), passwords and inbound secrets."""
from __future__ import annotations

import hashlib
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

TOKEN_PREFIX = "sbc_"
INBOUND_PREFIX = "sbci_"


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 is enough at rest.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_api_token() -> tuple[str, str]:
    """A fresh API token and the hash to store; the token itself is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token)


def new_inbound_secret() -> tuple[str, str]:
    secret = INBOUND_PREFIX + secrets.token_urlsafe(32)
    return secret, hash_token(secret)


def hash_password(password: str) -> str:
    return generate_password_hash(password)


_DUMMY_HASH = generate_password_hash("no such user: spend the same time")


def check_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # The same work as a real check, so timing does not tell whether an account exists.
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(password_hash, password)


def redact(token: str | None) -> str:
    """A token as it may appear in logs."""
    if not token:
        return ""
    return token[:6] + "…"
