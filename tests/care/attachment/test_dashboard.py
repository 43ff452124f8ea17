"""The dashboard of the waiting list: the numbers of ``maillage care summary`` for the
coordinator's communes only, on the page, in the CSV and the XLSX; by commune and priority
band, per month, a map; GPs, operators, nurses refused, anonymous sent to login."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from maillage.accounts.models import Role
from maillage.care.attachment.services import requests as service
from maillage.care.attachment.services import summary
from maillage.care.people import summary as care_summary

from .conftest import CHAUMONT, HOST, SAINT_DIZIER, WASSY, verified_client
from .test_services import new_request

URL = "/soins/medecin-traitant/tableau-de-bord/"


@pytest.fixture
def filled(demo_db, gp_near, gp_user):
    first = new_request()  # ALD + renewal + 8 months + 2 teleconsultations: 30+20+25+8+6
    new_request(name="ARBOGAST", born="1990-03-01", criteria={})  # low priority
    new_request(name="WASSYEN", born="1980-03-01", commune=WASSY, criteria={"c2s": True})
    new_request(name="CHAUMONTAIS", born="1960-04-02", commune=CHAUMONT)  # outside the CPTS
    service.accept(gp_user, service.propose(first, gp_near, distance_km=1.0, reasons=[]))
    return first


def test_the_page_shows_the_summary_numbers_of_the_coordinators_communes(filled, coordinator):
    expected = care_summary.summary({SAINT_DIZIER, WASSY}, timezone.now())["waiting"]
    assert expected["people"] == 2 and expected["requests"] == 3 and expected["placed"] == 1
    page = verified_client(coordinator).get(URL)
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-key="people">{expected["people"]}<' in html
    assert f'data-key="capacity_per_month">{expected["capacity_per_month"]}<' in html
    assert 'data-key="placed_share">33 %<' in html
    assert "Chaumont" not in html.split('data-testid="by-commune"')[1]  # not theirs
    assert "ZORGBELIN" not in html and "ARBOGAST" not in html  # aggregates only
    assert "Aucune source officielle" in html and "<svg" in html
    assert ">aucune<" in html and "&lt; 1" not in html  # the map's legend counts people
    rows = {r["commune"]: r for r in summary.by_commune({SAINT_DIZIER, WASSY}, timezone.now())}
    assert rows[SAINT_DIZIER]["waiting"] == 1 and rows[SAINT_DIZIER]["waiting_basse"] == 1
    assert rows[SAINT_DIZIER]["placed"] == 1 and rows[SAINT_DIZIER]["capacity_per_month"] == 2
    assert rows[WASSY]["waiting"] == 1 and rows[WASSY]["balance"] == -1
    assert sum(r["waiting"] for r in rows.values()) == expected["people"]
    month = summary.placed_by_month({SAINT_DIZIER, WASSY}, timezone.now())[-1]
    assert (month["requests"], month["placed"], month["placed_share"]) == (3, 1, 0.333)
    band = verified_client(coordinator).get(URL + "?priorite=haute")
    assert band.status_code == 200 and "priorité haute" in band.content.decode()


def test_the_exports_carry_the_same_numbers_and_no_name(filled, coordinator):
    client = verified_client(coordinator)
    expected = care_summary.summary({SAINT_DIZIER, WASSY}, timezone.now())["waiting"]
    text = client.get(URL.rstrip("/") + ".csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert ["Personnes en attente", str(expected["people"])] in rows
    assert ["Demandes reçues", "3"] in rows
    assert not any(r and r[0] == CHAUMONT for r in rows)
    assert "ZORGBELIN" not in text and "MT-" not in text
    response = client.get(URL.rstrip("/") + ".xlsx")
    book = load_workbook(io.BytesIO(response.content))
    totals = {r[0]: r[1] for r in book["Totaux"].iter_rows(values_only=True)}
    assert totals["Personnes en attente"] == expected["people"]
    assert totals["Capacité déclarée par mois"] == expected["capacity_per_month"]
    communes = [r[0] for r in book["Par commune"].iter_rows(values_only=True)]
    assert SAINT_DIZIER in communes and CHAUMONT not in communes


@pytest.mark.parametrize("suffix", ["/", ".csv", ".xlsx"])
def test_only_coordinators_see_it_on_every_channel(filled, make_user, gp_user, suffix):
    url = URL.rstrip("/") + suffix if suffix != "/" else URL
    anonymous = Client(**HOST).get(url)
    assert anonymous.status_code == 302 and "/connexion/" in anonymous["Location"]
    for role in (Role.OPERATOR, Role.NURSE, Role.CCAS_AGENT, Role.HOSPITAL):
        assert verified_client(make_user(f"u-{role}", role)).get(url).status_code == 403
    assert verified_client(gp_user).get(url).status_code == 403
    lonely = make_user("sans-territoire", Role.COORDINATOR)  # no territory: zeros, no one
    page = verified_client(lonely).get(url)
    assert page.status_code == 200
    if suffix == ".csv":
        assert ["Personnes en attente", "0"] in list(
            csv.reader(io.StringIO(page.content.decode("utf-8-sig")), delimiter=";")
        )


def test_an_administrator_sees_the_communes_concerned(filled, make_user):
    admin = make_user("admin", Role.ADMINISTRATOR)
    page = verified_client(admin).get(URL)
    html = page.content.decode()
    assert page.status_code == 200 and 'data-key="people">3<' in html  # Chaumont's too
    assert 'data-commune="52121"' in html


def test_the_map_legend_counts_whole_people():
    from maillage.care.attachment.services.dashboard import _count_label

    inf = float("inf")
    assert [_count_label(*b) for b in [(-inf, 1), (1, 2), (2, 5), (5, inf)]] == [
        "aucune", "1", "2 à 4", "≥ 5",
    ]  # fmt: skip
