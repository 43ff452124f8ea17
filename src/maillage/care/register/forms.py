"""The register's forms, in French: a registration (identity traits of care.people's
:class:`~maillage.care.people.forms.IdentityForm`, the commune among the agent's, the minimal
data of the watch, consent) and the opening of a campaign."""

from __future__ import annotations

from typing import Any

from django import forms

from maillage.care.people.forms import IdentityForm
from maillage.care.people.models import e164_phone
from maillage.care.register.models import CampaignKind, Level, Mobility, RegisteredBy

CONSENT = (
    "La personne accepte d'être inscrite au registre de sa commune, pour être appelée (et si "
    "besoin visitée) pendant les alertes canicule, grand froid ou autres."
)
CHOICE_ERRORS = {
    "invalid_choice": "Choix inconnu : « %(value)s ».",
    "required": "Choisissez une valeur.",
}


class _RegistrationData:
    """What both registration forms hand to the service: the identity traits given, and the
    register's details."""

    cleaned_data: dict[str, Any]

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


class RegistrationForm(_RegistrationData, IdentityForm):
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


PUBLIC_CONSENT = (
    "La personne inscrite accepte que sa commune (son CCAS) garde ces informations dans son "
    "registre des personnes vulnérables, pour l'appeler et si besoin lui rendre visite pendant "
    "les alertes canicule, grand froid ou autres, et pour prévenir les personnes indiquées. "
    "Elle pourra demander à tout moment à en être retirée ; sans reconfirmation chaque année, "
    "elle en est retirée."
)
PUBLIC_SHARE = (
    "Elle accepte que les professionnels de santé qui la suivent (médecin traitant, "
    "infirmier·ère de la CPTS) sachent qu'elle est inscrite au registre — sans aucun détail."
)
FILLED_BY = [
    (RegisteredBy.SELF, "Moi-même : je m'inscris"),
    (RegisteredBy.RELATIVE, "Un proche : j'inscris un parent, un voisin, un ami"),
    (RegisteredBy.PROFESSIONAL, "Un professionnel (aide à domicile, soignant…)"),
]


class PublicRegistrationForm(_RegistrationData, IdentityForm):
    """The request on the public page, with no account: who fills it in, the person's identity
    and the minimal data of the watch, consent. The commune is typed (name or postal code)."""

    registered_by = forms.ChoiceField(
        label="Vous êtes", choices=FILLED_BY, widget=forms.RadioSelect,
        error_messages={**CHOICE_ERRORS, "required": "Indiquez qui remplit la demande."},
    )  # fmt: skip
    requester_name = forms.CharField(
        label="Votre nom et prénom", required=False, max_length=150,
        help_text="Si vous inscrivez quelqu'un d'autre.",
    )  # fmt: skip
    requester_phone = forms.CharField(
        label="Votre téléphone", required=False, max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )  # fmt: skip
    commune = forms.CharField(
        label="Commune", max_length=120,
        help_text="Son nom, ou le code postal et le nom (par exemple 52100 Saint-Dizier).",
        error_messages={"required": "Indiquez la commune."},
    )  # fmt: skip
    address = forms.CharField(
        label="Adresse (numéro, rue, étage, code de la porte)", max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Indiquez l'adresse : elle sert à une visite si besoin."},
    )  # fmt: skip
    emergency_contacts = forms.CharField(
        label="Personnes à prévenir (nom, lien, téléphone)", required=False, max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip
    living_alone = forms.BooleanField(label="Vit seule", required=False)
    mobility = forms.ChoiceField(
        label="Mobilité", choices=Mobility.choices, error_messages=CHOICE_ERRORS,
        initial=Mobility.AUTONOMOUS,
    )  # fmt: skip
    power_devices = forms.BooleanField(
        label="Utilise un appareil médical qui a besoin d'électricité", required=False
    )
    power_devices_detail = forms.CharField(
        label="Lequel (oxygène, lit médicalisé…)", required=False, max_length=300
    )
    attending_doctor = forms.CharField(
        label="Médecin traitant (facultatif)", required=False, max_length=200
    )
    nurse = forms.CharField(label="Infirmier·ère (facultatif)", required=False, max_length=200)
    vulnerability_notes = forms.CharField(
        label="Précisions utiles pour l'appeler (malentendant·e, horaires…)", required=False,
        max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip
    share_with_professionals = forms.BooleanField(label=PUBLIC_SHARE, required=False)
    consent = forms.BooleanField(
        label=PUBLIC_CONSENT,
        error_messages={"required": "L'accord de la personne est nécessaire pour l'inscrire."},
    )
    website = forms.CharField(required=False, label="Ne pas remplir")  # honeypot

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("birth_name", "first_names", "birth_date", "sex", "phone"):
            self.fields[name].error_messages["required"] = "Ce champ est obligatoire."
        self.fields["phone"].label = "Téléphone de la personne"
        self.fields["phone"].help_text = "Le numéro où l'appeler pendant une alerte."

    def clean_commune(self) -> Any:
        from maillage.care.people.forms import find_commune

        return find_commune(self.cleaned_data["commune"])

    def clean_requester_phone(self) -> str:
        value = self.cleaned_data.get("requester_phone", "")
        if not value:
            return ""
        try:
            return e164_phone(value, "Votre téléphone")
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_website(self) -> str:
        if self.cleaned_data.get("website"):
            raise forms.ValidationError("Formulaire refusé.")
        return ""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("registered_by") not in (None, "", RegisteredBy.SELF):
            if not data.get("requester_name"):
                self.add_error(
                    "requester_name", "Indiquez votre nom : la mairie pourra vous joindre."
                )
            if not data.get("requester_phone") and "requester_phone" not in self.errors:
                self.add_error("requester_phone", "Indiquez votre téléphone.")
        if data.get("power_devices_detail") and not data.get("power_devices"):
            data["power_devices"] = True
        return data


class CampaignForm(forms.Form):
    kind = forms.ChoiceField(
        label="Alerte", choices=CampaignKind.choices, error_messages=CHOICE_ERRORS
    )
    level = forms.ChoiceField(label="Niveau", choices=Level.choices, error_messages=CHOICE_ERRORS)
    territory = forms.ChoiceField(
        label="Tout un territoire", required=False, error_messages=CHOICE_ERRORS,
        help_text="Toutes ses communes : les personnes inscrites de chacune seront appelées.",
    )  # fmt: skip
    communes = forms.MultipleChoiceField(
        label="ou des communes", widget=forms.CheckboxSelectMultiple, required=False,
        error_messages=CHOICE_ERRORS,
    )  # fmt: skip
    max_attempts = forms.IntegerField(
        label="Appels sans réponse avant une visite à domicile", min_value=1, max_value=10,
        initial=3,
        error_messages={"invalid": "Indiquez un nombre.", "min_value": "Au moins 1.",
                        "max_value": "Au plus 10."},
    )  # fmt: skip

    def __init__(
        self,
        *args: Any,
        communes: list[tuple[str, str]],
        territories: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["communes"].choices = communes
        if territories:
            self.fields["territory"].choices = [("", "—"), *territories]
        else:
            del self.fields["territory"]
            self.fields["communes"].label = "Communes concernées"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("territory") and not data.get("communes") and not self.errors:
            raise forms.ValidationError("Choisissez au moins une commune, ou tout un territoire.")
        return data
