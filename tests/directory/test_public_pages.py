"""The public directory pages (``/annuaire/``), through Django's test client on the demo data.

What is pinned here is what a member of the public and a professional each get: search with
typos and filters, the map's JSON, entry pages with hours and schemes, dispositifs with their
perimeter, the Actions library — and that pro-only data never reaches an anonymous page (not
hidden by CSS: absent from the HTML), while non-public records answer 404, not 403.
"""

from __future__ import annotations

import json
import re
from datetime import date, time, timedelta

import pytest
from django.utils import timezone

from maillage.directory.views.public import MAP_CAP, dissolve

pytestmark = pytest.mark.django_db

CHAUMONT = "52121"
SECRETS = (
    "alice.testeur@medecin.mssante.fr",
    "03 25 99 00 01",
    "0325990001",
    "Appeler plutôt le matin",
    "msp.test@msp.mssante.fr",
    "Code du portail 4512",
    "Dr Hidden",
    "Ligne SAS réservée",
)


@pytest.fixture
def entries(demo_db):
    """A structure, a place with hours, a practitioner, services, schemes and actions, each
    with pro-only data to prove it stays out of public pages; indexed for the search."""
    from maillage.directory.models import (
        Action,
        HealthcareService,
        Location,
        OpeningException,
        OpeningHours,
        Organization,
        Practitioner,
        PractitionerRole,
        Scheme,
        SchemeContact,
    )
    from maillage.directory.search.service import reindex_objects
    from maillage.territory.models import Commune, Territory

    chaumont = Commune.objects.get(code=CHAUMONT)
    org = Organization.objects.create(
        name="Maison de santé Testeville",
        kind="msp",
        finess_et="529999991",
        address="1 RUE DU TEST",
        postal_code="52000",
        city="CHAUMONT",
        commune=chaumont,
        phone="0325000000",
        latitude=chaumont.latitude,
        longitude=chaumont.longitude,
        mssante="msp.test@msp.mssante.fr",
        notes_pro="Code du portail 4512",
        verified_on=date(2026, 3, 2),
        source="manual",
    )
    place = Location.objects.create(
        name="MSP Testeville — site principal",
        organization=org,
        address="1 rue du Test",
        postal_code="52000",
        commune=chaumont,
        latitude=chaumont.latitude,
        longitude=chaumont.longitude,
        phone="0325000002",
        direct_line="0325990001",
        source="manual",
    )
    for day in range(5):
        OpeningHours.objects.create(location=place, weekday=day, opens=time(8), closes=time(12))
        OpeningHours.objects.create(location=place, weekday=day, opens=time(14), closes=time(19))
    today = timezone.localdate()
    OpeningException.objects.create(
        location=place,
        start_date=today + timedelta(days=2),
        end_date=today + timedelta(days=2),
        closed=True,
        label="Formation continue",
    )
    person = Practitioner.objects.create(
        family_name="TESTEUR",
        given_name="Alice",
        languages="en,de",
        rpps="10009999991",
        mssante="alice.testeur@medecin.mssante.fr",
        notes_pro="Appeler plutôt le matin",
        verified_on=date(2026, 5, 4),
        source="manual",
    )
    role = PractitionerRole.objects.create(
        practitioner=person,
        organization=org,
        location=place,
        profession_code="10",
        specialty_code="SM54",
        mode_code="L",
        accepts_new_patients=True,
        teleconsultation=True,
        source="manual",
    )
    gone = PractitionerRole.objects.create(
        practitioner=person, location=place, profession_code="10", active=False, source="manual"
    )
    public_service = HealthcareService.objects.create(
        organization=org, location=place, name="Consultations de suivi diabète", source="manual"
    )
    private_service = HealthcareService.objects.create(
        organization=org, name="Ligne SAS réservée", public=False, source="manual"
    )
    perimeter = Territory.objects.create(slug="test-perimetre-chaumont", name="Test", kind="custom")
    perimeter.communes.set(Commune.objects.filter(epci_id=chaumont.epci_id))
    scheme = Scheme.objects.create(
        slug="msp-testeville",
        name="MSP de Testeville",
        kind="msp",
        perimeter=perimeter,
        organization=org,
        commune=chaumont,
        phone="0325000003",
        notes_pro="Réunion de concertation le jeudi",
        verified_on=date(2026, 1, 15),
    )
    scheme.member_organizations.add(org)
    scheme.member_practitioners.add(person)
    SchemeContact.objects.create(scheme=scheme, name="Mme Publique", role="coordinatrice",
                                 phone="0325000004", public=True)  # fmt: skip
    SchemeContact.objects.create(scheme=scheme, name="Dr Hidden", phone="0325990001")
    hidden = Scheme.objects.create(
        slug="reseau-interne-test", name="Réseau interne de test", kind="autre", public=False,
        perimeter=perimeter,
    )  # fmt: skip
    Action.objects.create(
        slug="parcours-diabete-test", title="Parcours du patient diabétique (test)",
        kind="fiche_parcours", tags="diabète, pied diabétique, éducation", territory=perimeter,
        scheme=scheme, summary="Qui voir, quand, pour le pied diabétique.", version="1.2",
        author="CPTS test", review_on=date(2027, 1, 1),
    )  # fmt: skip
    Action.objects.create(
        slug="protocole-plaies-pro", title="Protocole plaies chroniques réservé",
        kind="protocole", tags="plaies, infirmier", visibility="pro",
    )  # fmt: skip
    reindex_objects([org, place, person, role, public_service, private_service, scheme, hidden])
    return {
        "org": org, "place": place, "person": person, "role": role, "gone": gone,
        "public_service": public_service, "private_service": private_service,
        "scheme": scheme, "hidden": hidden, "perimeter": perimeter,
    }  # fmt: skip


