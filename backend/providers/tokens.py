"""What a token endpoint handed us, in one shape for both providers."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone


class NotConfigured(Exception):
    """The provider's client id/secret are not set; the message says which settings."""


class ConnectError(Exception):
    """Connecting failed in a way the user should read (denied consent, bad state...)."""


@dataclass
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_in: int
    scopes: list[str] = field(default_factory=list)
    account_email: str = ""

    def expires_at(self, now: datetime | None = None) -> datetime:
        now = now or datetime.now(timezone.utc)
        return now + timedelta(seconds=max(0, int(self.expires_in or 0)))

    def __repr__(self) -> str:  # tokens never end up in logs through a repr
        return f"TokenSet(account_email={self.account_email!r}, expires_in={self.expires_in})"
