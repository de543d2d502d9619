"""Stage participants: every address with its role, matched to company users and contacts."""
from __future__ import annotations

from sqlalchemy import select

from .. import addresses
from ..domain.identity import company_user_ids
from ..models import PersonEmail
from .context import Context, ParticipantInfo

ROLES = ("from", "to", "cc")


class Participants:
    name = "participants"

    def run(self, ctx: Context) -> None:
        view = ctx.view
        listed: list[ParticipantInfo] = []
        seen: set[tuple[str, str]] = set()
        skipped = 0
        groups = (("from", [view.sender] if view.sender else []), ("to", view.to), ("cc", view.cc))
        for role, group in groups:
            for address in group:
                key = address.key
                if not key or (role, key) in seen:
                    continue
                if addresses.is_smartbcc_address(key, ctx.settings.mail_domain):
                    skipped += 1  # our own address is a route, not a person in the conversation
                    continue
                seen.add((role, key))
                listed.append(ParticipantInfo(role, address))
        emails = {p.address.key for p in listed}
        users = company_user_ids(ctx.session, ctx.company_id, emails)
        persons = dict(ctx.session.execute(select(PersonEmail.email, PersonEmail.person_id).where(
            PersonEmail.company_id == ctx.company_id, PersonEmail.email.in_(emails))).all()) if emails else {}
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