@pytest.fixture
def pro_client(demo_db):
    """A logged-in professional, on a client of its own (``client`` stays anonymous)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from maillage.accounts.models import Profile

    user = get_user_model().objects.create_user("dr-pro", password="x-Unused-Password-1")
    Profile.objects.create(user=user, role="professional")
    client = Client()
    client.force_login(user)
    return client


def _html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _no_inline_script(html: str) -> None:
    """CSP allows only the site's own script files: no inline code, no on* handlers."""
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
    assert inline == []
    assert not re.search(r"\son[a-z]+=\"", html)


# --------------------------------------------------------------------------- search


def test_search_page_without_query_shows_the_form(client, demo_db):
    html = _html(client.get("/annuaire/"))
    assert 'name="q"' in html and 'name="ou"' in html and 'name="rayon"' in html
    assert "Médecins généralistes" in html  # profession filter from PROFESSION_GROUPS
    assert "Accepte de nouveaux patients" in html and "Ouvert maintenant" in html
    assert "Annuaire" in html and "/annuaire/dispositifs/" in html
    _no_inline_script(html)


def test_typo_search_finds_chaumont_gps_and_says_what_it_searched(client, demo_db):
    # an unfinished word is a prefix ("chaumon" → Chaumont), a misspelt one is corrected
    response = client.get("/annuaire/", {"q": "generaliste chaumon"})
    html = _html(response)
    result = response.context["result"]
    assert result.total > 5
    typo = client.get("/annuaire/", {"q": "generalsite chaumont"})
    assert typo.context["result"].corrected_text == "generaliste chaumont"
    assert "Résultats pour « <strong>generaliste chaumont</strong> »" in _html(typo)
    assert typo.context["result"].total == result.total
    # "près de Chaumont" searches around Chaumont (15 km): its GPs, then their neighbours'.
    near = client.get("/annuaire/", {"q": "généraliste près de Chaumont"})
    assert near.context["result"].near_label == "Chaumont"
    assert near.context["result"].total > typo.context["result"].total
    assert "à moins de 15 km de Chaumont" in _html(near)
    first = near.context["rows"][: typo.context["result"].total]
    assert all(r["entry"].commune_id == CHAUMONT for r in first[:5])
    rows = response.context["rows"]
    assert rows and all(r["entry"].commune_id == CHAUMONT for r in rows)
    assert all(r["entry"].profession_code == "10" for r in rows)
    assert all(r["entry"].specialty_code in {"SM26", "SM53", "SM54"} for r in rows)
    # demo practitioners are tagged one by one and the page carries the banner
    assert "démonstration" in html and 'data-testid="synthetic-banner"' in html
    assert f"<strong>{result.total}</strong> résultats" in html


