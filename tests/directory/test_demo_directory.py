"""The demo directory holds what the seed documents state, linked to the real FINESS
établissements, and loading it twice changes nothing."""

from __future__ import annotations

import stat
from collections import Counter

import pytest

from maillage.demo.accounts import (
    COORDINATOR_USERNAME,
    PROFESSIONAL_USERNAME,
    demo_accounts_path,
    ensure_demo_accounts,
)
from maillage.demo.directory import (
    S000,
    S001,
    S002,
    S003,
    S004,
    demo_content,
    load_demo_directory,
)
from maillage.directory.models import Action, Organization, Scheme, SchemeContact, SchemeKind
from maillage.territory.models import Commune, Territory

OPERATING = Scheme.Status.OPERATING
PLANNED = Scheme.Status.PLANNED


@pytest.fixture
def demo(demo_db):
    """The demo directory, loaded in this test's transaction (a reused test database may
    predate it; loading again is a no-op otherwise)."""
    return load_demo_directory()


def _codes(territory: Territory) -> set[str]:
    return set(territory.communes.values_list("code", flat=True))


def test_counts_per_kind_and_status(demo):
    counts = Counter(Scheme.objects.values_list("kind", "status"))
    assert counts[(SchemeKind.MSP, OPERATING)] == 7
    assert counts[(SchemeKind.MSP, PLANNED)] == 4
    assert counts[(SchemeKind.CPTS, OPERATING)] == 2  # Saint-Dizier; Centre-Sud (seed 002)
    assert counts[(SchemeKind.CPTS, PLANNED)] == 1  # Langres
    assert counts[(SchemeKind.CLS, OPERATING)] == 1  # Bassin de Joinville, signed
    assert counts[(SchemeKind.CLS, PLANNED)] == 2  # Pays de Chaumont, Pays de Langres
    assert counts[(SchemeKind.NIGHT_NURSE, OPERATING)] == 5
    assert counts[(SchemeKind.TELECONSULTATION, OPERATING)] == 2
    assert counts[(SchemeKind.PCPE, OPERATING)] == 1
    assert counts[(SchemeKind.DAC, OPERATING)] == 1  # PTA (seed 001)
    assert counts[(SchemeKind.DAC, PLANNED)] == 1  # DAC 2022 (seed 002)
    assert counts[(SchemeKind.CENTRE_SANTE, OPERATING)] == 2
    assert counts[(SchemeKind.OUTREACH, PLANNED)] == 1
    assert counts[(SchemeKind.HOSPITAL, OPERATING)] == 9
    assert demo.counts["dispositifs"] == 39
    assert demo.counts["actions"] == Action.objects.count() == 35


def test_cls_bassin_de_joinville_has_the_seeds_61_communes(demo):
    # The EPCI has 59 communes in the COG; the CLS was also signed by Froncles (CA de
    # Chaumont) and Doulaincourt-Saucourt (CC Meuse Rognon): 59 + 2 = the seed's 61.
    cls = Scheme.objects.get(slug="cls-bassin-de-joinville")
    codes = _codes(cls.perimeter)
    epci = set(Commune.objects.filter(epci_id="200044253").values_list("code", flat=True))
    assert len(epci) == 59
    assert codes == epci | {"52211", "52177"}
    assert len(codes) == 61
    assert cls.perimeter.kind == Territory.Kind.CLS


def test_cpts_perimeter_is_the_60_communes_of_the_agglomeration(demo):
    cpts = Scheme.objects.get(slug="cpts-saint-dizier-der-blaise")
    assert cpts.perimeter.slug == "cpts-saint-dizier-der-blaise"
    assert len(_codes(cpts.perimeter)) == 60
    assert cpts.commune_id == "52448"


def test_cls_pays_are_the_arrondissements(demo):
    for slug, arrondissement in (("cls-pays-de-chaumont", "521"), ("cls-pays-de-langres", "522")):
        perimeter = Scheme.objects.get(slug=slug).perimeter
        expected = Commune.objects.filter(arrondissement_id=arrondissement)
        assert _codes(perimeter) == set(expected.values_list("code", flat=True))


def test_hospitals_are_linked_to_their_finess(demo):
    for slug, finess, commune in (
        ("hopital-ch-chaumont", "520000027", "52121"),
        ("hopital-ch-saint-dizier", "520000068", "52448"),
        ("hopital-ch-langres", "520000043", "52269"),
        ("hopital-ch-bourbonne-les-bains", "520000019", "52060"),
        ("hopital-chu-dijon", "210986089", "21231"),
    ):
        scheme = Scheme.objects.select_related("organization").get(slug=slug)
        assert scheme.kind == SchemeKind.HOSPITAL
        assert scheme.finess == finess
        assert scheme.organization.finess_et == finess
        assert scheme.organization.commune_id == commune
        assert scheme.commune_id == commune


def test_operating_msp_are_finess_maisons_de_sante(demo):
    msp = Scheme.objects.filter(kind=SchemeKind.MSP, status=OPERATING).select_related(
        "organization"
    )
    assert {m.organization.category_code for m in msp} == {"603"}
    assert {m.commune_id for m in msp} == {
        "52197", "52064", "52074", "52211", "52250", "52448", "52060"
    }  # fmt: skip
    planned = Scheme.objects.filter(kind=SchemeKind.MSP, status=PLANNED)
    assert set(planned.values_list("commune_id", flat=True)) == {"52550", "52448", "52182", "52269"}
    assert not planned.filter(organization__isnull=False).exists()
    fayl = Scheme.objects.get(slug="msp-fayl-billot")
    assert "3 médecins généralistes, 5 infirmiers" in fayl.description
    langres = Scheme.objects.get(slug="msp-langres")
    assert "15 professionnels" in langres.description


