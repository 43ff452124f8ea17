"""The identity form shared by every care page that takes a person's traits (a booking on the
web, an operator's call, a register's entry): RNIV strict traits, then contact, in French.
Its ``cleaned_data`` goes straight to :func:`maillage.care.people.services.create_person`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone

from maillage.care.people.models import Sex, e164_phone
from maillage.territory.models import Commune


class IdentityForm(forms.Form):
    """Identity traits and contact. ``min_age`` (years, on ``on``: today by default) refuses
    people too young for the service with a sentence saying so."""

    birth_name = forms.CharField(label="Nom de naissance", max_length=100)
    first_names = forms.CharField(
        label="Prénoms de naissance",
        max_length=200,
        help_text="Tous les prénoms, dans l'ordre de l'état civil.",
    )
    used_name = forms.CharField(label="Nom utilisé (si différent)", max_length=100, required=False)
    used_first_name = forms.CharField(
        label="Prénom utilisé (si différent)", max_length=100, required=False
    )
    birth_date = forms.DateField(
        label="Date de naissance",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Date de naissance invalide (jj/mm/aaaa)."},
    )
    sex = forms.ChoiceField(label="Sexe", choices=Sex.choices, widget=forms.RadioSelect)
    phone = forms.CharField(
        label="Téléphone",
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    email = forms.EmailField(
        label="Courriel (facultatif)",
        required=False,
        error_messages={"invalid": "Adresse électronique invalide."},
    )

    def __init__(
        self, *args: Any, min_age: int | None = None, on: dt.date | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.min_age = min_age
        self.on = on

    def clean_birth_date(self) -> dt.date:
        born = self.cleaned_data["birth_date"]
        today = self.on or timezone.localdate()
        if born > today:
            raise forms.ValidationError("La date de naissance est dans le futur.")
        if born.year < today.year - 125:
            raise forms.ValidationError("La date de naissance est trop ancienne.")
        if self.min_age is not None:
            age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
            if age < self.min_age:
                raise forms.ValidationError(
                    f"Ce service accueille les personnes à partir de {self.min_age} ans."
                )
        return born

    def clean_phone(self) -> str:
        try:
            return e164_phone(self.cleaned_data["phone"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_birth_name(self) -> str:
        return " ".join(self.cleaned_data["birth_name"].split()).upper()

    def clean_first_names(self) -> str:
        return " ".join(self.cleaned_data["first_names"].replace(",", " ").split())


def find_commune(text: str) -> Commune:
    """The commune a person typed: its name, its postal code, or both ("52100 Saint-Dizier");
    ValidationError in French when none or several match."""
    words = " ".join((text or "").replace(",", " ").split())
    if not words:
        raise forms.ValidationError("Indiquez votre commune.")
    code = next((w for w in words.split() if w.isdigit() and len(w) == 5), "")
    name = " ".join(w for w in words.split() if w != code).replace(" ", "-")
    found = Commune.objects.all()
    if code:
        found = found.filter(Q(postal_codes__contains=code) | Q(code=code))
    if name:
        found = found.filter(Q(name__iexact=name) | Q(name__iexact=name.replace("-", " ")))
    found = list(found.order_by("name")[:6])
    if not found:
        raise forms.ValidationError(
            f"Commune inconnue : « {words[:60]} ». Indiquez son nom ou son code postal."
        )
    if len(found) > 1:
        names = ", ".join(f"{c.name} ({c.departement_id})" for c in found[:5])
        raise forms.ValidationError(
            f"Plusieurs communes correspondent ({names}) : précisez le code postal et le nom."
        )
    return found[0]
