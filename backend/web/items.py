"""Deal, lead, project, person and organization pages: sortable lists, each item's page (fields,
Smart Bcc address, conversations) and the forms that create and change them.

The forms load through the REST API's own schemas (backend/api/schemas.py) and save through the
API's own rules (backend/domain/editing.py save_item, save_person): a page shows exactly the
messages the API answers with, next to the field they are about."""
from __future__ import annotations

from dataclasses import dataclass

from flask import flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import BigInteger, bindparam, func, or_, select
from sqlalchemy.orm import selectinload

from ..api.schemas import STAGES, DealSchema, LeadSchema, OrganizationSchema, PersonSchema, ProjectSchema
from ..domain.errors import DomainError
from ..domain.inbox import escape_like
from ..domain.editing import save_item, save_person
from ..domain.items import item_for
from ..domain.organizations import newest_activity, organization_threads as of_organization
from ..domain.sql import built_once
from ..domain.visibility import ANY_ACTOR, actor_params, linked_thread_ids, threads_linked_to, visible_threads
from ..models import Deal, Lead, MailThread, Organization, Person, PersonEmail, Project, User
from ..models.crm import DEAL_STATUSES
from ..request_scope import actor, db_session, item_bcc_address
from .auth import signin_required
from .blueprint import bp
from .format import PAGE_SIZE, page_count, page_number
from .inbox import Conversations, conversations, page_statements
from .lookup import person_names, user_names


@dataclass(frozen=True)
class Kind:
    item_type: str
    model: type
    label: str
    path: str
    schema: object

    @property
    def plural(self) -> str:
        return f"{self.label}s"

    @property
    def named_by(self):
        return self.model.name if self.item_type in ("person", "organization") else self.model.title


KINDS = {
    "deal": Kind("deal", Deal, "Deal", "deals", DealSchema()),
    "lead": Kind("lead", Lead, "Lead", "leads", LeadSchema()),
    "project": Kind("project", Project, "Project", "projects", ProjectSchema()),
    "person": Kind("person", Person, "Person", "persons", PersonSchema()),
    "organization": Kind("organization", Organization, "Organization", "organizations", OrganizationSchema()),
}
# What each form has, in order; the schema's field of the same name checks it.
FORM_FIELDS = {
    "deal": ("title", "status", "lost_reason", "value", "currency", "stage", "expected_close_date",
             "person_id", "organization_id", "owner_id"),
    "lead": ("title", "person_id", "organization_id", "owner_id"),
    "project": ("title", "description", "person_id", "organization_id", "owner_id"),
    "person": ("name", "emails", "phones", "organization_id", "owner_id"),
    "organization": ("name", "owner_id"),
}
ID_FIELDS = ("person_id", "organization_id", "owner_id")
SORTS = ("name", "owner", "value", "activity", "created")
# The most persons or organizations a form's choice lists (more: the current one is kept).
CHOICES_LIMIT = 500


def linked_threads(item_type: str, item_id: int) -> Conversations:
    """Its statements built once for any actor and item (visibility.ANY_ACTOR, sql.built_once)."""
    statements = built_once(db_session(), ("linked threads", item_type), lambda _dialect: page_statements(
        threads_linked_to(ANY_ACTOR, item_type, bindparam("item_id", type_=BigInteger))))
    return conversations(statements, {**actor_params(actor()), "item_id": item_id}, PAGE_SIZE)


def organization_threads(org_id: int) -> Conversations:
    """The visible conversations of the organization (domain/organizations.py's rule: mail with its
    persons, or linked to its persons, deals, leads or projects), newest first; the statements are
    built once for any actor and organization."""
    statements = built_once(db_session(), "organization threads", lambda _dialect: page_statements(
        visible_threads(ANY_ACTOR).where(of_organization(ANY_ACTOR, bindparam("org_id", type_=BigInteger)))
        .order_by(MailThread.last_message_at.desc(), MailThread.id.desc())))
    return conversations(statements, {**actor_params(actor()), "org_id": org_id}, PAGE_SIZE)


def _organization_name(org_id: int | None) -> str:
    if not org_id:
        return ""
    return db_session().scalar(select(Organization.name).where(
        Organization.company_id == g.company_id, Organization.id == org_id)) or ""


