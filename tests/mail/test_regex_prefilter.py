"""The forward engine's shortcuts (backend/mail/regex_prefilter.py, forward_engine._preprocess) give
exactly what the library's own steps give: on every mail of the labelled set, on ordinary mail, and
on text made to trip them."""
from __future__ import annotations

import json
import random
import re

import pytest
from emailforwardparser import regexs, utils

from bench.forwards import SET, outer_mail
from backend.mail.forward_engine import _preprocess, _window
from backend.mail.forwards import html_to_text
from backend.mail.mime import parse_message
from backend.mail.regex_prefilter import earliest, required_text

LABELS = json.loads((SET / "labels.json").read_text(encoding="utf-8"))


def _naive(patterns, text):
    found = None
    for pattern in patterns:
        match = pattern.search(text)
        if match and (found is None or match.start() < found.start()):
            found = match
    return found


def _texts():
    for entry in LABELS:
        msg = parse_message(outer_mail(entry))
        for text in (msg.text, html_to_text(msg.html) if msg.html else None):
            if text:
                yield entry["file"], text.replace("\r\n", "\n")


@pytest.mark.parametrize("patterns", ["SEPARATOR", "ORIGINAL_FROM", "ORIGINAL_TO", "ORIGINAL_SUBJECT"])
def test_the_earliest_match_is_the_one_every_pattern_run_would_find(patterns):
    patterns = getattr(regexs, patterns)
    cache: dict = {}
    checked = matched = 0
    for name, text in _texts():
        body = utils.preprocess_string(_window(text))
        fast, slow = earliest(patterns, body, cache), _naive(patterns, body)
        assert (fast and (fast.re.pattern, fast.span())) == (slow and (slow.re.pattern, slow.span())), name
        checked += 1
        matched += slow is not None
    assert checked > 200 and matched > 100  # the set holds forwards: the patterns do match


def test_the_library_and_the_shortcut_preprocess_alike():
    rng = random.Random(7)
    odd = "\x00\x07\x1b\x7f\x85\xa0\xad\u200b\u200d\u2028\u2029\ufeff\ud800\U000e0001\u0301\u3000é中🙂"
    samples = [text for _name, text in _texts()]
    samples += ["".join(rng.choice("ab \n\t\r:<>" + odd) for _ in range(400)) for _ in range(200)]
    samples += ["Subject: =?utf-8?q?Caf=C3=A9?= and =?iso-8859-1?b?Q2Fm6Q==?=", "\ufeffOn Mon, Bob wrote:", ""]
    for text in samples:
        assert _preprocess(text, utils) == utils.preprocess_string(text), repr(text[:80])


@pytest.mark.parametrize("pattern, needed", [
    (r"(?m)^\s?On\s?.+\,\s?\".+\"\s*[\[|<].+[\]|>]\s?wrote\s?:", "wrote"),
    (r"(?m)^\s*-{5,8} Forwarded Message -{5,8}\s*", "----- Forwarded Message -----"),
    (r"(?m)^\s*_{32}\s*$", "_" * 32),
    (r"napsal\(a\)\s?:", "napsal(a)"),
    (r"(?m)^(\*?\s*From\s?:\*?(.+))$", "From"),
    (r"ab(?:cd|ef)gh", None),              # each side of a branch is shorter than three
    (r"abcde?fg", "abcd"),                 # an optional letter ends the run
    (r"(?i)forwarded", None),              # case-insensitive: the pattern is always run
    (r"x[yz]w", None),
])
def test_what_every_match_must_contain(pattern, needed):
    assert required_text(re.compile(pattern)) == needed


def test_a_pattern_is_run_only_when_the_text_can_hold_a_match():
    calls = []

    class Spy:
        def __init__(self, pattern):
            self.pattern = re.compile(pattern)
            self.flags = self.pattern.flags

        def search(self, text):
            calls.append(self.pattern.pattern)
            return self.pattern.search(text)

    wrote, anything = Spy(r"^On .+ wrote:"), Spy(r"[a-z]+:")
    cache = {wrote: required_text(wrote.pattern), anything: None}
    assert earliest([wrote, anything], "agenda: pricing", cache).group() == "agenda:"
    assert calls == ["[a-z]+:"]
