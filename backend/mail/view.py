"""The message as it will be logged: the forwarded original when the rep forwarded one."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .message import Address, ParsedMessage


@dataclass
class MessageView:
    sender: Address | None
    to: list[Address]
    cc: list[Address]
    subject: str
    date: datetime | None
    text: str | None
    html: str | None
    message_id: str | None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    forwarded_by: Address | None = None

    @classmethod
    def of(cls, parsed: ParsedMessage) -> "MessageView":
        return cls(parsed.sender, list(parsed.to), list(parsed.cc), parsed.subject, parsed.date,
                   parsed.text, parsed.html, parsed.message_id, list(parsed.in_reply_to),
                   list(parsed.references))
