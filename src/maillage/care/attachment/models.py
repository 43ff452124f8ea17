"""The waiting list for a médecin traitant: requests, GPs' capacities, proposals.

A request (:class:`AttachmentRequest`) is a person of :mod:`maillage.care.people` asking for a
médecin traitant, through the web, a phone operator or a professional, with their consent. Its
answers to the criteria and its priority's explanation are health data: they are kept
encrypted (:class:`~maillage.care.people.crypto.EncryptedTextField`, as JSON); only the score,
the commune and the state stay in clear, for the queue's order and the statistics.

States (:data:`TRANSITIONS`): requested → proposed (a matching run proposed a GP) → accepted or
declined (by the GP) or expired (no answer in time) → registered (the GP confirms the
déclaration de médecin traitant). After a decline or an expiry the request waits for the next
run (declined/expired → proposed). Every change is a :class:`Transition` row (who, when), made
only by :mod:`maillage.care.attachment.services.requests`.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from maillage.analytics.attachment import AGE_GROUP_LABELS, AGE_GROUPS
from maillage.care.people.crypto import EncryptedTextField
from maillage.care.people.models import ConsentChannel, Person


class State(models.TextChoices):
    REQUESTED = "requested", "Demandée"
    PROPOSED = "proposed", "Proposée à un médecin"
    ACCEPTED = "accepted", "Acceptée par le médecin"
    DECLINED = "declined", "Déclinée par le médecin"
    EXPIRED = "expired", "Proposition sans réponse"
    REGISTERED = "registered", "Médecin traitant déclaré"


TRANSITIONS: dict[str, frozenset[str]] = {
    State.REQUESTED: frozenset({State.PROPOSED}),
    State.PROPOSED: frozenset({State.ACCEPTED, State.DECLINED, State.EXPIRED}),
    State.DECLINED: frozenset({State.PROPOSED}),
    State.EXPIRED: frozenset({State.PROPOSED}),
    State.ACCEPTED: frozenset({State.REGISTERED}),
    State.REGISTERED: frozenset(),
}
#: States of the requests waiting for a proposal (what a matching run takes).
WAITING = (State.REQUESTED, State.DECLINED, State.EXPIRED)


def new_reference() -> str:
    """A short reference to give on the phone: "MT-" and 8 letters/digits without look-alikes."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "MT-" + "".join(secrets.choice(alphabet) for _ in range(8))


class AttachmentRequest(models.Model):
    reference = models.CharField("référence", max_length=12, unique=True, default=new_reference)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="personne"
    )
    channel = models.CharField("canal", max_length=12, choices=ConsentChannel.choices)
    commune = models.ForeignKey(
        "territory.Commune",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="commune de résidence",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="saisie par",
    )
    # the answers to the criteria (JSON) and the priority's explanation (JSON): encrypted
    answers_json = EncryptedTextField("réponses aux critères", blank=True)
    score = models.IntegerField("priorité", default=0, db_index=True)
    explanation_json = EncryptedTextField("explication de la priorité", blank=True)
    note = EncryptedTextField("précisions", blank=True)
    state = models.CharField(
        "état", max_length=12, choices=State.choices, default=State.REQUESTED, db_index=True
    )
    state_changed_at = models.DateTimeField("état depuis le", default=timezone.now)
    created_at = models.DateTimeField("demandée le", default=timezone.now, db_index=True)
    anonymised_at = models.DateTimeField("anonymisée le", null=True, blank=True)

    class Meta:
        verbose_name = "demande de médecin traitant"
        verbose_name_plural = "demandes de médecin traitant"
        ordering = ["-score", "created_at", "pk"]

    def __str__(self) -> str:  # never the person's name
        return f"Demande {self.reference}"

    @property
    def answers(self) -> dict[str, Any]:
        return json.loads(self.answers_json) if self.answers_json else {}

    @property
    def explanation(self) -> list[list[Any]]:
        """[(criterion, label, points), …] as computed when the request was scored."""
        return json.loads(self.explanation_json) if self.explanation_json else []

    def scope_communes(self) -> set[str]:
        return {self.commune_id}


class Transition(models.Model):
    request = models.ForeignKey(
        AttachmentRequest, on_delete=models.CASCADE, related_name="transitions"
    )
    from_state = models.CharField("de", max_length=12, choices=State.choices, blank=True)
    to_state = models.CharField("vers", max_length=12, choices=State.choices)
    at = models.DateTimeField("le", default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="par",
    )

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = "changement d'état"

    def __str__(self) -> str:
        return f"{self.request} : {self.from_state or '—'} → {self.to_state}"


