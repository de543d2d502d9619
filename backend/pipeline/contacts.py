"""Stage contacts: an external participant without a contact gets a new person."""
from __future__ import annotations

import re

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
        for p in ctx.participants:
            if not p.external or p.person_id is not None:
                continue
            if is_machine_address(p.address.key):
                # mailer-daemon@, postmaster@: a mail server, never a contact, whatever the mail.
                if p.address.key not in machines:
                    machines.append(p.address.key)
                continue
            name = (p.address.name or "").strip().strip("'\"")[:200] or name_from_address(p.address.key)
            person = Person(company_id=ctx.company_id, name=name, owner_id=ctx.user.id)
            person.emails.append(PersonEmail(company_id=ctx.company_id, email=p.address.key, primary=True))
            ctx.session.add(person)
            ctx.session.flush()
            for other in ctx.participants:
                if other.address.key == p.address.key:
                    other.person_id = person.id
            created.append(f"{name} <{p.address.key}>")
        skipped = (" Mail server addresses never become contacts: " + ", ".join(machines) + ".") if machines else ""
        if created:
            ctx.decide(self.name, "created",
                       "New contact" + ("s" if len(created) > 1 else "") + ": " + ", ".join(created) + "." + skipped)
        elif machines:
            ctx.decide(self.name, "none", skipped.strip())
        else:
            ctx.decide(self.name, "none", "Everyone outside the company already is a contact.")
