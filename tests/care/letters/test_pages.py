"""The discharge letters' pages, per role and per channel: the referent's list, form, import
and overdue list (their hospitals only), the indicators page and its CSV/XLSX exports
(figures, never a name; the same numbers as the summary), the GP's list and acknowledgement,
and the MSSanté link (GET never writes)."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.test import Client
from django.utils import timezone

from maillage.accounts.models import AuditEvent, Role
from maillage.care.letters.models import Discharge
from maillage.care.letters.services import discharges as service
from maillage.care.letters.services.summary import letters_figures
from maillage.care.people.models import Person

from .conftest import HOST, SAINT_DIZIER, WASSY, discharge, paris, verified_client

PAGES = [
    "/soins/sorties/",
    "/soins/sorties/nouvelle/",
    "/soins/sorties/import/",
    "/soins/sorties/en-retard/",
]


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def two(referent_sd, hospital_sd, referent_ch, hospital_ch, doctor_a, doctor_b):
    """One discharge in each hospital: Saint-Dizier's to doctor A, Chaumont's to doctor B;
    both letters sent."""
    out = timezone.localtime().replace(hour=11, minute=0, second=0, microsecond=0)
    out -= dt.timedelta(days=10)  # recent: inside the indicators' 12 months whenever it runs
    dates = {
        "admission_at": out - dt.timedelta(days=3),
        "discharge_at": out,
        "letter_sent_at": out + dt.timedelta(hours=4),
        "channel": "mssante",
    }
    return (
        discharge(referent_sd, hospital_sd, doctor_a, name="ZORGBELIN", **dates),
        discharge(referent_ch, hospital_ch, doctor_b, name="QUERTAL", first="Anselme", **dates),
    )


def test_anonymous_goes_to_login_and_unverified_to_the_second_factor(referent_sd):
    from django.urls import reverse

    login = reverse("accounts:login")
    for url in [*PAGES, "/soins/sorties/indicateurs/", "/soins/sorties/indicateurs.csv",
                "/pro/lettres-de-sortie/"]:  # fmt: skip
        response = Client(**HOST).get(url)
        assert response.status_code == 302 and response["Location"].startswith(login), url
    unverified = Client(**HOST)
    unverified.force_login(referent_sd)
    assert "double-authentification" in unverified.get("/soins/sorties/")["Location"]


def test_the_referent_sees_only_their_hospitals_discharges_audited(two, referent_sd, referent_ch):
    mine, theirs = two
    page = verified_client(referent_sd).get("/soins/sorties/")
    assert page.status_code == 200
    assert "ZORGBELIN" in text(page) and "QUERTAL" not in text(page)
    event = (
        AuditEvent.objects.filter(user=referent_sd, target_type="letters.discharge", action="view")
        .order_by("-pk")
        .first()
    )
    assert event.details["ids"] == [mine.pk]
    # the acknowledgement link to paste in the MSSanté message, for the referent's own
    # (the token carries its second of signing: compare what the links name, not the text)
    named = [service.by_token(t).pk for t in re.findall(r"/lettre-de-sortie/([^/]+)/", text(page))]
    assert named == [mine.pk]
    other = verified_client(referent_ch).get("/soins/sorties/")
    assert "QUERTAL" in text(other) and "ZORGBELIN" not in text(other)


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.NURSE, Role.COORDINATOR, Role.PROFESSIONAL])
def test_other_roles_get_403_on_the_referents_pages(make_user, two, role):
    client = verified_client(make_user(f"user-{role}", role))
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "ZORGBELIN" not in text(response)


def test_the_form_records_and_refuses_nonsense_in_french_with_400(
    referent_sd, hospital_sd, hospital_ch
):
    client = verified_client(referent_sd)
    form = {
        "birth_name": "Vrillon", "first_names": "Odette", "birth_date": "1938-06-21", "sex": "F",
        "phone": "", "hospital": hospital_sd.pk, "service": "Médecine",
        "admission_at": "2026-03-10T09:00", "discharge_at": "2026-03-08T10:00",
        "destination": "home", "letter_sent_at": "", "channel": "",
    }  # fmt: skip
    refused = client.post("/soins/sorties/nouvelle/", form)
    assert refused.status_code == 400 and "La sortie ne peut pas précéder l&#x27;entrée." in text(
        refused
    )
    outside = client.post("/soins/sorties/nouvelle/", {**form, "hospital": hospital_ch.pk})
    assert outside.status_code == 400  # not a choice for this referent
    assert (
        not Discharge.objects.exists() and not Person.objects.filter(birth_name="VRILLON").exists()
    )
    unknown = client.post(
        "/soins/sorties/nouvelle/",
        {**form, "discharge_at": "2026-03-14T10:00", "residence": "99999"},
    )
    assert unknown.status_code == 400 and "Commune inconnue : « 99999 »" in text(unknown)
    assert not Discharge.objects.exists()
    done = client.post(
        "/soins/sorties/nouvelle/",
        {**form, "discharge_at": "2026-03-14T10:00", "residence": "52100 Saint-Dizier"},
    )
    assert done.status_code == 302
    made = Discharge.objects.get()
    assert made.person.birth_name == "VRILLON" and made.residence_commune_id == "52448"


def test_the_import_pages_map_columns_then_import_or_list_errors(referent_sd, hospital_sd):
    from .test_import import GOOD, csv_bytes

    client = verified_client(referent_sd)
    upload = io.BytesIO(csv_bytes(*GOOD[1:]))
    upload.name = "export.csv"
    step = client.post("/soins/sorties/import/", {"hospital": hospital_sd.pk, "file": upload})
    assert step.status_code == 302
    mapping_page = client.get(step["Location"])
    assert mapping_page.status_code == 200 and "Mode de sortie" in text(mapping_page)
    assert "Quertal" not in text(mapping_page)  # columns only, no row shown
    fields = {"stay_number": "N° séjour", "birth_name": "Nom", "first_names": "Prénoms",
              "birth_date": "DDN", "sex": "Sexe", "service": "UF", "admission_at": "Date entrée",
              "discharge_at": "Date sortie", "destination": "Mode de sortie"}  # fmt: skip
    wrong = client.post(step["Location"], {**fields, "discharge_at": "Date entrée"})
    assert wrong.status_code == 400 and "Une même colonne" in text(wrong)
    swapped = client.post(step["Location"], {**fields, "birth_date": "Date sortie",
                                             "discharge_at": "DDN"})  # fmt: skip
    assert swapped.status_code == 400 and "export.csv, ligne 2, colonne" in text(swapped)
    assert not Discharge.objects.exists()
    done = client.post(step["Location"], fields, follow=True)
    assert done.redirect_chain[0][1] == 302 and Discharge.objects.count() == 2
    assert "export.csv : 2 créés, 0 modifiés, 0 inchangés." in text(done)
    # the same extract again: the result page says nothing changed
    upload = io.BytesIO(csv_bytes(*GOOD[1:]))
    upload.name = "export.csv"
    step = client.post("/soins/sorties/import/", {"hospital": hospital_sd.pk, "file": upload})
    again = client.post(step["Location"], fields, follow=True)
    assert "export.csv : 0 créés, 0 modifiés, 2 inchangés." in text(again)
    assert Discharge.objects.count() == 2


def test_another_referent_cannot_open_someone_elses_upload(referent_sd, referent_ch, hospital_sd):
    from maillage.care.letters.services import imports

    from .test_import import GOOD, csv_bytes

    draft = imports.upload(referent_sd, hospital_sd, "x.csv", csv_bytes(*GOOD[1:]))
    assert verified_client(referent_ch).get(f"/soins/sorties/import/{draft.pk}/").status_code == 404


def test_indicators_page_and_exports_per_role_show_figures_not_names(
    two, referent_sd, coordinator, make_user, hospital_sd
):
    expected = letters_figures({SAINT_DIZIER, WASSY}, timezone.now())["hospitals"]
    coordinator_client = verified_client(coordinator)
    page = coordinator_client.get("/soins/sorties/indicateurs/")
    assert page.status_code == 200 and hospital_sd.name in text(page)
    assert "CH TEST CHAUMONT" not in text(page)  # not in the coordinator's territory
    assert "ZORGBELIN" not in text(page) and "trend-chart" in text(page)
    median = str(expected[0]["median_delay_hours"]).replace(".", ",")  # French decimals
    assert median == "4,0" and f"<td>{median}</td>" in text(page)
    from maillage.observatory.report.formatting import fr_percent

    same_day = fr_percent(expected[0]["sent_same_day_share"], 1)  # a percentage, as people read
    assert same_day.endswith("%") and f"<td>{same_day}</td>" in text(page)
    csv = coordinator_client.get("/soins/sorties/indicateurs.csv")
    assert csv.status_code == 200 and "Délai médian" in text(csv)
    assert "ZORGBELIN" not in text(csv) and "CHAUMONT" not in text(csv)
    month = two[0].discharge_at.astimezone(paris(2026, 1, 1).tzinfo).strftime("%Y-%m")
    assert f"CH TEST SAINT-DIZIER;Médecine polyvalente;{month};1;1;4.0" in text(csv)
    # the page: one folded block per hospital, its services, then their months
    assert text(page).count('data-testid="hospital-services"') == 1
    assert "<td>Médecine polyvalente</td><td>1</td><td>4,0</td>" in text(page)
    assert f"<td>{month}</td><td>1</td><td>4,0</td>" in text(page)
    xlsx = verified_client(referent_sd).get("/soins/sorties/indicateurs.xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [c for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "CH TEST SAINT-DIZIER" in values and "CH TEST CHAUMONT" not in values
    assert "ZORGBELIN" not in values
    for role in (Role.OPERATOR, Role.NURSE, Role.PROFESSIONAL):
        client = verified_client(make_user(f"x-{role}", role))
        assert client.get("/soins/sorties/indicateurs/").status_code == 403
        assert client.get("/soins/sorties/indicateurs.csv").status_code == 403


def test_the_gp_sees_and_acknowledges_only_their_patients_letters(two, gp_a, gp_b, referent_sd):
    mine, theirs = two
    client = verified_client(gp_a)
    page = client.get("/pro/lettres-de-sortie/")
    assert page.status_code == 200 and "ZORGBELIN" in text(page) and "QUERTAL" not in text(page)
    assert client.post(f"/pro/lettres-de-sortie/{theirs.pk}/recue/").status_code == 404
    assert Discharge.objects.get(pk=theirs.pk).acknowledged_at is None
    assert client.get(f"/pro/lettres-de-sortie/{mine.pk}/recue/").status_code == 405
    assert client.post(f"/pro/lettres-de-sortie/{mine.pk}/recue/").status_code == 302
    assert Discharge.objects.get(pk=mine.pk).acknowledged_at is not None
    referent = verified_client(referent_sd)
    assert referent.post(f"/pro/lettres-de-sortie/{mine.pk}/recue/").status_code == 403


def test_the_mssante_link_confirms_on_get_and_acknowledges_only_on_post(two):
    mine, _ = two
    url = f"/lettre-de-sortie/{service.signed_token(mine)}/"
    client = Client(**HOST)
    before = AuditEvent.objects.count()
    page = client.get(url)
    assert page.status_code == 200 and 'data-testid="confirm"' in text(page)
    assert "ZORGBELIN" not in text(page)  # no name behind a link
    assert Discharge.objects.get(pk=mine.pk).acknowledged_at is None
    assert AuditEvent.objects.count() == before  # nothing written by GET
    done = client.post(url)
    assert done.status_code == 200 and 'data-testid="acknowledged"' in text(done)
    assert Discharge.objects.get(pk=mine.pk).acknowledged_at is not None
    assert client.get(url[:-5] + "XXXX/").status_code == 404
