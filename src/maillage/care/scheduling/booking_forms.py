"""The forms of the booking pages and of the operator's screen (French labels and messages)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from maillage.care.people.models import Sex, e164_phone
from maillage.care.scheduling.models import ConsultationMode, Site
from maillage.directory.models import PractitionerRole

YES_NO = [("oui", "Oui"), ("non", "Non")]
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y"]


def gp_choices(site: Site | None) -> Any:
    """General practitioners of the site's commune in the directory (accepting new patients
    first), for "pick from the directory"."""
    qs = PractitionerRole.objects.filter(
        active=True, profession_code="10", specialty_code="SM54"
    ).select_related("practitioner")
    if site is not None and site.commune_id:
        qs = qs.filter(location__commune_id=site.commune_id)
    order = ("-accepts_new_patients", "practitioner__family_name", "pk")
    first = list(qs.order_by(*order).values_list("pk", flat=True)[:60])
    # not a sliced queryset: the form field must be able to filter it when it checks a choice
    return qs.filter(pk__in=first).order_by(*order)


class GpChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: PractitionerRole) -> str:
        return str(obj.practitioner)


class IdentityForm(forms.Form):
    """Who the person is (RNIV traits: the identity stays provisional), how to reach them, their
    médecin traitant, the reason, the consents."""

    birth_name = forms.CharField(
        label="Nom de naissance",
        max_length=100,
        widget=forms.TextInput(
            attrs={"autocomplete": "family-name", "autocapitalize": "characters"}
        ),
    )
    first_names = forms.CharField(
        label="Prénoms de naissance",
        max_length=200,
        help_text="Tous les prénoms de l'état civil, dans l'ordre (ex. : Jeanne Marie Louise).",
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    used_first_name = forms.CharField(
        label="Prénom utilisé (s'il diffère du premier)", max_length=100, required=False
    )
    birth_date = forms.DateField(
        label="Date de naissance",
        input_formats=DATE_FORMATS,
        help_text="JJ/MM/AAAA, par exemple 17/02/1941.",
        # a text field: typing eight digits beats scrolling decades in a date picker
        widget=forms.DateInput(
            attrs={"autocomplete": "bday", "inputmode": "numeric", "placeholder": "JJ/MM/AAAA"},
            format="%d/%m/%Y",
        ),
        error_messages={"invalid": "Date de naissance illisible : écrivez-la JJ/MM/AAAA."},
    )
    sex = forms.ChoiceField(label="Sexe", choices=Sex.choices, widget=forms.RadioSelect)
    phone = forms.CharField(
        label="Téléphone",
        max_length=30,
        help_text="Pour la confirmation et le rappel par SMS.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    email = forms.EmailField(
        label="Courriel (facultatif)", required=False,
        error_messages={"invalid": "Adresse électronique invalide."},
    )  # fmt: skip
    has_gp = forms.ChoiceField(
        label="Avez-vous un médecin traitant ?", choices=YES_NO, widget=forms.RadioSelect
    )
    gp_role = GpChoiceField(
        label="Votre médecin traitant dans l'annuaire",
        queryset=PractitionerRole.objects.none(),
        required=False,
        empty_label="— choisir —",
    )
    gp_label = forms.CharField(label="… ou son nom et sa commune", max_length=200, required=False)
    reason = forms.CharField(
        label="Motif de la consultation, en une ligne",
        max_length=200,
        help_text="Ex. : fièvre depuis deux jours. Il n'est jamais envoyé par SMS ni courriel.",
    )
    consent_teleconsultation = forms.BooleanField(
        label="J'accepte d'être examiné·e en téléconsultation, avec l'infirmier·ère de la salle.",
        required=False,
    )
    consent_report = forms.BooleanField(
        label="J'accepte que le compte rendu soit envoyé à mon médecin traitant.", required=False
    )
    consent_reminders = forms.BooleanField(
        label="Je souhaite un rappel la veille (SMS, et courriel si indiqué).",
        required=False,
        initial=True,
    )
    # a field people do not see (hidden by the style sheet); robots fill it in
    website = forms.CharField(label="Site web (laisser vide)", required=False)

    def __init__(self, *args: Any, site: Site | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site = site
        self.fields["gp_role"].queryset = gp_choices(site)
        self.teleconsultation = (
            site is not None and site.schedules.filter(mode=ConsultationMode.VR).exists()
        )
        if not self.teleconsultation:
            del self.fields["consent_teleconsultation"]

    def clean_birth_name(self) -> str:
        return " ".join(self.cleaned_data["birth_name"].split())

    def clean_first_names(self) -> str:
        return " ".join(self.cleaned_data["first_names"].replace(",", " ").split())

    def clean_birth_date(self) -> dt.date:
        value = self.cleaned_data["birth_date"]
        if value.year < 1900:
            raise forms.ValidationError("Date de naissance invalide (avant 1900).")
        if value > dt.date.today():
            raise forms.ValidationError("La date de naissance est dans le futur.")
        return value

    def clean_phone(self) -> str:
        try:
            return e164_phone(self.cleaned_data["phone"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_has_gp(self) -> bool:
        return self.cleaned_data["has_gp"] == "oui"

    def clean_reason(self) -> str:
        return " ".join(self.cleaned_data["reason"].split())

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("website"):
            raise forms.ValidationError("Envoi refusé (formulaire rempli automatiquement).")
        if self.teleconsultation and not data.get("consent_teleconsultation"):
            self.add_error(
                "consent_teleconsultation",
                "La salle fonctionne en téléconsultation : votre accord est nécessaire.",
            )
        if data.get("has_gp") is False and (data.get("gp_role") or data.get("gp_label")):
            self.add_error("gp_label", "Vous avez répondu ne pas avoir de médecin traitant.")
        if data.get("has_gp") is False:
            data["consent_report"] = False
        return data


class WaitlistForm(IdentityForm):
    from_date = forms.DateField(
        label="À partir du", input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )  # fmt: skip
    until_date = forms.DateField(
        label="Jusqu'au", input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )  # fmt: skip
    weekdays = forms.MultipleChoiceField(
        label="Jours qui vous conviennent (aucun coché : tous)",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[
            ("0", "lundi"), ("1", "mardi"), ("2", "mercredi"), ("3", "jeudi"),
            ("4", "vendredi"), ("5", "samedi"), ("6", "dimanche"),
        ],
    )  # fmt: skip


class SlotSearchForm(forms.Form):
    """The operator's search of free slots."""

    day = forms.DateField(
        label="Jour", required=False, input_formats=DATE_FORMATS,
        widget=forms.DateInput(
            attrs={"accesskey": "j", "placeholder": "JJ/MM/AAAA", "inputmode": "numeric"},
            format="%d/%m/%Y",
        ),
    )  # fmt: skip
    site = forms.ModelChoiceField(
        label="Site", queryset=Site.objects.none(), required=False, empty_label="Tous mes sites",
        widget=forms.Select(attrs={"accesskey": "s"}),
    )  # fmt: skip
    slot_type = forms.ChoiceField(
        label="Type",
        required=False,
        choices=[("", "Tous"), ("public", "Public"), ("pro", "Professionnels"), ("snp", "SNP"),
                 ("partner", "Partenaire")],
    )  # fmt: skip
    days = forms.IntegerField(
        label="Sur (jours)", min_value=1, max_value=31, initial=7, required=False
    )

    def __init__(self, *args: Any, sites: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites if sites is not None else Site.objects.none()


class CallerSearchForm(forms.Form):
    birth_name = forms.CharField(label="Nom de naissance", max_length=100, required=False,
                                 widget=forms.TextInput(attrs={"accesskey": "n"}))  # fmt: skip
    birth_date = forms.DateField(
        label="Date de naissance", required=False, input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"placeholder": "JJ/MM/AAAA", "inputmode": "numeric"},
                               format="%d/%m/%Y"),
        error_messages={"invalid": "Date de naissance illisible : écrivez-la JJ/MM/AAAA."},
    )  # fmt: skip
    phone = forms.CharField(
        label="ou téléphone",
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "accesskey": "t"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        if data.get("phone"):
            try:
                data["phone"] = e164_phone(data["phone"])
            except ValueError as exc:
                self.add_error("phone", str(exc))
        elif not (data.get("birth_name") and data.get("birth_date")):
            raise forms.ValidationError(
                "Cherchez par nom de naissance et date de naissance, ou par téléphone."
            )
        return data
