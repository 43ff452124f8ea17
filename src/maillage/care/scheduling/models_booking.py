"""What the booking channels add to the agendas: notifications sent (never twice) and the waiting
list with its offers of freed slots. Imported at the end of :mod:`.models` so that Django counts
them as the scheduling app's models.

- :class:`Notification`: one message (SMS or e-mail) about a booking or an offer. Its unique key
  (booking or offer, kind, medium, key) is what guarantees that a retried task, or two workers,
  never send the same reminder twice: the row is claimed before the message leaves.
- :class:`WaitlistEntry`: a person asking to be called when a slot of a site frees up (the
  weekdays and the dates that suit them); refers to a :class:`~maillage.care.people.models.Person`
  and carries ``anonymised_at`` as the retention asks.
- :class:`WaitlistOffer`: a freed slot offered to one entry, through a private link valid until
  ``expires_at``; the person confirms through ``book()``, first come first served.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from maillage.care.people.crypto import EncryptedTextField
from maillage.care.scheduling.models import Booking, Site, Slot
from maillage.directory.models import PractitionerRole


class NotificationKind(models.TextChoices):
    CONFIRMATION = "confirmation", "Confirmation"
    CHANGE = "change", "Changement"
    CANCELLATION = "cancellation", "Annulation"
    REMINDER = "reminder", "Rappel la veille"
    OFFER = "offer", "Proposition d'un créneau libéré"


class NotificationMedium(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "Courriel"


class NotificationStatus(models.TextChoices):
    SENDING = "sending", "En cours d'envoi"
    SENT = "sent", "Envoyé"
    FAILED = "failed", "Échec"


class Notification(models.Model):
    """One message sent (or being sent, or failed) to a person. Holds no text and no address:
    only what was sent about what, when, and how it went."""

    booking = models.ForeignKey(
        Booking, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    offer = models.ForeignKey(
        "WaitlistOffer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(max_length=12, choices=NotificationKind.choices)
    medium = models.CharField(max_length=5, choices=NotificationMedium.choices)
    #: What makes two messages of one kind different: the slot of a reminder (a booking moved
    #: to another day is reminded again), the slot moved to for a change.
    key = models.CharField(max_length=40, blank=True, default="")
    status = models.CharField(
        max_length=8, choices=NotificationStatus.choices, default=NotificationStatus.SENDING
    )
    #: A short code of the failure (the exception's class name): never an address nor a text.
    error = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "notification"
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "kind", "medium", "key"],
                condition=Q(booking__isnull=False),
                name="notification_once_per_booking",
            ),
            models.UniqueConstraint(
                fields=["offer", "kind", "medium", "key"],
                condition=Q(offer__isnull=False),
                name="notification_once_per_offer",
            ),
            models.CheckConstraint(
                condition=Q(booking__isnull=False) | Q(offer__isnull=False),
                name="notification_about_something",
            ),
        ]

    def __str__(self) -> str:
        return f"Notification {self.kind} {self.medium} n° {self.pk}"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "En attente"
    OFFERED = "offered", "Créneau proposé"
    BOOKED = "booked", "Rendez-vous pris"
    CANCELLED = "cancelled", "Retirée"
    EXPIRED = "expired", "Expirée"


class WaitlistEntry(models.Model):
    """A person waiting for a slot of ``site`` on one of ``weekdays`` between two dates."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="waitlist")
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="scheduling_waitlist"
    )
    #: Digits 0 (Monday) … 6 (Sunday); empty: any day.
    weekdays = models.CharField("jours", max_length=7, blank=True)
    from_date = models.DateField("à partir du")
    until_date = models.DateField("jusqu'au")
    reason = EncryptedTextField("motif", blank=True)
    has_gp = models.BooleanField("a un médecin traitant", null=True, blank=True)
    gp = models.ForeignKey(
        PractitionerRole, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=8, default="web")
    status = models.CharField(
        max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)
    synthetic = models.BooleanField(default=False)

    class Meta:
        verbose_name = "demande de liste d'attente"
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(until_date__gte=models.F("from_date")), name="waitlist_period"
            ),
        ]

    def __str__(self) -> str:  # never the person's name
        return f"Liste d'attente n° {self.pk}"

    def wants(self, day_weekday: int) -> bool:
        return not self.weekdays or str(day_weekday) in self.weekdays

    def scope_communes(self) -> set[str]:
        return self.site.scope_communes()


class OfferStatus(models.TextChoices):
    OPEN = "open", "Proposé"
    ACCEPTED = "accepted", "Accepté"
    EXPIRED = "expired", "Expiré"
    TAKEN = "taken", "Pris par quelqu'un d'autre"


class WaitlistOffer(models.Model):
    """A freed slot offered to one entry; at most one open offer per slot at a time."""

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="waitlist_offers")
    #: SHA-256 of the private token of the offer's link (the token is never stored).
    access_digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=OfferStatus.choices, default=OfferStatus.OPEN)
    booking = models.ForeignKey(
        Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "proposition de créneau libéré"
        constraints = [
            models.UniqueConstraint(fields=["entry", "slot"], name="offer_once_per_entry_slot"),
            models.UniqueConstraint(
                fields=["slot"], condition=Q(status="open"), name="offer_one_open_per_slot"
            ),
        ]

    def __str__(self) -> str:
        return f"Proposition n° {self.pk}"
