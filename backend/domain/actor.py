"""Who is acting: a user of a company, as the rules need them (no request, no ORM session)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: int
    company_id: int
    name: str
    email: str
    is_admin: bool = False
    link_emails_to_items: bool = True

    @classmethod
    def of(cls, user) -> "Actor":
        """The actor for a ``User`` row."""
        return cls(user_id=user.id, company_id=user.company_id, name=user.name, email=user.email,
                   is_admin=user.role == "admin", link_emails_to_items=bool(user.link_emails_to_items))
