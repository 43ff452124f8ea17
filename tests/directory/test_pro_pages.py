"""The professional space through Django's test client: access, forms, CSRF, login security."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from maillage.accounts.models import AuditEvent, Profile, Role
from maillage.directory.changes import ChangeProposal, MergeImport
from maillage.directory.models import Location, Organization, PractitionerRole
from maillage.territory.models import Territory

PASSWORD = "Un-mot-de-passe-solide-42"
COORDINATOR_PAGES = ["/pro/a-valider/", "/pro/a-relancer/", "/pro/historique/", "/pro/importer/"]


def make_user(username: str, role: str, practitioner=None):
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    Profile.objects.create(user=user, role=role, practitioner=practitioner)
    return user


@pytest.fixture
def role(demo_db) -> PractitionerRole:
    role = (
        PractitionerRole.objects.filter(synthetic=True, location__isnull=False)
        .select_related("practitioner", "location")
        .order_by("pk")
        .first()
    )
    PractitionerRole.objects.filter(pk=role.pk).update(accepts_new_patients=None)
    role.refresh_from_db()
    p = role.practitioner
    p.mssante = "dr.secret@medecin.mssante.fr"
    p.direct_line = "03 25 01 02 03"
    p.notes_pro = "Joignable entre 12 h et 13 h pour les confrères."
    p.save()
    return role


@pytest.fixture
def pro(role):
    return make_user("dr.pro", Role.PROFESSIONAL, role.practitioner)


@pytest.fixture
def coordinator(demo_db):
    return make_user("coord", Role.COORDINATOR)


def form_data(response) -> dict[str, str]:
    """What a browser would submit for the unchanged "Ma fiche" forms."""
    from django.forms import CheckboxInput, CheckboxSelectMultiple, NullBooleanSelect

    data: dict[str, str | list[str]] = {}
    for _, _, _, form in response.context["forms"]:
        for bound in form:
            value = bound.value()
            if isinstance(bound.field.widget, CheckboxSelectMultiple):
                data[bound.html_name] = list(value or [])
            elif isinstance(bound.field.widget, CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif isinstance(bound.field.widget, NullBooleanSelect):
                data[bound.html_name] = {None: "unknown", True: "true", False: "false"}[value]
            else:
                data[bound.html_name] = "" if value is None else str(value)
    return data


def test_anonymous_is_sent_to_login(client, demo_db):
    for url in ["/pro/", "/pro/ma-fiche/", *COORDINATOR_PAGES, "/pro/historique/location/1/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == "/connexion/?next=" + url
    login = client.get("/connexion/?next=/pro/ma-fiche/")
    assert login.status_code == 200 and "Connexion professionnelle" in login.content.decode()


def test_professional_cannot_open_coordinator_pages(client, pro, role):
    client.force_login(pro)
    for url in [*COORDINATOR_PAGES, f"/pro/historique/practitioner/{role.practitioner_id}/"]:
        assert client.get(url).status_code == 403, url
    assert client.post("/pro/a-valider/1/", {"p1-decision": "publish"}).status_code == 403
    assert AuditEvent.objects.filter(user=pro, action="forbidden").exists()
    assert client.get("/pro/").status_code == 302  # to their entry


def test_my_entry_shows_pro_fields_and_takes_a_proposal(client, pro, role):
    client.force_login(pro)
    page = client.get("/pro/ma-fiche/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "dr.secret@medecin.mssante.fr" in html
    assert "03 25 01 02 03" in html
    assert "Joignable entre 12 h" in html
    assert "Espace pro" in html and "Déconnexion" in html
    assert "À valider" not in html  # coordinator navigation hidden
    assert AuditEvent.objects.filter(user=pro, action="view_pro").exists()
    # the form offers the editable fields only
    names = {b.name for _, _, _, f in page.context["forms"] for b in f}
    assert "family_name" not in names and "rpps" not in names
    assert {"mssante", "phone", "accepts_new_patients", "opening_hours"} <= names

    data = form_data(page)
    data[f"l{role.location_id}-phone"] = "03 25 44 55 66"
    data[f"r{role.pk}-accepts_new_patients"] = "true"
    data["comment"] = "Nouveau numéro du cabinet"
    response = client.post("/pro/ma-fiche/", data)
    assert response.status_code == 302
    proposals = ChangeProposal.objects.filter(proposed_by=pro).order_by("target_type")
    assert [(p.target_type, p.changes) for p in proposals] == [
        ("location", {"phone": "03 25 44 55 66"}),
        ("role", {"accepts_new_patients": True}),
    ]
    page = client.get("/pro/ma-fiche/")
    html = page.content.decode()
    assert "Votre proposition est transmise" in html or "votre proposition est transmise" in html
    assert html.count('data-testid="pending-proposal"') == 2
    assert "03 25 44 55 66" in html
    role.location.refresh_from_db()
    assert role.location.phone != "03 25 44 55 66"


def test_the_form_asks_each_question_once_in_french_with_checked_values(client, pro, role):
    """No duplicate field, languages by name, phone numbers and postal codes checked and
    written the French way, errors with French labels only."""
    client.force_login(pro)
    page = client.get("/pro/ma-fiche/")
    labels = [b.label for _, _, _, f in page.context["forms"] for b in f]
    assert len(labels) == len(set(labels)), labels
    html = page.content.decode()
    assert 'value="en"' in html and "anglais" in html and "allemand" in html

    data = form_data(page)
    data["p-languages"] = ["en", "ar"]
    data["p-direct_line"] = "+33 (0)3.25.01.02.04"
    data[f"l{role.location_id}-phone"] = "0325445566"
    assert client.post("/pro/ma-fiche/", data).status_code == 302
    changes = dict(
        ChangeProposal.objects.filter(proposed_by=pro).values_list("target_type", "changes")
    )
    assert changes["practitioner"] == {"languages": "en,ar", "direct_line": "03 25 01 02 04"}
    assert changes["location"] == {"phone": "03 25 44 55 66"}
    assert "anglais, arabe" not in html  # not yet published: the entry is unchanged

    commune = role.location.commune
    for field, value, message in [
        (f"l{role.location_id}-phone", "03 25 44", "pas un numéro de téléphone valide"),
        (f"l{role.location_id}-postal_code", "5200", "pas un code postal (5 chiffres)"),
        (f"l{role.location_id}-postal_code", "75001", f"pas un code postal de {commune.name}"),
        ("p-languages", ["xx"], "Sélectionnez un choix valide"),
    ]:
        bad = form_data(client.get("/pro/ma-fiche/"))
        bad[field] = value
        response = client.post("/pro/ma-fiche/", bad)
        text = response.content.decode()
        assert response.status_code == 200 and message in text, (field, value)
        assert "(phone)" not in text and "(postal_code)" not in text


def test_invalid_proposal_writes_nothing(client, pro, role):
    client.force_login(pro)
    data = form_data(client.get("/pro/ma-fiche/"))
    data[f"l{role.location_id}-phone"] = "03 25 44 55 66"
    data["p-mssante"] = "pas-une-adresse"
    response = client.post("/pro/ma-fiche/", data)
    assert response.status_code == 200
    assert "Certaines valeurs sont à corriger" in response.content.decode()
    assert not ChangeProposal.objects.filter(proposed_by=pro).exists()
    unchanged = client.post("/pro/ma-fiche/", form_data(client.get("/pro/ma-fiche/")))
    assert "Aucune modification" in unchanged.content.decode()


def test_csrf_is_enforced(pro, role):
    client = Client(enforce_csrf_checks=True)
    client.force_login(pro)
    page = client.get("/pro/ma-fiche/")
    data = form_data(page)
    data["p-languages"] = ["fr", "en"]
    assert client.post("/pro/ma-fiche/", data).status_code == 403
    assert not ChangeProposal.objects.exists()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    assert client.post("/pro/ma-fiche/", {**data, "csrfmiddlewaretoken": token}).status_code == 302
    assert ChangeProposal.objects.filter(proposed_by=pro).count() == 1


def test_coordinator_reviews_with_diff_and_history(client, pro, coordinator, role):
    from maillage.directory import review

    proposal = review.propose(pro, role.location, {"phone": "03 25 44 55 66"}, "déménagement")
    client.force_login(coordinator)
    page = client.get("/pro/a-valider/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-proposal="{proposal.pk}"' in html
    assert "<ins>03 25 44 55 66</ins>" in html and "déménagement" in html
    assert client.get("/pro/").status_code == 200
    bad = client.post(f"/pro/a-valider/{proposal.pk}/", {f"p{proposal.pk}-decision": "maybe"})
    assert bad.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == ChangeProposal.Status.PENDING
    client.post(
        f"/pro/a-valider/{proposal.pk}/",
        {f"p{proposal.pk}-decision": "publish", f"p{proposal.pk}-comment": "ok"},
    )
    proposal.refresh_from_db()
    role.location.refresh_from_db()
    assert proposal.status == ChangeProposal.Status.PUBLISHED
    assert role.location.phone == "03 25 44 55 66"
    assert role.location.verified_on == timezone.localdate()

    review.edit(coordinator, role.location, {"opening_hours": "mardi 14h-18h30"}, "nouveaux")
    history = client.get(f"/pro/historique/location/{role.location_id}/")
    html = history.content.decode()
    assert "coord" in html and "<ins>03 25 44 55 66</ins>" in html
    assert "Horaires" in html and "<ins>mardi 14:00–18:30</ins>" in html
    assert f"proposition n° {proposal.pk}" in html
    found = client.get("/pro/historique/", {"q": str(role.practitioner)})
    assert f"/pro/historique/practitioner/{role.practitioner_id}/" in found.content.decode()
    assert client.get("/pro/historique/nothing/1/").status_code == 404


def test_stale_list_counts_filters_and_confirm(client, coordinator, role):
    client.force_login(coordinator)
    territory = Territory.objects.create(slug="t-pro", name="Test pro", kind="custom")
    territory.communes.add(role.location.commune)
    page = client.get("/pro/a-relancer/", {"type": "location", "territoire": "t-pro"})
    assert page.status_code == 200
    counts = {k: n for k, _, n in page.context["counts"]}
    expected = Location.objects.filter(commune=role.location.commune, verified_on__isnull=True)
    assert counts["location"] == expected.count() > 0
    everywhere = client.get("/pro/a-relancer/", {"type": "location"})
    assert {k: n for k, _, n in everywhere.context["counts"]}["location"] > counts["location"]
    response = client.post(
        f"/pro/a-relancer/location/{role.location_id}/verifiee/",
        {"next": "/pro/a-relancer/?type=location&territoire=t-pro"},
    )
    assert response.status_code == 302 and "territoire=t-pro" in response["Location"]
    again = client.get("/pro/a-relancer/", {"type": "location", "territoire": "t-pro"})
    assert {k: n for k, _, n in again.context["counts"]}["location"] == counts["location"] - 1


def test_import_through_the_pages(client, coordinator, tmp_path, role):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(coordinator)
    csv_text = (
        "Nom;Prénom;Profession;Adresse;CP;Ville;Tél. cabinet\n"
        "Nouveau;Léon;Orthophoniste;5 rue Victoire de la Marne;52000;Chaumont;03 25 03 03 03\n"
        "Faux;Numéro;Infirmier;1 place;52000;Chaumont;123\n"
    )
    upload = SimpleUploadedFile("cpts.csv", csv_text.encode("utf-8"), "text/csv")
    response = client.post("/pro/importer/", {"file": upload, "source_name": "Liste CPTS"})
    staged = MergeImport.objects.get()
    assert response["Location"] == f"/pro/importer/{staged.pk}/colonnes/"
    mapping_page = client.get(response["Location"])
    assert mapping_page.context["form"]["phone"].value() == "Tél. cabinet"
    post = {k: v or "" for k, v in staged.mapping.items()}
    assert client.post(response["Location"], post)["Location"] == f"/pro/importer/{staged.pk}/"
    review_page = client.get(f"/pro/importer/{staged.pk}/")
    html = review_page.content.decode()
    assert "nouveau" in html
    assert "erreur (ligne 3, colonne Tél. cabinet" in html
    apply = client.post(f"/pro/importer/{staged.pk}/", {"action": "apply", "decision-1": "ignore"})
    assert apply.status_code == 200 and "ligne 3" in apply.content.decode()
    staged.refresh_from_db()
    assert staged.status == MergeImport.Status.STAGED
    from maillage.directory.models import Practitioner

    assert not Practitioner.objects.filter(family_name="Nouveau").exists()
    # a wrong extension is refused with a clear message
    bad = SimpleUploadedFile("liste.pdf", b"%PDF", "application/pdf")
    page = client.post("/pro/importer/", {"file": bad})
    assert "non prise en charge" in page.content.decode()


def test_axes_locks_after_five_failures(client, pro):
    for _ in range(5):
        response = client.post("/connexion/", {"username": "dr.pro", "password": "mauvais"})
        assert not response.wsgi_request.user.is_authenticated
    locked = client.post("/connexion/", {"username": "dr.pro", "password": PASSWORD})
    assert locked.status_code in (403, 429)
    assert "_auth_user_id" not in client.session
    assert client.get("/pro/ma-fiche/").status_code == 302


def test_login_session_cookie_and_logout(client, pro):
    response = client.post(
        "/connexion/", {"username": "dr.pro", "password": PASSWORD, "next": "/pro/ma-fiche/"}
    )
    assert response.status_code == 302 and response["Location"] == "/pro/ma-fiche/"
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert not cookie["expires"] and not cookie["max-age"]  # gone when the browser closes
    assert client.session.get_expire_at_browser_close()
    assert client.session.get_expiry_age() == 8 * 3600
    assert get_user_model().objects.get(username="dr.pro").password.startswith("argon2")
    assert client.get("/pro/ma-fiche/").status_code == 200
    assert client.get("/deconnexion/").status_code == 405  # logout only by POST (CSRF-safe)
    client.post("/deconnexion/")
    assert client.get("/pro/ma-fiche/").status_code == 302


def _stale_counts(response) -> dict[str, int]:
    return {k: n for k, _, n in response.context["counts"]}


def test_a_scoped_coordinator_works_on_their_own_territory_only(client, role, pro):
    """Counts, follow-up and review queue open on the coordinator's territory; "every
    territory" is not offered and asking for it changes nothing."""
    from maillage.directory import review

    territory = Territory.objects.create(slug="t-scope", name="Secteur test", kind="custom")
    territory.communes.add(role.location.commune)
    scoped = make_user("coord.scope", Role.COORDINATOR)
    scoped.profile.territories.add(territory)
    outside = Location.objects.exclude(commune=role.location.commune).order_by("pk").first()
    review.propose(pro, role.location, {"phone": "03 25 44 55 66"}, "")
    other = make_user("autre", Role.COORDINATOR)
    review.propose(other, outside, {"phone": "03 25 77 88 99"}, "")
    client.force_login(scoped)

    home = client.get("/pro/")
    assert home.context["scope"].label == "Secteur test"
    assert "Tous les territoires" not in home.content.decode()
    queue = client.get("/pro/a-valider/")
    targets = {
        (i["proposal"].target_type, i["proposal"].target_id) for i, _ in queue.context["items"]
    }
    assert targets == {("location", role.location_id)}
    assert queue.context["pending_count"] == 1
    stale = client.get("/pro/a-relancer/", {"type": "location"})
    mine = Location.objects.filter(commune=role.location.commune, verified_on__isnull=True)
    assert _stale_counts(stale)["location"] == mine.count()
    asked_everywhere = client.get("/pro/a-relancer/", {"type": "location", "territoire": "tous"})
    assert _stale_counts(asked_everywhere)["location"] == mine.count()