def test_filters_new_patients_and_commune(client, demo_db, entries):
    response = client.get(
        "/annuaire/",
        {"profession": "medecin_generaliste", "ou": "Chaumont", "nouveaux": "1", "type": "role"},
    )
    rows = response.context["rows"]
    assert rows
    assert all(r["entry"].accepts_new_patients for r in rows)
    assert all(r["entry"].commune_id == CHAUMONT for r in rows)
    assert any(r["entry"].object_id == entries["role"].pk for r in rows) or (
        response.context["result"].pages > 1
    )
    everyone = client.get("/annuaire/", {"profession": "medecin_generaliste", "ou": "Chaumont"})
    assert everyone.context["result"].total > response.context["result"].total


def test_within_radius_and_teleconsultation_and_language(client, demo_db, entries):
    response = client.get("/annuaire/", {"profession": "infirmier", "ou": "Langres", "rayon": "10"})
    html = _html(response)
    rows = response.context["rows"]
    assert rows and all(r["distance"] is not None and r["distance"] <= 10 for r in rows)
    assert "à moins de 10 km de Langres" in html
    tele = client.get("/annuaire/", {"q": "testeur", "teleconsultation": "1", "langue": "de"})
    assert [r["entry"].object_id for r in tele.context["rows"]] == [entries["role"].pk]
    assert "Parle allemand, anglais" in tele.content.decode() or "Parle anglais, allemand" in (
        tele.content.decode()
    )
    nobody = client.get("/annuaire/", {"q": "testeur", "langue": "pt"})
    assert nobody.context["result"].total == 0


def test_unknown_values_are_ignored_not_errors(client, demo_db):
    response = client.get(
        "/annuaire/", {"q": "pharmacie", "rayon": "7", "profession": "sorcier", "page": "x"}
    )
    assert response.status_code == 200
    assert response.context["p"]["rayon"] is None and response.context["p"]["profession"] == ""
    # A distance chosen without a place is ignored (page and map), not an error.
    for url in ("/annuaire/", "/annuaire/carte.json"):
        alone = client.get(url, {"q": "infirmier", "rayon": "20"})
        assert alone.status_code == 200


def test_unknown_place_and_empty_state_with_suggestions(client, demo_db):
    html = _html(client.get("/annuaire/", {"q": "infirmier", "ou": "Xqzwvil", "rayon": "5"}))
    assert 'data-testid="place-not-found"' in html
    response = client.get(
        "/annuaire/", {"q": "pediatre", "ou": "Chaumont", "rayon": "2", "teleconsultation": "1"}
    )
    html = _html(response)
    # no paediatrician offers teleconsultation within 2 km of Chaumont in the demo data
    assert response.context["result"].total == 0
    assert 'data-testid="empty"' in html
    assert "cherchez à moins de 5 km" in html
    assert "retirez le filtre « téléconsultation »" in html
    html = _html(client.get("/annuaire/", {"q": "zzqxwv kkjjhh"}))
    assert "Aucun résultat" in html and "/annuaire/dispositifs/" in html


def test_pagination_keeps_filters(client, demo_db):
    response = client.get("/annuaire/", {"profession": "infirmier", "page": "2"})
    result = response.context["result"]
    assert result.page == 2 and result.pages > 2
    html = _html(response)
    assert "profession=infirmier&amp;page=3" in html or "page=3&amp;profession=infirmier" in html
    assert 'aria-current="page">2<' in html


def test_map_json_points_and_cap(client, demo_db):
    data = client.get("/annuaire/carte.json", {"q": "generaliste chaumont"}).json()
    assert data["count"] == data["total"] > 0 and not data["capped"]
    assert all(p["url"].startswith("/annuaire/professionnel/") for p in data["points"])
    assert data["departements"] == ["52"]
    assert all(47.5 < p["lat"] < 49 and 4 < p["lon"] < 6 for p in data["points"])
    wide = client.get("/annuaire/carte.json", {"type": "organization"}).json()
    assert wide["total"] >= MAP_CAP and wide["capped"] and wide["count"] <= MAP_CAP
    assert wide["cap"] == MAP_CAP
    empty = client.get("/annuaire/carte.json").json()
    assert empty["points"] == [] and empty["total"] == 0
    base = client.get("/annuaire/fond.geojson", {"dep": "52"}).json()
    assert len(base["features"]) == 426


def test_private_entries_stay_out_of_public_search(client, pro_client, entries):
    private = ("service", entries["private_service"].pk)
    anonymous = client.get("/annuaire/", {"q": "ligne sas reservee"})
    assert private not in {
        (r["entry"].kind, r["entry"].object_id) for r in anonymous.context["rows"]
    }
    professional = pro_client.get("/annuaire/", {"q": "ligne sas reservee"})
    assert private in {
        (r["entry"].kind, r["entry"].object_id) for r in professional.context["rows"]
    }


