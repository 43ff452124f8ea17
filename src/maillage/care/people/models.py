"""People known to the care apps (patients, later registered vulnerable persons) and their
consents.

Identity traits follow the national identity-vigilance rules (RNIV): the *strict* traits are
the birth name, the birth first names (all of them, in order), the date of birth, the sex and the
birth place (INSEE code); the used name and used first name are *extended* traits. An identity
collected from what the person says is *provisional*; it becomes *validated* once checked
against an identity document, *recovered* when it comes from the national INS teleservice, and
*qualified* when both.

Identity fields stay in clear so that a phone operator can find a caller's earlier bookings;
free-text health fields of the care apps (and ``Person.notes``) are encrypted
(:class:`maillage.care.people.crypto.EncryptedTextField`).
After the retention period (or an erasure request) a Person is *anonymised*: names, contact and
birth date are emptied; the statistics (age band, commune of residence, sex) stay.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from maillage.analytics import age_bands
from maillage.care.people.crypto import EncryptedTextField


def age_band(age: int) -> str:
    """The statistics band of an age in whole years ("30-44", "75+"): the bands of the activity
    tables (:data:`maillage.analytics.age_bands.AGE_BANDS`), kept after anonymisation."""
    label = age_bands.age_band(age)
    if label is None:
        raise ValueError(f"âge invalide : {age}")
    return label


#: ARCEP's roots reserved for works of fiction (plan national de numérotation, article 2.5.12:
#: 01 99 00, 02 61 91, 03 53 01, 04 65 71, 05 36 49, 06 39 98, each followed by four digits),
#: in E.164. Synthetic people get their phone numbers there and nowhere else.
FICTION_PREFIXES = ("+3319900", "+3326191", "+3335301", "+3346571", "+3353649", "+3363998")


def is_fiction_phone(e164: str) -> bool:
    """Whether an E.164 number is in one of ARCEP's ranges reserved for fiction."""
    return len(e164) == 12 and e164.startswith(FICTION_PREFIXES) and e164[1:].isdigit()


def phone_display(e164: str) -> str:
    """An E.164 number written for reading (national format in France)."""
    import phonenumbers

    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, "FR")
    except phonenumbers.NumberParseException:
        return e164
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 33
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def e164_phone(value: str, label: str = "Téléphone") -> str:
    """A phone number checked with ``phonenumbers`` (French by default) and written in E.164
    ("+33325001122"), or one of ARCEP's fiction numbers; ValueError in French otherwise."""
    import phonenumbers

    text = (value or "").strip()
    try:
        number = phonenumbers.parse(text, "FR")
    except phonenumbers.NumberParseException:
        number = None
    if number is not None:
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if is_fiction_phone(e164):  # 06 39 98 is not in phonenumbers' mobile ranges
            return e164
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError(
            f"{label} : « {text[:40]} » n'est pas un numéro de téléphone valide "
            "(par exemple 06 12 34 56 78, ou +32 2 123 45 67 à l'étranger)"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_phone(value: str) -> None:
    if value:
        try:
            e164_phone(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


_LIGATURES = str.maketrans({"Œ": "OE", "œ": "OE", "Æ": "AE", "æ": "AE", "ß": "SS"})


def normalise_name(text: str) -> str:
    """A name as identity matching compares it: upper case, no accents, letters and digits
    only ("Le Gall", "LE-GALL" and "légall" → "LEGALL"; "Œuvray" → "OEUVRAY")."""
    decomposed = unicodedata.normalize("NFKD", (text or "").translate(_LIGATURES))
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c)).upper()


def match_key(birth_name: str, first_names: str) -> str:
    """The matching key of an identity: the normalised birth name and first birth first-name,
    "NAME|FIRST" ("" once anonymised)."""
    firsts = (first_names or "").replace(",", " ").split()
    name, first = normalise_name(birth_name), normalise_name(firsts[0] if firsts else "")
    return f"{name}|{first}" if name or first else ""


class Sex(models.TextChoices):
    FEMALE = "F", "Féminin"
    MALE = "M", "Masculin"
    UNDETERMINED = "I", "Indéterminé"


class IdentityStatus(models.TextChoices):
    PROVISIONAL = "provisional", "Identité provisoire"
    RECOVERED = "recovered", "Identité récupérée"
    VALIDATED = "validated", "Identité validée"
    QUALIFIED = "qualified", "Identité qualifiée"


