"""Hospital discharges and their letters to the médecin traitant.

A :class:`Discharge` is one stay of a person (:mod:`maillage.care.people`) in a hospital of the
directory (an ``Organization``, FINESS établissement) that ended: service, admission and
discharge date-times, destination, the patient's commune of residence (INSEE; for the
indicators by commune, kept after anonymisation like the dates), the GP (a ``Practitioner`` of
the directory, when known), when and how the discharge letter was sent, and when the GP
acknowledged it. The dates are the figures the indicators count; the person and the free-text
note are the personal part (the note is encrypted). :meth:`Discharge.clean` refuses what
makes no sense, in French.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from maillage.care.people.crypto import EncryptedTextField
from maillage.care.people.models import Person


class Destination(models.TextChoices):
    HOME = "home", "Domicile"
    EHPAD = "ehpad", "EHPAD"
    SSR = "ssr", "Soins de suite et de réadaptation (SSR)"
    HAD = "had", "Hospitalisation à domicile (HAD)"
    HOSPITAL = "hospital", "Autre établissement hospitalier"
    DECEASED = "deceased", "Décès"
    OTHER = "other", "Autre"


class Channel(models.TextChoices):
    MSSANTE = "mssante", "Messagerie sécurisée MSSanté"
    POST = "post", "Courrier postal"
    HANDED = "handed", "Remise au patient"
    DMP = "dmp", "Dossier médical partagé (DMP)"
    OTHER = "other", "Autre"


class Discharge(models.Model):
    hospital = models.ForeignKey(
        "directory.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="établissement",
    )
    service = models.CharField("service", max_length=120)
    stay_number = models.CharField(
        "numéro de séjour", max_length=40, blank=True, help_text="Celui du système de l'hôpital."
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="patient"
    )
    admission_at = models.DateTimeField("entrée le")
    discharge_at = models.DateTimeField("sortie le", db_index=True)
    destination = models.CharField("destination", max_length=10, choices=Destination.choices)
    residence_commune = models.ForeignKey(
        "territory.Commune",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="commune de résidence",
        help_text="Pour compter les sorties par commune de résidence du patient.",
    )
    gp = models.ForeignKey(
        "directory.Practitioner",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="médecin traitant",
    )
    letter_sent_at = models.DateTimeField("lettre envoyée le", null=True, blank=True)
    channel = models.CharField("canal", max_length=10, choices=Channel.choices, blank=True)
    acknowledged_at = models.DateTimeField("reçue par le médecin le", null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = EncryptedTextField("précisions", blank=True)
    synthetic = models.BooleanField("synthétique", default=False, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="saisie par",
    )
    created_at = models.DateTimeField("saisie le", default=timezone.now)
    anonymised_at = models.DateTimeField("anonymisée le", null=True, blank=True)

    class Meta:
        verbose_name = "sortie d'hospitalisation"
        verbose_name_plural = "sorties d'hospitalisation"
        ordering = ["-discharge_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["hospital", "stay_number"],
                condition=~models.Q(stay_number=""),
                name="letters_one_stay_number_per_hospital",
                violation_error_message="Ce numéro de séjour est déjà enregistré pour cet "
                "établissement.",
            )
        ]

    def __str__(self) -> str:  # never the person's name
        return f"Sortie n° {self.pk}"

    @property
    def delay_hours(self) -> float | None:
        if self.letter_sent_at is None:
            return None
        return (self.letter_sent_at - self.discharge_at).total_seconds() / 3600

    def clean(self) -> None:
        errors = discharge_errors(
            self.admission_at,
            self.discharge_at,
            self.letter_sent_at,
            self.channel,
            self.acknowledged_at,
            timezone.now(),
        )
        if errors:
            raise ValidationError(errors)


def discharge_errors(
    admission_at: dt.datetime | None,
    discharge_at: dt.datetime | None,
    letter_sent_at: dt.datetime | None,
    channel: str,
    acknowledged_at: dt.datetime | None,
    now: dt.datetime,
) -> dict[str, str]:
    """{field: French message} of what makes no sense in these dates (empty: all fine)."""
    errors: dict[str, str] = {}
    if admission_at and admission_at > now:
        errors["admission_at"] = "La date d'entrée est dans le futur."
    if discharge_at and discharge_at > now:
        errors["discharge_at"] = "La date de sortie est dans le futur."
    elif admission_at and discharge_at and discharge_at < admission_at:
        errors["discharge_at"] = "La sortie ne peut pas précéder l'entrée."
    if letter_sent_at:
        if letter_sent_at > now:
            errors["letter_sent_at"] = "La date d'envoi de la lettre est dans le futur."
        elif discharge_at and letter_sent_at < discharge_at:
            errors["letter_sent_at"] = "La lettre ne peut pas être envoyée avant la sortie."
        if not channel:
            errors["channel"] = "Indiquez le canal d'envoi de la lettre."
    elif channel:
        errors["letter_sent_at"] = "Indiquez la date d'envoi de la lettre (un canal est donné)."
    if acknowledged_at and (not letter_sent_at or acknowledged_at < letter_sent_at):
        errors["acknowledged_at"] = "La réception ne peut pas précéder l'envoi de la lettre."
    return errors


class ImportDraft(models.Model):
    """A CSV file uploaded for import, kept (encrypted) between the upload and the mapping of
    its columns; deleted once imported, or a day later by the retention task."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    hospital = models.ForeignKey(
        "directory.Organization", on_delete=models.CASCADE, related_name="+"
    )
    filename = models.CharField("fichier", max_length=200)
    content = EncryptedTextField("contenu")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "import en cours"

    def __str__(self) -> str:
        return f"Import n° {self.pk}"


class NoticeStatus(models.TextChoices):
    QUEUED = "queued", "en attente d'envoi"
    SENDING = "sending", "en cours d'envoi"
    SENT = "sent", "envoyé"
    FAILED = "failed", "échec"
    CANCELLED = "cancelled", "annulé"


class LetterNotice(models.Model):
    """The MSSanté message telling a discharge's GP that its letter was sent, with the signed
    acknowledgement link: one per discharge (and GP), claimed before it leaves so that it is
    never sent twice; a failure keeps its error's class name and when it is tried again."""

    discharge = models.OneToOneField(Discharge, on_delete=models.CASCADE, related_name="notice")
    gp = models.ForeignKey(
        "directory.Practitioner", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        "état", max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField("essais", default=0)
    error = models.CharField("erreur", max_length=80, blank=True)
    queued_at = models.DateTimeField("demandé le", default=timezone.now)
    next_try_at = models.DateTimeField("nouvel essai le", null=True, blank=True)
    sent_at = models.DateTimeField("envoyé le", null=True, blank=True)

    class Meta:
        verbose_name = "avis MSSanté au médecin traitant"
        verbose_name_plural = "avis MSSanté aux médecins traitants"

    def __str__(self) -> str:
        return f"Avis de la sortie n° {self.discharge_id}"
