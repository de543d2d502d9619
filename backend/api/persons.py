"""Persons (contacts) with one or more email addresses, searchable by address or name."""
from __future__ import annotations

from flask import Blueprint, g
from sqlalchemy import select

from ..domain.editing import save_person
from ..domain.items import forget_item
from ..models import Person, PersonEmail
from ..request_scope import actor
from .common import db_session, scoped, text_arg
from .crud import Resource
from .errors import ApiError
from .schemas import PersonSchema

bp = Blueprint("persons", __name__)


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
        return save_person(db_session(), actor(), data)

    def update(self, obj, data: dict) -> None:
        save_person(db_session(), actor(), data, obj)

    def before_delete(self, obj) -> None:
        forget_item(db_session(), g.company_id, "person", obj.id)


Persons().register(bp)
