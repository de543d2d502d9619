"""The parsed shape of one received mail, shared by every pipeline stage."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Address:
    """One mailbox from a header: display name and address as written."""

    name: str
    email: str

    @property
    def key(self) -> str:
        """The form used for lookups and comparisons (lower-cased, stripped)."""
        return self.email.strip().lower()

    def formatted(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass
class AttachmentPart:
    filename: str | None
    content_type: str
    content: bytes
    sha256: str
    content_id: str | None = None
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class ParsedMessage:
    """What could be read from the raw bytes. Never raises on bad input:
    anything unreadable is listed in ``defects`` instead."""

    message_id: str | None = None  # without angle brackets
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None  # timezone-aware, UTC
    from_: list[Address] = field(default_factory=list)
    sender_header: Address | None = None  # the Sender: header, if any
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    text: str | None = None
    html: str | None = None
    attachments: list[AttachmentPart] = field(default_factory=list)
    # message/rfc822 parts, parsed with the same limits (depth-limited)
    attached_messages: list["ParsedMessage"] = field(default_factory=list)
    # None, or one of: "bounce", "auto-reply", "bulk", "complaint" (see automatic.py)
    auto_kind: str | None = None
    auto_rule: str | None = None  # name of the automatic-mail rule that decided auto_kind
    auto_reason: str | None = None  # that rule's reason, one sentence
    # What the automatic-mail rules read: this message's MIME part types (enclosed messages
    # not included), the report-type of each multipart/report, and the first value of each
    # header they look at, unfolded, by lower-case name.
    content_types: list[str] = field(default_factory=list)
    report_types: list[str] = field(default_factory=list)
    auto_headers: dict[str, str] = field(default_factory=dict)
    defects: list[str] = field(default_factory=list)
    smartbcc_ref: str | None = None  # value of X-SmartBcc-Ref
    content_hash: str = ""  # hash of normalized content, for dedupe without Message-ID

    @property
    def sender(self) -> Address | None:
        return self.from_[0] if self.from_ else None

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None
