"""Deal, lead, project and person pages: their fields, their Smart Bcc address, their threads."""
from __future__ import annotations

from dataclasses import dataclass

from flask import g, render_template, request
from sqlalchemy import func, select

from ..domain.visibility import threads_linked_to
from ..domain.items import item_for
from ..request_scope import actor, db_session, item_bcc_address
from ..models import Deal, Lead, Organization, Person, PersonEmail, Project
from .blueprint import bp
from .auth import signin_required
from .format import PAGE_SIZE, page_count, page_number
from .inbox import thread_rows
from .lookup import escape_like, person_names, user_names

LISTS = {
    "deal": (Deal, "Deals", "deals"),
    "lead": (Lead, "Leads", "leads"),
    "project": (Project, "Projects", "projects"),
    "person": (Person, "Persons", "persons"),
}


@dataclass
class Conversations:
    """One page of the threads linked to an item, newest first."""

    rows: list
    total: int
    page: int
    pages: int


def linked_threads(item_type: str, item_id: int) -> Conversations:
    query = threads_linked_to(actor(), item_type, item_id)
    total = db_session().scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page = page_number()
    threads = db_session().scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return Conversations(thread_rows(threads), total, page, page_count(total, PAGE_SIZE))


def _organization_name(org_id: int | None) -> str:
    if not org_id:
        return ""
    return db_session().scalar(select(Organization.name).where(
        Organization.company_id == g.company_id, Organization.id == org_id)) or ""


def _list_page(item_type: str):
    model, title, _path = LISTS[item_type]
    term = (request.args.get("q") or "").strip()[:200].replace("\x00", "")
    status = request.args.get("status", "")
    query = select(model).where(model.company_id == g.company_id)
    if term:
        like = f"%{escape_like(term.lower())}%"
        if item_type == "person":
            by_email = select(PersonEmail.person_id).where(
                PersonEmail.company_id == g.company_id, PersonEmail.email.like(like, escape="\\"))
            query = query.where(Person.name.ilike(like, escape="\\") | Person.id.in_(by_email))
        else:
            query = query.where(model.title.ilike(like, escape="\\"))
    if item_type == "deal" and status in ("open", "won", "lost"):
        query = query.where(Deal.status == status)
    order = Person.name if item_type == "person" else model.title
    page = page_number()
    total = db_session().scalar(select(func.count()).select_from(query.subquery()))
    rows = db_session().scalars(query.order_by(order, model.id)
                                .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    names = {} if item_type == "person" else person_names(r.person_id for r in rows)
    return render_template("web/item_list.html", item_type=item_type, title=title, rows=rows, names=names,
                           term=term, status=status, page=page, pages=page_count(total, PAGE_SIZE),
                           total=total)


def _item_page(item_type: str, item_id: int):
    model = LISTS[item_type][0]
    item = item_for(db_session(), g.company_id, model, item_id, item_type)
    address = ""
    if item_type in ("deal", "lead"):
        address = item_bcc_address(g.user.company, item_type, item.bcc_token)
    person = db_session().get(Person, item.person_id) if item.person_id else None
    return render_template("web/item.html", item_type=item_type, item=item, address=address, person=person,
                           organization=_organization_name(item.organization_id),
                           owner=user_names([item.owner_id]).get(item.owner_id, ""),
                           conversations=linked_threads(item_type, item.id))


@bp.get("/persons/<int:item_id>")
@signin_required
def person_view(item_id: int):
    person = item_for(db_session(), g.company_id, Person, item_id, "person")
    items = {}
    for item_type, model in (("deal", Deal), ("lead", Lead), ("project", Project)):
        items[item_type] = db_session().scalars(select(model).where(
            model.company_id == g.company_id, model.person_id == person.id).order_by(model.id)).all()
    return render_template("web/person.html", person=person, items=items,
                           organization=_organization_name(person.organization_id),
                           conversations=linked_threads("person", person.id))


def _register() -> None:
    for item_type, (_model, _title, path) in LISTS.items():
        def list_view(item_type=item_type):
            return _list_page(item_type)
        list_view.__name__ = f"{path}_list"
        bp.add_url_rule(f"/{path}", endpoint=f"{path}_list", view_func=signin_required(list_view))
        if item_type == "person":
            continue

        def item_view(item_id: int, item_type=item_type):
            return _item_page(item_type, item_id)
        item_view.__name__ = f"{item_type}_view"
        bp.add_url_rule(f"/{path}/<int:item_id>", endpoint=f"{item_type}_view",
                        view_func=signin_required(item_view))


_register()
