"""Stage contacts: an external participant without a contact gets a new person."""
from __future__ import annotations

import re

from sqlalchemy import insert

from ..mail.automatic import is_machine_address
from ..models import Person, PersonEmail
from .context import Context

_SPLIT = re.compile(r"[._\-+]+")


def name_from_address(email: str) -> str:
    """``bob.smith@x`` -> ``Bob Smith``: a readable guess when no display name was given."""
    local = email.split("@", 1)[0]
    words = [w for w in _SPLIT.split(local) if w and not w.isdigit()]
    return " ".join(w.capitalize() for w in words)[:200] or email[:200]


class Contacts:
    name = "contacts"

    def run(self, ctx: Context) -> None:
        if ctx.parsed.auto_kind:
            ctx.decide(self.name, "skipped", f"Automatic mail ({ctx.parsed.auto_kind}): nobody in it becomes a contact.")
            return
        created, machines = [], []
        new: dict[str, str] = {}  # address -> the name of the person made for it
        for p in ctx.participants:
            if not p.external or p.person_id is not None or p.address.key in new:
                continue
            if is_machine_address(p.address.key):
                # mailer-daemon@, postmaster@: a mail server, never a contact, whatever the mail.
                if p.address.key not in machines:
                    machines.append(p.address.key)
                continue
            name = (p.address.name or "").strip().strip("'\"")[:200] or name_from_address(p.address.key)
            new[p.address.key] = name
            created.append(f"{name} <{p.address.key}>")
        if new:
            # The persons in one INSERT (their ids read back in order), their addresses in another;
            # nothing else the session holds is flushed (a batch writes its messages at its end).
            persons = Person.__table__
            with ctx.session.no_autoflush:
                ids = ctx.session.execute(
                    insert(persons).returning(persons.c.id, sort_by_parameter_order=True),
                    [{"company_id": ctx.company_id, "name": name, "owner_id": ctx.user.id} for name in new.values()],
                ).scalars().all()
                made = dict(zip(new, ids))
                ctx.session.execute(insert(PersonEmail.__table__), [
                    {"company_id": ctx.company_id, "person_id": made[email], "email": email, "primary": True}
                    for email in new])
            for email, name in new.items():
                ctx.lookups.person_created(ctx.company_id, email, made[email], name)
            for p in ctx.participants:
                if p.address.key in made:
                    p.person_id = made[p.address.key]
        skipped = (" Mail server addresses never become contacts: " + ", ".join(machines) + ".") if machines else ""
        if created:
            ctx.decide(self.name, "created",
                       "New contact" + ("s" if len(created) > 1 else "") + ": " + ", ".join(created) + "." + skipped)
        elif machines:
            ctx.decide(self.name, "none", skipped.strip())
        else:
            ctx.decide(self.name, "none", "Everyone outside the company already is a contact.")
