"""The register of vulnerable people and its alert campaigns.

A :class:`Registration` is a person of :mod:`maillage.care.people` entered in the register of
their commune (by themselves, a relative, a professional or a commune's agent), with their
consent (``Consent`` of purpose "register"). It holds the minimal data the watch needs; the
address, emergency contacts, notes and the devices that need power are encrypted
(:class:`~maillage.care.people.crypto.EncryptedTextField`). It is confirmed yearly; one not
confirmed within 12 months and a month of grace is removed (``removed_at``), then anonymised by
the retention run.

A :class:`Campaign` (heatwave, cold, other) covers some communes; opening it makes one
:class:`CallAssignment` per active registration of those communes. Agents take the next person
to call (:func:`maillage.care.register.services.campaigns.next_call`: two agents never get the
same person), record the outcome; a person not reached after ``max_attempts`` calls is
escalated to the home-visit list.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from maillage.care.people.crypto import EncryptedTextField
from maillage.care.people.models import Person


class Mobility(models.TextChoices):
    AUTONOMOUS = "autonomous", "Se déplace seule"
    AID = "aid", "Se déplace avec une aide (canne, déambulateur)"
    WHEELCHAIR = "wheelchair", "Se déplace en fauteuil roulant"
    BEDRIDDEN = "bedridden", "Alitée"


class RegisteredBy(models.TextChoices):
    SELF = "self", "La personne elle-même"
    RELATIVE = "relative", "Un proche"
    PROFESSIONAL = "professional", "Un professionnel"
    AGENT = "agent", "Un agent de la commune"


class RemovalReason(models.TextChoices):
    REQUEST = "request", "À sa demande"
    NOT_CONFIRMED = "not_confirmed", "Non reconfirmée"
    MOVED = "moved", "A déménagé"
    DECEASED = "deceased", "Décédée"
    MERGED = "merged", "Doublon fusionné"
    ERASED = "erased", "Effacement demandé"
    REFUSED = "refused", "Demande refusée par la commune"


def new_reference() -> str:
    """A short reference to give on the phone: "RV-" and 8 letters/digits without look-alikes."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "RV-" + "".join(secrets.choice(alphabet) for _ in range(8))


class RegistrationQuerySet(models.QuerySet):
    def active(self) -> models.QuerySet:
        """Validated and not removed: the people the register watches over."""
        return self.filter(removed_at__isnull=True, validated_at__isnull=False)

    def pending(self) -> models.QuerySet:
        """Asked for on the public page, not yet validated or refused by the commune."""
        return self.filter(removed_at__isnull=True, validated_at__isnull=True)


class Registration(models.Model):
    """A registration; one asked for on the public page waits "to be validated"
    (``validated_at`` empty) until an agent of the commune validates or refuses it."""

    reference = models.CharField("référence", max_length=12, unique=True, null=True, blank=True)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="personne"
    )
    commune = models.ForeignKey(
        "territory.Commune", on_delete=models.PROTECT, related_name="+", verbose_name="commune"
    )
    address = EncryptedTextField("adresse", blank=True)
    emergency_contacts = EncryptedTextField("personnes à prévenir", blank=True)
    vulnerability_notes = EncryptedTextField("fragilités, précisions", blank=True)
    living_alone = models.BooleanField("vit seule", default=False)
    mobility = models.CharField(
        "mobilité", max_length=12, choices=Mobility.choices, default=Mobility.AUTONOMOUS
    )
    power_devices = models.BooleanField("appareil médical électrique", default=False)
    power_devices_detail = EncryptedTextField("appareils électriques (détail)", blank=True)
    attending_doctor = models.CharField("médecin traitant", max_length=200, blank=True)
    nurse = models.CharField("infirmier·ère", max_length=200, blank=True)
    registered_by_kind = models.CharField(
        "inscrite par", max_length=12, choices=RegisteredBy.choices, default=RegisteredBy.SELF
    )
    #: a relative or professional who asked on the public page: their name and phone
    requester_name = EncryptedTextField("demandée par (nom)", blank=True)
    requester_phone = EncryptedTextField("demandée par (téléphone)", blank=True)
    share_with_professionals = models.BooleanField(
        "accepte que ses soignants sachent qu'elle est inscrite", default=False
    )
    created_at = models.DateTimeField("inscrite le", default=timezone.now)
    confirmed_at = models.DateTimeField("confirmée le", default=timezone.now, db_index=True)
    validated_at = models.DateTimeField("validée le", null=True, blank=True, db_index=True)
    removed_at = models.DateTimeField("retirée le", null=True, blank=True, db_index=True)
    removal_reason = models.CharField(
        "motif du retrait", max_length=16, choices=RemovalReason.choices, blank=True
    )
    synthetic = models.BooleanField("synthétique", default=False, db_index=True)
    anonymised_at = models.DateTimeField("anonymisée le", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="saisie par",
    )

    objects = RegistrationQuerySet.as_manager()

    class Meta:
        verbose_name = "inscription au registre"
        verbose_name_plural = "inscriptions au registre"
        ordering = ["commune_id", "pk"]
        constraints = [
            # one validated registration per person; requests waiting for validation may
            # repeat one (the agent joins them to it, never silently)
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(removed_at__isnull=True, validated_at__isnull=False),
                name="register_one_active_registration_per_person",
            )
        ]

    def __str__(self) -> str:  # never the person's name
        return f"Inscription n° {self.pk}"

    @property
    def active(self) -> bool:
        return self.removed_at is None and self.validated_at is not None

    @property
    def pending(self) -> bool:
        return self.removed_at is None and self.validated_at is None

    @property
    def requester_phone_display(self) -> str:
        from maillage.care.people.models import phone_display

        return phone_display(self.requester_phone) if self.requester_phone else ""

    def scope_communes(self) -> set[str]:
        return {self.commune_id}


