"""Builds a pipeline context on real rows (a company, its users, contacts, deals, a stored arrival),
so that one stage at a time can be run and what it decided checked.

Import the ``kit`` fixture into a test module: ``from .stagekit import kit_fixture  # noqa: F401``.
"""
from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

import pytest

from backend import addresses
from backend.accounts import create_company, create_user
from backend.models import (
    Company,
    Deal,
    InboundRecord,
    Lead,
    Person,
    PersonEmail,
    SenderAddress,
    User,
)
from backend.pipeline.context import Context, StopPipeline
from backend.pipeline.runner import STAGES

_ids = itertools.count(1)
_AUTO = object()
STAGE_NAMES = [s.name for s in STAGES]


def mail(sender: str, to: str, subject: str, body: str = "Hello", *, cc: str | None = None, msgid=_AUTO,
         date: str | None = "Mon, 3 Mar 2025 10:00:00 +0000", extra: str = "") -> bytes:
    """A small plain-text mail; ``msgid=None`` leaves the Message-ID out, ``extra`` adds header lines."""
    if msgid is _AUTO:
        msgid = f"stage-{next(_ids)}@test.example"
    lines = [f"From: {sender}", f"To: {to}"]
    if cc:
        lines.append(f"Cc: {cc}")
    lines.append(f"Subject: {subject}")
    if msgid:
        lines.append(f"Message-ID: <{msgid}>")
    if date:
        lines.append(f"Date: {date}")
    head = "\r\n".join(lines) + "\r\n" + "".join(f"{h}\r\n" for h in extra.splitlines() if h)
    return (head + "\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n") + "\r\n").encode("utf-8")


class Kit:
    """One company (acme.example) and its rep Alice Rep, with one open session for the test."""

    def __init__(self, services, session, company_id: int, user_id: int):
        self.services, self.session = services, session
        self.company_id = company_id
        self.user = session.get(User, user_id)
        self.company = session.get(Company, company_id)

    # --- rows --------------------------------------------------------------------------------

    def colleague(self, email: str, name: str) -> User:
        return create_user(self.session, self.company_id, email, name).user

    def other_company(self) -> int:
        return create_company(self.session, "Globex", "globex.example").company.id

    def alternative(self, email: str, *, user: User | None = None, verified: bool = True) -> SenderAddress:
        row = SenderAddress(company_id=self.company_id, user_id=(user or self.user).id, email=email,
                            verified_at=datetime.now(UTC) if verified else None)
        self.session.add(row)
        self.session.flush()
        return row

    def person(self, name: str, email: str, *, company_id: int | None = None) -> Person:
        company_id = company_id or self.company_id
        person = Person(company_id=company_id, name=name, owner_id=self.user.id)
        person.emails.append(PersonEmail(company_id=company_id, email=email, primary=True))
        self.session.add(person)
        self.session.flush()
        return person

    def deal(self, title: str, person: Person | None = None, *, status: str = "open",
             company_id: int | None = None) -> Deal:
        deal = Deal(company_id=company_id or self.company_id, title=title, person_id=person.id if person else None,
                    owner_id=self.user.id, status=status, bcc_token=addresses.new_item_token())
        self.session.add(deal)
        self.session.flush()
        return deal

    def lead(self, title: str, person: Person | None = None) -> Lead:
        lead = Lead(company_id=self.company_id, title=title, person_id=person.id if person else None,
                    owner_id=self.user.id, bcc_token=addresses.new_item_token())
        self.session.add(lead)
        self.session.flush()
        return lead

    # --- addresses and arrivals ----------------------------------------------------------------

    @property
    def bcc(self) -> str:
        return addresses.company_address(self.company.slug, self.services.settings.mail_domain)

    def address_of(self, item: Deal | Lead) -> str:
        kind = "deal" if isinstance(item, Deal) else "lead"
        return addresses.item_address(self.company.slug, kind, item.bcc_token, self.services.settings.mail_domain)

    def route(self, item: Deal | Lead | None = None) -> dict:
        """A recipient as acceptance records it: the company address, or a deal's or lead's own one."""
        if item is None:
            return {"address": self.bcc, "kind": "company", "item_id": None, "via_alias": False}
        kind = "deal" if isinstance(item, Deal) else "lead"
        return {"address": self.address_of(item), "kind": kind, "item_id": item.id, "via_alias": False}

    def record(self, raw: bytes, *, routes: list[dict] | None = None, user=_AUTO,
               decisions: list[dict] | None = None) -> InboundRecord:
        """An accepted arrival: the raw bytes in the blob store and its record, as intake leaves them
        (``user``: the user acceptance found, Alice Rep unless told; None for nobody)."""
        digest = self.services.blobs.put(raw)
        owner = self.user if user is _AUTO else user
        record = InboundRecord(company_id=self.company_id, user_id=owner.id if owner else None, source="smtp",
                               recipients=routes if routes is not None else [self.route()],
                               raw_sha256=digest, raw_size=len(raw), status="received",
                               decisions=decisions if decisions is not None else [
                                   {"stage": "intake", "outcome": "accepted", "reason": "accepted"}])
        self.session.add(record)
        self.session.flush()
        return record

    def context(self, raw: bytes, **record_kwargs) -> Context:
        # raw=None as in the runner: the parse stage reads the stored file.
        return Context(services=self.services, session=self.session, record=self.record(raw, **record_kwargs),
                       raw=None)

    # --- running stages ----------------------------------------------------------------------

    def before(self, raw: bytes, stage: str, **record_kwargs) -> Context:
        """A context for ``raw`` with every stage before ``stage`` run."""
        ctx = self.context(raw, **record_kwargs)
        for each in STAGES[:STAGE_NAMES.index(stage)]:
            each.run(ctx)
        return ctx

    def run(self, ctx: Context, stage: str) -> dict:
        """Runs that one stage; returns the last decision it recorded."""
        done = len(ctx.decisions)
        STAGES[STAGE_NAMES.index(stage)].run(ctx)
        mine = [d for d in ctx.decisions[done:] if d["stage"] == stage]
        assert mine, f"stage {stage} recorded no decision"
        return mine[-1]

    def stage(self, raw: bytes, stage: str, **record_kwargs) -> tuple[Context, dict]:
        ctx = self.before(raw, stage, **record_kwargs)
        return ctx, self.run(ctx, stage)

    def process(self, raw: bytes, **record_kwargs) -> Context:
        """The whole pipeline over one arrival (a mail logged earlier)."""
        ctx = self.context(raw, **record_kwargs)
        try:
            for each in STAGES:
                each.run(ctx)
        except StopPipeline:
            pass
        self.session.flush()
        return ctx


