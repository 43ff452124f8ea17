"""An import that fails while *writing* leaves the database exactly as it was.

The "bad file writes nothing" tests all fail while reading, before any write, so they would pass
without the transaction around the write phase. Here the file is valid and the read phase passes;
a database trigger (real SQL on SQLite and PostgreSQL, no mock) then refuses the row of the file's
last line when the importer writes it, after the practitioners, places and old activities of the
earlier lines have already been written in the same transaction. Everything must be rolled back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import DatabaseError, connection

from maillage.directory.imports.rpps import import_rpps
from maillage.directory.models import Location, Organization, Practitioner, PractitionerRole

FIXTURES = Path(__file__).parents[1] / "opendata" / "fixtures"
RPPS = FIXTURES / "PS_LibreAcces_Personne_activite_extrait.txt"
LAST_RPPS = "19999000099"
TRIGGER = "maillage_test_refuse_last_row"
MESSAGE = "refus simulé de la dernière ligne"


def _refuse_activities_of(rpps: str) -> None:
    """Install a trigger that aborts any write of an activity of practitioner ``rpps``."""
    roles = PractitionerRole._meta.db_table
    people = Practitioner._meta.db_table
    person = f"SELECT id FROM {people} WHERE rpps = '{rpps}'"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE FUNCTION {TRIGGER}() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.practitioner_id IN ({person}) THEN RAISE EXCEPTION '{MESSAGE}'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER {TRIGGER} BEFORE INSERT OR UPDATE ON {roles} "
                f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()"
            )
        else:
            for event in ("INSERT", "UPDATE"):
                cursor.execute(
                    f"CREATE TRIGGER {TRIGGER}_{event.lower()} BEFORE {event} ON {roles} "
                    f"WHEN NEW.practitioner_id IN ({person}) "
                    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
                )


def _allow_again() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER {TRIGGER} ON {PractitionerRole._meta.db_table}")
        else:
            for event in ("insert", "update"):
                cursor.execute(f"DROP TRIGGER {TRIGGER}_{event}")


def _state() -> dict:
    """Row counts and the values the RPPS import writes, for the practitioners of the file."""
    people = Practitioner.objects.filter(rpps__startswith="19999").order_by("rpps")
    return {
        "counts": [
            model.objects.count()
            for model in (Practitioner, PractitionerRole, Location, Organization)
        ],
        "people": list(people.values_list("id", "rpps", "family_name", "given_name", "updated_at")),
        "roles": list(
            PractitionerRole.objects.filter(practitioner__in=people)
            .order_by("pk")
            .values_list("id", "practitioner_id", "location_id", "profession_code", "updated_at")
        ),
        "places": list(
            Location.objects.filter(roles__practitioner__in=people)
            .order_by("pk")
            .values_list("id", "name", "address", "commune_id")
        ),
    }


def test_a_write_failing_on_the_last_row_leaves_the_database_unchanged(demo_db, tmp_path):
    import_rpps(RPPS)
    # An updated extract: a changed name on its first line, a new practitioner on its last.
    header, first, *rest = RPPS.read_text(encoding="utf-8").splitlines()
    assert "|19999000001|" in first and "|TEST|Alice|" in first
    changed = first.replace("|TEST|Alice|", "|RENOMMÉE|Alice|", 1)
    last = first.replace("|19999000001|819999000001|", f"|{LAST_RPPS}|8{LAST_RPPS}|", 1)
    last = last.replace("|TEST|Alice|", "|DERNIÈRE|Ligne|", 1)
    updated = tmp_path / "PS_LibreAcces_Personne_activite.txt"
    updated.write_text("\n".join([header, changed, *rest, last]) + "\n", encoding="utf-8")

    before = _state()
    assert before["counts"][0] > 11 and len(before["people"]) == 11 and before["roles"]
    _refuse_activities_of(LAST_RPPS)
    with pytest.raises(DatabaseError, match=MESSAGE):
        import_rpps(updated)
    assert _state() == before

    # The file itself was valid: once the trigger is gone, the same import goes through.
    _allow_again()
    import_rpps(updated)
    assert Practitioner.objects.get(rpps="19999000001").family_name == "RENOMMÉE"
    assert PractitionerRole.objects.filter(practitioner__rpps=LAST_RPPS).count() == 1
