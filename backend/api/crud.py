"""List/get/create/update/delete endpoints for a company-scoped resource, declared once."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, request

from ..domain import items
from .auth import login_required
from .common import db_session, get_or_404, json_body, ok, paginated, scoped
from .fastdump import dumper
from .openapi import document


def check_references(data: dict) -> None:
    """Every ``*_id`` in ``data`` must name a row of the caller's company."""
    items.check_references(db_session(), g.company_id, data)


class Resource:
    """One REST resource. Subclasses set the fields below and may override hooks."""

    model: Any
    schema: Any
    name: str  # singular, for messages
    path: str  # e.g. "/deals"
    list_params: tuple = ()  # the list's filters, for the OpenAPI document: (name, type, description)

    def list_query(self):
        return scoped(self.model).order_by(self.model.id)

    def dump(self, obj) -> dict:
        return dumper(self.schema)(obj)

    def dump_many(self, objs) -> list[dict]:
        return [self.dump(o) for o in objs]

    def create(self, data: dict):
        obj = self.model(company_id=g.company_id, **data)
        obj.owner_id = data.get("owner_id") or g.user.id
        return obj

    def update(self, obj, data: dict) -> None:
        for key, value in data.items():
            setattr(obj, key, value)

    def before_delete(self, obj) -> None:
        """Hook for cleaning up what refers to ``obj``."""

    def register(self, bp: Blueprint) -> None:
        resource = self
        endpoint = self.path.strip("/")

        doc_path = self.path
        item_path = f"{self.path}/{{id}}"
        document(doc_path, "get", f"List {self.name}s", response=self.schema, many=True, paged=True,
                 query=self.list_params)
        document(doc_path, "post", f"Create a {self.name}", request=self.schema, response=self.schema)
        document(item_path, "get", f"Get one {self.name}", response=self.schema)
        document(item_path, "patch", f"Update a {self.name}", request=self.schema, response=self.schema)
        document(item_path, "put", f"Replace a {self.name}", request=self.schema, response=self.schema)
        document(item_path, "delete", f"Delete a {self.name}")

        class _Many:
            def dump(self, rows, many=True):
                return resource.dump_many(rows)

        @bp.get(self.path, endpoint=f"{endpoint}_list")
        @login_required
        def list_items():
            return paginated(resource.list_query(), _Many())

        @bp.post(self.path, endpoint=f"{endpoint}_create")
        @login_required
        def create_item():
            data = resource.schema.load(json_body())
            check_references(data)
            obj = resource.create(data)
            session = db_session()
            session.add(obj)
            session.commit()
            return ok(resource.dump(obj), 201)

        @bp.get(f"{self.path}/<int:item_id>", endpoint=f"{endpoint}_get")
        @login_required
        def get_item(item_id: int):
            return ok(resource.dump(get_or_404(resource.model, item_id, resource.name)))

        @bp.route(f"{self.path}/<int:item_id>", methods=["PATCH", "PUT"], endpoint=f"{endpoint}_update")
        @login_required
        def update_item(item_id: int):
            obj = get_or_404(resource.model, item_id, resource.name)
            data = resource.schema.load(json_body(), partial=request.method == "PATCH")
            check_references(data)
            resource.update(obj, data)
            db_session().commit()
            return ok(resource.dump(obj))

        @bp.delete(f"{self.path}/<int:item_id>", endpoint=f"{endpoint}_delete")
        @login_required
        def delete_item(item_id: int):
            obj = get_or_404(resource.model, item_id, resource.name)
            resource.before_delete(obj)
            session = db_session()
            session.delete(obj)
            session.commit()
            return ok({"id": item_id})