class Person(models.Model):
    """A person whose personal data a care app holds. Read and write only through the care
    apps' services, which audit every access (:func:`maillage.care.people.audit.record`)."""

    birth_name = models.CharField("nom de naissance", max_length=100)
    first_names = models.CharField(
        "prénoms de naissance",
        max_length=200,
        help_text="Tous les prénoms de naissance, dans l'ordre, séparés par une espace.",
    )
    used_first_name = models.CharField("prénom utilisé", max_length=100, blank=True)
    used_name = models.CharField("nom utilisé", max_length=100, blank=True)
    # null only once anonymised: the statistics keep the age band instead
    birth_date = models.DateField("date de naissance", null=True)
    sex = models.CharField("sexe", max_length=1, choices=Sex.choices)
    birth_place_insee = models.CharField("lieu de naissance (code INSEE)", max_length=5, blank=True)
    identity_status = models.CharField(
        "statut de l'identité",
        max_length=12,
        choices=IdentityStatus.choices,
        default=IdentityStatus.PROVISIONAL,
    )
    phone = models.CharField(
        "téléphone", max_length=20, blank=True, validators=[validate_phone]
    )  # E.164
    email = models.EmailField("courriel", blank=True)
    commune = models.ForeignKey(
        "territory.Commune",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="commune de résidence",
    )
    # Médecin traitant, as the person declares it (None: not asked)
    has_attending_doctor = models.BooleanField("a un médecin traitant", null=True, blank=True)
    attending_doctor = models.ForeignKey(
        "directory.Practitioner",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="médecin traitant",
    )
    attending_doctor_label = models.CharField(
        "médecin traitant (tel que déclaré)", max_length=200, blank=True
    )
    # free text about the person's needs (hearing, mobility, a carer to call): encrypted
    notes = EncryptedTextField(
        "besoins particuliers",
        blank=True,
        help_text="Par exemple : malentendant, se déplace en fauteuil, appeler sa fille.",
    )
    synthetic = models.BooleanField("synthétique", default=False, db_index=True)
    #: normalised birth name and first first-name (:func:`match_key`), kept by ``save``: the
    #: indexed key of identity matching and of the operator's search by name
    match_key = models.CharField("clé de rapprochement", max_length=200, blank=True, db_index=True)
    created_at = models.DateTimeField("créée le", default=timezone.now, db_index=True)
    anonymised_at = models.DateTimeField("anonymisée le", null=True, blank=True, db_index=True)
    # statistics that survive anonymisation (set then; computed from birth_date before)
    age_band_kept = models.CharField("tranche d'âge", max_length=8, blank=True)

    class Meta:
        verbose_name = "personne"
        indexes = [
            models.Index(fields=["birth_name", "birth_date"]),
            models.Index(fields=["birth_date", "sex"], name="people_person_birth_sex"),
        ]

    def __str__(self) -> str:  # never the name: __str__ ends up in logs and admin messages
        return f"Personne n° {self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.match_key = self.compute_match_key()
        fields = kwargs.get("update_fields")
        if fields is not None and {"birth_name", "first_names"} & set(fields):
            kwargs["update_fields"] = {*fields, "match_key"}
        super().save(*args, **kwargs)

    def compute_match_key(self) -> str:
        return match_key(self.birth_name, self.first_names)

    @property
    def display_name(self) -> str:
        """The name to show a professional: used name and first name when known, with the
        birth name in brackets when it differs ("MARTIN (DURAND) Jeanne")."""
        if self.anonymised_at is not None:
            return "Personne anonymisée"
        first = self.used_first_name or (self.first_names.split() or [""])[0]
        last = (self.used_name or self.birth_name).upper()
        if self.used_name and self.used_name.upper() != self.birth_name.upper():
            last = f"{last} ({self.birth_name.upper()})"
        return f"{last} {first}".strip()

    @property
    def phone_display(self) -> str:
        """The phone as people read it: "03 25 00 11 22" for a French number, else
        international ("+32 2 123 45 67"); stored in E.164."""
        return phone_display(self.phone)

    def age_on(self, date: dt.date) -> int:
        """Age in whole years on ``date``; ValueError once anonymised (no birth date)."""
        if self.birth_date is None:
            raise ValueError("la date de naissance n'est plus connue (personne anonymisée)")
        born = self.birth_date
        return date.year - born.year - ((date.month, date.day) < (born.month, born.day))

    def age_band_on(self, date: dt.date) -> str:
        """The statistics band on ``date`` (the band kept at anonymisation afterwards)."""
        if self.birth_date is None:
            return self.age_band_kept
        return age_band(self.age_on(date))

    def clean(self) -> None:
        if self.phone:
            try:
                self.phone = e164_phone(self.phone)
            except ValueError as exc:
                raise ValidationError({"phone": str(exc)}) from None
            if self.synthetic and not is_fiction_phone(self.phone):
                raise ValidationError(
                    {
                        "phone": "Une personne synthétique n'a qu'un numéro réservé à la fiction "
                        "par l'ARCEP (01 99 00, 02 61 91, 03 53 01, 04 65 71, 05 36 49 ou "
                        "06 39 98, suivi de 4 chiffres)."
                    }
                )
        if self.birth_date and self.birth_date > timezone.localdate():
            raise ValidationError({"birth_date": "La date de naissance est dans le futur."})


