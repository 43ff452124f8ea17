"""maillage.sql: a join written once gives the same instances as the ORM's select_related."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from maillage import sql
from maillage.care.people.models import Person
from maillage.care.scheduling.models import Schedule, Site, SiteKind, Slot

CHAIN = ((Slot, ""), (Schedule, "schedule"), (Site, "site"))


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


@pytest.fixture
def slot(demo_db) -> Slot:
    site = Site.objects.create(
        slug="salle-sql", name="Salle « SQL »", kind=SiteKind.TELECONSULTATION_ROOM,
        commune_id="52448", min_age=6, latitude=48.63, longitude=4.95,
    )  # fmt: skip
    schedule = Schedule.objects.create(site=site, name="Agenda", mode="VR")
    start = dt.datetime(2031, 3, 30, 0, 30, 15, 123456, tzinfo=dt.UTC)
    return Slot.objects.create(
        schedule=schedule, start=start, end=start + dt.timedelta(minutes=30), capacity=2
    )


def test_joined_row_equals_the_orm_select_related_and_reads_nothing_more(slot):
    expected = Slot.objects.select_related("schedule__site").get(pk=slot.pk)
    with CaptureQueriesContext(connection) as queries:
        found = sql.joined_row(CHAIN, "t0.id = %s", [slot.pk])
        # every field, the related ones included, is loaded: no query on access
        fields = (_fields(found), _fields(found.schedule), _fields(found.schedule.site))
    assert len(queries) == 1
    assert fields == (
        _fields(expected),
        _fields(expected.schedule),
        _fields(expected.schedule.site),
    )
    assert found.start == dt.datetime(2031, 3, 30, 0, 30, 15, 123456, tzinfo=dt.UTC)
    assert found.start.tzinfo is not None
    assert found._state.adding is False and found._state.db == "default"
    assert sql.joined_row(CHAIN, "t0.id = %s", [slot.pk + 10_000]) is None


def test_joined_rows_decrypt_encrypted_fields_and_keep_order(demo_db):
    born = dt.date(1950, 1, 2)
    first = Person.objects.create(
        birth_name="ALPHA", first_names="Anne", birth_date=born, sex="F", notes="diabète"
    )
    second = Person.objects.create(
        birth_name="BETA", first_names="Berthe", birth_date=born, sex="F"
    )
    with connection.cursor() as cursor:  # the column holds ciphertext, not the note
        cursor.execute("SELECT notes FROM people_person WHERE id = %s", [first.pk])
        assert "diabète" not in str(cursor.fetchone()[0])
    found = sql.joined_rows(
        ((Person, ""),),
        "t0.birth_date = %s AND t0.sex = %s ORDER BY t0.id DESC",
        [connection.ops.adapt_datefield_value(born), "F"],
    )
    assert [p.pk for p in found] == [second.pk, first.pk]
    assert found[1].notes == "diabète"
    assert found[1].birth_date == born
