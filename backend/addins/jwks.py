"""Published signing keys (JWKS) fetched over HTTPS, cached per URL with a TTL and refetched once for an unknown key id."""
from __future__ import annotations

import logging
import threading
import time

import jwt
import requests

log = logging.getLogger(__name__)

# Microsoft and Google rotate keys every few weeks and publish new ones days ahead,
# so an hour is fresh enough; an unknown kid triggers one early refetch anyway.
DEFAULT_TTL = 3600.0
# A flood of tokens with made-up kids must not turn into a flood of key downloads:
# each unknown kid causes at most one early refetch, and early refetches are spaced.
MIN_REFETCH_INTERVAL = 5.0
FETCH_TIMEOUT = 5.0


class KeyNotFound(Exception):
    """No usable key: the message is shown to the caller as the reason for a 401."""


class JwksCache:
    """The keys of one JWKS URL; thread-safe, shared by all requests of the process."""

    min_refetch_interval = MIN_REFETCH_INTERVAL

    def __init__(self, url: str, ttl: float = DEFAULT_TTL, clock=time.monotonic):
        self.url = url
        self.ttl = ttl
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._issuers: dict[str, str] = {}
        self._fetched_at: float | None = None
        self._missed: set[str] = set()
        self._lock = threading.Lock()

    def _fetch(self) -> None:
        try:
            response = requests.get(self.url, timeout=FETCH_TIMEOUT)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            log.warning("cannot fetch signing keys from %s: %s", self.url, exc.__class__.__name__)
            raise KeyNotFound("The token's signing keys could not be fetched; try again in a minute.") from exc
        keys, issuers = {}, {}
        for entry in document.get("keys", []) if isinstance(document, dict) else []:
            kid = entry.get("kid") if isinstance(entry, dict) else None
            if not kid:
                continue
            try:
                keys[kid] = jwt.PyJWK(entry)
            except (jwt.PyJWKError, jwt.InvalidKeyError, TypeError, ValueError):
                # One malformed or unsupported key must not hide the others.
                log.info("skipping unusable key %s from %s", kid, self.url)
                continue
            # Microsoft publishes which issuer (tenant) a key signs for; the token must match it.
            if isinstance(entry.get("issuer"), str):
                issuers[kid] = entry["issuer"]
        self._keys = keys
        self._issuers = issuers
        self._fetched_at = self._clock()
        self._missed = set()

    def key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at > self.ttl
            if stale:
                self._fetch()
            elif (kid not in self._keys and kid not in self._missed
                  and now - (self._fetched_at or 0) > self.min_refetch_interval):
                # Keys may have rotated since the last fetch: look once more.
                self._fetch()
            found = self._keys.get(kid)
            if found is None:
                self._missed.add(kid)
        if found is None:
            raise KeyNotFound("The token was signed with an unknown key; sign in again.")
        return found

    def issuer(self, kid: str) -> str | None:
        """The ``issuer`` the key set names for key ``kid`` (None: the key is not tied to one issuer)."""
        with self._lock:
            return self._issuers.get(kid)


_caches: dict[str, JwksCache] = {}
_caches_lock = threading.Lock()


def cache_for(url: str) -> JwksCache:
    with _caches_lock:
        cache = _caches.get(url)
        if cache is None:
            cache = _caches[url] = JwksCache(url)
        return cache


def clear() -> None:
    """Forgets every cached key set (tests, or after changing the key URLs)."""
    with _caches_lock:
        _caches.clear()