class ConsentPurpose(models.TextChoices):
    TELECONSULTATION = "teleconsultation", "téléconsultation"
    REPORT_TO_GP = "report_to_gp", "transmission du compte rendu au médecin traitant"
    REMINDERS = "reminders", "rappels SMS/e-mail"
    REGISTER = "register", "registre des personnes vulnérables"
    REFERRAL = "referral", "recherche d'un médecin traitant"


class ConsentChannel(models.TextChoices):
    WEB = "web", "en ligne"
    PHONE = "phone", "par téléphone"
    PROFESSIONAL = "professional", "recueilli par un professionnel"


class Consent(models.Model):
    """One consent given (or refused) for one purpose, on one date, through one channel; a
    withdrawal is recorded on the row, never by deleting it."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField("finalité", max_length=20, choices=ConsentPurpose.choices)
    given = models.BooleanField("accordé")
    at = models.DateTimeField("recueilli le", default=timezone.now)
    channel = models.CharField("canal", max_length=12, choices=ConsentChannel.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="recueilli par",
    )
    withdrawn_at = models.DateTimeField("retiré le", null=True, blank=True)

    class Meta:
        verbose_name = "consentement"
        ordering = ["person_id", "purpose", "-at"]

    def __str__(self) -> str:
        return f"Consentement {self.get_purpose_display()} de la personne n° {self.person_id}"

    @property
    def active(self) -> bool:
        return self.given and self.withdrawn_at is None


#: Why two persons may be one (:func:`maillage.care.people.identity.near_reasons`).
DUPLICATE_REASONS = {
    "date_inverted": "jour et mois de naissance inversés",
    "name_typo": "nom de naissance proche (faute de frappe ?)",
    "used_name": "nom d'usage donné comme nom de naissance",
    "first_name": "prénom proche ou autre prénom de naissance",
    "birth_place": "lieux de naissance différents",
}


class PossibleDuplicate(models.Model):
    """Two persons that may be one (a near match found when the second was created), waiting
    for a human decision (:mod:`maillage.care.people.identity`): merged, or different people.
    Holds ids and reason codes only. ``first`` is the older person."""

    class Status(models.TextChoices):
        OPEN = "open", "à examiner"
        MERGED = "merged", "fusionnées"
        DIFFERENT = "different", "personnes différentes"

    first = models.ForeignKey(
        Person, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="première"
    )
    second = models.ForeignKey(
        Person, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="seconde"
    )
    #: codes: date_inverted, name_typo, used_name, first_name, birth_place
    reasons = models.JSONField("motifs", default=list)
    status = models.CharField(
        "décision", max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    created_at = models.DateTimeField("signalée le", default=timezone.now)
    decided_at = models.DateTimeField("décidée le", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="décidée par",
    )
    # after a merge (the merged person is deleted): which id was kept, which one merged
    kept_id = models.BigIntegerField("fiche conservée", null=True, blank=True)
    merged_id = models.BigIntegerField("fiche fusionnée", null=True, blank=True)

    class Meta:
        verbose_name = "doublon possible"
        verbose_name_plural = "doublons possibles"
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="people_duplicate_pair")
        ]

    def __str__(self) -> str:
        return f"Doublon possible n° {self.pk}"

    @property
    def reason_labels(self) -> list[str]:
        return [DUPLICATE_REASONS.get(code, code) for code in self.reasons]