# --------------------------------------------------------------------------- entry pages


def test_role_page_for_the_public(client, entries):
    html = _html(client.get(f"/annuaire/professionnel/{entries['role'].pk}/"))
    assert "Alice TESTEUR" in html
    assert "Médecin" in html and "Médecine générale" in html
    assert "Accepte de nouveaux patients" in html
    assert "anglais" in html and "allemand" in html
    assert "vérifiée le 4 mai 2026" in html
    assert "03 25 00 00 02" in html  # the place's public phone, formatted
    # weekly pattern in French, each slot kept on one line
    assert '<span class="slot">8 h – 12 h</span>, <span class="slot">14 h – 19 h</span>' in html
    assert "Formation continue" in html  # the coming exception
    assert 'data-testid="open-status"' in html
    assert "MSP de Testeville" in html and "/annuaire/dispositif/msp-testeville/" in html
    assert "Réseau interne de test" not in html  # a non-public scheme of the same perimeter
    for secret in SECRETS:
        assert secret not in html
    assert "Connectez-vous" in html
    assert "synthetic-banner" not in html  # a real (manual) entry: no banner
    _no_inline_script(html)


def test_role_page_for_a_professional_shows_pro_fields(pro_client, entries):
    html = _html(pro_client.get(f"/annuaire/professionnel/{entries['role'].pk}/"))
    assert "alice.testeur@medecin.mssante.fr" in html
    assert "Appeler plutôt le matin" in html
    assert "0325990001" in html  # the place's direct line
    assert 'data-testid="pro-fields"' in html


def test_synthetic_role_page_says_so(client, demo_db):
    from maillage.directory.models import PractitionerRole

    role = PractitionerRole.objects.filter(synthetic=True, active=True).first()
    html = _html(client.get(f"/annuaire/professionnel/{role.pk}/"))
    assert 'data-testid="synthetic-banner"' in html and "démonstration" in html
    assert "non vérifiée" in html


def test_organization_location_and_service_pages(client, pro_client, entries):
    html = _html(client.get(f"/annuaire/structure/{entries['org'].pk}/"))
    assert "Maison de santé Testeville" in html
    assert "529999991" in html and "vérifiée le 2 mars 2026" in html
    assert "Consultations de suivi diabète" in html
    assert "Alice TESTEUR" in html and "MSP de Testeville" in html
    for secret in SECRETS:
        assert secret not in html
    html = _html(client.get(f"/annuaire/lieu/{entries['place'].pk}/"))
    assert "MSP Testeville — site principal" in html and "Alice TESTEUR" in html
    assert "0325990001" not in html
    html = _html(client.get(f"/annuaire/service/{entries['public_service'].pk}/"))
    assert "Consultations de suivi diabète" in html and "529999991" in html
    assert client.get(f"/annuaire/service/{entries['private_service'].pk}/").status_code == 404
    assert pro_client.get(f"/annuaire/service/{entries['private_service'].pk}/").status_code == 200
    html = _html(pro_client.get(f"/annuaire/structure/{entries['org'].pk}/"))
    assert "Code du portail 4512" in html and "Ligne SAS réservée" in html


def test_finess_organization_page(client, demo_db):
    from maillage.directory.models import Organization

    org = Organization.objects.filter(finess_et__isnull=False, commune_id=CHAUMONT).first()
    html = _html(client.get(f"/annuaire/structure/{org.pk}/"))
    assert org.finess_et in html and "non vérifiée" in html
    assert '""' not in html.split("<h1>")[1].split("</h1>")[0]  # CSV quoting cleaned


def test_missing_and_inactive_entries_are_404(client, entries):
    assert client.get("/annuaire/professionnel/999999999/").status_code == 404
    assert client.get(f"/annuaire/professionnel/{entries['gone'].pk}/").status_code == 404
    assert client.get("/annuaire/structure/999999999/").status_code == 404
    assert client.get("/annuaire/lieu/999999999/").status_code == 404
    assert client.get("/annuaire/service/999999999/").status_code == 404
    assert client.get("/annuaire/dispositif/nexiste-pas/").status_code == 404
    assert client.get("/annuaire/actions/nexiste-pas/").status_code == 404


# --------------------------------------------------------------------------- dispositifs


