"""The referent's forms: one discharge typed by hand, a CSV upload, and the mapping of the
file's columns to the fields a discharge needs. Every message in French."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from maillage.care.letters.models import Channel, Destination, discharge_errors
from maillage.care.letters.services import imports
from maillage.care.people.forms import IdentityForm, find_commune
from maillage.directory.models import Organization, Practitioner
from maillage.territory.models import Commune

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DT_FORMATS = ["%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M"]
BAD_DT = {"invalid": "Date et heure invalides (jj/mm/aaaa hh:mm)."}


class HospitalField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Organization) -> str:
        return f"{obj.name} ({obj.city})" if obj.city else obj.name


class DischargeForm(IdentityForm):
    hospital = HospitalField(label="Établissement", queryset=Organization.objects.none())
    service = forms.CharField(label="Service", max_length=120)
    stay_number = forms.CharField(
        label="Numéro de séjour (facultatif)", max_length=40, required=False
    )
    admission_at = forms.DateTimeField(
        label="Entrée le", widget=DATETIME, input_formats=DT_FORMATS, error_messages=BAD_DT
    )
    discharge_at = forms.DateTimeField(
        label="Sortie le", widget=DATETIME, input_formats=DT_FORMATS, error_messages=BAD_DT
    )
    destination = forms.ChoiceField(label="Destination", choices=Destination.choices)
    residence = forms.CharField(
        label="Commune de résidence du patient (facultatif)",
        max_length=120,
        required=False,
        help_text="Code INSEE, code postal ou « 52100 Saint-Dizier ».",
    )
    gp_rpps = forms.CharField(
        label="RPPS du médecin traitant (facultatif)", max_length=11, required=False
    )
    letter_sent_at = forms.DateTimeField(
        label="Lettre de liaison envoyée le (facultatif)", widget=DATETIME,
        input_formats=DT_FORMATS, error_messages=BAD_DT, required=False,
    )  # fmt: skip
    channel = forms.ChoiceField(
        label="Canal d'envoi", choices=[("", "—"), *Channel.choices], required=False
    )
    note = forms.CharField(
        label="Précisions (facultatif)", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    def __init__(self, *args: Any, hospitals: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phone"].required = False
        self.fields["phone"].label = "Téléphone (facultatif)"
        self.fields["hospital"].queryset = (
            hospitals if hospitals is not None else Organization.objects.none()
        )

    def clean_phone(self) -> str:
        return super().clean_phone() if self.cleaned_data.get("phone") else ""

    def clean_residence(self) -> Commune | None:
        text = self.cleaned_data["residence"].strip()
        return find_commune(text) if text else None

    def clean_gp_rpps(self) -> Practitioner | None:
        rpps = self.cleaned_data["gp_rpps"].strip()
        if not rpps:
            return None
        gp = Practitioner.objects.filter(rpps=rpps).first()
        if gp is None:
            raise forms.ValidationError("Aucun médecin de l'annuaire n'a ce numéro RPPS.")
        return gp

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        errors = discharge_errors(
            data.get("admission_at"), data.get("discharge_at"), data.get("letter_sent_at"),
            data.get("channel", ""), None, timezone.now(),
        )  # fmt: skip
        for name, message in errors.items():
            if name not in self.errors:
                self.add_error(name, message)
        return data

    def person_traits(self) -> dict[str, Any]:
        d = self.cleaned_data
        names = (
            "birth_name",
            "first_names",
            "used_name",
            "used_first_name",
            "birth_date",
            "sex",
            "phone",
            "email",
        )
        return {k: d[k] for k in names if d.get(k) not in (None, "")}

    def discharge_values(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "hospital": d["hospital"], "service": d["service"].strip(),
            "stay_number": d["stay_number"].strip(), "admission_at": d["admission_at"],
            "discharge_at": d["discharge_at"], "destination": d["destination"],
            "gp": d["gp_rpps"], "letter_sent_at": d["letter_sent_at"],
            "channel": d["channel"], "note": d["note"], "residence_commune": d["residence"],
        }  # fmt: skip


class UploadForm(forms.Form):
    hospital = HospitalField(label="Établissement", queryset=Organization.objects.none())
    file = forms.FileField(
        label="Fichier CSV (séparateur ; ou ,)",
        error_messages={"required": "Choisissez le fichier à importer."},
    )

    def __init__(self, *args: Any, hospitals: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hospital"].queryset = (
            hospitals if hospitals is not None else Organization.objects.none()
        )


class MappingForm(forms.Form):
    """One choice per field of ``data/columns.yaml``: which column of the file gives it."""

    def __init__(self, *args: Any, columns: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.columns = columns
        choices = [("", "— aucune —"), *[(c, c) for c in columns]]
        for f in imports.fields():
            self.fields[f["name"]] = forms.ChoiceField(
                label=f["label"] + ("" if f["required"] else " (facultatif)"),
                choices=choices,
                required=False,
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for message in imports.mapping_errors(self.mapping(), self.columns):
            self.add_error(None, message)
        return data

    def mapping(self) -> dict[str, str]:
        return {k: v for k, v in self.cleaned_data.items() if v}
