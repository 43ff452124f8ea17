"""Resolving a territory for display writes nothing; only a coordinator saves a named one.

Every page and API route that takes a territory is read with GET, anonymously and logged in,
and the number of rows of every table must be the same afterwards (the audit log excepted: a
professional reading pro-only data is recorded on purpose).
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client

from maillage.accounts.models import AuditEvent, Profile, Role
from maillage.territory import search
from maillage.territory.models import Territory

PASSWORD = "Un-mot-de-passe-solide-42"

TERRITORY_URLS = [
    "/",
    "/territoires/",
    "/territoires/?t=departement:52",
    "/territoires/?t=commune:52121",
    "/territoires/?t=arrondissement:521",
    "/territoires/?t=epci:200068666",
    "/territoires/?t=departement:971",
    "/territoires/?t=departement:2A",
    "/territoires/?t=cpts-saint-dizier-der-blaise",
    "/territoires/?t=Langres",
    "/territoires/?t=st+dizier",
    "/territoires/?t=52",
    "/territoires/?t=departement:00",
    "/territoires/suggestions.json?q=haute+marne",
    "/territoires/departement-52/",
    "/territoires/departement-52/communes.geojson",
    "/territoires/departement-52/diagnostic.json",
    "/territoires/arrondissement-522/",
    "/territoires/epci-200068666/diagnostic.html",
    "/territoires/commune-52121/",
    "/territoires/commune-52121/diagnostic.pdf",
    "/territoires/commune-52121/diagnostic.xlsx",
    "/territoires/departement-971/",
    "/territoires/departement-971/diagnostic.html",
    "/territoires/departement-977/",
    "/territoires/centre-sud-haute-marne/",
    "/api/territories/epci:200068666/fhir-bundle",
    "/api/territories/departement:971/fhir-bundle",
    "/api/territories/cpts-saint-dizier-der-blaise/fhir-bundle",
    "/fhir/Bundle?territory=commune:52121",
    "/pro/a-relancer/?territoire=departement-52",
]


def row_counts() -> dict[str, int]:
    """Rows per table of every installed model (the audit log aside)."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models(include_auto_created=True)
        if model is not AuditEvent
    }


def make_user(username: str, role: str):
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    Profile.objects.create(user=user, role=role)
    return user


@pytest.mark.parametrize("who", ["anonymous", "coordinator", "professional"])
def test_get_on_territory_urls_writes_nothing(demo_db, who):
    client = Client()
    if who != "anonymous":
        client.force_login(make_user(who, getattr(Role, who.upper())))
    before = row_counts()
    assert Territory.objects.filter(slug="departement-971").count() == 0
    for url in TERRITORY_URLS:
        response = client.get(url)
        assert response.status_code < 500, url
        assert row_counts() == before, f"GET {url} wrote rows"
    assert Territory.objects.filter(slug="departement-971").count() == 0


def test_only_a_coordinator_saves_a_named_territory(demo_db):
    data = {"spec": "arrondissement:522", "name": "Pays de Langres (test)"}
    anonymous = Client(enforce_csrf_checks=True)
    professional = Client()
    professional.force_login(make_user("pro", Role.PROFESSIONAL))
    coordinator = Client(enforce_csrf_checks=True)
    coordinator.force_login(make_user("coord", Role.COORDINATOR))
    before = row_counts()
    assert anonymous.post("/territoires/", data).status_code == 403
    response = professional.post("/territoires/", data)
    assert response.status_code == 403
    assert "coordinateur" in response.content.decode()
    assert row_counts() == before

    assert coordinator.post("/territoires/", data).status_code == 403  # no CSRF token
    page = coordinator.get("/territoires/arrondissement-522/")
    assert 'data-testid="save-territory"' in page.content.decode()
    token = page.cookies["csrftoken"].value
    response = coordinator.post("/territoires/", {**data, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    saved = Territory.objects.get(slug="pays-de-langres-test")
    assert response["Location"] == "/territoires/pays-de-langres-test/"
    assert saved.name == "Pays de Langres (test)" and saved.code == "522"
    assert (
        saved.communes.count()
        == Territory.objects.get(slug="centre-sud-haute-marne")
        .communes.filter(arrondissement_id="522")
        .count()
        > 100
    )
    assert "Pays de Langres (test)" in coordinator.get("/territoires/").content.decode()
    found = search.search("pays de langres test", limit=1)[0]  # the picker finds it at once
    assert (found.spec, found.kind_label) == ("pays-de-langres-test", "Arrondissement")
    # a second save under the same name, an empty name, an empty territory: refused, nothing
    # written
    before = row_counts()
    for bad in (
        data,
        {"spec": "arrondissement:522", "name": "  "},
        {"spec": "departement:00", "name": "Nulle part"},
        {"spec": "region:984", "name": "Terres australes vides"},
    ):
        response = coordinator.post("/territoires/", {**bad, "csrfmiddlewaretoken": token})
        assert response.status_code == 400, bad
        assert 'role="alert"' in response.content.decode()
    assert row_counts() == before


def test_migration_removes_only_the_rows_resolution_wrote(demo_db):
    import importlib

    from maillage.territory.models import Commune

    migration = importlib.import_module(
        "maillage.territory.migrations.0002_remove_resolved_territories"
    )
    guadeloupe = list(Commune.objects.filter(departement_id="971"))

    def territory(slug: str, name: str, kind: str, code: str, communes=()) -> Territory:
        t = Territory.objects.create(slug=slug, name=name, kind=kind, code=code)
        t.communes.set(communes)
        return t

    # what page views used to write: the COG name, slug kind-code, no description; or empty
    territory("departement-971", "Guadeloupe", "departement", "971", guadeloupe)
    territory("arrondissement-522", "Arrondissement de Langres", "arrondissement", "522",
              Commune.objects.filter(arrondissement_id="522"))  # fmt: skip
    territory("departement-975", "Saint-Pierre-et-Miquelon", "departement", "975")
    # named by a person, or used by something: kept
    territory("ma-guadeloupe", "Ma Guadeloupe", "departement", "971", guadeloupe)
    territory("region-01", "Guadeloupe (région, nom donné)", "region", "01", guadeloupe)
    used = territory("commune-97105", "Basse-Terre", "commune", "97105", guadeloupe[:1])
    make_user("coord-gp", Role.COORDINATOR).profile.territories.add(used)
    kept_before = set(Territory.objects.values_list("slug", flat=True)) - {
        "departement-971", "arrondissement-522", "departement-975"
    }  # fmt: skip

    migration.remove_resolved(apps, None)

    assert set(Territory.objects.values_list("slug", flat=True)) == kept_before
    assert {"centre-sud-haute-marne", "cpts-saint-dizier-der-blaise", "ma-guadeloupe"} <= (
        kept_before
    )
