"""Forms of the professional space. They only collect input: rules live in ``review``/``merge``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.db import models

from maillage.directory import review
from maillage.directory.imports import merge
from maillage.directory.languages import language_choices

_TEXTAREAS = {"notes_pro", "description"}


class EntryForm(forms.Form):
    """The editable fields of one directory entry, prefilled with what is stored now.

    Built from :data:`maillage.directory.review.EDITABLE_FIELDS`, so the page can never offer
    a field the service would refuse. Values are checked with the same service function
    (``review.clean_changes``) so that errors appear next to their field.
    """

    def __init__(
        self,
        target_type: str,
        target: models.Model,
        *args: Any,
        exclude: tuple[str, ...] = (),
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.target_type, self.target = target_type, target
        model = review.TARGET_MODELS[target_type]
        for name in review.EDITABLE_FIELDS[target_type]:
            if name in exclude:
                continue
            if name == "languages":
                field = forms.MultipleChoiceField(
                    label="Langues parlées",
                    required=False,
                    choices=language_choices(),
                    widget=forms.CheckboxSelectMultiple(attrs={"class": "choices-columns"}),
                    initial=[c for c in getattr(target, name).split(",") if c],
                    help_text="Cochez les langues dans lesquelles vous pouvez recevoir un patient.",
                )
            elif name == review.OPENING_HOURS:
                field: forms.Field = forms.CharField(
                    label="Horaires d'ouverture",
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 4}),
                    help_text="Un jour par ligne, par exemple « lundi 08:30-12:00 14:00-19:00 ».",
                    initial=review.format_opening_hours(review.current_opening_hours(target)),
                )
            else:
                model_field = model._meta.get_field(name)
                extra = (
                    {"assume_scheme": "https"} if isinstance(model_field, models.URLField) else {}
                )
                field = model_field.formfield(required=False, **extra)
                if name in _TEXTAREAS:
                    field.widget = forms.Textarea(attrs={"rows": 3})
                if isinstance(field, forms.NullBooleanField):
                    # French labels whatever language the browser asks for
                    field.widget.choices = [
                        ("unknown", "Non renseigné"), ("true", "Oui"), ("false", "Non")
                    ]  # fmt: skip
                label = str(model_field.verbose_name)
                field.label = label[:1].upper() + label[1:]  # keep "MSSanté", "ISO"
                field.initial = getattr(target, name)
            if name in getattr(target, "PRO_ONLY_FIELDS", ()):
                field.help_text = "Visible des seuls professionnels connectés."
            self.fields[name] = field

    def clean_languages(self) -> str:
        return ",".join(self.cleaned_data.get("languages") or [])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in self.changed_data:
            if name in self.errors:
                continue
            try:
                review.clean_changes(self.target_type, self.target, {name: cleaned.get(name)})
            except ValueError as exc:
                self.add_error(name, str(exc))
        return cleaned

    def changes(self) -> dict[str, Any]:
        """The fields whose value differs from what is stored (valid form only)."""
        submitted = {name: self.cleaned_data.get(name) for name in self.changed_data}
        if not submitted:
            return {}
        cleaned = review.clean_changes(self.target_type, self.target, submitted)
        return review.only_changed(self.target, cleaned)


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("publish", "Publier"), ("reject", "Refuser")])
    comment = forms.CharField(
        label="Commentaire", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Fichier",
        help_text="CSV (séparateur ; ou ,), classeur XLSX (première feuille), ou Bundle FHIR "
        "de l'Annuaire Santé (JSON).",
    )
    source_name = forms.CharField(
        label="Nom de la source",
        required=False,
        max_length=250,
        help_text="Par exemple « Liste des membres CPTS, mars 2026 ». Par défaut : le nom du "
        "fichier.",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > merge.MAX_BYTES:
            raise forms.ValidationError(
                f"Fichier trop gros ({upload.size // 1_000_000} Mo ; maximum "
                f"{merge.MAX_BYTES // 1_000_000} Mo)."
            )
        suffix = Path(upload.name).suffix.lower()
        formats = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".json": "fhir"}
        if suffix not in formats:
            raise forms.ValidationError(
                f"Extension « {suffix or '(aucune)'} » non prise en charge : .csv, .xlsx ou .json."
            )
        self.cleaned_data["format"] = formats[suffix]
        return upload


class MappingForm(forms.Form):
    """For each maillage field, the source column that fills it (or none)."""

    def __init__(self, headers: list[str], *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices = [("", "— aucune —")] + [(h, h) for h in headers]
        for name, target in merge.FIELDS.items():
            self.fields[name] = forms.ChoiceField(
                label=target.label, choices=choices, required=False
            )

    def mapping(self) -> dict[str, str | None]:
        return {name: self.cleaned_data.get(name) or None for name in merge.FIELDS}
