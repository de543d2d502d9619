"""Persons (contacts) with one or more email addresses, searchable by address or name."""
from __future__ import annotations

from flask import Blueprint, g
from sqlalchemy import select

from ..domain.items import forget_item
from ..models import Person, PersonEmail
from .common import db_session, scoped, text_arg
from .crud import Resource
from .errors import ApiError
from .schemas import PersonSchema

bp = Blueprint("persons", __name__)


def _claim_emails(person: Person, entries: list[dict]) -> None:
    """Replaces the person's addresses; an address of another person is refused."""
    wanted = [e["email"].strip().lower() for e in entries]
    taken = db_session().execute(
        select(PersonEmail.email, PersonEmail.person_id).where(
            PersonEmail.company_id == g.company_id, PersonEmail.email.in_(wanted)
        )
    ).all()
    clashes = [f"{email} already belongs to person {pid}." for email, pid in taken
               if person.id is None or pid != person.id]
    if clashes:
        raise ApiError(400, "An email address can belong to one person only.", {"emails": clashes})
    has_primary = any(e.get("primary") for e in entries)
    person.emails.clear()
    db_session().flush()
    for index, entry in enumerate(entries):
        person.emails.append(PersonEmail(
            company_id=g.company_id, email=wanted[index], label=entry.get("label") or "work",
            primary=bool(entry.get("primary")) or (not has_primary and index == 0),
        ))


class Persons(Resource):
    model = Person
    schema = PersonSchema()
    name = "person"
    path = "/persons"

    list_params = (("email", "string", "Only the person with this address."),
                   ("term", "string", "Only those whose name or an address contains this (2 characters or more)."))

    def list_query(self):
        query = scoped(Person).order_by(Person.id)
        email = text_arg("email")
        if email is not None:
            query = query.where(Person.id.in_(
                select(PersonEmail.person_id).where(
                    PersonEmail.company_id == g.company_id,
                    PersonEmail.email == email.strip().lower())
            ))
        term = text_arg("term") or ""
        if term:
            if len(term) < 2:
                raise ApiError(400, "Search terms need at least 2 characters.", {"term": ["Too short."]})
            # autoescape: "%" and "_" in a term are literal characters, not wildcards.
            query = query.where(Person.name.icontains(term, autoescape=True) | Person.id.in_(
                select(PersonEmail.person_id).where(
                    PersonEmail.company_id == g.company_id,
                    PersonEmail.email.contains(term.lower(), autoescape=True))
            ))
        return query

    def create(self, data: dict):
        entries = data.pop("emails", [])
        person = super().create(data)
        _claim_emails(person, entries)
        return person

    def update(self, obj, data: dict) -> None:
        entries = data.pop("emails", None)
        super().update(obj, data)
        if entries is not None:
            _claim_emails(obj, entries)

    def before_delete(self, obj) -> None:
        forget_item(db_session(), g.company_id, "person", obj.id)


Persons().register(bp)
