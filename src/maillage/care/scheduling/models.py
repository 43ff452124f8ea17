"""Agendas of the care sites and their slots.

A :class:`Site` is a bookable resource (a teleconsultation room, a practice offering unscheduled
care, a permanence, a mobile teleconsultation kit); it has one or more :class:`Schedule` (the
FHIR Schedule: the agenda of the site, or of one practitioner role there). A schedule's
recurring :class:`OpeningRule` rows and its :class:`ScheduleException` rows (closures, extra
sessions) are turned into :class:`Slot` rows ahead of time by
:func:`maillage.care.scheduling.services.generation.generate`.

Times: rules hold local wall-clock times (Europe/Paris, ``settings.TIME_ZONE``); slots hold
aware datetimes, stored in UTC by Django. Slot types follow the SAS guide's TRE_R314
nomenclature (public, professionals, regulators of unscheduled care) plus a maillage type for a
slot reserved to a partner organisation.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q

from maillage.care.people.crypto import EncryptedTextField
from maillage.directory.models import (
    HealthcareService,
    Location,
    Organization,
    PractitionerRole,
)
from maillage.territory.models import Commune

#: Local times of the half-days a rule may name instead of explicit times.
HALF_DAYS = {"morning": (time(9, 0), time(12, 0)), "afternoon": (time(14, 0), time(17, 0))}


class SiteKind(models.TextChoices):
    TELECONSULTATION_ROOM = "teleconsultation_room", "Salle de téléconsultation"
    UNSCHEDULED_CARE = "unscheduled_care", "Cabinet ou MSP (soins non programmés)"
    PERMANENCE = "permanence", "Cabinet de permanence"
    MOBILE_KIT = "mobile_kit", "Mallette de téléconsultation itinérante"


class SlotType(models.TextChoices):
    """Who may book a slot. The first three are the SAS guide's TRE_R314 codes."""

    PUBLIC = "public", "Public"
    PRO = "pro", "Professionnels de santé seulement"
    SNP = "snp", "Régulation des soins non programmés"
    PARTNER = "partner", "Réservé à une structure partenaire"


class ConsultationMode(models.TextChoices):
    """FHIR v3-ActCode, as the SAS guide uses them in Slot.serviceType."""

    AMB = "AMB", "Au cabinet"
    VR = "VR", "Téléconsultation"
    HH = "HH", "À domicile"


class Site(models.Model):
    """A bookable resource, linked to its directory entries where they exist."""

    slug = models.SlugField(max_length=120, unique=True)
    name = models.CharField("nom", max_length=250)
    kind = models.CharField("type", max_length=24, choices=SiteKind.choices)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="care_sites"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="care_sites"
    )
    service = models.ForeignKey(
        HealthcareService,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="care_sites",
    )
    practitioner_role = models.ForeignKey(
        PractitionerRole,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="care_sites",
    )
    address = models.CharField("adresse", max_length=300, blank=True)
    postal_code = models.CharField("code postal", max_length=5, blank=True)
    commune = models.ForeignKey(
        Commune, null=True, blank=True, on_delete=models.PROTECT, related_name="care_sites"
    )
    #: The communes a mobile kit visits (empty for a fixed site).
    visited_communes = models.ManyToManyField(
        Commune, blank=True, related_name="visiting_care_sites"
    )
    phone = models.CharField("téléphone", max_length=20, blank=True)
    min_age = models.PositiveSmallIntegerField("âge minimal", default=0)
    description = models.TextField(blank=True)
    #: Operators and nurses who serve the site (object-level permissions of bookings).
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="care_sites")
    active = models.BooleanField(default=True)
    synthetic = models.BooleanField(default=False)
    source_note = models.CharField("source", max_length=500, blank=True)
    opened_on = models.DateField("ouvert le", null=True, blank=True)
    #: Where the finder places the site: its directory Location's coordinates, else its
    #: commune's centroid (a copy, indexed, so that the sites near a place are read through an
    #: index and not by joining every site to two tables). Kept by :meth:`save`, by a
    #: Location's save and deletion (:func:`sync_coordinates`, connected in the app's
    #: ``ready``) and by the daily slot generation for whatever a bulk write changed.
    latitude = models.FloatField(null=True, blank=True, editable=False)
    longitude = models.FloatField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "site de consultation"
        indexes = [models.Index(fields=["latitude", "longitude"], name="site_lat_lon")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.latitude, self.longitude = self.coordinates()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "latitude", "longitude"}
        super().save(*args, **kwargs)

    def coordinates(self) -> tuple[float | None, float | None]:
        """(latitude, longitude): the Location's when it has both, else the commune's."""
        location = self.location if self.location_id else None
        if location is not None and location.latitude is not None:
            if location.longitude is not None:
                return location.latitude, location.longitude
        commune = self.commune if self.commune_id else None
        if commune is not None:
            return commune.latitude, commune.longitude
        return None, None

    @property
    def where(self) -> str:
        """The address as one line ("11 rue Henri IV, 52100 Saint-Dizier"), the parts that are
        known only: every page writes a site's address this way."""
        town = " ".join(
            p for p in (self.postal_code, self.commune.name if self.commune else "") if p
        )
        return ", ".join(p for p in (self.address.strip(), town) if p)

    def scope_communes(self) -> set[str]:
        return {self.commune_id} if self.commune_id else set()

    def is_served_by(self, user: Any) -> bool:
        return bool(getattr(user, "pk", None)) and self.staff.filter(pk=user.pk).exists()