# ---- lists

def last_activity(kind: Kind):
    """The newest message time of each row's visible conversations, as a correlated subquery the
    list shows and sorts by: those linked to the row; an organization's by the rule of its page
    and of the inbox filter (domain/organizations.py)."""
    model = kind.model
    threads = visible_threads(actor())
    if kind.item_type == "organization":
        newest = newest_activity(threads, actor(), model.id)
    else:  # the row's live links (visibility.linked_thread_ids), joined: read by the item's index
        linked = linked_thread_ids(actor(), kind.item_type, model.id).correlate(model).subquery("linked")
        newest = (threads.with_only_columns(func.max(MailThread.last_message_at))
                  .join(linked, linked.c.thread_id == MailThread.id).where(MailThread.message_count > 0))
    return newest.correlate(model).scalar_subquery()


def _list_page(kind: Kind):
    model = kind.model
    term = (request.args.get("q") or "").strip()[:200].replace("\x00", "")
    status = request.args.get("status", "") if kind.item_type == "deal" else ""
    sort = request.args.get("sort", "name")
    if sort not in SORTS or (sort == "value" and kind.item_type != "deal"):
        sort = "name"
    descending = request.args.get("dir") == "desc"
    activity = last_activity(kind).label("activity")
    query = (select(model, User.name.label("owner_name"), activity)
             .outerjoin(User, User.id == model.owner_id).where(model.company_id == g.company_id))
    if term:
        like = f"%{escape_like(term.lower())}%"
        if kind.item_type == "person":
            by_email = select(PersonEmail.person_id).where(
                PersonEmail.company_id == g.company_id, PersonEmail.email.like(like, escape="\\"))
            query = query.where(Person.name.ilike(like, escape="\\") | Person.id.in_(by_email))
        else:
            query = query.where(kind.named_by.ilike(like, escape="\\"))
    if status in DEAL_STATUSES:
        query = query.where(Deal.status == status)
    column = {"name": kind.named_by, "owner": User.name, "value": getattr(model, "value", None),
              "activity": activity, "created": model.created_at}[sort]
    ordered = column.desc() if descending else column.asc()
    page = page_number()
    total = db_session().scalar(select(func.count()).select_from(
        query.with_only_columns(model.id).subquery()))
    query = query.order_by(ordered.nulls_last(), kind.named_by, model.id)
    if kind.item_type == "person":
        query = query.options(selectinload(Person.emails))  # the list shows them: one query, not one a row
    rows = db_session().execute(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    items = [row[0] for row in rows]
    names = person_names(getattr(r, "person_id", None) for r in items)
    args = {key: value for key, value in (("q", term), ("status", status)) if value}
    return render_template("web/item_list.html", kind=kind, item_type=kind.item_type, title=kind.plural,
                           rows=rows, names=names, term=term, status=status, sort=sort, descending=descending,
                           page=page, pages=page_count(total, PAGE_SIZE), total=total, args=args,
                           sort_args={**args, "sort": sort, **({"dir": "desc"} if descending else {})})


# ---- item pages

def _item_page(kind: Kind, item_id: int):
    item = item_for(db_session(), g.company_id, kind.model, item_id, kind.item_type)
    address = ""
    if kind.item_type in ("deal", "lead"):
        address = item_bcc_address(g.user.company, kind.item_type, item.bcc_token)
    person = db_session().get(Person, item.person_id) if item.person_id else None
    return render_template("web/item.html", item_type=kind.item_type, item=item, address=address, person=person,
                           organization=_organization_name(item.organization_id),
                           owner=user_names([item.owner_id]).get(item.owner_id, ""),
                           conversations=linked_threads(kind.item_type, item.id))


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
                           owner=user_names([person.owner_id]).get(person.owner_id, ""),
                           conversations=linked_threads("person", person.id))