@pytest.fixture(name="kit")
def kit_fixture(services, make_account):
    account = make_account("acme.example", "alice@acme.example", name="Alice Rep")
    with services.db.session() as session:
        yield Kit(services, session, account.company_id, account.user_id)


# --- reasons ---------------------------------------------------------------------------------

_RAW_ID = re.compile(r"\b(?:deal|lead|project|person|contact|thread|message|user|record|item)s?\s*(?:#|no\.?\s*)?\d+\b",
                     re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w.-]+")
_IDENTIFIER = re.compile(r"\b[a-z]+_[a-z_]+\b|\b\w*_id\b")
# Outcome codes and rule names a reason must not spell out (they stay in the API keys).
_CODES = ("item-gone", "owner-mailbox", "owner-from-intake", "not-forwarded", "own-mail", "duplicate-of-deleted",
          "needs-deal-choice", "only-open-deal", "deal-linked", "item-address", "person-linked", "setting-off",
          "link-setting", "automatic-mail", "contact-leads", "contact-projects", "no-open-deal", "deal-kept")


def assert_readable(decision: dict, *names: str) -> None:
    """The reason is a sentence for a sales rep: it names ``names`` and shows no ids, codes or stage keys."""
    reason = decision["reason"]
    assert reason.strip(), decision
    assert not _RAW_ID.search(reason), f"raw id in {reason!r}"
    words = _EMAIL.sub("", reason)
    assert not _IDENTIFIER.search(words), f"code identifier in {reason!r}"
    for code in _CODES:
        assert code not in words, f"{code!r} in {reason!r}"
    for key in ("unwrap_forward", "dedupe", "persist", "authorize", "stage"):
        assert key not in words.lower(), f"stage key {key!r} in {reason!r}"
    for name in names:
        assert name in reason, f"{name!r} not named in {reason!r}"
