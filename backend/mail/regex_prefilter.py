"""Skipping regular expressions that cannot match: the text every match of a pattern must contain.

email-forward-parser (backend/mail/forward_engine.py) looks for the earliest of 73 separator
patterns in every logged mail; on a mail that is not a forward each of them scans the whole text,
and some backtrack over every line ("^\\s?.+\\s*[\\[|<].+[\\]|>]\\s?kirjoitti…"): about two thirds
of the time the pipeline spent reading an ordinary 8 KB mail. Most patterns contain a run of plain
characters every match must include ("kirjoitti", "Forwarded message", 32 underscores); when the
text does not contain it, ``str.__contains__`` says so in microseconds and the pattern is skipped,
with the same result as running it. No maintained package extracts such runs from Python's
patterns (re2-style prefilters work on their own engines' syntax), so this reads the pattern with
the standard library's own parser (``re._parser``, ``sre_parse`` before 3.11) and gives up — runs
the pattern — on anything it does not understand.
"""
from __future__ import annotations

import re

try:  # Python 3.11+
    from re import _constants as _c, _parser as _p
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

MIN_USEFUL = 3  # shorter runs ("a", ":") are in nearly every text: not worth the check


def required_text(pattern: re.Pattern) -> str | None:
    """The longest run of characters that every match of ``pattern`` contains (None: no useful one,
    or a pattern this cannot read: then the pattern must simply be run)."""
    if pattern.flags & (re.IGNORECASE | re.VERBOSE):
        return None
    try:
        parsed = _p.parse(pattern.pattern, pattern.flags)
    except Exception:  # noqa: BLE001 - unknown syntax: no prefilter
        return None
    runs: list[str] = []
    _walk(list(parsed), runs, [])
    best = max(runs, key=len, default="")
    return best if len(best) >= MIN_USEFUL else None


def _walk(items, runs: list[str], run: list[str]) -> list[str]:
    """Collects into ``runs`` the runs of literal characters of a sequence that every match goes
    through one after the other; returns the run still open at the end of the sequence."""
    for op, av in items:
        if op is _c.LITERAL:
            run.append(chr(av))
        elif op is _c.AT:  # ^, $, \b: consume nothing, the characters around them stay adjacent
            continue
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and len(av[2]) == 1 and av[2][0][0] is _c.LITERAL:
            low, high, ((_lit, code),) = av[0], av[1], list(av[2])
            run.extend(chr(code) * low)  # at least ``low`` of them, right after what came before
            if high != low:
                runs.append("".join(run))
                run = [chr(code)] * low  # ... and right before what follows
        elif op is _c.SUBPATTERN and not (av[1] & re.IGNORECASE):  # a group is a sequence of its own
            run = _walk(list(av[3]), runs, run)
        else:  # a branch, a class, an optional part: the run ends here
            runs.append("".join(run))
            run = []
    runs.append("".join(run))
    return run


def earliest(patterns, text: str, required: dict[re.Pattern, str | None]):
    """The match among ``patterns`` that starts first in ``text`` (the first listed on a tie), as
    running each pattern's ``search`` would find it; ``required`` caches ``required_text``."""
    found = None
    for pattern in patterns:
        if pattern not in required:
            required[pattern] = required_text(pattern)
        needed = required[pattern]
        if needed is not None and needed not in text:
            continue
        match = pattern.search(text)
        if match and (found is None or match.start() < found.start()):
            found = match
    return found
