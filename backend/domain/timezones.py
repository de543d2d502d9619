"""The time zone a user reads times in: the IANA names the server knows, and the user's own choice."""
from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from .errors import DomainError

MAX_NAME = 64


@lru_cache(maxsize=1)
def known_zones() -> tuple[str, ...]:
    """Every IANA zone name the server can convert to, sorted (about 600)."""
    return tuple(sorted(name for name in available_timezones() if len(name) <= MAX_NAME))


def zone_named(name: str | None) -> ZoneInfo | None:
    """The zone ``name`` names, or None for anything else (a browser cookie is only a hint)."""
    if not name or len(name) > MAX_NAME or name not in _known_set():
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, OSError):
        return None


@lru_cache(maxsize=1)
def _known_set() -> frozenset[str]:
    return frozenset(known_zones())


def set_time_zone(user, name: str | None) -> None:
    """The user's own time zone for the pages; "" goes back to the browser's."""
    name = (name or "").strip()
    if not name:
        user.time_zone = None
        return
    if zone_named(name) is None:
        raise DomainError(400, "That time zone is not known.", {
            "time_zone": ["Choose a time zone from the list (like Europe/Berlin), or your browser's time zone."]})
    user.time_zone = name
