"""The forms of the waiting list, in French: a request (identity traits of care.people's
:class:`~maillage.care.people.forms.IdentityForm`, commune, the criteria as simple questions,
consent), a GP's capacity, the priority weights."""

from __future__ import annotations

from typing import Any

from django import forms

from maillage.analytics.attachment import AGE_GROUP_LABELS, COUNTED, CRITERIA, Weights
from maillage.care.people.forms import IdentityForm, find_commune
from maillage.territory.models import Commune

#: The criteria as the form asks them (age ≥ 70 comes from the birth date).
QUESTIONS = {
    "ald": "Avez-vous une affection de longue durée (ALD) reconnue par l'Assurance maladie ?",
    "pregnancy": "Êtes-vous enceinte ?",
    "disability": "Êtes-vous en situation de handicap ?",
    "c2s": "Bénéficiez-vous de la complémentaire santé solidaire (C2S) ?",
    "hospital_discharge": "Êtes-vous sorti·e de l'hôpital depuis moins de 3 mois ?",
    "chronic_renewal": "Avez-vous un traitement au long cours à renouveler ?",
}
CONSENT = (
    "J'accepte que ces informations soient utilisées par la CPTS et transmises au médecin "
    "qui me sera proposé, pour me trouver un médecin traitant."
)


class RequestForm(IdentityForm):
    commune = forms.CharField(
        label="Commune de résidence",
        max_length=120,
        help_text="Son nom, ou le code postal et le nom (par exemple 52100 Saint-Dizier).",
    )
    months_without_gp = forms.IntegerField(
        label="Depuis combien de mois êtes-vous sans médecin traitant ?",
        min_value=0,
        max_value=1200,
        initial=0,
        error_messages={
            "invalid": "Indiquez un nombre de mois.",
            "min_value": "Le nombre de mois ne peut pas être négatif.",
            "max_value": "Le nombre de mois est trop grand.",
            "required": "Indiquez depuis combien de mois (0 si vous ne savez pas).",
        },
    )
    teleconsultations = forms.IntegerField(
        label="Combien de téléconsultations avez-vous eues ces 12 derniers mois ?",
        min_value=0,
        max_value=365,
        initial=0,
        error_messages={
            "invalid": "Indiquez un nombre de téléconsultations.",
            "min_value": "Le nombre de téléconsultations ne peut pas être négatif.",
            "max_value": "Plus de 365 téléconsultations en un an : vérifiez le nombre.",
            "required": "Indiquez un nombre (0 si aucune).",
        },
    )
    consent = forms.BooleanField(
        label=CONSENT,
        error_messages={"required": "Votre accord est nécessaire pour enregistrer la demande."},
    )
    website = forms.CharField(required=False, label="Ne pas remplir")  # honeypot

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, question in QUESTIONS.items():
            self.fields[name] = forms.BooleanField(label=question, required=False)
        for name in ("birth_name", "first_names", "birth_date", "sex", "phone"):
            self.fields[name].error_messages["required"] = "Ce champ est obligatoire."
        self.fields["commune"].error_messages["required"] = "Indiquez votre commune."

    def clean_commune(self) -> Commune:
        return find_commune(self.cleaned_data["commune"])

    def clean_website(self) -> str:
        if self.cleaned_data.get("website"):
            raise forms.ValidationError("Formulaire refusé.")
        return ""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("pregnancy") and data.get("sex") == "M":
            self.add_error(
                "pregnancy",
                "Une grossesse est indiquée pour une personne de sexe masculin : vérifiez.",
            )
        return data

    def traits(self) -> dict[str, Any]:
        data = self.cleaned_data
        names = ("birth_name", "first_names", "used_name", "used_first_name", "birth_date",
                 "sex", "phone", "email")  # fmt: skip
        return {k: data.get(k) or "" for k in names if data.get(k) not in (None, "")}

    def criteria(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {c: data.get(c) for c in CRITERIA if c in data}


class CapacityForm(forms.Form):
    new_patients_per_month = forms.IntegerField(
        label="Combien de nouveaux patients pouvez-vous accueillir par mois ?",
        min_value=0,
        max_value=200,
        error_messages={
            "required": "Indiquez un nombre de patients (0 pour suspendre).",
            "invalid": "Indiquez un nombre de patients.",
            "min_value": "Le nombre ne peut pas être négatif.",
            "max_value": "Plus de 200 nouveaux patients par mois : vérifiez le nombre.",
        },
    )
    location = forms.ModelChoiceField(
        label="Lieu d'exercice", queryset=None, empty_label=None,
        error_messages={"invalid_choice": "Choisissez un de vos lieux d'exercice."},
    )  # fmt: skip
    communes = forms.CharField(
        label="Communes desservies (facultatif)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Une commune par ligne : son nom, ou code postal et nom.",
    )
    radius_km = forms.IntegerField(
        label="ou un rayon autour du cabinet (km, facultatif)",
        required=False,
        min_value=1,
        max_value=100,
        error_messages={
            "invalid": "Indiquez un rayon en kilomètres.",
            "min_value": "Le rayon est d'au moins 1 km.",
            "max_value": "Le rayon est d'au plus 100 km.",
        },
    )
    age_groups = forms.MultipleChoiceField(
        label="Âges acceptés",
        choices=list(AGE_GROUP_LABELS.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Cochez au moins une tranche d'âge."},
    )

    def __init__(self, *args: Any, locations: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations

    def clean_communes(self) -> list[Commune]:
        found = []
        for line in (self.cleaned_data.get("communes") or "").splitlines():
            if line.strip():
                found.append(find_commune(line))
        return found

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("communes") and not data.get("radius_km") and not self.errors:
            raise forms.ValidationError(
                "Indiquez les communes desservies ou un rayon autour du cabinet."
            )
        return data


class WeightsForm(forms.Form):
    """One integer field per criterion (and its cap), the matching's two numbers."""

    def __init__(self, *args: Any, weights: Weights, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for w in weights.criteria:
            self.fields[w.criterion] = forms.IntegerField(
                label=w.label, min_value=0, max_value=1000, initial=w.points,
                error_messages={"required": "Indiquez des points (0 pour ignorer ce critère).",
                                "invalid": "Indiquez un nombre entier de points.",
                                "min_value": "Les points ne peuvent pas être négatifs.",
                                "max_value": "Au plus 1000 points."},
            )  # fmt: skip
            if w.criterion in COUNTED:
                self.fields[f"{w.criterion}_cap"] = forms.IntegerField(
                    label=f"{w.label} : plafond", min_value=1, max_value=120, initial=w.cap,
                    error_messages={"invalid": "Indiquez un nombre entier.",
                                    "required": "Indiquez un plafond.",
                                    "min_value": "Le plafond est d'au moins 1.",
                                    "max_value": "Le plafond est d'au plus 120."},
                )  # fmt: skip
        self.fields["points_per_km"] = forms.FloatField(
            label="Points de priorité retirés par kilomètre", min_value=0, max_value=100,
            initial=weights.points_per_km,
            error_messages={"invalid": "Indiquez un nombre.", "required": "Indiquez un nombre.",
                            "min_value": "Au moins 0.", "max_value": "Au plus 100."},
        )  # fmt: skip
        self.weights = weights

    def mapping(self) -> dict[str, Any]:
        data = self.weights.as_mapping()
        for name, entry in data["criteria"].items():
            entry["points"] = self.cleaned_data[name]
            if f"{name}_cap" in self.cleaned_data:
                entry["cap"] = self.cleaned_data[f"{name}_cap"]
        data["matching"]["points_per_km"] = self.cleaned_data["points_per_km"]
        return data
