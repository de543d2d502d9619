"""A sample of the labelled real forwards (tests/forwardset/), one per client family and several
languages, sent over SMTP by a rep: logged as the original sender's mail, with the original date
and subject, and the decision log names the engine that read it."""
from __future__ import annotations

import json
from email.message import EmailMessage

import pytest

from bench.forwards import SET, _instant, _norm

LABELS = {e["file"]: e for e in json.loads((SET / "labels.json").read_text(encoding="utf-8"))}
SAMPLE = [
    "mails/crisp/yahoo_it_body.txt",            # header block flattened onto one line
    "mails/crisp/hubspot_ja_body.txt",          # full-width colons, 年月日 date
    "mails/crisp/gmail_pt_br_body.txt",         # "qua., 27 de out. de 2021 às 09:31"
    "mails/crisp/apple_mail_uk_body.txt",       # quoted with ">", Ukrainian labels
    "mails/crisp/thunderbird_ro_body.txt",      # Romanian, "de la:" label
    "mails/crisp/new_outlook_2019_pl_body.txt",
    "mails/crisp/outlook_2019_en_body_variant_2.txt",  # one-line "On …, "Name" <address> wrote:"
    "mails/crisp/gmail_en_body_variant_14.txt",  # forwards nested ten deep: the outermost counts
    "mails/quotequail/gmail_forward.html",      # HTML only
]


def _mail(rep: str, bcc: str, entry: dict) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Rep <{rep}>"
    msg["To"] = bcc
    msg["Subject"] = entry["subject"]
    msg["Date"] = "Sun, 06 Dec 2026 10:00:00 +0000"
    text = (SET / entry["file"]).read_text(encoding="utf-8")
    msg.set_content(text, subtype="html" if entry["kind"] == "html" else "plain")
    return bytes(msg)


@pytest.mark.parametrize("name", SAMPLE, ids=[n.split("/")[-1] for n in SAMPLE])
def test_labelled_forward_over_smtp(name, acme, send_mail, app):
    entry = LABELS[name]
    send_mail(_mail(acme.email, acme.bcc_address, entry), acme.bcc_address, acme.email)
    api = app.test_client()
    threads = api.get("/api/v1/mailbox/mailThreads", headers=acme.auth).json["data"]
    assert len(threads) == 1
    message = api.get(f"/api/v1/mailbox/mailThreads/{threads[0]['id']}/mailMessages",
                      headers=acme.auth).json["data"][0]
    assert message["sender"]["email"].lower() == entry["sender"]
    assert message["forwarded_by"]["email"] == acme.email
    assert _norm(message["subject"]) == _norm(entry["subject_original"])
    sent_at = message["sent_at"].replace("Z", "+00:00")
    assert _instant(sent_at) == _instant(entry["date"])
    arrival = api.get("/api/v1/mailbox/inbound", headers=acme.auth).json["data"][0]
    unwrap = next(d for d in arrival["decisions"] if d["stage"] == "unwrap_forward")
    assert unwrap["outcome"] == "forwarded" and unwrap["engine"] in ("email-forward-parser", "own", "quotequail")
    assert unwrap["engine"] in unwrap["reason"]
