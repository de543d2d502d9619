"""Encryption at rest for provider tokens: MultiFernet over the configured keys."""
from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select

from ..config import ConfigError, Settings

HKDF_INFO = b"smartbcc provider token encryption v1"


class TokenDecryptError(Exception):
    """A stored token can be decrypted with none of the configured keys."""


def derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from ``secret_key`` with HKDF-SHA256.

    Used only when ``SMARTBCC_TOKEN_KEYS`` is empty, so the embedded default
    works without extra setup. Changing the secret key then makes stored
    tokens unreadable (the connections show as broken and must be connected
    again); set SMARTBCC_TOKEN_KEYS in production to rotate keys independently.
    """
    if not secret_key:
        raise ConfigError("SMARTBCC_SECRET_KEY (or SMARTBCC_TOKEN_KEYS) is needed to encrypt provider tokens")
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(secret_key.encode("utf-8"))
    return base64.urlsafe_b64encode(raw)


@functools.lru_cache(maxsize=8)
def _cipher(keys: tuple, secret_key: str) -> MultiFernet:
    if not keys:
        return MultiFernet([Fernet(derived_key(secret_key))])
    try:
        return MultiFernet([Fernet(k.encode("ascii") if isinstance(k, str) else k) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ConfigError("SMARTBCC_TOKEN_KEYS must be comma-separated Fernet keys "
                          "(32 url-safe base64 bytes each; `smartbcc providers new-key` prints one)") from exc


def cipher(settings: Settings) -> MultiFernet:
    """Decrypts with any listed key, encrypts with the first (newest)."""
    return _cipher(tuple(settings.token_keys), settings.secret_key)


def encrypt(settings: Settings, plain: str) -> str:
    return cipher(settings).encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(settings: Settings, token: str) -> str:
    try:
        return cipher(settings).decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise TokenDecryptError("a stored provider token cannot be decrypted with the configured keys") from exc


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def rotate_all(services) -> dict:
    """Re-encrypts every stored token with the newest key; returns counts."""
    from ..models import MailboxConnection

    fernet = cipher(services.settings)
    done = unreadable = 0
    with services.db.session() as session:
        for conn in session.scalars(select(MailboxConnection).order_by(MailboxConnection.id)):
            try:
                conn.refresh_token_enc = fernet.rotate(conn.refresh_token_enc.encode("ascii")).decode("ascii")
                if conn.access_token_enc:
                    conn.access_token_enc = fernet.rotate(conn.access_token_enc.encode("ascii")).decode("ascii")
                done += 1
            except InvalidToken:
                # Left as is: an old key was dropped too early; the user reconnects.
                unreadable += 1
    return {"rotated": done, "unreadable": unreadable}