@bp.get("/organizations/<int:organization_id>")
@signin_required
def organization_view(organization_id: int):
    org = item_for(db_session(), g.company_id, Organization, organization_id, "organization")
    people = db_session().scalars(select(Person).where(
        Person.company_id == g.company_id, Person.organization_id == org.id).order_by(Person.name, Person.id)
        .limit(CHOICES_LIMIT)).all()
    deals = db_session().scalars(select(Deal).where(
        Deal.company_id == g.company_id, Deal.organization_id == org.id).order_by(Deal.title, Deal.id)
        .limit(CHOICES_LIMIT)).all()
    return render_template("web/organization.html", org=org, people=people, deals=deals,
                           owner=user_names([org.owner_id]).get(org.owner_id, ""),
                           conversations=organization_threads(org.id))


# ---- forms

def form_input(item_type: str, form) -> dict:
    """The posted form as the API's JSON would say it: blank optional fields are null, ids are
    numbers, one email address or phone number a line. Fields not posted are left unchanged."""
    data: dict = {}
    for name in FORM_FIELDS[item_type]:
        if name not in form:
            continue
        raw = form.get(name, "")
        if name in ("emails", "phones"):
            lines = [line.strip() for line in raw.splitlines() if line.strip()]
            data[name] = [{"email" if name == "emails" else "phone": line} for line in lines]
        elif name in ID_FIELDS:
            raw = raw.strip()
            data[name] = None if not raw else int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else raw
        elif name == "currency":
            data[name] = raw.strip().upper() or None
        elif name in ("title", "name"):
            data[name] = raw
        else:
            data[name] = raw.strip() or None
    return data


def _flat(messages) -> dict[str, list[str]]:
    """marshmallow's messages, one list of sentences a field: a bad line of a list is named."""
    out: dict[str, list[str]] = {}
    for field, value in messages.items():
        if isinstance(value, dict):  # a list's entries: {index: {subfield: [...]}} or {index: [...]}
            for index, inner in sorted(value.items(), key=lambda kv: str(kv[0])):
                texts = [t for v in (inner.values() if isinstance(inner, dict) else [inner])
                         for t in (v if isinstance(v, list) else [v])]
                prefix = f"Line {index + 1}: " if isinstance(index, int) else ""
                out.setdefault(field, []).extend(f"{prefix}{t}" for t in texts)
        else:
            out[field] = list(value) if isinstance(value, list) else [str(value)]
    return out


def save(kind: Kind, form, item=None):
    """(the saved item, None), or (None, field messages): the API's schema, then its rules."""
    try:
        data = kind.schema.load(form_input(kind.item_type, form), partial=item is not None)
        if kind.item_type == "person":
            if item is not None:
                _keep_labels(item, data)
            saved = save_person(db_session(), actor(), data, item)
        else:
            saved = save_item(db_session(), actor(), kind.item_type, data, item)
        db_session().commit()
        return saved, None
    except ValidationError as exc:
        db_session().rollback()
        return None, _flat(exc.messages if isinstance(exc.messages, dict) else {"form": exc.messages})
    except DomainError as exc:
        db_session().rollback()
        if not exc.errors:
            raise
        return None, exc.errors


def _keep_labels(person: Person, data: dict) -> None:
    """The form lists addresses and numbers only: those the person had keep their labels."""
    for key, rows, attr in (("emails", person.emails, "email"), ("phones", person.phones, "phone")):
        labels = {getattr(row, attr): row.label for row in rows}
        for entry in data.get(key) or []:
            value = entry[attr].strip().lower() if attr == "email" else entry[attr]
            if value in labels:
                entry["label"] = labels[value]


def _choices(model, current: int | None) -> list[tuple[int, str]]:
    """(id, name) of the company's persons or organizations for a form's list, by name."""
    rows = db_session().execute(select(model.id, model.name).where(model.company_id == g.company_id)
                                .order_by(model.name, model.id).limit(CHOICES_LIMIT)).all()
    found = [(r.id, r.name) for r in rows]
    if current and all(i != current for i, _n in found):
        name = db_session().scalar(select(model.name).where(model.company_id == g.company_id, model.id == current))
        if name is not None:
            found.insert(0, (current, name))
    return found


def _values(kind: Kind, item) -> dict:
    """The form's fields filled from the stored item."""
    values = {}
    for name in FORM_FIELDS[kind.item_type]:
        if name == "emails":
            values[name] = "\n".join(e.email for e in item.emails)
        elif name == "phones":
            values[name] = "\n".join(p.phone for p in item.phones)
        else:
            value = getattr(item, name, None)
            values[name] = "" if value is None else str(value)
    return values


