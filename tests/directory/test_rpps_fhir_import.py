"""Importing practitioners from the official formats: RPPS extract and Annuaire Santé FHIR."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from maillage.directory.imports.fhir import import_fhir_bundle
from maillage.directory.imports.rpps import import_rpps
from maillage.directory.models import Practitioner, PractitionerRole, Source
from maillage.opendata.errors import DataFormatError

FIXTURES = Path(__file__).parents[1] / "opendata" / "fixtures"
RPPS = FIXTURES / "PS_LibreAcces_Personne_activite_extrait.txt"
BUNDLE = FIXTURES / "annuaire_bundle.json"


def _real():
    return Practitioner.objects.filter(synthetic=False)


def test_rpps_import_is_idempotent(demo_db):
    report = import_rpps(RPPS)
    assert report.counts == {"professionnels": 11, "activités": 12}
    import_rpps(RPPS)
    assert _real().count() == 11
    roles = PractitionerRole.objects.filter(source=Source.RPPS)
    assert roles.count() == 12
    # the practitioner with two practice places keeps both, in the right communes
    two = roles.filter(practitioner__rpps="19999000002")
    assert set(two.values_list("location__commune_id", flat=True)) == {"52121", "52269"}
    gp = roles.get(practitioner__rpps="19999000001")
    assert (gp.profession_code, gp.specialty_code, gp.mode_code) == ("10", "SM54", "L")
    assert not roles.filter(synthetic=True).exists()


def test_bad_rpps_line_writes_nothing(demo_db, tmp_path):
    lines = RPPS.read_text(encoding="utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if "|19999000004|" in line)
    lines[n] = lines[n].replace("|19999000004|", "|1999900000X|", 1)
    bad = tmp_path / "PS_LibreAcces_Personne_activite.txt"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as excinfo:
        import_rpps(bad)
    assert f"ligne {n + 1}" in str(excinfo.value)
    assert not _real().exists()


def test_fhir_bundle_merges_with_rpps(demo_db):
    import_rpps(RPPS)
    report = import_fhir_bundle(BUNDLE)
    assert report.counts["professionnels"] == 4
    # same RPPS numbers: the FHIR import updates the practitioners, it does not duplicate them
    assert _real().count() == 11
    role = PractitionerRole.objects.get(source=Source.FHIR, practitioner__rpps="19999000005")
    assert role.organization.finess_et == "529999005"
    assert role.location.commune_id == "52448"
    import_fhir_bundle(BUNDLE)
    assert PractitionerRole.objects.filter(source=Source.FHIR).count() == 4


def test_fhir_reimport_keeps_role_ids_and_published_edits(demo_db, tmp_path):
    import json

    import_fhir_bundle(BUNDLE)
    roles = PractitionerRole.objects.filter(source=Source.FHIR)
    before = dict(roles.values_list("id", "practitioner__rpps"))
    role = roles.get(practitioner__rpps="19999000005")
    role.accepts_new_patients = True  # what a coordinator published
    role.save()

    report = import_fhir_bundle(BUNDLE)  # the same file again
    assert dict(roles.values_list("id", "practitioner__rpps")) == before  # same ids, same URLs
    assert report.counts["activités conservées (même identifiant)"] == 4
    role.refresh_from_db()
    assert role.accepts_new_patients is True

    # An updated file: the role becomes inactive; it is the same role, updated.
    bundle = json.loads(BUNDLE.read_text(encoding="utf-8"))
    resources = [entry["resource"] for entry in bundle["entry"]]
    emma = next(
        r["id"]
        for r in resources
        if r["resourceType"] == "Practitioner" and "19999000005" in json.dumps(r)
    )
    changed = 0
    for res in resources:
        if res["resourceType"] == "PractitionerRole" and (
            res["practitioner"].get("reference") == f"Practitioner/{emma}"
            or "19999000005" in json.dumps(res["practitioner"])
        ):
            res["active"] = False
            changed += 1
    assert changed == 1
    updated = tmp_path / "bundle.json"
    updated.write_text(json.dumps(bundle), encoding="utf-8")
    import_fhir_bundle(updated)
    assert dict(roles.values_list("id", "practitioner__rpps")) == before
    role.refresh_from_db()
    assert role.active is False and role.accepts_new_patients is True


@pytest.mark.parametrize("block_size", [None, 1, 3])
def test_rpps_reimport_keeps_role_ids_and_published_edits(demo_db, tmp_path, block_size):
    """Same ids and URLs after a re-import; a published "accepts new patients" edit stays.
    Also in tiny blocks: a practitioner's lines then span blocks, and the role that moved is
    matched only once the whole file has been read."""
    from django.contrib.auth import get_user_model

    run = import_rpps if block_size is None else partial(import_rpps, block_size=block_size)

    from maillage.accounts.models import Profile, Role
    from maillage.directory import review

    run(RPPS)
    roles = PractitionerRole.objects.filter(source=Source.RPPS)
    before = dict(roles.values_list("id", "practitioner__rpps"))
    coordinator = get_user_model().objects.create_user("coord", password="x-Secret-123")
    Profile.objects.create(user=coordinator, role=Role.COORDINATOR)
    gp = roles.get(practitioner__rpps="19999000001")
    proposal = review.propose(coordinator, gp, {"accepts_new_patients": True})
    review.publish(coordinator, proposal)

    run(RPPS)  # the same file
    assert dict(roles.values_list("id", "practitioner__rpps")) == before
    gp.refresh_from_db()
    assert gp.accepts_new_patients is True
    assert review.target_of(proposal).pk == gp.pk

    # an updated file: the GP changes mode, the practitioner with two places leaves one
    lines = RPPS.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("|")
    mode = header.index("Code mode exercice")
    out = [lines[0]]
    two = roles.filter(practitioner__rpps="19999000002")
    gone = two.get(location__commune_id="52269").pk
    for line in lines[1:]:
        cells = line.split("|")
        if "|19999000002|" in line and "|52269|" in line:
            continue
        if "|19999000001|" in line:
            cells[mode] = "S"
        out.append("|".join(cells))
    updated = tmp_path / "PS_LibreAcces_Personne_activite.txt"
    updated.write_text("\n".join(out) + "\n", encoding="utf-8")
    run(updated)
    gp.refresh_from_db()
    assert gp.mode_code == "S" and gp.accepts_new_patients is True
    after = dict(roles.values_list("id", "practitioner__rpps"))
    assert {i: r for i, r in before.items() if i != gone} == after
    response = (
        __import__("django.test", fromlist=["Client"])
        .Client()
        .get(f"/annuaire/professionnel/{gp.pk}/")
    )
    assert response.status_code == 200


def _rewrite(tmp_path, change) -> Path:
    lines = RPPS.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("|")
    out = [lines[0]]
    for n, line in enumerate(lines[1:], start=2):
        cells = line.split("|")
        change(n, header, cells)
        out.append("|".join(cells))
    path = tmp_path / "PS_LibreAcces_Personne_activite.txt"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("Nom d'exercice", "DUP\x00ONT", "NUL"),
        ("Nom d'exercice", "X" * 121, "au plus 120 caractères"),
        ("Code mode exercice", "x", "l'une des valeurs"),
    ],
)
def test_bad_values_name_line_and_column(demo_db, tmp_path, column, value, expected):
    def change(n, header, cells):
        if n == 4:
            cells[header.index(column)] = value

    with pytest.raises(DataFormatError) as excinfo:
        import_rpps(_rewrite(tmp_path, change))
    message = str(excinfo.value)
    assert "ligne 4" in message and repr(column) in message and expected in message
    assert not _real().exists()


def test_conflicting_duplicate_rpps_lines(demo_db, tmp_path):
    lines = RPPS.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("|")
    family = header.index("Nom d'exercice")
    copy = lines[1].split("|")
    copy[family] = "AUTRE"
    path = tmp_path / "PS_LibreAcces_Personne_activite.txt"
    path.write_text("\n".join([*lines, "|".join(copy)]) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as excinfo:
        import_rpps(path)
    message = str(excinfo.value)
    assert f"ligne {len(lines) + 1}" in message and "la ligne 2 indique" in message
    assert not _real().exists()


def test_a_bad_line_in_a_later_block_writes_nothing(demo_db, tmp_path):
    """Read in blocks of two lines, the earlier blocks' practitioners, places and roles are
    written before the last line is read; its name disagrees with the identifier's first line
    (six blocks earlier): refused, naming both lines, and everything is rolled back."""
    from maillage.directory.models import Location

    import_rpps(RPPS)
    before = _snapshot()
    lines = RPPS.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("|")
    family = header.index("Nom d'exercice")
    changed = []
    for line in lines[1:]:  # every practitioner moves: the earlier blocks update and insert
        cells = line.split("|")
        cells[header.index("Libellé Voie (coord. structure)")] = "RUE NOUVELLE"
        changed.append("|".join(cells))
    copy = changed[0].split("|")
    copy[family] = "AUTRE"
    path = tmp_path / "PS_LibreAcces_Personne_activite.txt"
    path.write_text("\n".join([lines[0], *changed, "|".join(copy)]) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as excinfo:
        import_rpps(path, block_size=2)
    message = str(excinfo.value)
    assert f"ligne {len(lines) + 1}" in message and "la ligne 2 indique" in message
    assert repr("Nom d'exercice") in message
    assert _snapshot() == before
    # (synthetic places may lie in a real "rue Nouvelle": SQLite's LIKE ignores case)
    assert not Location.objects.filter(address__contains="RUE NOUVELLE", synthetic=False).exists()
    # the same file without its last line goes through
    path.write_text("\n".join([lines[0], *changed]) + "\n", encoding="utf-8")
    import_rpps(path, block_size=2)
    assert Location.objects.filter(address__contains="RUE NOUVELLE", synthetic=False).exists()
    assert _snapshot() != before


def _snapshot():
    from maillage.directory.models import Location

    return (
        sorted(_real().values_list("id", "rpps", "family_name", "updated_at")),
        sorted(PractitionerRole.objects.values_list("id", "location_id", "updated_at")),
        Location.objects.count(),
    )


def test_reimporting_our_own_fhir_export_duplicates_nothing(demo_db, tmp_path):
    """Stand-in "99…" RPPS numbers of synthetic records are recognised: no duplicate, still
    synthetic; the search index follows the FHIR import."""
    from maillage.directory.fhir.resources import export_territory_bundle
    from maillage.directory.search.index import SearchEntry

    path = tmp_path / "export.json"
    assert export_territory_bundle("epci:200068666", path) > 0
    people = Practitioner.objects.count()
    roles = PractitionerRole.objects.count()
    synthetic = Practitioner.objects.filter(synthetic=True).count()
    from maillage.directory.models import Location, Organization

    places = (Organization.objects.count(), Location.objects.count())
    report = import_fhir_bundle(path)
    assert (Organization.objects.count(), Location.objects.count()) == places
    assert report.counts["professionnels"] > 0
    assert Practitioner.objects.count() == people
    assert PractitionerRole.objects.count() == roles
    assert Practitioner.objects.filter(synthetic=True).count() == synthetic
    assert not Practitioner.objects.filter(rpps__startswith="99").exists()

    import_fhir_bundle(BUNDLE)
    role = PractitionerRole.objects.get(source=Source.FHIR, practitioner__rpps="19999000005")
    assert SearchEntry.objects.filter(kind="role", object_id=role.pk).exists()


def test_rpps_write_failing_on_the_last_role_leaves_the_database_unchanged(demo_db):
    """The write phase fails halfway (a database constraint refuses the last role, after the
    practitioners, places and other roles were written): everything is rolled back."""
    from django.db import DatabaseError, connection

    from maillage.directory.models import Location

    last = RPPS.read_text(encoding="utf-8").splitlines()[-1].split("|")[1]
    people = Practitioner.objects.count()
    places = Location.objects.count()
    table = PractitionerRole._meta.db_table
    person = Practitioner._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor != "sqlite":
            pytest.skip("the trigger below is SQLite syntax")
        cursor.execute(
            f"CREATE TRIGGER refuse_last BEFORE INSERT ON {table} "
            f"WHEN (SELECT rpps FROM {person} WHERE id = NEW.practitioner_id) = '{last}' "
            "BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
        )
    try:
        with pytest.raises(DatabaseError, match="refused by test"):
            import_rpps(RPPS)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER refuse_last")
    assert Practitioner.objects.count() == people
    assert Location.objects.count() == places
    assert not PractitionerRole.objects.filter(source=Source.RPPS).exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r.__setitem__("gender", "x"), "resource.gender"),
        (lambda r: r["name"][0].__setitem__("family", "X" * 200), "resource.name.family"),
    ],
)
def test_fhir_values_outside_nomenclature_or_limits(demo_db, tmp_path, change, expected):
    import json

    bundle = json.loads(BUNDLE.read_text(encoding="utf-8"))
    practitioner = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Practitioner"
    )
    change(practitioner)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    with pytest.raises(DataFormatError) as excinfo:
        import_fhir_bundle(path)
    assert expected in str(excinfo.value) and "ligne" in str(excinfo.value)
    assert not _real().exists()
