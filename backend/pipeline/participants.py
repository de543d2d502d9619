"""Stage participants: every address with its role, matched to company users and contacts."""
from __future__ import annotations

from .. import addresses
from .context import Context, ParticipantInfo

ROLES = ("from", "to", "cc")


def list_participants(view, mail_domain: str) -> tuple[list[ParticipantInfo], int]:
    """Every address of the mail once per role, and how many Smart Bcc addresses were left out."""
    out: list[ParticipantInfo] = []
    seen: set[tuple[str, str]] = set()
    skipped = 0
    groups = (("from", [view.sender] if view.sender else []), ("to", view.to), ("cc", view.cc))
    for role, group in groups:
        for address in group:
            key = address.key
            if not key or (role, key) in seen:
                continue
            if addresses.is_smartbcc_address(key, mail_domain):
                skipped += 1  # our own address is a route, not a person in the conversation
                continue
            seen.add((role, key))
            out.append(ParticipantInfo(role, address))
    return out, skipped


class Participants:
    name = "participants"

    def run(self, ctx: Context) -> None:
        listed, skipped = list_participants(ctx.view, ctx.settings.mail_domain)
        # Users and contacts by address, asked once per batch (backend/pipeline/batch.py).
        users, persons = ctx.lookups.people(ctx.session, ctx.company_id, {p.address.key for p in listed})
        for p in listed:
            p.user_id = users.get(p.address.key)
            p.person_id = None if p.user_id else persons.get(p.address.key)
        ctx.participants = listed
        external = sorted({p.address.key for p in listed if p.external})
        colleagues = len(listed) - len([p for p in listed if p.external])
        reason = (f"Outside the company: {', '.join(external)}." if external
                  else "Nobody outside the company takes part.")
        if colleagues:
            reason += f" From the company: {colleagues}."
        if skipped:
            reason += " Smart Bcc addresses are not participants."
        ctx.decide(self.name, "listed", reason)