class GpCapacity(models.Model):
    """What a GP of the directory declares: how many new patients a month, where (communes
    served and/or a radius around the practice), which age groups."""

    practitioner = models.OneToOneField(
        "directory.Practitioner",
        on_delete=models.CASCADE,
        related_name="attachment_capacity",
        verbose_name="médecin",
    )
    location = models.ForeignKey(
        "directory.Location",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="lieu d'exercice",
    )
    new_patients_per_month = models.PositiveSmallIntegerField("nouveaux patients par mois")
    communes = models.ManyToManyField(
        "territory.Commune", blank=True, related_name="+", verbose_name="communes desservies"
    )
    radius_km = models.PositiveSmallIntegerField("rayon (km)", null=True, blank=True)
    age_groups = models.CharField("âges acceptés", max_length=40, default=",".join(AGE_GROUPS))
    active = models.BooleanField("accepte de nouveaux patients", default=True)
    updated_at = models.DateTimeField("mise à jour le", auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "capacité d'accueil d'un médecin"

    def __str__(self) -> str:
        return f"Capacité du médecin n° {self.practitioner_id}"

    @property
    def age_group_list(self) -> list[str]:
        return [g for g in self.age_groups.split(",") if g in AGE_GROUPS]

    @property
    def age_group_labels(self) -> list[str]:
        return [AGE_GROUP_LABELS[g] for g in self.age_group_list]


class ProposalState(models.TextChoices):
    OPEN = "open", "En attente de réponse"
    ACCEPTED = "accepted", "Acceptée"
    DECLINED = "declined", "Déclinée"
    EXPIRED = "expired", "Expirée"


class MatchingRun(models.Model):
    """One run of the matching: who ran it, on which territory, what it found."""

    at = models.DateTimeField("le", default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    territory = models.ForeignKey(
        "territory.Territory", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    waiting = models.PositiveIntegerField("personnes en attente", default=0)
    proposed = models.PositiveIntegerField("propositions faites", default=0)
    objective = models.FloatField("valeur de l'affectation", default=0)
    seconds = models.FloatField("durée (s)", default=0)

    class Meta:
        ordering = ["-at"]
        verbose_name = "calcul des propositions"

    def __str__(self) -> str:
        return f"Calcul du {self.at:%d/%m/%Y %H:%M}"


class Proposal(models.Model):
    request = models.ForeignKey(
        AttachmentRequest, on_delete=models.CASCADE, related_name="proposals"
    )
    gp = models.ForeignKey(GpCapacity, on_delete=models.PROTECT, related_name="proposals")
    run = models.ForeignKey(
        MatchingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    state = models.CharField(
        "état", max_length=10, choices=ProposalState.choices, default=ProposalState.OPEN
    )
    distance_km = models.FloatField("distance (km)")
    score = models.IntegerField("priorité lors de la proposition")
    reasons = models.JSONField("pourquoi ce médecin", default=list)  # no personal data
    created_at = models.DateTimeField("proposée le", default=timezone.now)
    expires_at = models.DateTimeField("réponse attendue avant le")
    decided_at = models.DateTimeField("réponse le", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    anonymised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "pk"]
        verbose_name = "proposition"
        constraints = [
            models.UniqueConstraint(
                fields=["request"],
                condition=models.Q(state="open"),
                name="attachment_one_open_proposal_per_request",
            )
        ]

    def __str__(self) -> str:
        return f"Proposition n° {self.pk} ({self.request})"


class WeightsVersion(models.Model):
    """The priority weights as the CPTS last saved them (the newest row is in force; none: the
    shipped ``data/priority.yaml``). Older rows stay: which weights scored which request."""

    data = models.JSONField("pondérations")
    at = models.DateTimeField("enregistrées le", default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "version des pondérations"

    def __str__(self) -> str:
        return f"Pondérations du {self.at:%d/%m/%Y %H:%M}"


class NoticeAudience(models.TextChoices):
    PERSON = "person", "Personne"
    GP = "gp", "Médecin"


class Notice(models.Model):
    """One message about one state change, to the person or the GP, by one medium: claimed
    before sending (unique key), so that no change is notified twice, even from two workers.
    Holds no text and no address (as the scheduling app's Notification)."""

    transition = models.ForeignKey(Transition, on_delete=models.CASCADE, related_name="notices")
    audience = models.CharField(max_length=6, choices=NoticeAudience.choices)
    medium = models.CharField(max_length=5, choices=[("sms", "SMS"), ("email", "Courriel")])
    status = models.CharField(
        max_length=8,
        choices=[("sending", "En cours d'envoi"), ("sent", "Envoyé"), ("failed", "Échec")],
        default="sending",
    )
    error = models.CharField(max_length=80, blank=True)  # the exception's class name only
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "message envoyé"
        constraints = [
            models.UniqueConstraint(
                fields=["transition", "audience", "medium"], name="attachment_notice_once"
            )
        ]

    def __str__(self) -> str:
        return f"Message n° {self.pk} ({self.audience}, {self.medium})"
