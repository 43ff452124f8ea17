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
