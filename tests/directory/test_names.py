"""Names of the national registers, written in capitals, as pages show them."""

from __future__ import annotations

import pytest

from maillage.directory.names import display_name


@pytest.mark.parametrize(
    "official, shown",
    [
        ("CENTRE HOSPITALIER DE CHAUMONT", "Centre Hospitalier de Chaumont"),
        ("CH DE ST-DIZIER", "CH de St-Dizier"),
        ("EHPAD LES TILLEULS", "EHPAD Les Tilleuls"),
        ("FOYER D'HEBERGEMENT ADASMS", "Foyer d'Hébergement Adasms"),
        ("CENTRE DE SANTE DENTAIRE MUTUALISTE", "Centre de Santé Dentaire Mutualiste"),
        ("PHARMACIE DE LA GARE", "Pharmacie de la Gare"),
        ("CENTRE HOSPITALIER DE BOURBONNE-LES-BAINS", "Centre Hospitalier de Bourbonne-les-Bains"),
        ("LA RECREATION", "La Recreation"),
        ("L'ARBRE DE VIE", "L'Arbre de Vie"),
        ("SELARL PHARMACIE DU JAVOT", "SELARL Pharmacie du Javot"),
        ("LBM ESPACEBIO ENOCH WASSY", "LBM Espacebio Enoch Wassy"),
        ("Maison de santé de Froncles", "Maison de santé de Froncles"),  # written by a person
        ("", ""),
    ],
)
def test_capitals_become_a_readable_name(demo_db, official, shown):
    assert display_name(official) == shown


def test_pages_show_the_readable_name_and_the_data_keep_the_official_one(client, demo_db):
    from maillage.directory.models import Organization

    org = Organization.objects.filter(name="CENTRE HOSPITALIER DE CHAUMONT").first() or (
        Organization.objects.filter(name__startswith="CENTRE HOSPITALIER", commune__code="52121")
        .order_by("pk")
        .first()
    )
    page = client.get(f"/annuaire/structure/{org.pk}/", HTTP_HOST="127.0.0.1")
    html = page.content.decode()
    assert display_name(org.name) in html and display_name(org.name) != org.name
    org.refresh_from_db()
    assert org.name.isupper()
    api = client.get(f"/api/directory/organizations/{org.pk}", HTTP_HOST="127.0.0.1")
    assert api.json()["name"] == org.name
