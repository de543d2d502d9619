"""Organizations, deals, leads and projects; deals and leads carry their own Smart Bcc address."""
from __future__ import annotations

from flask import Blueprint, g, request

from ..models import Deal, Lead, Organization, Project
from ..domain.editing import save_item
from ..domain.items import forget_item
from ..request_scope import actor, item_bcc_address
from .common import db_session, id_arg, scoped, text_arg
from .fastdump import dumper
from .crud import Resource
from .errors import ApiError
from .schemas import DealSchema, LeadSchema, OrganizationSchema, ProjectSchema

bp = Blueprint("items", __name__)


class _Saved(Resource):
    """Created and changed by the rules the pages use too (backend/domain/editing.py save_item):
    the owner, the Smart Bcc address, the lost reason, the history catch-up."""

    item_type: str

    def create(self, data: dict):
        return save_item(db_session(), actor(), self.item_type, data)

    def update(self, obj, data: dict) -> None:
        save_item(db_session(), actor(), self.item_type, data, obj)


class _LinkedItem(_Saved):
    """An item threads can be linked to: deleting it removes those links."""

    def before_delete(self, obj) -> None:
        forget_item(db_session(), g.company_id, self.item_type, obj.id)

    list_params = (("person_id", "integer", "Only those of this person."),
                   ("term", "string", "Only those whose title contains this."))

    def list_query(self):
        query = scoped(self.model).order_by(self.model.id)
        person_id = id_arg("person_id")
        if person_id is not None:
            query = query.where(self.model.person_id == person_id)
        term = text_arg("term") or ""
        if term:
            query = query.where(self.model.title.icontains(term, autoescape=True))
        return query


class _AddressedItem(_LinkedItem):
    def dump(self, obj) -> dict:
        data = dumper(self.schema)(obj)
        data["bcc_address"] = item_bcc_address(g.user.company, self.item_type, obj.bcc_token)
        return data


class Organizations(_Saved):
    model = Organization
    schema = OrganizationSchema()
    name = "organization"
    path = "/organizations"
    item_type = "organization"


class Deals(_AddressedItem):
    model = Deal
    schema = DealSchema()
    name = "deal"
    path = "/deals"
    item_type = "deal"
    list_params = _AddressedItem.list_params + (("status", "string", "Only open, won or lost deals."),)

    def list_query(self):
        query = super().list_query()
        status = request.args.get("status")
        if status:
            if status not in ("open", "won", "lost"):
                raise ApiError(400, "Invalid filter.", {"status": ["Use open, won or lost."]})
            query = query.where(Deal.status == status)
        return query


class Leads(_AddressedItem):
    model = Lead
    schema = LeadSchema()
    name = "lead"
    path = "/leads"
    item_type = "lead"


class Projects(_LinkedItem):
    model = Project
    schema = ProjectSchema()
    name = "project"
    path = "/projects"
    item_type = "project"


for resource in (Organizations(), Deals(), Leads(), Projects()):
    resource.register(bp)
