"""Stage participants: every address with its role, matched to company users and contacts."""
from __future__ import annotations

from sqlalchemy import select

from .. import addresses
from ..models import PersonEmail, SenderAddress, User
from .context import Context, ParticipantInfo

ROLES = ("from", "to", "cc")


def company_user_ids(session, company_id: int, emails: set[str]) -> dict[str, int]:
    """Address -> user id, for account and verified alternative addresses."""
    if not emails:
        return {}
    found = dict(session.execute(select(User.email, User.id).where(
        User.company_id == company_id, User.email.in_(emails))).all())
    found.update(session.execute(select(SenderAddress.email, SenderAddress.user_id).where(
        SenderAddress.company_id == company_id, SenderAddress.email.in_(emails),
        SenderAddress.verified_at.is_not(None))).all())
    return found


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
        reason = f"{len(listed)} participant(s); external: {', '.join(external) or 'none'}"
        if skipped:
            reason += f"; {skipped} Smart Bcc address(es) left out"
        ctx.decide(self.name, "listed", reason)