def sync_coordinates(sites: models.QuerySet[Site] | None = None) -> int:
    """Copy onto ``sites`` (all by default) the coordinates :meth:`Site.coordinates` gives, in
    one UPDATE (after bulk writes that skip ``save``: a directory import, ``bulk_create``, a
    Location deleted); the number of sites written."""
    location = Location.objects.filter(
        pk=models.OuterRef("location_id"), latitude__isnull=False, longitude__isnull=False
    )
    commune = Commune.objects.filter(pk=models.OuterRef("commune_id"))
    on_location = models.Exists(location)
    wanted = {
        name: models.Case(
            models.When(on_location, then=models.Subquery(location.values(name)[:1])),
            default=models.Subquery(commune.values(name)[:1]),
            output_field=models.FloatField(),
        )
        for name in ("latitude", "longitude")
    }
    return (Site.objects.all() if sites is None else sites).update(**wanted)


def _location_saved(sender: type, instance: Location, **kwargs: Any) -> None:
    sync_coordinates(Site.objects.filter(location=instance))


def _location_deleting(sender: type, instance: Location, **kwargs: Any) -> None:
    # the sites' location_id is set to NULL before post_delete: remember which they were
    instance._care_site_ids = list(instance.care_sites.values_list("pk", flat=True))


def _location_deleted(sender: type, instance: Location, **kwargs: Any) -> None:
    ids = getattr(instance, "_care_site_ids", None)
    if ids:
        sync_coordinates(Site.objects.filter(pk__in=ids))


def connect_coordinates() -> None:
    """Keep :attr:`Site.latitude` / :attr:`Site.longitude` when a Location is saved or
    deleted (called from the app's ``ready``)."""
    from django.db.models.signals import post_delete, post_save, pre_delete

    uid = "scheduling-site-coordinates"
    post_save.connect(_location_saved, sender=Location, dispatch_uid=uid)
    pre_delete.connect(_location_deleting, sender=Location, dispatch_uid=uid)
    post_delete.connect(_location_deleted, sender=Location, dispatch_uid=uid)


