"""The prefect's list in XLSX as in CSV (coordinators of the territory only, audited, no cell
run as a formula), and campaigns opened on a whole territory (all its communes' registered
people), refused in French on a territory that is not the user's."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from maillage.accounts.models import AuditEvent
from maillage.care.register.models import Campaign, Registration
from maillage.care.register.services import prefect

from .conftest import CHAUMONT, SAINT_DIZIER, WASSY, registered, territory, verified_client

XLSX = "/soins/registre/liste-prefet.xlsx"
EVIL = '=HYPERLINK("http://example.invalid","clic")'


def test_the_xlsx_list_is_for_coordinators_audited_and_never_runs_a_formula(agent_a, coordinator):
    mine = registered(agent_a, address=EVIL)
    outside = registered(None, "52060")  # not in the coordinator's territory
    assert verified_client(agent_a).get(XLSX).status_code == 403
    response = verified_client(coordinator).get(XLSX)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Cache-Control"] == "no-store"
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == prefect.COLUMNS
    assert len(rows) == 2
    [(commune, name, _, born, phone, address, *_rest, synthetic)] = rows[1:]
    assert commune == "Saint-Dizier" and name == mine.person.birth_name
    assert born.date() == mine.person.birth_date and phone == mine.person.phone_display
    assert address == EVIL and sheet.cell(2, 6).data_type == "s"  # text, not a formula
    assert synthetic == "synthétique" and outside.person.birth_name not in str(rows)
    event = AuditEvent.objects.get(user=coordinator, action="export")
    assert event.purpose == "register_prefect"
    assert event.details == {"format": "xlsx", "ids": [mine.pk]}
    # the CSV quotes it the same way
    body = verified_client(coordinator).get("/soins/registre/liste-prefet.csv").content
    [_, line] = csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";")
    assert line[5] == "'" + EVIL


def test_a_coordinator_opens_a_campaign_on_a_whole_territory(agent_a, agent_b, coordinator):
    saint_dizier, chaumont = registered(agent_a), registered(agent_b, CHAUMONT)
    registered(None, "52060")  # outside
    pending = registered(agent_a)
    Registration.objects.filter(pk=pending.pk).update(validated_at=None)  # not validated
    slug = coordinator.profile.territories.get().slug
    client = verified_client(coordinator)
    page = client.get("/soins/registre/campagnes/").content.decode()
    assert f'value="{slug}"' in page
    done = client.post(
        "/soins/registre/campagnes/",
        {"kind": "heatwave", "level": "red", "territory": slug, "max_attempts": 3},
    )
    assert done.status_code == 302, done.content.decode()
    campaign = Campaign.objects.get()
    assert campaign.scope_communes() == {SAINT_DIZIER, WASSY, CHAUMONT}
    called = set(campaign.assignments.values_list("registration_id", flat=True))
    assert called == {saint_dizier.pk, chaumont.pk}


def test_a_territory_that_is_not_the_users_is_refused_in_french(agent_a, coordinator):
    other = territory("ailleurs", ["52060"])
    client = verified_client(coordinator)
    for slug, message in [
        (other.slug, "Choix inconnu"),
        ("", "Choisissez au moins une commune, ou tout un territoire"),
    ]:
        response = client.post(
            "/soins/registre/campagnes/",
            {"kind": "cold", "level": "orange", "territory": slug, "max_attempts": 3},
        )
        assert response.status_code == 400 and message in response.content.decode(), slug
    # an agent is offered only their own territory
    agent_page = verified_client(agent_a).get("/soins/registre/campagnes/").content.decode()
    assert coordinator.profile.territories.get().slug not in agent_page
    assert not Campaign.objects.exists()
