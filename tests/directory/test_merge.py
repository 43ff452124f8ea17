"""Merge import: real CSV, XLSX and FHIR files, duplicate detection, all-or-nothing apply."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from maillage.accounts.models import AuditEvent, Profile, Role
from maillage.directory.changes import MergeImport
from maillage.directory.imports import merge
from maillage.directory.models import (
    Location,
    Organization,
    Practitioner,
    PractitionerRole,
    Source,
)
from maillage.territory.models import Commune

BUNDLE = Path(__file__).parents[1] / "opendata" / "fixtures" / "annuaire_bundle.json"
HEADER = ["Nom", "Prénom", "RPPS", "Profession", "Nom de la structure", "FINESS", "Adresse",
          "CP", "Ville", "Téléphone", "Courriel"]  # fmt: skip


@pytest.fixture
def coordinator(demo_db):
    user = get_user_model().objects.create_user("coord", password="x-Secret-123")
    Profile.objects.create(user=user, role=Role.COORDINATOR)
    return user


@pytest.fixture
def known(demo_db) -> dict:
    """Entries the files will meet again: one by RPPS, one by name and address."""
    chaumont = Commune.objects.get(code="52121")
    by_rpps = Practitioner.objects.create(
        rpps="10001234567", family_name="DURAND", given_name="Paul", source=Source.MANUAL
    )
    fuzzy = Practitioner.objects.create(
        family_name="MARTIN", given_name="Jean-Pierre", source=Source.MANUAL
    )
    place = Location.objects.create(
        name="Cabinet Martin", address="3 rue de la Gare", postal_code="52000", commune=chaumont,
        phone="03 25 00 00 01", source=Source.MANUAL,
    )  # fmt: skip
    PractitionerRole.objects.create(
        practitioner=fuzzy, location=place, profession_code="10", specialty_code="SM54",
        source=Source.MANUAL,
    )  # fmt: skip
    hospital = Organization.objects.get(finess_et="520000068")
    foyer = Organization.objects.get(finess_et="520000381")  # 106 R ERNEST RENAN, Saint-Dizier
    return {"rpps": by_rpps, "fuzzy": fuzzy, "place": place, "hospital": hospital, "foyer": foyer}


ROWS = [
    # RPPS duplicate (names differ on purpose: the identifier wins)
    ["Durand", "Paul-Henri", "100 0123 4567", "Médecin généraliste", "", "", "", "52000",
     "Chaumont", "03.25.11.22.33", "p.durand@example.org"],
    # FINESS duplicate
    ["", "", "", "", "CH Geneviève de Gaulle-Anthonioz", "520000068", "1 rue Albert Schweitzer",
     "52100", "Saint-Dizier", "03 25 56 84 84", ""],
    # fuzzy name + address, same commune (word order, accents, abbreviations, title)
    ["Dr MARTIN", "Jean Pierre", "", "Médecin généraliste", "", "", "3 r. de la Gare", "52000",
     "Chaumont", "0325999999", ""],
    # fuzzy structure without FINESS
    ["", "", "", "", "Foyer logement La Noue St-Dizier", "", "106 rue Ernest Renan", "52100",
     "Saint-Dizier", "", ""],
    # new
    ["Nouvelle", "Claire", "", "Infirmière", "Cabinet infirmier du Lac", "", "2 place Diderot",
     "52200", "Langres", "03 25 87 00 00", "claire@example.org"],
]  # fmt: skip


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    lines = [";".join(HEADER)] + [";".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def test_guess_mapping():
    mapping = merge.guess_mapping(
        [
            "N° RPPS",
            "Nom",
            "Prénom",
            "Nom de la structure",
            "Adresse",
            "CP",
            "Ville",
            "Tél",
            "Profession",
            "FINESS",
            "Téléphone portable",
            "Mail",
        ]  # fmt: skip
    )
    assert mapping["rpps"] == "N° RPPS"
    assert mapping["family_name"] == "Nom"
    assert mapping["given_name"] == "Prénom"
    assert mapping["organization_name"] == "Nom de la structure"
    assert mapping["postal_code"] == "CP"
    assert mapping["city"] == "Ville"
    assert mapping["phone"] == "Tél"
    assert mapping["email"] == "Mail"
    assert mapping["finess"] == "FINESS"
    assert mapping["website"] is None


def test_profession_words():
    assert merge.profession_from_text("Médecin généraliste") == ("10", "SM54")
    assert merge.profession_from_text("Infirmières") == ("60", "")
    assert merge.profession_from_text("masseur-kinésithérapeute") == ("70", "")
    assert merge.profession_from_text("Cardiologie") == ("10", "SM04")
    assert merge.profession_from_text("astrologue") is None


def test_csv_duplicates_and_apply(tmp_path, coordinator, known):
    path = write_csv(tmp_path / "cpts.csv", ROWS, encoding="cp1252")
    staged = merge.stage(path, "csv", user=coordinator)
    assert staged.source_name == "cpts.csv"
    rows = staged.rows
    assert [r["line"] for r in rows] == [2, 3, 4, 5, 6]
    assert [r["status"] for r in rows] == [
        "duplicate",
        "duplicate",
        "duplicate",
        "duplicate",
        "new",
    ]
    assert rows[0]["match"]["by"] == "RPPS" and rows[0]["match"]["id"] == known["rpps"].pk
    assert rows[1]["match"]["by"] == "FINESS" and rows[1]["match"]["id"] == known["hospital"].pk
    assert rows[2]["match"]["by"] == "nom + adresse"
    assert rows[2]["match"]["id"] == known["fuzzy"].pk
    assert merge.MATCH_THRESHOLD <= rows[2]["match"]["score"] <= 100
    assert rows[3]["match"]["id"] == known["foyer"].pk
    assert rows[4]["data"]["profession_code"] == "60"
    assert rows[4]["data"]["commune"] == "52269"
    assert [r["decision"] for r in rows] == ["update", "update", "update", "update", "create"]
    # nothing written by staging
    assert not Practitioner.objects.filter(family_name="Nouvelle").exists()

    counts = merge.apply(staged, {"1": "ignore"}, coordinator)
    assert counts == {"created": 1, "updated": 3, "ignored": 1}
    staged.refresh_from_db()
    assert staged.status == MergeImport.Status.APPLIED and staged.applied_by == coordinator
    claire = Practitioner.objects.get(family_name="Nouvelle")
    role = claire.roles.get()
    assert role.profession_code == "60" and role.location.commune_id == "52269"
    assert role.location.phone == "03 25 87 00 00"
    known["place"].refresh_from_db()
    assert known["place"].phone == "03 25 99 99 99"
    assert known["place"].history.first().history_user == coordinator
    hospital = Organization.objects.get(pk=known["hospital"].pk)
    assert hospital.phone != "03 25 56 84 84"  # row ignored
    assert AuditEvent.objects.filter(action="merge_apply", user=coordinator).exists()
    with pytest.raises(ValueError, match="déjà été appliqué"):
        merge.apply(staged, {}, coordinator)


def test_xlsx_with_spreadsheet_numbers(tmp_path, coordinator, known):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Identifiant RPPS", "Nom", "Prénom", "Profession", "Code postal", "Commune",
                  "Tél"])  # fmt: skip
    sheet.append([10001234567, "DURAND", "Paul", "Médecin", 52000, "Chaumont", 325112233])
    sheet.append([None, "Petit", "Anne", "Sage-femme", 52200, "Langres", None])
    sheet.append([None, None, None, None, None, None, None])  # blank lines are skipped
    sheet.append([None, "Petit", "Anne", "Sage-femme", 52200, "Langres", None])
    path = tmp_path / "hopital.xlsx"
    book.save(path)
    staged = merge.stage(path, "xlsx", user=coordinator)
    assert staged.mapping["rpps"] == "Identifiant RPPS"
    first, second, third = staged.rows
    assert first["match"]["by"] == "RPPS" and first["data"]["phone"] == "03 25 11 22 33"
    assert first["data"]["postal_code"] == "52000"
    assert second["status"] == "new" and second["data"]["profession_code"] == "50"
    # the same person twice in the file: the second is caught by name in the same commune?
    # No: Anne Petit is not in maillage yet, so only the file's own identifiers are compared.
    assert third["line"] == 5 and third["status"] == "new"
    counts = merge.apply(staged, {"2": "ignore"}, coordinator)
    assert counts == {"created": 1, "updated": 1, "ignored": 1}
    assert Practitioner.objects.filter(family_name="Petit", given_name="Anne").count() == 1


def test_same_identifier_twice_in_a_file(tmp_path, coordinator, known):
    row = ["Leroy", "Marc", "19999999999", "Infirmier", "", "", "", "52200", "Langres", "", ""]
    staged = merge.stage(write_csv(tmp_path / "double.csv", [row, row]), "csv", user=coordinator)
    assert staged.rows[1]["match"]["model"] == "file"
    assert staged.rows[1]["match"]["label"] == "ligne 2 du même fichier"
    assert staged.rows[1]["decision"] == "ignore"
    with pytest.raises(ValueError, match="ligne 3"):
        merge.apply(staged, {"1": "create"}, coordinator)
    assert merge.apply(staged, {}, coordinator) == {"created": 1, "updated": 0, "ignored": 1}


def test_bad_row_blocks_everything(tmp_path, coordinator, known):
    bad = list(ROWS[4])
    bad[9] = "appeler le secrétariat"
    rows = [ROWS[0], bad, ["Sans", "Ville", "", "Infirmier", "", "", "", "", "Atlantide", "", ""]]
    before = (Practitioner.objects.count(), Location.objects.count(), Organization.objects.count())
    staged = merge.stage(write_csv(tmp_path / "bad.csv", rows), "csv", user=coordinator)
    assert [r["status"] for r in staged.rows] == ["duplicate", "error", "error"]
    error = staged.rows[1]["errors"][0]
    assert error["column"] == "Téléphone" and "téléphone valide" in error["message"]
    assert "Atlantide" in staged.rows[2]["errors"][0]["message"]
    assert staged.rows[2]["errors"][0]["column"] == "Ville"
    with pytest.raises(ValueError, match=r"ligne 3, colonne Téléphone"):
        merge.apply(staged, {"1": "ignore"}, coordinator)
    after = (Practitioner.objects.count(), Location.objects.count(), Organization.objects.count())
    assert after == before
    known["rpps"].refresh_from_db()
    assert known["rpps"].given_name == "Paul"
    staged.refresh_from_db()
    assert staged.status == MergeImport.Status.STAGED


def test_remap_and_bad_mapping(tmp_path, coordinator, known):
    staged = merge.stage(write_csv(tmp_path / "m.csv", ROWS), "csv", user=coordinator)
    mapping = dict(staged.mapping, phone=None)
    merge.remap(staged, mapping, coordinator)
    assert staged.rows[4]["data"]["phone"] == ""
    with pytest.raises(ValueError, match="absente"):
        merge.remap(staged, dict(mapping, phone="Fax"), coordinator)
    with pytest.raises(ValueError, match="au moins une colonne"):
        merge.remap(staged, {}, coordinator)


def test_unreadable_files(tmp_path, coordinator):
    (tmp_path / "empty.csv").write_text("\n\n")
    with pytest.raises(merge.MergeFileError, match="vide"):
        merge.stage(tmp_path / "empty.csv", "csv", user=coordinator)
    (tmp_path / "fake.xlsx").write_bytes(b"not a zip")
    with pytest.raises(merge.MergeFileError, match="XLSX"):
        merge.stage(tmp_path / "fake.xlsx", "xlsx", user=coordinator)
    (tmp_path / "dup.csv").write_text("Nom;Nom\nA;B\n")
    with pytest.raises(merge.MergeFileError, match="en double"):
        merge.stage(tmp_path / "dup.csv", "csv", user=coordinator)
    (tmp_path / "b.json").write_text('{"resourceType": "Patient"}')
    with pytest.raises(merge.MergeFileError):
        merge.stage(tmp_path / "b.json", "fhir", user=coordinator)
    assert not MergeImport.objects.exists()


def test_professional_cannot_import(tmp_path, demo_db):
    user = get_user_model().objects.create_user("pro", password="x-Secret-123")
    Profile.objects.create(user=user, role=Role.PROFESSIONAL)
    with pytest.raises(PermissionDenied):
        merge.stage(write_csv(tmp_path / "x.csv", ROWS), "csv", user=user)


def test_fhir_bundle_through_the_same_review(coordinator, demo_db):
    staged = merge.stage(BUNDLE, "fhir", user=coordinator)
    rows = staged.rows
    kinds = [r["kind"] for r in rows]
    assert kinds.count("practitioner") == 4
    assert kinds.count("organization") == 2  # the legal entity (FINESS EJ) is not a place
    assert all(r["status"] == "new" for r in rows), [r["errors"] for r in rows]
    alice = next(r for r in rows if r["data"]["rpps"] == "19999000001")
    assert alice["data"]["specialty_code"] == "SM54" and alice["data"]["commune"] == "52448"
    counts = merge.apply(staged, {}, coordinator)
    assert counts["created"] == 6
    assert Practitioner.objects.get(rpps="19999000001").roles.get().location.commune_id == "52448"

    again = merge.stage(BUNDLE, "fhir", user=coordinator)
    by = sorted(r["match"]["by"] for r in again.rows)
    assert by == ["FINESS", "RPPS", "RPPS", "RPPS", "RPPS", "nom + adresse"]


def _scoped_coordinator(name: str, territory: str):
    from maillage.territory.services import save_territory

    user = get_user_model().objects.create_user(name, password="x-Secret-123")
    profile = Profile.objects.create(user=user, role=Role.COORDINATOR)
    profile.territories.add(save_territory(territory))
    return user


CHAUMONT_ROWS = [
    # the Chaumont hospital (Haute-Marne), by FINESS: an update
    ["", "", "", "", "Centre hospitalier de Chaumont", "520000027", "", "52000", "Chaumont",
     "03 99 99 99 99", ""],
    # a new practice in Chaumont: a creation
    ["Hors", "Champ", "", "Infirmière", "Cabinet hors champ", "", "1 rue de Verdun", "52000",
     "Chaumont", "03 25 00 11 22", ""],
]  # fmt: skip


def test_merge_import_respects_the_coordinators_territories(tmp_path, demo_db):
    """A coordinator of the Aube cannot change or create Haute-Marne entries by importing."""
    hospital = Organization.objects.get(finess_et="520000027")
    phone = hospital.phone
    aube = _scoped_coordinator("aube", "departement:10")
    staged = merge.stage(write_csv(tmp_path / "hm.csv", CHAUMONT_ROWS), "csv", user=aube)
    assert [r["decision"] for r in staged.rows] == ["update", "create"]
    refused = merge.refusals(staged, aube)
    assert set(refused) == {0, 1}
    assert "hors de vos territoires" in refused[0]["update"]
    counts = merge.apply(staged, {}, aube)
    assert counts == {"created": 0, "updated": 0, "ignored": 0, "refused": 2}
    hospital.refresh_from_db()
    assert hospital.phone == phone
    assert not Practitioner.objects.filter(family_name="Hors").exists()
    staged.refresh_from_db()
    assert [r["decision"] for r in staged.rows] == ["refused", "refused"]

    # the Haute-Marne coordinator may: the same file goes through
    hm = _scoped_coordinator("hm", "departement:52")
    again = merge.stage(write_csv(tmp_path / "hm2.csv", CHAUMONT_ROWS), "csv", user=hm)
    assert merge.refusals(again, hm) == {}
    assert merge.apply(again, {}, hm) == {"created": 1, "updated": 1, "ignored": 0}
    hospital.refresh_from_db()
    assert hospital.phone == "03 99 99 99 99"


def test_merge_review_page_shows_refused_rows(client, tmp_path, demo_db):
    from django.core.files.uploadedfile import SimpleUploadedFile

    hospital = Organization.objects.get(finess_et="520000027")
    phone = hospital.phone
    aube = _scoped_coordinator("aube", "departement:10")
    client.force_login(aube)
    path = write_csv(tmp_path / "hm.csv", CHAUMONT_ROWS[:1])
    upload = SimpleUploadedFile("hm.csv", path.read_bytes(), "text/csv")
    client.post("/pro/importer/", {"file": upload, "format": "csv"})
    staged = MergeImport.objects.get()
    page = client.get(f"/pro/importer/{staged.pk}/").content.decode()
    assert 'data-testid="refused-2"' in page and "hors de vos territoires" in page
    # even a hand-made POST asking to update is refused, nothing written
    response = client.post(
        f"/pro/importer/{staged.pk}/", {"action": "apply", "decision-0": "update"}
    )
    assert response.status_code == 302
    hospital.refresh_from_db()
    assert hospital.phone == phone
    staged.refresh_from_db()
    assert staged.result == {"created": 0, "updated": 0, "ignored": 0, "refused": 1}


@pytest.mark.parametrize(
    ("fmt", "data", "message"),
    [
        ("csv", b"Nom;Pr\x81nom\nA;B\n", "ligne 1 : encodage non reconnu (octet 0x81)"),
        ("csv", b"Nom;Prenom\nA;B\n" + b"C" * 200_000 + b";D\n", "ligne 3 : une cellule"),
        ("fhir", b"[" * 100_000 + b"]" * 100_000, "trop profondément imbriqué"),
    ],
)
def test_hostile_uploads_are_form_errors(client, demo_db, fmt, data, message):
    """Bad encoding, a field over 128 KB, deeply nested JSON: a French form error, no 500,
    nothing staged."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    user = get_user_model().objects.create_user("c", password="x-Secret-123")
    Profile.objects.create(user=user, role=Role.COORDINATOR)
    client.force_login(user)
    name = "liste.json" if fmt == "fhir" else "liste.csv"
    upload = SimpleUploadedFile(name, data, "application/octet-stream")
    response = client.post("/pro/importer/", {"file": upload, "format": fmt})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not MergeImport.objects.exists()
