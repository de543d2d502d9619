"""Links mailed to a person that are signed, expire and work once: an invitation, a password reset.

A link carries a small payload signed with the server's secret key (itsdangerous'
``URLSafeTimedSerializer``, one salt per kind of link, so a token of one kind never opens another)
and is refused once older than the kind's ``max_age``. "Works once" is the caller's check of a
value in the payload against what is stored: the SHA-256 of a random nonce (an invitation: only the
digest is stored), or a stamp of the state the link changes (a password reset: a new password
changes the stamp). Using the link, or mailing a newer one, makes earlier links worthless.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .errors import DomainError

# What reading a token may give besides a payload.
EXPIRED = "expired"
UNKNOWN = "unknown"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_nonce() -> tuple[str, str]:
    """(a random nonce for the link, its digest to store)."""
    nonce = secrets.token_urlsafe(16)
    return nonce, digest(nonce)


def nonce_matches(stored_digest: str | None, nonce: str) -> bool:
    """True when ``nonce`` is the one whose digest is stored (in constant time)."""
    return bool(stored_digest) and hmac.compare_digest(stored_digest, digest(nonce))


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True)
class LinkKind:
    """One kind of link: its salt, page, lifetime, payload fields, and the words for each refusal."""

    salt: str
    path: str
    max_age: int  # seconds
    fields: tuple[tuple[str, type], ...]  # the payload: (key, type) pairs, all required
    refusals: dict[str, tuple[int, str]]  # state -> (HTTP status, what to do)

    def _serializer(self, settings) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(settings.secret_key, salt=self.salt)

    def url(self, settings, **payload: Any) -> str:
        return f"{settings.base_url}{self.path}?token={self._serializer(settings).dumps(payload)}"

    def read(self, settings, token: str) -> tuple[str, dict]:
        """(``"valid"``, the payload), or (``EXPIRED`` / ``UNKNOWN``, {}) for a link that is too
        old, or not one of ours (bad signature, another kind, fields missing or of another type)."""
        try:
            data = self._serializer(settings).loads(token or "", max_age=self.max_age)
        except SignatureExpired:
            return EXPIRED, {}
        except BadSignature:
            return UNKNOWN, {}
        if not isinstance(data, dict) or not all(isinstance(data.get(key), kind) for key, kind in self.fields):
            return UNKNOWN, {}
        return "valid", data

    def refusal(self, state: str) -> DomainError:
        status, message = self.refusals[state]
        return DomainError(status, message)


@dataclass
class Opened:
    """What opening a link found: ``state`` is "pending" (the link is good) or a key of the kind's
    refusals; ``target`` is the row it is about, when one was found."""

    kind: LinkKind
    state: str
    target: Any = None

    @property
    def good(self) -> bool:
        return self.state == "pending"

    def refusal(self) -> DomainError:
        return self.kind.refusal(self.state)

    def require_good(self) -> Any:
        """The target of a good link; raises the refusal (a DomainError with words) otherwise."""
        if not self.good:
            raise self.refusal()
        return self.target
