"""Forward attribution accuracy on the labelled set of real forwarded mails (tests/forwardset/).

Every labelled file is wrapped the way a rep's mail reaches the Smart Bcc address (plain-text or
HTML body under the outer subject the label gives; ``.eml`` files as they are), parsed with the
product's MIME reader and read by three attributions, all measured in the same run:

- ``product``: ``backend.mail.forwards.find_forwarded`` (email-forward-parser first, our reader
  and quotequail after it), the reading the pipeline uses;
- ``email-forward-parser only``: the library's reading alone (its dates through our date parser);
- ``baseline: as sent``: no forward reading at all, every mail is the rep's (what a CRM without
  forward support logs).

A mail's sender is right when it is the labelled original sender, or, for a mail the label says is
not a forward, when it stays the rep's. Date and subject are judged on forwards with a readable
label. Usage: ``.venv/bin/python bench/forwards.py [--limit N] [--misses]``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.mail.forward_dates import parse_forward_date  # noqa: E402
from backend.mail.forward_engine import read_forward  # noqa: E402
from backend.mail.forwards import find_forwarded, parse_address_list  # noqa: E402
from backend.mail.forward_html import html_to_text  # noqa: E402
from backend.mail.mime import parse_message  # noqa: E402

SET = ROOT / "tests" / "forwardset"
REP = "rep@smartbcc-bench.example"
OUTER_DATE = "Sun, 06 Dec 2026 10:00:00 +0000"
GOALS = {"sender": 0.98, "date": 0.95}


def load(limit: int | None) -> list[dict]:
    labels = json.loads((SET / "labels.json").read_text(encoding="utf-8"))
    missing = [entry["file"] for entry in labels if not (SET / entry["file"]).is_file()]
    if missing:
        print(f"CHECK FAILED: labelled files missing: {missing[:5]}")
    labels = [entry for entry in labels if entry["file"] not in missing]
    return labels[:limit] if limit else labels


def outer_mail(entry: dict) -> bytes:
    raw = (SET / entry["file"]).read_bytes()
    if entry["kind"] == "eml":
        return raw
    message = EmailMessage()
    message["From"] = f"Rep <{REP}>"
    message["To"] = "bcc@acme.smartbcc.example"
    message["Subject"] = entry.get("subject") or "Fwd:"
    message["Date"] = OUTER_DATE
    text = raw.decode("utf-8", errors="replace")
    message.set_content(text, subtype="html" if entry["kind"] == "html" else "plain")
    return message.as_bytes()


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def _norm(subject: str | None) -> str:
    return " ".join((subject or "").split()).casefold()


def product(parsed):
    found = find_forwarded(parsed)
    if found is None:
        return None, None, None, "none"
    return found.sender.email.lower(), found.date, found.subject, found.engine


def library_only(parsed):
    text = parsed.text if parsed.text and parsed.text.strip() else html_to_text(parsed.html)
    reading = read_forward(text or "", parsed.subject)
    if reading is None:
        return None, None, None, "none"
    senders = parse_address_list(reading.fields.get("from"))
    if not senders:
        return None, None, None, "none"
    return (senders[0].email.lower(), parse_forward_date(reading.fields.get("date"), timezone.utc),
            reading.fields.get("subject"), "email-forward-parser")


def as_sent(parsed):
    return None, None, None, "none"


READERS = {"product": product, "email-forward-parser only": library_only, "baseline: as sent": as_sent}


def judge(entry: dict, reading) -> dict[str, bool | None]:
    sender, date, subject, _ = reading
    if not entry["forwarded"]:
        return {"sender": sender in (None, REP), "date": None, "subject": None}
    want_sender = (entry.get("sender") or "").lower() or None
    if want_sender is None:  # a forward that names no address: it must stay the rep's
        return {"sender": sender in (None, REP), "date": None, "subject": None}
    want_date = _instant(entry.get("date"))
    return {
        "sender": sender == want_sender,
        "date": None if want_date is None else (sender == want_sender and date == want_date),
        "subject": None if not entry.get("subject_original")
        else _norm(subject) == _norm(entry["subject_original"]),
    }


def rate(values: list[bool | None]) -> tuple[int, int]:
    judged = [v for v in values if v is not None]
    return sum(judged), len(judged)


def fmt(hits: int, total: int) -> str:
    return f"{hits / total:6.1%} ({hits}/{total})" if total else "     –"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N labelled mails (toy size)")
    parser.add_argument("--misses", action="store_true", help="list every mail the product gets wrong")
    args = parser.parse_args()
    entries = load(args.limit)
    parsed = [(entry, parse_message(outer_mail(entry))) for entry in entries]
    print(f"forward attribution on {len(entries)} labelled mails "
          f"({sum(e['forwarded'] for e in entries)} forwards) from tests/forwardset/\n")
    results: dict[str, list[dict]] = {}
    seconds: dict[str, float] = {}
    engines: dict[str, int] = defaultdict(int)
    for name, reader in READERS.items():
        started = time.perf_counter()
        readings = [reader(message) for _, message in parsed]
        seconds[name] = time.perf_counter() - started
        results[name] = [judge(entry, reading) for (entry, _), reading in zip(parsed, readings)]
        if name == "product":
            for reading in readings:
                engines[reading[3]] += 1
            misses = [(entry, reading) for (entry, _), reading, verdict
                      in zip(parsed, readings, results[name]) if not all(v in (True, None) for v in verdict.values())]
    print(f"| reader | sender | date | subject | ms/mail |")
    print("|---|---|---|---|---|")
    for name, verdicts in results.items():
        cells = [fmt(*rate([v[key] for v in verdicts])) for key in ("sender", "date", "subject")]
        print(f"| {name} | {' | '.join(cells)} | {1000 * seconds[name] / max(1, len(entries)):.2f} |")
    base = rate([v["sender"] for v in results["baseline: as sent"]])
    prod = rate([v["sender"] for v in results["product"]])
    if base[0]:
        print(f"\nsender right, product vs baseline: {prod[0] / base[0]:.2f}x")
    print("engines that decided (product): " + ", ".join(f"{k} {v}" for k, v in sorted(engines.items())))
    for key in ("client", "language"):
        groups: dict[str, list[dict]] = defaultdict(list)
        for (entry, _), verdict in zip(parsed, results["product"]):
            groups[entry.get(key) or "?"].append(verdict)
        print(f"\nproduct by {key}:\n| {key} | mails | sender | date | subject |\n|---|---|---|---|---|")
        for group, verdicts in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
            cells = [fmt(*rate([v[k] for v in verdicts])) for k in ("sender", "date", "subject")]
            print(f"| {group} | {len(verdicts)} | {' | '.join(cells)} |")
    print()
    for key, goal in GOALS.items():
        hits, total = rate([v[key] for v in results["product"]])
        print(f"goal {key} >= {goal:.0%}: {'met' if total and hits / total >= goal else 'NOT MET'} "
              f"({fmt(hits, total).strip()})")
    if args.misses:
        print("\nmisses:")
        for entry, reading in misses:
            print(f"  {entry['file']}: got sender={reading[0]} date={reading[1]} subject={reading[2]!r}; "
                  f"want sender={entry.get('sender')} date={entry.get('date')} "
                  f"subject={entry.get('subject_original')!r}")
    if not results["product"]:
        print("CHECK FAILED: nothing was measured")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