class Schedule(models.Model):
    """The agenda of a site (or of one practitioner role at it): FHIR Schedule."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="schedules")
    practitioner_role = models.ForeignKey(
        PractitionerRole,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="care_schedules",
    )
    name = models.CharField("nom", max_length=250)
    mode = models.CharField(
        "mode de consultation",
        max_length=3,
        choices=ConsultationMode.choices,
        default=ConsultationMode.AMB,
    )
    #: Ordinal specialty (TRE_R38), SM54 = médecine générale.
    specialty_code = models.CharField("spécialité", max_length=10, blank=True, default="SM54")
    active = models.BooleanField(default=True)
    #: Slots exist up to this date (set by the generation).
    generated_until = models.DateField(null=True, blank=True)
    synthetic = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["site__name", "name"]
        verbose_name = "agenda"

    def __str__(self) -> str:
        return self.name

    def scope_communes(self) -> set[str]:
        return self.site.scope_communes()


_WEEKDAYS = RegexValidator(
    r"^(?!.*(.).*\1)[0-6]{1,7}$",
    "jours de la semaine : des chiffres de 0 (lundi) à 6 (dimanche), sans doublon",
)


class SlotRules(models.Model):
    """What rules and extra sessions share: times, slot length, capacity, type."""

    start_time = models.TimeField("début", null=True, blank=True)
    end_time = models.TimeField("fin", null=True, blank=True)
    slot_minutes = models.PositiveSmallIntegerField("durée d'un créneau (minutes)", default=30)
    capacity = models.PositiveSmallIntegerField("places par créneau", default=1)
    slot_type = models.CharField(
        "type de créneau", max_length=8, choices=SlotType.choices, default=SlotType.PUBLIC
    )
    partner = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="structure partenaire",
    )

    class Meta:
        abstract = True

    def clean(self) -> None:
        if (self.slot_type == SlotType.PARTNER) != (self.partner_id is not None):
            raise ValidationError(
                "Un créneau réservé à un partenaire doit nommer la structure partenaire, "
                "et seulement lui."
            )


def _positive_rules(prefix: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(slot_minutes__gte=5) & Q(slot_minutes__lte=720),
            name=f"{prefix}_slot_minutes_range",
        ),
        models.CheckConstraint(
            condition=Q(capacity__gte=1) & Q(capacity__lte=50), name=f"{prefix}_capacity_range"
        ),
        models.CheckConstraint(
            condition=(Q(slot_type="partner") & Q(partner__isnull=False))
            | (~Q(slot_type="partner") & Q(partner__isnull=True)),
            name=f"{prefix}_partner_iff_partner_type",
        ),
    ]


class OpeningRule(SlotRules):
    """A recurring opening: weekdays, times (or a half-day), slot length, capacity."""

    class HalfDay(models.TextChoices):
        MORNING = "morning", "Matin"
        AFTERNOON = "afternoon", "Après-midi"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="rules")
    weekdays = models.CharField(
        "jours", max_length=7, validators=[_WEEKDAYS], help_text="0 = lundi … 6 = dimanche"
    )
    half_day = models.CharField("demi-journée", max_length=9, choices=HalfDay.choices, blank=True)
    valid_from = models.DateField("à partir du")
    valid_until = models.DateField("jusqu'au", null=True, blank=True)
    label = models.CharField("libellé", max_length=200, blank=True)

    class Meta:
        verbose_name = "règle d'ouverture"
        constraints = [
            *_positive_rules("rule"),
            models.CheckConstraint(
                condition=Q(
                    start_time__isnull=False, end_time__isnull=False, end_time__gt=F("start_time")
                ),
                name="rule_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="rule_valid_period",
            ),
        ]

    def __str__(self) -> str:
        return self.label or f"{self.schedule} {self.weekdays} {self.start_time}-{self.end_time}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.half_day and (self.start_time is None or self.end_time is None):
            self.start_time, self.end_time = HALF_DAYS[self.half_day]
        super().save(*args, **kwargs)

    @property
    def days(self) -> set[int]:
        return {int(c) for c in self.weekdays}


class ScheduleException(SlotRules):
    """A closure (whole days, or hours within them) or an extra session."""

    class Kind(models.TextChoices):
        CLOSURE = "closure", "Fermeture"
        EXTRA = "extra", "Séance supplémentaire"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="exceptions")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    start_date = models.DateField("du")
    end_date = models.DateField("au")
    reason = models.CharField("motif", max_length=200, blank=True)

    class Meta:
        verbose_name = "exception d'agenda"
        constraints = [
            *_positive_rules("exception"),
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="exception_period"
            ),
            # an extra session has times; a closure has both or neither (whole days)
            models.CheckConstraint(
                condition=(
                    Q(start_time__isnull=True, end_time__isnull=True, kind="closure")
                    | Q(end_time__gt=F("start_time"))
                ),
                name="exception_times",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.start_date}–{self.end_date}"


class Slot(models.Model):
    """A bookable time with a capacity. ``booked`` is kept by the booking service in the same
    transaction as the booking rows (the database's unique seats are the truth)."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="slots")
    start = models.DateTimeField(db_index=True)
    end = models.DateTimeField()
    capacity = models.PositiveSmallIntegerField(default=1)
    booked = models.PositiveSmallIntegerField(default=0)
    #: Taken out of booking (a closure added after generation, a rule removed while bookings
    #: remained): FHIR ``busy-unavailable``; its bookings are kept for an operator to move.
    blocked = models.BooleanField(default=False)
    slot_type = models.CharField(max_length=8, choices=SlotType.choices, default=SlotType.PUBLIC)
    partner = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rule = models.ForeignKey(
        OpeningRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="slots"
    )
    extra = models.ForeignKey(
        ScheduleException, null=True, blank=True, on_delete=models.SET_NULL, related_name="slots"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start", "pk"]
        verbose_name = "créneau"
        constraints = [
            models.UniqueConstraint(fields=["schedule", "start"], name="slot_unique_start"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="slot_end_after_start"),
            models.CheckConstraint(
                condition=Q(capacity__gte=1) & Q(capacity__lte=50), name="slot_capacity_range"
            ),
            models.CheckConstraint(
                condition=Q(booked__lte=F("capacity")), name="slot_booked_within_capacity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} {self.start:%Y-%m-%d %H:%M}"

    @property
    def free(self) -> int:
        return 0 if self.blocked else max(self.capacity - self.booked, 0)

    @property
    def status(self) -> str:
        """FHIR SlotStatus."""
        if self.blocked:
            return "busy-unavailable"
        return "free" if self.booked < self.capacity else "busy"

    def scope_communes(self) -> set[str]:
        return self.schedule.scope_communes()


class IdempotencyKey(models.Model):
    """A write request's ``Idempotency-Key``: the first answer, replayed to a retry of the same
    request; the same key with another body is refused (422)."""

    key = models.CharField(max_length=200)
    #: Who sent it: ``user:<id>`` or ``token:<id>`` (keys of two clients never collide).
    owner = models.CharField(max_length=80)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key")
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"


class BookingStatus(models.TextChoices):
    BOOKED = "booked", "Réservé"
    CANCELLED = "cancelled", "Annulé"
    HONOURED = "honoured", "Honoré"
    NO_SHOW = "no_show", "Absent"


#: The statuses that hold a seat of the slot.
ACTIVE_STATUSES = (BookingStatus.BOOKED, BookingStatus.HONOURED, BookingStatus.NO_SHOW)


class Channel(models.TextChoices):
    WEB = "web", "En ligne"
    PHONE = "phone", "Par téléphone"
    API = "api", "Par l'API (plateforme partenaire)"


class Booking(models.Model):
    """One person booked on one seat of a slot.

    One booking per unit of capacity is the database's rule, not only the code's: an active
    booking holds a ``seat`` (0 … capacity − 1) unique within its slot (a partial unique index),
    and a trigger refuses a seat beyond the slot's capacity (a check constraint cannot read the
    slot's row; migration 0002 writes the trigger for SQLite and PostgreSQL).
    """

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    seat = models.PositiveSmallIntegerField(default=0)
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="scheduling_bookings"
    )
    status = models.CharField(
        max_length=10, choices=BookingStatus.choices, default=BookingStatus.BOOKED
    )
    #: Given to the person ("K7PM-3QXA"): letters and digits that cannot be confused.
    reference = models.CharField("référence", max_length=9, unique=True)
    #: SHA-256 of the private token of the see/move/cancel link (the token is never stored).
    access_digest = models.CharField(max_length=64, unique=True)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    reason = EncryptedTextField("motif", blank=True)
    has_gp = models.BooleanField("a un médecin traitant", null=True, blank=True)
    gp = models.ForeignKey(
        PractitionerRole,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="care_bookings",
        verbose_name="médecin traitant",
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="care_bookings_made",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)
    synthetic = models.BooleanField(default=False)

    class Meta:
        ordering = ["slot__start", "seat"]
        verbose_name = "rendez-vous"
        constraints = [
            models.UniqueConstraint(
                fields=["slot", "seat"],
                condition=Q(status__in=[s.value for s in ACTIVE_STATUSES]),
                name="booking_one_per_seat",
            ),
            models.CheckConstraint(
                condition=Q(seat__gte=0) & Q(seat__lt=50), name="booking_seat_range"
            ),
        ]

    def __str__(self) -> str:  # never the person's name (logs, admin messages)
        return f"Rendez-vous {self.reference}"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def scope_communes(self) -> set[str]:
        return self.slot.scope_communes()


class Act(models.TextChoices):
    """The act done at the visit (NGAP codes where one exists)."""

    TELECONSULTATION = "TCG", "Téléconsultation de médecine générale (TCG)"
    TELEEXPERTISE = "TE", "Téléexpertise"
    NURSING = "AMI", "Soin infirmier seul (AMI)"


class Outcome(models.TextChoices):
    """Where the person goes after the visit (seed 003: back to the médecin traitant, or a
    médecin relais booked by the nurse for those who have none)."""

    BACK_TO_GP = "back_to_gp", "Retour vers le médecin traitant"
    RELAY = "relay", "Rendez-vous avec un médecin relais"
    EMERGENCY = "emergency", "Adressé aux urgences"
    SPECIALIST = "specialist", "Adressé à un spécialiste"
    DONE = "done", "Pris en charge, sans suite"


class Visit(models.Model):
    """What happened at an honoured booking: arrival, act, outcome, an encrypted note, and the
    report to the médecin traitant (sent / acknowledged). Written by
    :mod:`maillage.care.scheduling.services.attendance` and ``services.outcomes`` only."""

    booking = models.OneToOneField(Booking, on_delete=models.CASCADE, related_name="visit")
    arrived_at = models.DateTimeField("arrivée", null=True, blank=True)
    act = models.CharField("acte", max_length=4, choices=Act.choices, blank=True)
    outcome = models.CharField("orientation", max_length=12, choices=Outcome.choices, blank=True)
    relay = models.ForeignKey(
        PractitionerRole,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="care_relay_visits",
        verbose_name="médecin relais",
    )
    note = EncryptedTextField("note d'orientation", blank=True)
    report_to = models.EmailField("compte rendu envoyé à (MSSanté)", blank=True)
    report_sent_at = models.DateTimeField("compte rendu envoyé le", null=True, blank=True)
    report_acknowledged_at = models.DateTimeField("compte rendu reçu le", null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "passage"
        constraints = [
            models.CheckConstraint(
                condition=Q(relay__isnull=True) | Q(outcome="relay"), name="visit_relay_if_relay"
            ),
            models.CheckConstraint(
                condition=Q(report_acknowledged_at__isnull=True) | Q(report_sent_at__isnull=False),
                name="visit_acknowledged_after_sent",
            ),
        ]

    def __str__(self) -> str:
        return f"Passage du rendez-vous n° {self.booking_id}"

    def scope_communes(self) -> set[str]:
        return self.booking.scope_communes()


# The booking channels' models (notifications, waiting list): a module of their own.
from maillage.care.scheduling.models_booking import (  # noqa: E402, F401
    Notification,
    WaitlistEntry,
    WaitlistOffer,
)
