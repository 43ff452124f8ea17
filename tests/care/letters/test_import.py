# ruff: noqa: E501 - CSV rows are kept whole, as a hospital extract has them
"""CSV import with a column-mapping step: a good file (columns named the hospital's way),
a bad file (French errors with file, line and column; nothing written), and all-or-nothing
writing — proven by breaking the transaction on purpose."""

from __future__ import annotations

import contextlib

import pytest

from maillage.care.letters.models import Discharge, ImportDraft
from maillage.care.letters.services import imports
from maillage.care.people.models import Person

from .conftest import paris

HEADER = "N° séjour;Nom;Prénoms;DDN;Sexe;UF;Date entrée;Date sortie;Mode de sortie;RPPS MT;Envoi lettre;Vecteur"
GOOD = [
    "S001;Zorgbelin;Philomène;17/02/1941;F;Cardiologie;02/03/2026 10:00;09/03/2026 11:00;Domicile;19999900001;09/03/2026 15:00;MSSanté",
    "S002;Quertal;Anselme Jules;03/11/1950;M;Cardiologie;01/03/2026 08:00;13/03/2026 19:30;EHPAD;;;",
    "S003;Vrillon;Odette;21/06/1938;Femme;Médecine;2026-03-10 09:00;2026-03-14 10:00;SSR;19999900001;2026-03-24 10:00;courrier",
]