def test_night_nurse_lines_group_the_named_ehpad(demo):
    lines = Scheme.objects.filter(kind=SchemeKind.NIGHT_NURSE)
    members = Organization.objects.filter(schemes__in=lines)
    assert members.count() == 13
    assert set(members.values_list("category_code", flat=True)) == {"500"}
    nogent = Scheme.objects.get(slug="astreinte-ide-nuit-nogent")
    assert set(nogent.member_organizations.values_list("commune_id", flat=True)) == {"52353"}


SOURCES = (S000, S001, S002, S003, S004)


def test_every_record_is_sourced_real_and_unverified(demo):
    for scheme in Scheme.objects.all():
        assert scheme.source_note.startswith(SOURCES), scheme.slug
        assert not scheme.synthetic and scheme.public
        assert scheme.verified_on is None
        assert not scheme.phone
    for action in Action.objects.all():
        assert action.source_note.startswith(SOURCES) and action.author, action.slug
        assert not action.link and not action.file  # the seeds give no document URL


def test_contacts_are_only_those_the_seeds_publish(demo):
    contacts = SchemeContact.objects.filter(scheme__slug="cpts-saint-dizier-der-blaise")
    assert {c.name for c in contacts} == {"Séverine Lagney", "Dr Bertrand Demangeon"}
    assert all(c.public for c in contacts)
    supervisor = SchemeContact.objects.get(scheme__slug="teleconsultation-clos-mortier")
    assert not supervisor.public and not supervisor.phone and not supervisor.email


def test_actions_library(demo):
    assert Action.objects.filter(slug__startswith="feuille-de-route-2021-").count() == 12
    pro = Action.objects.filter(visibility=Action.Visibility.PROFESSIONALS)
    assert pro.filter(kind=Action.Kind.PROTOCOL).exists()
    assert Action.objects.filter(kind=Action.Kind.PATHWAY).count() >= 1
    tlc = Action.objects.get(slug="cpts-sddb-protocole-teleconsultation-ide")
    assert tlc.visibility == Action.Visibility.PROFESSIONALS
    assert tlc.territory.slug == "cpts-saint-dizier-der-blaise"
    assert tlc.scheme.slug == "cpts-saint-dizier-der-blaise"


def test_reloading_changes_nothing(demo):
    def snapshot():
        return (
            list(Scheme.objects.order_by("slug").values_list("slug", "updated_at")),
            list(Action.objects.order_by("slug").values_list("slug", "updated_at")),
            Scheme.history.count(),
            Action.history.count(),
            SchemeContact.objects.count(),
            sorted(Scheme.member_organizations.through.objects.values_list("pk", flat=True)),
            sorted(Territory.objects.values_list("slug", "updated_at")),
        )

    before = snapshot()
    report = load_demo_directory()
    assert report.counts["créés"] == 0 and report.counts["modifiés"] == 0
    assert snapshot() == before


def test_missing_finess_is_skipped_not_fatal(demo):
    Organization.objects.filter(finess_et="210986089").delete()  # CHU de Dijon
    report = load_demo_directory()
    assert report.skipped["FINESS absents"] == 1
    chu = Scheme.objects.get(slug="hopital-chu-dijon")
    assert chu.organization is None and chu.finess == "210986089"


def test_demo_accounts_are_idempotent_and_private(demo_db, tmp_path, monkeypatch):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    monkeypatch.setenv("MAILLAGE_HOME", str(tmp_path))
    first = ensure_demo_accounts()
    path = demo_accounts_path()
    assert path.parent == tmp_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # with the CPTS's operator and nurse of the care scheduling (tests/care/scheduling) and
    # the hospital referent of the discharge letters (tests/care/letters)
    assert set(first) == {
        COORDINATOR_USERNAME,
        PROFESSIONAL_USERNAME,
        "operateur.cpts",
        "infirmiere.cpts",
        "referent.hopital",
        "ccas.saint-dizier",
    }
    assert ensure_demo_accounts() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first[PROFESSIONAL_USERNAME] in path.read_text(encoding="utf-8")

    coordinator = users.get(username=COORDINATOR_USERNAME)
    assert coordinator.check_password(first[COORDINATOR_USERNAME])
    assert coordinator.profile.role == "coordinator"
    doctor = users.get(username=PROFESSIONAL_USERNAME)
    assert doctor.check_password(first[PROFESSIONAL_USERNAME])
    assert doctor.profile.role == "professional"
    practitioner = doctor.profile.practitioner
    assert practitioner is not None and practitioner.synthetic
    assert practitioner.roles.filter(
        profession_code="10", specialty_code="SM54", location__commune_id="52121"
    ).exists()

    # A lost password file gives new passwords rather than leaving unknown ones in place.
    path.unlink()
    second = ensure_demo_accounts()
    assert second[COORDINATOR_USERNAME] != first[COORDINATOR_USERNAME]
    coordinator.refresh_from_db()
    assert not coordinator.check_password(first[COORDINATOR_USERNAME])
    assert coordinator.check_password(second[COORDINATOR_USERNAME])


def test_demo_data_files_are_read_and_every_record_cites_its_seed():
    """The records live in maillage/demo/data/*.yaml; each names the seed document it states."""
    content = demo_content()
    assert (len(content.territories), len(content.schemes), len(content.actions)) == (3, 39, 35)
    seeds = (S000, S001, S002, S003, S004)
    for spec in content.schemes + content.actions:
        assert any(seed in spec.source_note for seed in seeds), spec.slug