def _form_page(kind: Kind, item=None, values: dict | None = None, errors: dict | None = None, status: int = 200):
    if values is None:
        values = _values(kind, item) if item is not None else {
            "status": "open", "owner_id": str(g.user.id),
            "person_id": request.args.get("person_id", ""), "organization_id": request.args.get("organization_id", "")}

    def chosen(name):
        raw = values.get(name) or ""
        return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None

    # Deactivated users own nothing new; an item they own keeps them until it is given to another.
    users = db_session().execute(select(User.id, User.name).where(
        User.company_id == g.company_id, or_(User.active.is_(True), User.id == chosen("owner_id")))
        .order_by(User.name, User.id)).all()
    action = (url_for(f"web.{kind.item_type}_edit", **{f"{kind.item_type}_id": item.id}) if item is not None
              else url_for(f"web.{kind.item_type}_new"))
    return render_template("web/item_form.html", kind=kind, item=item, values=values, errors=errors or {},
                           action=action, cancel=_item_url(kind, item.id) if item is not None
                           else url_for(f"web.{kind.path}_list"), stages=STAGES, statuses=DEAL_STATUSES,
                           persons=_choices(Person, chosen("person_id")),
                           organizations=_choices(Organization, chosen("organization_id")),
                           users=[(u.id, u.name) for u in users]), status


def _saved_redirect(kind: Kind, item, created: bool):
    title = getattr(item, "title", None) or getattr(item, "name", "")
    flash(f"{'Created' if created else 'Saved'} {kind.label.lower()} '{title}'.", "ok")
    return redirect(_item_url(kind, item.id))


def _item_url(kind: Kind, item_id: int) -> str:
    if kind.item_type == "organization":
        return url_for("web.organization_view", organization_id=item_id)
    return url_for(f"web.{kind.item_type}_view", item_id=item_id)


def _new(kind: Kind):
    if request.method == "GET":
        return _form_page(kind)
    item, errors = save(kind, request.form)
    if errors:
        return _form_page(kind, values=request.form.to_dict(), errors=errors, status=400)
    return _saved_redirect(kind, item, True)


def _edit(kind: Kind, item_id: int):
    item = item_for(db_session(), g.company_id, kind.model, item_id, kind.item_type)
    if request.method == "GET":
        return _form_page(kind, item)
    saved, errors = save(kind, request.form, item)
    if errors:
        item = item_for(db_session(), g.company_id, kind.model, item_id, kind.item_type)
        return _form_page(kind, item, values=request.form.to_dict(), errors=errors, status=400)
    return _saved_redirect(kind, saved, False)


def _register() -> None:
    for kind in KINDS.values():
        def list_view(kind=kind):
            return _list_page(kind)
        list_view.__name__ = f"{kind.path}_list"
        bp.add_url_rule(f"/{kind.path}", endpoint=f"{kind.path}_list", view_func=signin_required(list_view))

        def new_view(kind=kind):
            return _new(kind)
        new_view.__name__ = f"{kind.item_type}_new"
        bp.add_url_rule(f"/{kind.path}/new", endpoint=f"{kind.item_type}_new", methods=["GET", "POST"],
                        view_func=signin_required(new_view))

        # <deal_id>, <person_id>...: each edit route names what its id is.
        def edit_view(kind=kind, **ids):
            return _edit(kind, ids[f"{kind.item_type}_id"])
        edit_view.__name__ = f"{kind.item_type}_edit"
        bp.add_url_rule(f"/{kind.path}/<int:{kind.item_type}_id>/edit", endpoint=f"{kind.item_type}_edit",
                        methods=["GET", "POST"], view_func=signin_required(edit_view))
        if kind.item_type in ("person", "organization"):
            continue

        def item_view(item_id: int, kind=kind):
            return _item_page(kind, item_id)
        item_view.__name__ = f"{kind.item_type}_view"
        bp.add_url_rule(f"/{kind.path}/<int:item_id>", endpoint=f"{kind.item_type}_view",
                        view_func=signin_required(item_view))


_register()