class CampaignKind(models.TextChoices):
    HEATWAVE = "heatwave", "Canicule"
    COLD = "cold", "Grand froid"
    OTHER = "other", "Autre alerte"


class Level(models.TextChoices):
    YELLOW = "yellow", "Vigilance jaune"
    ORANGE = "orange", "Vigilance orange"
    RED = "red", "Vigilance rouge"


class Campaign(models.Model):
    kind = models.CharField("alerte", max_length=10, choices=CampaignKind.choices)
    level = models.CharField("niveau", max_length=8, choices=Level.choices)
    communes = models.ManyToManyField(
        "territory.Commune", related_name="+", verbose_name="communes concernées"
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name="ouverte par",
    )  # fmt: skip
    opened_at = models.DateTimeField("ouverte le", default=timezone.now)
    closed_at = models.DateTimeField("close le", null=True, blank=True)
    max_attempts = models.PositiveSmallIntegerField("appels avant visite à domicile", default=3)

    class Meta:
        verbose_name = "campagne d'appels"
        ordering = ["-opened_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_level_display().lower()}) n° {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def scope_communes(self) -> set[str]:
        return set(self.communes.values_list("code", flat=True))


class Outcome(models.TextChoices):
    PENDING = "pending", "À appeler"
    REACHED_FINE = "reached_fine", "Jointe, tout va bien"
    NEEDS_HELP = "needs_help", "Jointe, a besoin d'aide"
    NOT_REACHED = "not_reached", "Pas de réponse"


#: Outcomes after which the person is called again (until escalated).
TO_CALL = (Outcome.PENDING, Outcome.NOT_REACHED)


class CallAssignment(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="assignments")
    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="assignments"
    )
    #: the agent holding the call now (None: free to take), then the one who recorded it
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name="agent",
    )  # fmt: skip
    held_since = models.DateTimeField("pris le", null=True, blank=True)
    attempts = models.PositiveSmallIntegerField("appels sans réponse", default=0)
    outcome = models.CharField(
        "résultat", max_length=12, choices=Outcome.choices, default=Outcome.PENDING
    )
    last_note = EncryptedTextField("dernière note", blank=True)
    escalated = models.BooleanField("visite à domicile", default=False)
    escalated_at = models.DateTimeField("signalée pour visite le", null=True, blank=True)
    updated_at = models.DateTimeField("mise à jour le", default=timezone.now)

    class Meta:
        verbose_name = "appel d'une campagne"
        ordering = ["campaign_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "registration"], name="register_one_call_per_campaign"
            )
        ]
        indexes = [models.Index(fields=["campaign", "outcome", "escalated"])]

    def __str__(self) -> str:
        return f"Appel n° {self.pk} (campagne n° {self.campaign_id})"

    def scope_communes(self) -> set[str]:
        return {self.registration.commune_id}


class ConfirmationReminder(models.Model):
    """One reminder that a registration's yearly confirmation falls due, by one medium: claimed
    before sending (unique per registration, due date, stage and medium), so that no reminder
    leaves twice, even from two workers or a retried run; a new due date (after a
    confirmation) gets its own. Holds no text and no address."""

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="reminders"
    )
    due_on = models.DateField("échéance")
    #: days before the due date (30, 7), 0: overdue (the registration will be removed)
    stage = models.PositiveSmallIntegerField("jours avant l'échéance")
    medium = models.CharField(max_length=5, choices=[("sms", "SMS"), ("email", "Courriel")])
    status = models.CharField(
        max_length=8,
        choices=[("sending", "En cours d'envoi"), ("sent", "Envoyé"), ("failed", "Échec")],
        default="sending",
    )
    error = models.CharField(max_length=80, blank=True)  # the exception's class name only
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "rappel de reconfirmation"
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "due_on", "stage", "medium"],
                name="register_reminder_once",
            )
        ]

    def __str__(self) -> str:
        return f"Rappel n° {self.pk} ({self.stage} j, {self.medium})"