def test_an_administrator_starts_on_the_platform_territory_and_may_see_every_one(client, role):
    from maillage.config import DEFAULT_TERRITORY
    from maillage.territory.services import resolve

    admin = get_user_model().objects.create_superuser("admin.scope", password=PASSWORD)
    client.force_login(admin)
    home = resolve(DEFAULT_TERRITORY)
    first = client.get("/pro/a-relancer/", {"type": "organization"})
    assert first.context["scope"].label == home.name
    in_home = Organization.objects.filter(
        commune__in=home.communes.all(), verified_on__isnull=True
    ).count()
    assert _stale_counts(first)["organization"] == in_home
    everywhere = client.get("/pro/a-relancer/", {"type": "organization", "territoire": "tous"})
    assert everywhere.context["scope"].communes is None
    assert _stale_counts(everywhere)["organization"] > _stale_counts(first)["organization"] > 0
    assert "Tous les territoires" in first.content.decode()


def test_a_coordinator_of_every_territory_sees_home_proposals_first_then_the_others(
    client, coordinator, pro, role
):
    from maillage.config import DEFAULT_TERRITORY
    from maillage.directory import review
    from maillage.territory.services import resolve

    home = set(resolve(DEFAULT_TERRITORY).communes.values_list("code", flat=True))
    inside = Location.objects.filter(commune_id__in=home).order_by("pk").first()
    outside = Location.objects.exclude(commune_id__in=home).order_by("pk").first()
    first = review.propose(coordinator, outside, {"phone": "03 25 77 88 99"}, "")
    second = review.propose(coordinator, inside, {"phone": "03 25 44 55 66"}, "")
    client.force_login(coordinator)
    queue = client.get("/pro/a-valider/")
    ids = [i["proposal"].pk for i, _ in queue.context["items"]]
    assert ids == [second.pk, first.pk]  # home first, although proposed later
    assert queue.context["elsewhere_from"] == 1 and queue.context["pending_count"] == 2
    assert 'data-testid="elsewhere"' in queue.content.decode()