def csv_bytes(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("cp1252")


def test_the_mapping_is_guessed_from_the_hospitals_column_names(referent_sd, hospital_sd):
    draft = imports.upload(referent_sd, hospital_sd, "export-dim.csv", csv_bytes(*GOOD))
    mapping = imports.guess_mapping(imports.header(draft.content))
    assert mapping == {
        "stay_number": "N° séjour", "birth_name": "Nom", "first_names": "Prénoms",
        "birth_date": "DDN", "sex": "Sexe", "service": "UF", "admission_at": "Date entrée",
        "discharge_at": "Date sortie", "destination": "Mode de sortie", "gp_rpps": "RPPS MT",
        "letter_sent_at": "Envoi lettre", "channel": "Vecteur",
    }  # fmt: skip
    assert imports.mapping_errors(mapping, imports.header(draft.content)) == []
    columns = imports.header(draft.content)
    assert imports.mapping_errors({**mapping, "sex": ""}, columns) == [
        "Sexe : choisissez la colonne qui le donne."
    ]
    assert imports.mapping_errors({**mapping, "sex": "Nom"}, columns) == [
        "Une même colonne est choisie pour deux champs."
    ]


def test_a_good_file_is_imported_whole(referent_sd, hospital_sd, doctor_a):
    draft = imports.upload(referent_sd, hospital_sd, "export-dim.csv", csv_bytes(*GOOD))
    mapping = imports.guess_mapping(imports.header(draft.content))
    outcome = imports.run(referent_sd, draft, mapping)
    assert outcome.errors == [] and len(outcome.created) == 3
    first = Discharge.objects.get(stay_number="S001")
    assert first.gp == doctor_a and first.channel == "mssante" and first.delay_hours == 4.0
    assert first.person.birth_name == "ZORGBELIN" and first.hospital == hospital_sd
    third = Discharge.objects.get(stay_number="S003")
    assert third.destination == "ssr" and third.person.sex == "F" and third.channel == "post"
    assert not ImportDraft.objects.exists()  # the file is not kept once imported


def test_a_bad_file_says_file_line_and_column_in_french_and_writes_nothing(
    referent_sd, hospital_sd, doctor_a
):
    bad = [
        GOOD[0],
        "S002;Quertal;Anselme;03/11/1950;M;Cardiologie;13/03/2026 08:00;01/03/2026 19:30;EHPAD;;;",
        "S003;Vrillon;Odette;31/02/1938;F;Médecine;10/03/2026 09:00;14/03/2026 10:00;Lune;;;",
        "S001;Double;Jean;01/01/1960;M;Médecine;10/03/2026 09:00;14/03/2026 10:00;Domicile;;;",
        "S005;Futur;Jean;01/01/1960;M;Médecine;10/03/2026 09:00;14/03/2099 10:00;Domicile;;;",
        "S006;Tôt;Jean;01/01/1960;M;Médecine;10/03/2026 09:00;14/03/2026 10:00;Domicile;;13/03/2026 10:00;courrier",
        "S007;Court;Jean",
    ]
    draft = imports.upload(referent_sd, hospital_sd, "export-dim.csv", csv_bytes(*bad))
    outcome = imports.run(referent_sd, draft, imports.guess_mapping(imports.header(draft.content)))
    messages = [str(e) for e in outcome.errors]
    assert messages == [
        "ligne 3, colonne « Date sortie » : La sortie ne peut pas précéder l'entrée.",
        "ligne 4, colonne « DDN » : date de naissance illisible (attendu jj/mm/aaaa).",
        "ligne 4, colonne « Mode de sortie » : destination « Lune » inconnue.",
        "ligne 5, colonne « N° séjour » : séjour S001 déjà présent ligne 2.",
        "ligne 6, colonne « Date sortie » : La date de sortie est dans le futur.",
        "ligne 7, colonne « Envoi lettre » : La lettre ne peut pas être envoyée avant la sortie.",
        "ligne 8 : 3 cellules au lieu de 12.",
    ]
    assert outcome.created == [] and not Discharge.objects.exists()
    assert not Person.objects.filter(birth_name="ZORGBELIN").exists()


def test_an_unreadable_file_is_refused_in_french(referent_sd, hospital_sd, hospital_ch):
    with pytest.raises(imports.ImportRefused, match="vide"):
        imports.upload(referent_sd, hospital_sd, "vide.csv", b"")
    with pytest.raises(imports.ImportRefused, match="même nom"):
        imports.upload(referent_sd, hospital_sd, "x.csv", b"Nom;Nom\nA;B\n")
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        imports.upload(referent_sd, hospital_ch, "x.csv", csv_bytes(*GOOD))


def _race(referent_sd, hospital_sd) -> None:
    """Rows checked, then the third row's stay is recorded by someone else before writing."""
    from .conftest import discharge

    draft = imports.upload(referent_sd, hospital_sd, "export-dim.csv", csv_bytes(*GOOD))
    rows, errors = imports.check(
        draft, imports.guess_mapping(imports.header(draft.content)), imports.timezone.now()
    )
    assert errors == [] and len(rows) == 3
    discharge(referent_sd, hospital_sd, name="AUTRE", stay_number="S003")
    with pytest.raises(imports.ImportRefused, match="ligne 4 : .*Rien n'a été importé"):
        imports.write(referent_sd, draft, rows)


def test_a_row_failing_while_writing_leaves_nothing_written(referent_sd, hospital_sd, doctor_a):
    _race(referent_sd, hospital_sd)
    assert list(Discharge.objects.values_list("stay_number", flat=True)) == ["S003"]
    assert not Person.objects.filter(birth_name__in=["ZORGBELIN", "QUERTAL"]).exists()


def test_without_the_transaction_the_same_failure_half_writes(
    referent_sd, hospital_sd, doctor_a, monkeypatch
):
    """The guard above can fail: with ``transaction.atomic`` removed from the import, the two
    rows written before the failing one stay."""
    monkeypatch.setattr(imports.transaction, "atomic", lambda *a, **k: contextlib.nullcontext())
    _race(referent_sd, hospital_sd)
    assert sorted(Discharge.objects.values_list("stay_number", flat=True)) == [
        "S001",
        "S002",
        "S003",
    ]


# --- re-import: a stay is its hospital and its stay number ------------------------------------


def _import(referent, hospital, *rows: str, name: str = "export-dim.csv") -> imports.Outcome:
    draft = imports.upload(referent, hospital, name, csv_bytes(*rows))
    return imports.run(referent, draft, imports.guess_mapping(imports.header(draft.content)))


def test_importing_the_same_file_again_changes_nothing(referent_sd, hospital_sd, doctor_a):
    from maillage.accounts.models import AuditEvent

    first = _import(referent_sd, hospital_sd, *GOOD)
    assert first.counts() == "3 créés, 0 modifiés, 0 inchangés"
    before = list(Discharge.objects.order_by("pk").values())
    again = _import(referent_sd, hospital_sd, *GOOD)
    assert again.errors == [] and again.counts() == "0 créés, 0 modifiés, 3 inchangés"
    assert list(Discharge.objects.order_by("pk").values()) == before
    assert Person.objects.count() == 3
    assert not AuditEvent.objects.filter(target_type="letters.discharge", action="update")
    # the known stays read to compare them are audited, as one list
    read = AuditEvent.objects.filter(details__reason="import_match").get()
    assert sorted(read.details["ids"]) == sorted(d["id"] for d in before)


def test_a_re_export_with_letter_dates_updates_those_stays_only(referent_sd, hospital_sd, doctor_a):
    from maillage.accounts.models import AuditEvent

    _import(referent_sd, hospital_sd, *GOOD)
    s002 = Discharge.objects.get(stay_number="S002")
    later = [
        GOOD[0],
        # the letter of S002 sent since, by MSSanté
        "S002;Quertal;Anselme Jules;03/11/1950;M;Cardiologie;01/03/2026 08:00;13/03/2026 19:30;EHPAD;19999900001;14/03/2026 09:15;MSSanté",
        # an extract without the letter's columns filled erases nothing
        "S003;Vrillon;Odette;21/06/1938;Femme;Médecine;2026-03-10 09:00;2026-03-14 10:00;SSR;;;",
        "S004;Nouvelle;Irène;01/01/1945;F;Médecine;20/03/2026 09:00;24/03/2026 10:00;Domicile;;;",
    ]
    outcome = _import(referent_sd, hospital_sd, *later)
    assert outcome.errors == [] and outcome.counts() == "1 créé, 1 modifié, 2 inchangés"
    assert [d.stay_number for d in outcome.updated] == ["S002"]
    s002.refresh_from_db()
    assert s002.channel == "mssante" and s002.gp == doctor_a
    assert s002.letter_sent_at == paris(2026, 3, 14, 9, 15)
    assert Discharge.objects.get(stay_number="S003").letter_sent_at == paris(2026, 3, 24, 10)
    assert Discharge.objects.count() == 4
    update = AuditEvent.objects.get(target_type="letters.discharge", action="update")
    assert update.target_id == str(s002.pk) and update.user == referent_sd
    assert update.details["fields"] == ["channel", "gp", "letter_sent_at"]


def test_a_known_stay_number_with_another_identity_is_refused_and_nothing_written(
    referent_sd, hospital_sd, doctor_a
):
    _import(referent_sd, hospital_sd, *GOOD)
    before = list(Discharge.objects.order_by("pk").values())
    wrong = [
        "S001;Zorgbelin;Philomène;17/02/1941;F;Cardiologie;02/03/2026 10:00;09/03/2026 11:00;Domicile;19999900001;09/03/2026 15:00;MSSanté",
        "S002;Quertal;Anselme Jules;03/11/1950;M;Cardiologie;01/03/2026 08:00;13/03/2026 19:30;EHPAD;;14/03/2026 09:15;MSSanté",
        "S003;Vrillon;Odette;21/06/1939;F;Médecine;2026-03-10 09:00;2026-03-14 10:00;SSR;;;",
        "S001X;Nouvelle;Irène;01/01/1945;F;Médecine;20/03/2026 09:00;24/03/2026 10:00;Domicile;;;",
        "S002;Autre;Anselme Jules;03/11/1950;M;Cardiologie;01/03/2026 08:00;13/03/2026 19:30;EHPAD;;;",
    ]
    draft = imports.upload(referent_sd, hospital_sd, "retour.csv", csv_bytes(*wrong[:4]))
    outcome = imports.run(referent_sd, draft, imports.guess_mapping(imports.header(draft.content)))
    assert [str(e) for e in outcome.errors] == [
        "ligne 4, colonne « DDN » : le séjour S003 est déjà enregistré pour une autre identité "
        "(date de naissance différent(e)) : vérifiez le numéro de séjour ou l'identité."
    ]
    assert list(Discharge.objects.order_by("pk").values()) == before  # S002 not updated
    assert not Discharge.objects.filter(stay_number="S001X").exists()
    outcome = _import(referent_sd, hospital_sd, wrong[4])
    assert [str(e) for e in outcome.errors] == [
        "ligne 2, colonne « Nom » : le séjour S002 est déjà enregistré pour une autre identité "
        "(nom de naissance différent(e)) : vérifiez le numéro de séjour ou l'identité."
    ]
    assert list(Discharge.objects.order_by("pk").values()) == before


def test_a_re_export_cannot_date_the_letter_after_its_acknowledgement(
    referent_sd, hospital_sd, doctor_a, gp_a
):
    from maillage.care.letters.services import discharges as service

    _import(referent_sd, hospital_sd, *GOOD)
    s001 = Discharge.objects.get(stay_number="S001")
    service.acknowledge(gp_a, s001.pk, now=paris(2026, 3, 10, 8, 0))
    late = GOOD[0].replace("09/03/2026 15:00", "11/03/2026 15:00")
    outcome = _import(referent_sd, hospital_sd, late)
    assert [str(e) for e in outcome.errors] == [
        "ligne 2, colonne « Envoi lettre » : La réception ne peut pas précéder l'envoi de la "
        "lettre."
    ]
    s001.refresh_from_db()
    assert s001.letter_sent_at == paris(2026, 3, 9, 15, 0)


def test_a_stay_without_its_number_is_refused(referent_sd, hospital_sd, doctor_a):
    outcome = _import(referent_sd, hospital_sd, ";" + GOOD[1].split(";", 1)[1])
    assert [str(e) for e in outcome.errors] == [
        "ligne 2, colonne « N° séjour » : Numéro de séjour manquant(e)."
    ]


def test_an_update_is_undone_with_the_rest_when_a_later_row_fails(
    referent_sd, hospital_sd, doctor_a
):
    """S002 updated, then S004 (new) recorded by someone else meanwhile: nothing stays."""
    from .conftest import discharge

    _import(referent_sd, hospital_sd, *GOOD)
    rows_text = [
        "S002;Quertal;Anselme Jules;03/11/1950;M;Cardiologie;01/03/2026 08:00;13/03/2026 19:30;EHPAD;;14/03/2026 09:15;MSSanté",
        "S004;Nouvelle;Irène;01/01/1945;F;Médecine;20/03/2026 09:00;24/03/2026 10:00;Domicile;;;",
    ]
    draft = imports.upload(referent_sd, hospital_sd, "x.csv", csv_bytes(*rows_text))
    rows, errors = imports.check(
        draft, imports.guess_mapping(imports.header(draft.content)), imports.timezone.now()
    )
    assert errors == [] and [r.known is not None for r in rows] == [True, False]
    discharge(referent_sd, hospital_sd, name="AUTRE", stay_number="S004")
    with pytest.raises(imports.ImportRefused, match="ligne 3 : .*Rien n'a été importé"):
        imports.write(referent_sd, draft, rows)
    assert Discharge.objects.get(stay_number="S002").letter_sent_at is None


# --- commune of residence ---------------------------------------------------------------------

WITH_COMMUNE = HEADER + ";Commune patient"


def test_the_commune_of_residence_is_read_from_an_insee_or_postal_code(
    referent_sd, hospital_sd, doctor_a
):
    rows = [GOOD[0] + ";52448", GOOD[1] + ";52100 Saint-Dizier", GOOD[2] + ";75001"]
    raw = ("\n".join([WITH_COMMUNE, *rows]) + "\n").encode("utf-8")
    draft = imports.upload(referent_sd, hospital_sd, "avec-communes.csv", raw)
    mapping = imports.guess_mapping(imports.header(draft.content))
    assert mapping["residence"] == "Commune patient"
    outcome = imports.run(referent_sd, draft, mapping)
    assert outcome.errors == []
    communes = dict(Discharge.objects.values_list("stay_number", "residence_commune__name"))
    assert communes == {"S001": "Saint-Dizier", "S002": "Saint-Dizier", "S003": "Paris"}
    # a re-export without the commune keeps it; with another one, it is updated
    again = _import(referent_sd, hospital_sd, GOOD[0])
    assert again.counts() == "0 créés, 0 modifiés, 1 inchangé"
    raw = ("\n".join([WITH_COMMUNE, GOOD[0] + ";52550"]) + "\n").encode("utf-8")
    draft = imports.upload(referent_sd, hospital_sd, "x.csv", raw)
    moved = imports.run(referent_sd, draft, imports.guess_mapping(imports.header(draft.content)))
    assert moved.counts() == "0 créés, 1 modifié, 0 inchangés"
    assert Discharge.objects.get(stay_number="S001").residence_commune_id == "52550"


def test_an_unknown_or_ambiguous_commune_names_file_line_and_column(
    referent_sd, hospital_sd, doctor_a
):
    rows = [GOOD[0] + ";99999", GOOD[1] + ";52100", GOOD[2] + ";Saint-Dizier"]
    raw = ("\n".join([WITH_COMMUNE, *rows]) + "\n").encode("utf-8")
    draft = imports.upload(referent_sd, hospital_sd, "communes.csv", raw)
    outcome = imports.run(referent_sd, draft, imports.guess_mapping(imports.header(draft.content)))
    messages = [str(e) for e in outcome.errors]
    assert messages[0] == (
        "ligne 2, colonne « Commune patient » : Commune inconnue : « 99999 ». Indiquez son nom "
        "ou son code postal."
    )
    assert messages[1].startswith(
        "ligne 3, colonne « Commune patient » : Plusieurs communes correspondent ("
    )
    assert len(messages) == 2  # a name alone is enough when one commune has it
    assert not Discharge.objects.exists()
