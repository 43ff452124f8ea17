"""The register's forms, in French: a registration (identity traits of care.people's
:class:`~maillage.care.people.forms.IdentityForm`, the commune among the agent's, the minimal
data of the watch, consent) and the opening of a campaign."""

from __future__ import annotations

from typing import Any

from django import forms

from maillage.care.people.forms import IdentityForm
from maillage.care.register.models import CampaignKind, Level, Mobility, RegisteredBy

CONSENT = (
    "La personne accepte d'être inscrite au registre de sa commune, pour être appelée (et si "
    "besoin visitée) pendant les alertes canicule, grand froid ou autres."
)
CHOICE_ERRORS = {
    "invalid_choice": "Choix inconnu : « %(value)s ».",
    "required": "Choisissez une valeur.",
}


class RegistrationForm(IdentityForm):
    commune = forms.ChoiceField(label="Commune", error_messages=CHOICE_ERRORS)
    address = forms.CharField(
        label="Adresse", max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )
    emergency_contacts = forms.CharField(
        label="Personnes à prévenir (nom, lien, téléphone)", required=False, max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip
    living_alone = forms.BooleanField(label="Vit seule", required=False)
    mobility = forms.ChoiceField(
        label="Mobilité", choices=Mobility.choices, error_messages=CHOICE_ERRORS
    )
    power_devices = forms.BooleanField(
        label="Utilise un appareil médical qui a besoin d'électricité", required=False
    )
    power_devices_detail = forms.CharField(
        label="Lequel (oxygène, lit médicalisé…)", required=False, max_length=300
    )
    attending_doctor = forms.CharField(label="Médecin traitant", required=False, max_length=200)
    nurse = forms.CharField(label="Infirmier·ère", required=False, max_length=200)
    vulnerability_notes = forms.CharField(
        label="Précisions utiles à l'appel (malentendant, etc.)", required=False,
        max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip
    registered_by = forms.ChoiceField(
        label="Inscription demandée par", choices=RegisteredBy.choices,
        error_messages=CHOICE_ERRORS,
    )  # fmt: skip
    share_with_professionals = forms.BooleanField(
        label="La personne accepte que ses soignants sachent qu'elle est inscrite", required=False
    )
    consent = forms.BooleanField(
        label=CONSENT,
        error_messages={"required": "L'accord de la personne est nécessaire pour l'inscrire."},
    )

    def __init__(self, *args: Any, communes: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["commune"].choices = [("", "—"), *communes]

    def traits(self) -> dict[str, Any]:
        data = self.cleaned_data
        keys = ("birth_name", "first_names", "used_name", "used_first_name", "birth_date", "sex",
                "phone", "email")  # fmt: skip
        return {k: data[k] for k in keys if data.get(k) not in (None, "")}

    def details(self) -> dict[str, Any]:
        data = self.cleaned_data
        keys = ("address", "emergency_contacts", "living_alone", "mobility", "power_devices",
                "power_devices_detail", "attending_doctor", "nurse", "vulnerability_notes",
                "share_with_professionals")  # fmt: skip
        return {k: data[k] for k in keys}


class CampaignForm(forms.Form):
    kind = forms.ChoiceField(
        label="Alerte", choices=CampaignKind.choices, error_messages=CHOICE_ERRORS
    )
    level = forms.ChoiceField(label="Niveau", choices=Level.choices, error_messages=CHOICE_ERRORS)
    communes = forms.MultipleChoiceField(
        label="Communes concernées", widget=forms.CheckboxSelectMultiple,
        error_messages={**CHOICE_ERRORS, "required": "Choisissez au moins une commune."},
    )  # fmt: skip
    max_attempts = forms.IntegerField(
        label="Appels sans réponse avant une visite à domicile", min_value=1, max_value=10,
        initial=3,
        error_messages={"invalid": "Indiquez un nombre.", "min_value": "Au moins 1.",
                        "max_value": "Au plus 10."},
    )  # fmt: skip

    def __init__(self, *args: Any, communes: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["communes"].choices = communes
