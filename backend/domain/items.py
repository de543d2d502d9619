"""The CRM items mail links to (deals, leads, projects, persons): their names and references."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, bindparam, case, delete, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from ..models import Deal, Lead, Organization, Person, Project, ThreadLink, User
from .sql import built_once, in_ids, in_param
from .errors import DomainError, not_found

# Ids are 64-bit; a larger number can name nothing and would overflow the database driver.
MAX_ID = 2**63 - 1
MODELS = {"deal": Deal, "lead": Lead, "project": Project, "person": Person}
# Fields of an item that name another row of the company.
REFERENCES = {
    "person_id": (Person, "person"),
    "organization_id": (Organization, "organization"),
    "owner_id": (User, "user"),
}


def _title_column(item_type: str):
    """What names an item: a person's name, the others' title."""
    model = MODELS[item_type]
    return model.name if item_type == "person" else model.title


def link_title() -> ColumnElement:
    """For a query of ThreadLink rows: the title of each link's item as ``titles`` reads it ('' when
    it has none), NULL when the item is gone (deleted meanwhile). One index probe a link, in the
    links' own statement."""
    return case(*[(ThreadLink.item_type == item_type,
                   select(func.coalesce(_title_column(item_type), "")).where(
                       model.company_id == ThreadLink.company_id, model.id == ThreadLink.item_id)
                   .correlate(ThreadLink).scalar_subquery())
                  for item_type, model in MODELS.items()], else_=null())


def link_titles(links) -> dict[tuple[str, int], str]:
    """(item_type, id) -> title of links read with ``link_title()`` as their ``title`` (as ``titles``
    gives them: an item gone meanwhile is left out)."""
    return {(lk.item_type, lk.item_id): lk.title for lk in links if lk.title is not None}


def _titles_query(dialect: str, kinds: tuple[str, ...]):
    """The titles of the items of ``kinds``, their ids the parameters ids_<kind> (as sql.in_ids
    writes them), the company :company_id: built once per dialect and kinds, not per call."""
    parts = []
    for item_type in kinds:
        model = MODELS[item_type]
        label = _title_column(item_type)
        name = f"ids_{item_type}"
        wanted = in_param(model.id, name, dialect)
        parts.append(select(literal(item_type).label("item_type"), model.id.label("id"), label.label("title"))
                     .where(model.company_id == bindparam("company_id"), wanted))
    return parts[0] if len(parts) == 1 else union_all(*parts)


def titles(session: Session, company_id: int, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """(item_type, id) -> title (persons: name), in one query over the item types asked for."""
    wanted: dict[str, set[int]] = {}
    for item_type, item_id in keys:
        if item_type in MODELS:
            wanted.setdefault(item_type, set()).add(item_id)
    if not wanted:
        return {}
    kinds = tuple(sorted(wanted))
    query = built_once(session, ("titles", kinds), lambda dialect: _titles_query(dialect, kinds))
    params = {f"ids_{kind}": sorted(wanted[kind]) for kind in kinds}
    params["company_id"] = company_id
    return {(item_type, item_id): title or "" for item_type, item_id, title in session.execute(query, params)}


def named(item_type: str, title: str) -> str:
    """How a reason names an item: persons by name, the others by kind and quoted title."""
    if item_type == "person":
        return title or "a person"
    return f"{item_type} '{title}'" if title else f"a {item_type}"


def names(session: Session, company_id: int, model, ids: Iterable[int | None]) -> dict[int, str]:
    """Id -> name of persons or users of the company."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(session.execute(select(model.id, model.name).where(
        model.company_id == company_id, in_ids(session, model.id, sorted(ids)))).all())


def missing_reference(session: Session, company_id: int, model, what: str, value: int) -> str | None:
    """Why ``value`` cannot refer to a ``model`` row of the company, or None if it can."""
    exists = session.scalar(select(model.id).where(model.company_id == company_id, model.id == value))
    return None if exists is not None else f"No {what} with id {value} in your company."


def reference_error(errors: dict[str, list[str]]) -> DomainError:
    """The 400 for references that name nothing; one problem is also the headline (pages show it)."""
    headline = next(iter(errors.values()))[0] if len(errors) == 1 else \
        "The request refers to items that do not exist."
    return DomainError(400, headline, errors)


def check_references(session: Session, company_id: int, data: dict) -> None:
    """Every ``*_id`` in ``data`` must name a row of the company."""
    errors = {}
    for field, (model, what) in REFERENCES.items():
        value = data.get(field)
        problem = missing_reference(session, company_id, model, what, value) if value is not None else None
        if problem:
            errors[field] = [problem]
    if errors:
        raise reference_error(errors)


def require_item(session: Session, company_id: int, item_type: str, item_id: int, field: str) -> None:
    """A 400 naming ``field`` unless ``item_id`` is a ``item_type`` of the company."""
    problem = missing_reference(session, company_id, MODELS[item_type], item_type, item_id)
    if problem:
        raise reference_error({field: [problem]})


def item_for(session: Session, company_id: int, model, item_id: int, what: str | None = None):
    """The company's row, or a 404 (another company's id looks exactly like a missing one)."""
    what = what or model.__name__.lower()
    if not 1 <= item_id <= MAX_ID:
        raise not_found(what)
    query = built_once(session, ("item_for", model.__tablename__), lambda _dialect: select(model).where(
        model.company_id == bindparam("company_id"), model.id == bindparam("item_id")))
    found = session.scalar(query, {"company_id": company_id, "item_id": item_id})
    if found is None:
        raise not_found(what)
    return found


def forget_item(session: Session, company_id: int, item_type: str, item_id: int) -> None:
    """What deleting a deal, lead, project or person removes besides the row: its links to
    conversations (a thread that waited for a deal choice keeps waiting)."""
    session.execute(delete(ThreadLink).where(ThreadLink.company_id == company_id, ThreadLink.item_type == item_type,
                                             ThreadLink.item_id == item_id))


def title_required(item_type: str) -> DomainError:
    """The refusal of a blank title (the API's schemas say the same words)."""
    message = f"Give the {item_type} a title."
    return DomainError(400, message, {"title": [message]})
