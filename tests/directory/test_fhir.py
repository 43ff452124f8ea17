"""The FHIR R4 server (/fhir/) and the territory export.

Every resource the server emits is parsed with the matching ``fhir.resources.R4B`` model; the
territory Bundle is read back with ``maillage.opendata.read_annuaire_bundle``; expectations on
searches are checked by hand on the shipped FINESS data (Chaumont, INSEE 52121: 78 FINESS
établissements, among them the Centre hospitalier de Chaumont, FINESS 520000027).
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from fhir.resources import R4B

from maillage.accounts.models import AuditEvent, Profile, Role
from maillage.directory.fhir import resources as fhir
from maillage.directory.models import (
    HealthcareService,
    Location,
    OpeningException,
    OpeningHours,
    Organization,
    Practitioner,
    PractitionerRole,
)
from maillage.opendata import read_annuaire_bundle
from maillage.opendata.nomenclatures import FINESS_SYSTEM, PROFESSION_SYSTEM, RPPS_SYSTEM
from maillage.territory.services import resolve

pytestmark = pytest.mark.django_db

TYPES = ("Practitioner", "PractitionerRole", "Organization", "Location", "HealthcareService")
CHAUMONT = "52121"
CH_CHAUMONT_FINESS = "520000027"


def validate(resource: dict) -> None:
    """Parse with the fhir.resources R4B model of the resource's type (raises if invalid)."""
    R4B.get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def get(client: Client, url: str, status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/fhir+json")
    return json.loads(response.content)


def ids(bundle: dict) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def user_with(role: str, practitioner: Practitioner | None = None, name: str = "u"):
    user = get_user_model().objects.create_user(name, password="x-Long-passw0rd")
    Profile.objects.create(user=user, role=role, practitioner=practitioner)
    return user


@pytest.fixture
def service(demo_db) -> HealthcareService:
    """A service with hours, a closure and pro-only fields at the CH de Chaumont."""
    org = Organization.objects.get(finess_et=CH_CHAUMONT_FINESS)
    loc = Location.objects.create(
        name="CH Chaumont — consultations", organization=org, commune_id=CHAUMONT, source="manual"
    )
    s = HealthcareService.objects.create(
        organization=org,
        location=loc,
        name="Consultation mémoire",
        category="Gériatrie",
        phone="03 25 30 70 30",
        mssante="memoire@ch-chaumont.mssante.fr",
        direct_line="03 25 30 70 99",
        source="manual",
    )
    OpeningHours.objects.create(service=s, weekday=1, opens="09:00", closes="12:00")
    OpeningException.objects.create(
        service=s, start_date="2026-08-01", end_date="2026-08-15", label="Congés"
    )
    return s


# --- CapabilityStatement, errors ---------------------------------------------------------------
def test_metadata_is_a_valid_capability_statement(client):
    cs = get(client, "/fhir/metadata")
    validate(cs)
    assert cs["fhirVersion"] == "4.0.1"
    resources = {r["type"]: r for r in cs["rest"][0]["resource"]}
    for kind in TYPES:
        assert {i["code"] for i in resources[kind]["interaction"]} == {"read", "search-type"}
    params = {p["name"] for p in resources["PractitionerRole"]["searchParam"]}
    assert {"practitioner", "organization", "role", "specialty", "location"} <= params
    assert resources["Organization"]["profile"].endswith("/as-dp-organization")


def test_errors_are_operation_outcomes(client, demo_db):
    for url, status in [
        ("/fhir/Patient", 404),
        ("/fhir/Patient/1", 404),
        ("/fhir/Practitioner/999999999", 404),
        ("/fhir/Practitioner/abc", 404),
        ("/fhir/Practitioner?colour=blue", 400),
        ("/fhir/Practitioner?name:fuzzy=x", 400),
        ("/fhir/Practitioner?_count=many", 400),
        ("/fhir/Practitioner?_offset=-1", 400),
        ("/fhir/PractitionerRole?practitioner=Organization/1", 400),
        ("/fhir/Bundle", 400),
        ("/fhir/Bundle?territory=epci:000000000", 404),
    ]:
        body = get(client, url, status)
        validate(body)
        assert body["resourceType"] == "OperationOutcome", url
        assert body["issue"][0]["diagnostics"]
    response = client.post("/fhir/Practitioner", data="{}", content_type="application/fhir+json")
    assert response.status_code == 405
    assert json.loads(response.content)["resourceType"] == "OperationOutcome"


# --- search and read: every resource validates ---------------------------------------------------
@pytest.mark.parametrize("kind", TYPES)
def test_search_and_read_emit_valid_resources(client, service, kind):
    bundle = get(client, f"/fhir/{kind}?_count=5")
    validate(bundle)
    assert bundle["type"] == "searchset"
    assert bundle["total"] >= 1
    assert len(bundle["entry"]) == min(5, bundle["total"])
    for entry in bundle["entry"]:
        assert entry["resource"]["resourceType"] == kind
        assert entry["fullUrl"].endswith(f"/fhir/{kind}/{entry['resource']['id']}")
        validate(entry["resource"])
    first = bundle["entry"][0]["resource"]
    assert get(client, f"/fhir/{kind}/{first['id']}") == first


def test_paging_with_count_and_offset(client, demo_db):
    page1 = get(client, "/fhir/Practitioner?family=B&_count=3")
    links = {link["relation"]: link["url"] for link in page1["link"]}
    assert page1["total"] == Practitioner.objects.filter(family_name__istartswith="B").count()
    assert page1["total"] > 6
    assert "_offset=3" in links["next"] and "family=B" in links["next"]
    page2 = get(client, links["next"].replace("http://testserver", ""))
    assert set(ids(page1)).isdisjoint(ids(page2))
    assert len(ids(page2)) == 3
    assert {link["relation"] for link in page2["link"]} >= {"self", "next", "previous"}
    by_page = get(client, "/fhir/Practitioner?family=B&_count=3&page=2")
    assert ids(by_page) == ids(page2)
    empty = get(client, "/fhir/Practitioner?family=B&_count=0")
    assert empty["total"] == page1["total"] and "entry" not in empty


# --- search parameters, hand-checked ---------------------------------------------------------
def test_organization_search_finess_establishments_of_chaumont(client, demo_db):
    bundle = get(
        client, "/fhir/Organization?address-city:exact=Chaumont&address-postalcode=52&_count=100"
    )
    assert bundle["total"] == 78
    for entry in bundle["entry"]:
        codes = [
            ext["valueCoding"]["code"]
            for ext in entry["resource"]["address"][0]["extension"]
            if ext["url"].endswith("fr-core-address-insee-code")
        ]
        assert codes == [CHAUMONT]
    # the hospital: by category (FINESS 355 = Centre hospitalier) and by FINESS identifier
    hospitals = get(client, "/fhir/Organization?address-city:exact=Chaumont&type=355")
    assert hospitals["total"] == 1
    hospital = hospitals["entry"][0]["resource"]
    assert hospital["name"] == "CENTRE HOSPITALIER DE CHAUMONT"
    by_finess = get(client, f"/fhir/Organization?identifier={FINESS_SYSTEM}|{CH_CHAUMONT_FINESS}")
    assert ids(by_finess) == [hospital["id"]]
    assert ids(get(client, f"/fhir/Organization?identifier={CH_CHAUMONT_FINESS}")) == [
        hospital["id"]
    ]
    assert get(client, f"/fhir/Organization?identifier=1{CH_CHAUMONT_FINESS}")["total"] == 0
    finess = [i for i in hospital["identifier"] if i["system"] == FINESS_SYSTEM]
    assert finess[0]["value"] == CH_CHAUMONT_FINESS
    assert finess[0]["type"]["coding"][0]["code"] == "FINEG"
    # name (starts with, case-insensitive), and several values ORed
    named = get(client, "/fhir/Organization?name=centre hospitalier de chaum")
    assert hospital["id"] in ids(named)
    both = get(client, "/fhir/Organization?address-city:exact=Chaumont&type=355,620")
    pharmacies = Organization.objects.filter(commune_id=CHAUMONT, category_code="620").count()
    assert both["total"] == 1 + pharmacies


def test_practitioner_and_role_search(client, demo_db):
    role = (
        PractitionerRole.objects.filter(location__commune_id=CHAUMONT, profession_code="10")
        .select_related("practitioner")
        .first()
    )
    person = role.practitioner
    found = get(client, f"/fhir/Practitioner?_id={person.pk}")
    assert ids(found) == [str(person.pk)]
    resource = found["entry"][0]["resource"]
    rpps = next(i for i in resource["identifier"] if i["system"] == RPPS_SYSTEM)
    # synthetic people have no RPPS: a pseudo-RPPS "99" + id, marked temporary, and the tag
    assert person.rpps is None and rpps["value"] == f"99{person.pk:09d}" and rpps["use"] == "temp"
    assert resource["meta"]["tag"][0]["code"] == "synthetic"
    assert ids(get(client, f"/fhir/Practitioner?identifier={RPPS_SYSTEM}|{rpps['value']}")) == [
        str(person.pk)
    ]
    by_name = get(client, f"/fhir/Practitioner?family={person.family_name.lower()}&_count=200")
    assert str(person.pk) in ids(by_name)
    assert (
        by_name["total"]
        == Practitioner.objects.filter(family_name__istartswith=person.family_name).count()
    )

    roles = get(client, f"/fhir/PractitionerRole?practitioner=Practitioner/{person.pk}")
    assert str(role.pk) in ids(roles)
    gps_here = get(
        client,
        f"/fhir/PractitionerRole?role={PROFESSION_SYSTEM}|10&location={role.location_id}&_count=200",
    )
    expected = PractitionerRole.objects.filter(
        location_id=role.location_id, profession_code="10"
    ).count()
    assert gps_here["total"] == expected >= 1
    for entry in gps_here["entry"]:
        code = entry["resource"]["code"][0]["coding"][0]
        assert (code["system"], code["code"], code["display"]) == (
            PROFESSION_SYSTEM,
            "10",
            "Médecin",
        )
        assert entry["resource"]["specialty"][0]["coding"][0]["display"] == "Médecine générale"
    sm54 = get(client, "/fhir/PractitionerRole?specialty=SM54&role=10&_count=1")
    assert sm54["total"] == PractitionerRole.objects.filter(specialty_code="SM54").count()
    nurses = get(client, "/fhir/PractitionerRole?role=60&_count=1")
    assert nurses["total"] == PractitionerRole.objects.filter(profession_code="60").count()
    assert get(client, "/fhir/PractitionerRole?role=http://other|10")["total"] == 0
    # the GPs of Chaumont practise in no organisation: take a role in Chaumont that does
    in_org = (
        PractitionerRole.objects.filter(location__commune_id=CHAUMONT)
        .exclude(organization=None)
        .order_by("pk")
        .first()
    )
    assert in_org is not None, "the demo data have no role in an organisation in Chaumont"
    at_org = get(client, f"/fhir/PractitionerRole?organization={in_org.organization_id}&_count=200")
    assert str(in_org.pk) in ids(at_org)
    assert (
        at_org["total"]
        == PractitionerRole.objects.filter(organization_id=in_org.organization_id).count()
    )


def test_location_and_service_search(client, service):
    org_id = service.organization_id
    here = get(client, f"/fhir/Location?organization=Organization/{org_id}")
    assert str(service.location_id) in ids(here)
    in_chaumont = get(client, "/fhir/Location?address-city:exact=Chaumont&_count=1")
    assert in_chaumont["total"] == Location.objects.filter(commune__name="Chaumont").count()
    services = get(client, f"/fhir/HealthcareService?organization={org_id}&name=consultation")
    assert ids(services) == [str(service.pk)]
    resource = services["entry"][0]["resource"]
    assert resource["availableTime"] == [
        {"daysOfWeek": ["tue"], "availableStartTime": "09:00:00", "availableEndTime": "12:00:00"}
    ]
    assert resource["notAvailable"][0]["during"] == {"start": "2026-08-01", "end": "2026-08-15"}
    assert get(client, "/fhir/HealthcareService?name=nothing-like-this")["total"] == 0


# --- pro-only fields and non-public records ----------------------------------------------------
def test_pro_only_fields_only_for_professionals(client, service):
    person = Practitioner.objects.first()
    person.mssante = "dr.secret@medecin.mssante.fr"
    person.direct_line = "03 25 99 99 99"
    person.notes_pro = "joignable après 19 h"
    person.save()
    secrets = (person.mssante, person.direct_line, service.mssante, service.direct_line)
    urls = [
        f"/fhir/Practitioner/{person.pk}",
        f"/fhir/Practitioner?_id={person.pk}",
        f"/fhir/HealthcareService/{service.pk}",
    ]
    for url in urls:
        text = client.get(url).content.decode()
        for secret in secrets:
            assert secret not in text, url
        assert "MSSANTE" not in text

    client.force_login(user_with(Role.PROFESSIONAL, name="pro"))
    resource = get(client, f"/fhir/Practitioner/{person.pk}")
    validate(resource)
    mss = [t for t in resource["telecom"] if t.get("extension")]
    assert mss[0]["value"] == person.mssante
    assert mss[0]["extension"][0]["valueCoding"]["code"] == "MSSANTE"
    assert person.notes_pro not in json.dumps(resource, ensure_ascii=False)
    text = client.get(f"/fhir/HealthcareService/{service.pk}").content.decode()
    assert service.mssante in text and service.direct_line in text
    # reads of pro-only data are in the audit log (who, what; never the values)
    events = AuditEvent.objects.filter(action="view_pro", target_type="practitioner")
    assert events.filter(target_id=str(person.pk)).exists()
    assert person.mssante not in json.dumps(list(events.values_list("details", flat=True)))


def test_non_public_service_is_hidden_from_anonymous(client, service):
    service.public = False
    service.save()
    get(client, f"/fhir/HealthcareService/{service.pk}", 404)
    assert get(client, f"/fhir/HealthcareService?_id={service.pk}")["total"] == 0
    client.force_login(user_with(Role.COORDINATOR, name="coord"))
    assert get(client, f"/fhir/HealthcareService/{service.pk}")["id"] == str(service.pk)


# --- territory export ----------------------------------------------------------------------
def test_cpts_territory_bundle_round_trips_through_the_annuaire_reader(tmp_path, demo_db):
    territory = resolve("cpts-saint-dizier-der-blaise")
    communes = set(territory.communes.values_list("code", flat=True))
    bundle = fhir.territory_bundle(territory)
    R4B.get_fhir_model_class("Bundle").model_validate(
        {k: v for k, v in bundle.items() if k != "entry"}
    )
    assert bundle["type"] == "collection"
    resources = [e["resource"] for e in bundle["entry"]]
    for resource in resources:
        validate(resource)
    by_type: dict[str, list[dict]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(resource)
    roles_in = PractitionerRole.objects.filter(location__commune_id__in=communes)
    assert len(by_type["PractitionerRole"]) == roles_in.count() > 100
    people = set(roles_in.values_list("practitioner_id", flat=True))
    assert len(by_type["Practitioner"]) == len(people)
    # every reference resolves inside the Bundle
    present = {f"{r['resourceType']}/{r['id']}" for r in resources}
    for role in by_type["PractitionerRole"]:
        refs = [role["practitioner"], role.get("organization"), *role.get("location", [])]
        assert {ref["reference"] for ref in refs if ref} <= present
    # synthetic data is flagged, on the Bundle and on each synthetic resource
    assert bundle["meta"]["tag"][0]["code"] == "synthetic"
    assert all(p["meta"]["tag"][0]["code"] == "synthetic" for p in by_type["Practitioner"])

    path = tmp_path / "cpts.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    read = read_annuaire_bundle(path)
    assert len(read.practitioners) == len(people)
    assert len(read.roles) == roles_in.count()
    assert set(read.roles["profession_code"].dropna()) <= {"10", "40", "50", "60", "70", "91"}
    assert read.practitioners["rpps"].str.startswith("99").all()
    finess_in = Organization.objects.filter(commune_id__in=communes, finess_et__isnull=False)
    assert set(read.organizations["finess"].dropna()) >= set(
        finess_in.values_list("finess_et", flat=True)
    )


def test_territory_bundle_over_http_and_query_count(client, demo_db, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        bundle = get(client, "/fhir/Bundle?territory=epci:200068666")
    assert bundle["type"] == "collection" and len(bundle["entry"]) > 50
    assert all(e["fullUrl"].startswith("http://testserver/fhir/") for e in bundle["entry"])
    communes = set(resolve("epci:200068666").communes.values_list("code", flat=True))
    orgs = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Organization"
    ]
    assert len(orgs) >= Organization.objects.filter(commune_id__in=communes).count()


def test_departement_bundle_is_built_in_a_fixed_number_of_queries(
    demo_db, django_assert_max_num_queries
):
    territory = resolve("departement:52")
    with django_assert_max_num_queries(10):
        bundle = fhir.territory_bundle(territory)
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Organization", "Location", "Practitioner", "PractitionerRole"} <= kinds
    people = PractitionerRole.objects.filter(location__commune__departement_id="52")
    assert sum(
        1 for e in bundle["entry"] if e["resource"]["resourceType"] == "PractitionerRole"
    ) == (people.count())


def test_export_function_writes_a_readable_file(tmp_path, demo_db):
    path = tmp_path / "epci.json"
    count = fhir.export_territory_bundle("epci:200068666", path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert len(data["entry"]) == count > 0
    assert read_annuaire_bundle(path).organizations.shape[0] > 0
