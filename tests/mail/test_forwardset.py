"""Every labelled real forward of tests/forwardset/ (one per client x language pair the set holds)
is read as its label says: the original sender (or the rep, when it is not a forward or names no
address), the original date and the original subject. bench/forwards.py prints the same as figures."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.forwards import REP, SET, _instant, _norm, outer_mail
from backend.mail.forwards import read_forwarded
from backend.mail.mime import parse_message

LABELS = json.loads((SET / "labels.json").read_text(encoding="utf-8"))

# Labelled mails the product reads differently on purpose, each with the reason; strict, so
# a change that starts reading one of them right fails here until it is taken off the list.
DIFFERENT_ON_PURPOSE = {
    "mails/mikel-mail/attachment_message_rfc822.eml":
        "an attached message under an outer subject that neither says Fwd: nor names the "
        "attached mail ('testing' vs 'Another PDF') is a rep's mail with an attachment, not a forward",
}


def _case(entry):
    marks = []
    if entry["file"] in DIFFERENT_ON_PURPOSE:
        marks.append(pytest.mark.xfail(reason=DIFFERENT_ON_PURPOSE[entry["file"]], strict=True))
    return pytest.param(entry, id=entry["file"].removeprefix("mails/"), marks=marks)


def test_the_set_is_large_and_sourced():
    assert len(LABELS) >= 150 and sum(e["forwarded"] for e in LABELS) >= 150
    for entry in LABELS:
        assert (SET / entry["file"]).is_file(), entry["file"]
        assert entry["source"] and len(entry["commit"]) == 40 and entry["licence"], entry["file"]
    assert "/shared/corpus" not in (SET / "SOURCES.md").read_text(encoding="utf-8").replace("not from", "")


@pytest.mark.parametrize("entry", [_case(e) for e in LABELS])
def test_labelled_forward_is_read_as_labelled(entry):
    found, why = read_forwarded(parse_message(outer_mail(entry)))
    want = (entry.get("sender") or "").lower() or None
    if not entry["forwarded"] or want is None:
        assert found is None or found.sender.email.lower() == REP, f"invented {found.sender.email}"
        assert why
        return
    assert found is not None, why
    assert found.sender.email.lower() == want
    if entry.get("date"):
        assert found.date == _instant(entry["date"])
    if entry.get("subject_original"):
        assert _norm(found.subject) == _norm(entry["subject_original"])
