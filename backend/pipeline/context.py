"""What the pipeline stages share while one inbound record is processed."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ..mail.message import Address, ParsedMessage
from ..mail.view import MessageView
from ..models import InboundRecord, MailMessage, MailThread, User
from .batch import BatchLookups

if TYPE_CHECKING:  # pragma: no cover
    from ..mail.forwards import ForwardedOriginal
    from ..services import Services


class StopPipeline(Exception):
    """A stage decided that nothing more is to be done (e.g. a duplicate)."""


@dataclass
class ParticipantInfo:
    role: str
    address: Address
    user_id: int | None = None
    person_id: int | None = None

    @property
    def external(self) -> bool:
        return self.user_id is None


@dataclass
class Context:
    services: "Services"
    session: Session
    record: InboundRecord
    raw: bytes | None  # None: read from the blob store (record.raw_sha256) when parsed
    parsed: ParsedMessage | None = None
    routes: list[dict] = field(default_factory=list)
    user: User | None = None
    forwarded: "ForwardedOriginal | None" = None
    view: MessageView | None = None
    dedupe_key: str = ""
    thread: MailThread | None = None
    new_thread: bool = False
    message: MailMessage | None = None
    participants: list[ParticipantInfo] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    # Shared by the records of one batch (the runner passes one); a context of its own otherwise.
    lookups: BatchLookups = field(default_factory=BatchLookups)
    # A side effect outside the database happened (a file removed): the runner commits after this record.
    commit_now: bool = False

    def decide(self, stage: str, outcome: str, reason: str, **extra: Any) -> None:
        """Records what a stage decided and why; shown by the API and the pages."""
        entry = {"stage": stage, "outcome": outcome, "reason": reason}
        entry.update(extra)
        self.decisions.append(entry)

    @property
    def settings(self):
        return self.services.settings

    @property
    def company_id(self) -> int:
        return self.record.company_id
