"""Real bounces and automatic replies (tests/mail/provider_samples, from sisimai/set-of-emails):
each is automatic at top level, and still automatic when a rep forwards it as an attachment."""
from __future__ import annotations

from pathlib import Path

import pytest

from backend.mail.automatic import RULES, is_machine_address
from backend.mail.mime import parse_message
from backend.pipeline.context import Context
from backend.pipeline.parse import Parse
from backend.pipeline.unwrap import UnwrapForward

from .automatic_forwards import forward_with_email_package

SAMPLES = Path(__file__).parent / "provider_samples"
RULE_NAMES = {rule.name for rule in RULES}

# file -> (kind, the rule that decides it at top level)
EXPECTED = {
    "arf-01": ("complaint", "complaint-report"),
    "lhost-amazonses-01": ("bounce", "bounce-report"),
    "lhost-dragonfly-01": ("bounce", "mailer-daemon-sender"),
    "lhost-exchange2003-01": ("bounce", "mailer-daemon-sender"),
    "lhost-exchange2007-01": ("bounce", "bounce-report"),
    "lhost-exim-01": ("bounce", "failed-recipients-header"),
    "lhost-exim-02": ("bounce", "failed-recipients-header"),
    "lhost-gmail-01": ("bounce", "failed-recipients-header"),
    "lhost-gmail-05": ("bounce", "failed-recipients-header"),
    "lhost-gmx-01": ("bounce", "mailer-daemon-sender"),
    "lhost-googlegroups-01": ("bounce", "failed-recipients-header"),
    "lhost-mailru-01": ("bounce", "failed-recipients-header"),
    "lhost-mfilter-03": ("bounce", "mailer-daemon-sender"),
    "lhost-office365-01": ("bounce", "bounce-report"),
    "lhost-office365-05": ("bounce", "bounce-report"),
    "lhost-outlook-01": ("bounce", "bounce-report"),
    "lhost-postfix-01": ("bounce", "bounce-report"),
    "lhost-postfix-10": ("bounce", "bounce-report"),
    "lhost-qmail-01": ("bounce", "mailer-daemon-sender"),
    "lhost-qmail-08": ("bounce", "mailer-daemon-sender"),
    "lhost-sendmail-01": ("bounce", "bounce-report"),
    "lhost-sendmail-53": ("bounce", "mailer-daemon-sender"),
    "lhost-x3-01": ("bounce", "mailer-daemon-sender"),
    "lhost-yahoo-01": ("bounce", "mailer-daemon-sender"),
    "lhost-yahoo-08": ("bounce", "mailer-daemon-sender"),
    "lhost-yandex-01": ("bounce", "bounce-report"),
    "lhost-zoho-01": ("bounce", "mailer-daemon-sender"),
    "rfc3464-65": ("bounce", "bounce-report"),
    "rfc3834-01": ("auto-reply", "auto-submitted"),
    "rfc3834-02": ("auto-reply", "auto-reply-subject"),
    "rfc3834-03": ("auto-reply", "auto-reply-subject"),
    "rfc3834-04": ("auto-reply", "auto-reply-subject"),
    "rfc3834-05": ("auto-reply", "auto-submitted"),
    "rfc3834-06": ("auto-reply", "auto-submitted"),
    "rhost-franceptt-01": ("bounce", "bounce-report"),
    "rhost-mimecast-01": ("bounce", "bounce-report"),
    "rhost-outlook-01": ("bounce", "bounce-report"),
    "rhost-yahooinc-01": ("bounce", "bounce-report"),
}
# Their From cannot be read as an address ("MAILER-DAEMON <>", "<MAILER-DAEMON>", "<>"), so
# the forward reader finds no original sender: the attached message itself still tells.
UNREADABLE_SENDER = {"lhost-dragonfly-01", "lhost-mfilter-03", "lhost-sendmail-53"}


def _raw(name: str) -> bytes:
    return (SAMPLES / f"{name}.eml").read_bytes()


def _stages(raw: bytes, *stages) -> list[dict]:
    ctx = Context(services=None, session=None, record=None, raw=raw)
    for stage in stages:
        stage.run(ctx)
    return ctx.decisions


def test_every_sample_is_listed_with_its_source():
    files = {p.stem for p in SAMPLES.glob("*.eml")}
    assert files == set(EXPECTED)
    sources = (SAMPLES / "SOURCES.md").read_text(encoding="utf-8")
    assert "BSD 2-Clause" in sources and (SAMPLES / "LICENSE").is_file()
    assert all(f"`{name}.eml`" in sources for name in files)
    assert {kind for kind, _rule in EXPECTED.values()} == {"bounce", "auto-reply", "complaint"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_at_top_level_is_automatic_and_the_rule_is_recorded(name):
    kind, rule = EXPECTED[name]
    msg = parse_message(_raw(name))
    assert (msg.auto_kind, msg.auto_rule) == (kind, rule) and rule in RULE_NAMES
    decided = [d for d in _stages(_raw(name), Parse()) if d["outcome"] == "automatic"]
    assert [(d["stage"], d["kind"], d["rule"]) for d in decided] == [("parse", kind, rule)]
    assert decided[0]["reason"].startswith("This is an automatic mail (")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_forwarded_as_attachment_is_automatic(name):
    kind, _rule = EXPECTED[name]
    raw = forward_with_email_package(_raw(name))
    outer = parse_message(raw)
    assert outer.auto_kind is None  # the rep's "Fwd:" itself is ordinary mail
    assert len(outer.attached_messages) == 1
    decisions = _stages(raw, Parse(), UnwrapForward())
    (decided,) = [d for d in decisions if d["outcome"] == "automatic"]
    assert decided["stage"] == "unwrap_forward" and decided["kind"] == kind
    assert decided["rule"] in RULE_NAMES
    assert decided["reason"].startswith("The forwarded mail is automatic. This is an automatic mail (")
    forwarded = [d for d in decisions if d["stage"] == "unwrap_forward" and d["outcome"] == "forwarded"]
    if name in UNREADABLE_SENDER:
        assert not forwarded and "original_sender" not in decided
    else:
        assert forwarded and decided["original_sender"] == forwarded[0]["original_sender"]


@pytest.mark.parametrize("name", sorted(n for n, (kind, _r) in EXPECTED.items() if kind == "bounce"))
def test_bounce_senders_are_machine_addresses_or_unreadable(name):
    sender = parse_message(_raw(name)).sender
    if name in UNREADABLE_SENDER:
        assert sender is None
    elif sender.key.split("@")[0] not in ("mail.delivery.system", "poostmaster"):
        assert is_machine_address(sender.key), sender.key
