"""A NUL character reaching any text column by any path is stored as U+FFFD on every database
(PostgreSQL refuses NUL in text; without the column rule the same write would work on SQLite
and fail on PostgreSQL)."""
from __future__ import annotations

from sqlalchemy import String, Text, select

from backend.models import Base, Person
from backend.models.base import LongText, Str


def test_every_text_column_has_the_nul_rule():
    plain = [f"{table.name}.{column.name}" for table in Base.metadata.tables.values() for column in table.columns
             if isinstance(column.type, (String, Text)) and not isinstance(column.type, Str)]
    assert plain == []


def test_nul_is_stored_as_replacement_character(services, acme):
    from backend.models import Project

    with services.db.session() as session:
        person = Person(company_id=acme.company_id, name="Null\x00Byte")
        session.add(person)
        session.flush()
        session.add(Project(company_id=acme.company_id, person_id=person.id, title="T\x00", description="a\x00b\x00"))
        session.commit()
        person_id = person.id
    with services.db.session() as session:
        assert session.scalar(select(Person.name).where(Person.id == person_id)) == "Null\ufffdByte"
        assert session.execute(select(Project.title, Project.description).where(Project.person_id == person_id)).one() == \
            ("T\ufffd", "a\ufffdb\ufffd")
        # Comparisons go through the same rule, so the stored value is found by what was written.
        assert session.scalar(select(Person.id).where(Person.name == "Null\x00Byte")) == person_id


def test_types_keep_their_length_and_kind():
    assert Str(320).impl.length == 320
    assert isinstance(LongText().impl, Text)
