"""The email policies the parser reads with: header values as raw text, short ones parsed through a small cache."""
from __future__ import annotations

import functools
from email.policy import EmailPolicy

_FETCH_LIMIT = 256  # longer header values skip the header registry and stay raw text


class _RawFetchPolicy(EmailPolicy):
    """policy.default, but header values are handed out as raw text (8-bit bytes as
    surrogate escapes), which Message's getters read the way compat32 does. The header
    registry costs ~2 us per byte, re-parses on every access and can raise; compat32
    itself would replace 8-bit bytes in its Header objects."""

    def header_fetch_parse(self, name, value):
        return value


class _BoundedPolicy(_RawFetchPolicy):
    """Short values still get policy.default's parsing; the feed parser asks for each
    part's Content-Type several times, so the last few parsed values are reused."""

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name") or len(value) > _FETCH_LIMIT:
            return value
        return _parsed_header(name, value.replace("\r", "").replace("\n", ""))


RAW_POLICY = _RawFetchPolicy()
POLICY = _BoundedPolicy()


# Small on purpose: cached parse trees are large, and many live objects slow the GC down.
@functools.lru_cache(maxsize=32)
def _parsed_header(name: str, value: str):
    return POLICY.header_factory(name, value)