def test_scheme_page_public_and_pro(client, pro_client, entries):
    html = _html(client.get("/annuaire/dispositif/msp-testeville/"))
    assert "MSP de Testeville" in html and "en fonctionnement" in html
    assert "Mme Publique" in html and "03 25 00 00 04" in html
    assert "Dr Hidden" not in html and "Réunion de concertation" not in html
    assert "Maison de santé Testeville" in html and "Alice TESTEUR" in html  # members
    assert "/annuaire/dispositif/msp-testeville/perimetre.geojson" in html
    assert "63 communes" in html
    assert "Parcours du patient diabétique (test)" in html
    assert "vérifiée le 15 janvier 2026" in html
    _no_inline_script(html)
    html = _html(pro_client.get("/annuaire/dispositif/msp-testeville/"))
    assert "Dr Hidden" in html and "Réunion de concertation le jeudi" in html


def test_non_public_scheme_is_404_for_anonymous(client, pro_client, entries):
    assert client.get("/annuaire/dispositif/reseau-interne-test/").status_code == 404
    url = "/annuaire/dispositif/reseau-interne-test/perimetre.geojson"
    assert client.get(url).status_code == 404
    assert pro_client.get("/annuaire/dispositif/reseau-interne-test/").status_code == 200
    assert "Réseau interne de test" not in _html(client.get("/annuaire/dispositifs/"))
    assert "Réseau interne de test" in _html(pro_client.get("/annuaire/dispositifs/"))


def test_perimeter_geojson_is_the_union_of_the_communes(client, entries):
    data = client.get("/annuaire/dispositif/msp-testeville/perimetre.geojson").json()
    communes = [f for f in data["features"] if f["properties"]["role"] == "commune"]
    union = [f for f in data["features"] if f["properties"]["role"] == "perimeter"]
    assert len(communes) == 63 and len(union) == 1
    geometry = union[0]["geometry"]
    assert geometry["type"] in ("Polygon", "MultiPolygon")
    polygons = _polygons(geometry)
    # an EPCI is one piece of land: the union is one outline, not 63
    assert len(polygons) <= 2
    outline = max(polygons, key=lambda p: len(p[0]))[0]
    assert outline[0] == outline[-1] and len(outline) > 50
    lons = [p[0] for p in outline]
    all_lons = [pt[0] for f in communes for ring in _rings(f["geometry"]) for pt in ring]
    assert min(lons) == min(all_lons) and max(lons) == max(all_lons)


def _polygons(geometry):
    return [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]


def _rings(geometry):
    return [ring for polygon in _polygons(geometry) for ring in polygon]


