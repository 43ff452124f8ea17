"""The shared identity form: French messages, normalised traits, minimum age."""

from __future__ import annotations

import datetime as dt

from maillage.care.people.forms import IdentityForm
from maillage.care.people.models import Person
from maillage.care.people.services import create_person

DATA = {
    "birth_name": "  de la  Tour ",
    "first_names": "Jeanne, Marie",
    "birth_date": "2020-06-15",
    "sex": "F",
    "phone": "01 99 00 45 67",
}
TODAY = dt.date(2026, 6, 14)


def test_valid_traits_are_normalised_and_create_a_person(db):
    form = IdentityForm(DATA, on=TODAY)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["birth_name"] == "DE LA TOUR"
    assert form.cleaned_data["first_names"] == "Jeanne Marie"
    assert form.cleaned_data["phone"] == "+33199004567"
    person = create_person(None, "booking", synthetic=True, **form.cleaned_data)
    assert Person.objects.get(pk=person.pk).birth_date == dt.date(2020, 6, 15)


def test_minimum_age_is_a_clear_message():
    form = IdentityForm(DATA, min_age=6, on=TODAY)  # 6 tomorrow
    assert not form.is_valid()
    assert form.errors["birth_date"] == ["Ce service accueille les personnes à partir de 6 ans."]
    assert IdentityForm(DATA, min_age=6, on=TODAY + dt.timedelta(days=1)).is_valid()


def test_bad_values_are_french_sentences():
    form = IdentityForm(
        {**DATA, "phone": "12", "birth_date": "2099-01-01", "sex": "X", "email": "x@"}, on=TODAY
    )
    assert not form.is_valid()
    assert "n'est pas un numéro de téléphone valide" in form.errors["phone"][0]
    assert form.errors["birth_date"] == ["La date de naissance est dans le futur."]
    assert "Sélectionnez un choix valide" in form.errors["sex"][0]
    assert form.errors["email"] == ["Adresse électronique invalide."]
    assert IdentityForm({**DATA, "birth_date": "31/02/2000"}, on=TODAY).errors["birth_date"] == [
        "Date de naissance invalide (jj/mm/aaaa)."
    ]