def _square(x: int, y: int) -> dict:
    ring = [[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_dissolve_by_hand():
    two = dissolve([_square(0, 0), _square(1, 0)])
    assert two["type"] == "Polygon" and len(two["coordinates"]) == 1
    assert {tuple(p) for p in two["coordinates"][0]} == {
        (0, 0), (1, 0), (2, 0), (2, 1), (1, 1), (0, 1),
    }  # fmt: skip
    # eight squares around an enclave: one shell and one hole
    ring = [_square(x, y) for x in range(3) for y in range(3) if (x, y) != (1, 1)]
    donut = dissolve(ring)
    assert donut["type"] == "Polygon" and len(donut["coordinates"]) == 2
    shell, hole = donut["coordinates"]
    assert {tuple(p) for p in hole} == {(1, 1), (2, 1), (2, 2), (1, 2)}
    assert len({tuple(p) for p in shell}) == 12
    apart = dissolve([_square(0, 0), _square(5, 5)])
    assert apart["type"] == "MultiPolygon" and len(apart["coordinates"]) == 2
    assert dissolve([]) is None


def test_scheme_list_groups_and_filters(client, entries):
    html = _html(client.get("/annuaire/dispositifs/"))
    assert 'data-testid="kind-msp"' in html and "MSP de Testeville" in html
    html = _html(client.get("/annuaire/dispositifs/", {"type": "cls"}))
    assert "MSP de Testeville" not in html
    html = _html(client.get("/annuaire/dispositifs/", {"q": "testeville", "type": "msp"}))
    assert "MSP de Testeville" in html
    # which dispositifs cover a commune of the perimeter
    html = _html(client.get("/annuaire/dispositifs/", {"commune": "Chaumont", "type": "msp"}))
    assert "MSP de Testeville" in html
    html = _html(client.get("/annuaire/dispositifs/", {"commune": "Langres", "type": "msp"}))
    assert "MSP de Testeville" not in html
    html = _html(client.get("/annuaire/dispositifs/", {"statut": "planned", "type": "msp"}))
    assert "MSP de Testeville" not in html


# --------------------------------------------------------------------------- actions


def test_actions_library_search_is_accent_insensitive(client, entries):
    html = _html(client.get("/annuaire/actions/"))
    assert "Parcours du patient diabétique (test)" in html
    assert "Protocole plaies chroniques réservé" not in html
    html = _html(client.get("/annuaire/actions/", {"q": "DIABETIQUE pied"}))
    assert "Parcours du patient diabétique (test)" in html
    html = _html(client.get("/annuaire/actions/", {"tag": "diabete"}))
    assert "Parcours du patient diabétique (test)" in html
    html = _html(client.get("/annuaire/actions/", {"type": "protocole", "q": "diabete"}))
    assert "Parcours du patient diabétique (test)" not in html
    html = _html(
        client.get("/annuaire/actions/", {"territoire": entries["perimeter"].slug, "q": "test"})
    )
    assert "Parcours du patient diabétique (test)" in html


def test_action_page_and_pro_only_action(client, pro_client, entries):
    html = _html(client.get("/annuaire/actions/parcours-diabete-test/"))
    assert "Parcours du patient diabétique (test)" in html
    assert "1.2" in html and "CPTS test" in html and "1 janvier 2027" in html
    assert "/annuaire/dispositif/msp-testeville/" in html
    assert client.get("/annuaire/actions/protocole-plaies-pro/").status_code == 404
    assert pro_client.get("/annuaire/actions/protocole-plaies-pro/").status_code == 200
    assert "Protocole plaies chroniques réservé" in _html(pro_client.get("/annuaire/actions/"))


def test_cpts_page_offers_its_fhir_bundle(client, demo_db):
    page = client.get("/annuaire/dispositif/cpts-saint-dizier-der-blaise/")
    assert page.status_code == 200
    html = page.content.decode()
    link = "/api/territories/cpts-saint-dizier-der-blaise/fhir-bundle"
    assert link in html
    bundle = client.get(link)
    assert bundle.status_code == 200
    assert "attachment" in bundle["Content-Disposition"]
    assert json.loads(bundle.getvalue())["type"] == "collection"


def test_a_seed_document_shows_its_own_date_not_the_import_date(client, demo_db):
    """The 2021 roadmap's actions read "24 novembre 2021", the CPTS project "novembre 2019"."""
    html = _html(client.get("/annuaire/actions/feuille-de-route-2021-ipa/"))
    assert 'data-testid="document-date">24 novembre 2021<' in html
    html = _html(client.get("/annuaire/actions/cpts-sddb-bottin/"))
    assert 'data-testid="document-date">novembre 2019<' in html


@pytest.mark.parametrize(
    "query",
    [{}, {"type": "cls"}, {"type": "msp"}, {"commune": "Joinville"}, {"q": "santé mentale"},
     {"statut": "planned"}, {"type": "cpts", "commune": "52448"}],
)  # fmt: skip
def test_the_dispositifs_map_shows_exactly_the_listed_dispositifs(client, demo_db, query):
    page = client.get("/annuaire/dispositifs/", query)
    listed = set(re.findall(r'href="/annuaire/dispositif/([^/"]+)/"', page.content.decode()))
    data = json.loads(client.get("/annuaire/dispositifs/carte.json", query).content)
    mapped = {f["properties"]["slug"] for f in data["perimeters"]["features"]}
    mapped |= {p["slug"] for p in data["points"]}
    assert data["count"] == len(listed)
    assert mapped <= listed
    with_place = {p["slug"] for p in data["points"]} | {
        f["properties"]["slug"] for f in data["perimeters"]["features"]
    }
    assert (
        len(with_place) >= len(listed) * 0.8
    )  # almost every dispositif has a place or a perimeter


def test_the_cls_perimeters_and_town_names_reach_the_map(client, demo_db):
    data = json.loads(client.get("/annuaire/dispositifs/carte.json", {"type": "cls"}).content)
    assert len(data["perimeters"]["features"]) == 3
    assert all(
        f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in data["perimeters"]["features"]
    )
    assert "52" in data["departements"]
    names = {t["name"] for t in data["towns"]}
    assert {"Chaumont", "Langres", "Saint-Dizier"} <= names
