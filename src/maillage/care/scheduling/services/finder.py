"""The same-day and 24-hour finder of unscheduled care (seed 003: "un rendez-vous le jour même
ou dans les 24 heures"): free public slots of the participating sites within a window, sorted
by travel time from the patient's commune, the radius widened until at least
:data:`MIN_OPTIONS` options exist (the SAS rule).

Places come from the directory's place parsing (:func:`maillage.directory.search.service.
resolve_place`: postal code, commune name, address → commune); travel times from the default
travel model of :mod:`maillage.analytics.travel` (great-circle km × detour ÷ speed + the
intra-commune time), as the directory's distance sorting uses great-circle distances.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F
from django.utils import timezone

from maillage.analytics.travel import TravelModel
from maillage.care.scheduling.models import ConsultationMode, Slot, SlotType
from maillage.care.scheduling.services.outcomes import _km
from maillage.territory.models import Commune

MIN_OPTIONS = 5
#: Radii tried in turn (km, as the crow flies) until :data:`MIN_OPTIONS` options are found.
RADII_KM = (10, 20, 30, 50, 80, 120, 200)
WINDOWS = {"today": "aujourd'hui", "24h": "dans les 24 heures", "48h": "dans les 48 heures"}
#: Profession filter → (TRE_G15 profession code, specialty prefix of a schedule without role).
PROFESSIONS = {
    "medecin": ("10", "SM"),
    "infirmier": ("60", "SI"),
    "chirurgien-dentiste": ("40", "SC"),
}
MAX_OPTIONS = 30
_MODEL = TravelModel()


class FinderError(ValueError):
    """Bad input, with a French message (400 for the API)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Option:
    slot: Slot
    km: float
    minutes: int

    @property
    def site(self) -> Any:
        return self.slot.schedule.site

    @property
    def teleconsultation(self) -> bool:
        return self.slot.schedule.mode == ConsultationMode.VR


@dataclass
class Result:
    commune: Commune
    window: str
    until: dt.datetime
    radius_km: int | None
    options: list[Option] = field(default_factory=list)
    tried_km: list[int] = field(default_factory=list)


def window_end(window: str, now: dt.datetime) -> dt.datetime:
    from maillage.care.scheduling.services.generation import local_zone

    if window == "today":
        local = now.astimezone(local_zone())
        return dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), local_zone())
    if window == "24h":
        return now + dt.timedelta(hours=24)
    if window == "48h":
        return now + dt.timedelta(hours=48)
    raise FinderError("Fenêtre inconnue : aujourd'hui, 24 h ou 48 h.", "window")


def place(text: str) -> Commune:
    from maillage.directory.search.service import resolve_place

    text = (text or "").strip()
    if not text:
        raise FinderError("Indiquez une commune, un code postal ou une adresse.", "place")
    if len(text) > 200:
        raise FinderError("Le lieu est trop long (200 caractères au plus).", "place")
    commune = resolve_place(text)
    if commune is None or commune.latitude is None:
        raise FinderError(f"Lieu introuvable : « {text[:60]} ».", "place")
    return commune


def find(
    where: str | Commune,
    window: str = "24h",
    *,
    profession: str = "",
    teleconsultation: bool | None = None,
    now: dt.datetime | None = None,
) -> Result:
    """Free public slots from ``now`` to the window's end, nearest first (then soonest)."""
    now = now or timezone.now()
    if profession and profession not in PROFESSIONS:
        raise FinderError(
            f"Profession inconnue : {profession[:30]!r} ({', '.join(PROFESSIONS)}).", "profession"
        )
    until = window_end(window, now)
    commune = where if isinstance(where, Commune) else place(where)
    slots = (
        Slot.objects.filter(
            start__gt=now,
            start__lt=until,
            blocked=False,
            booked__lt=F("capacity"),
            slot_type=SlotType.PUBLIC,
            schedule__active=True,
            schedule__site__active=True,
        )
        .select_related(
            "schedule__site__commune", "schedule__site__location", "schedule__practitioner_role"
        )
        .order_by("start")
    )
    if teleconsultation is not None:
        slots = (
            slots.filter(schedule__mode=ConsultationMode.VR)
            if teleconsultation
            else slots.exclude(schedule__mode=ConsultationMode.VR)
        )
    if profession:
        code, prefix = PROFESSIONS[profession]
        from django.db.models import Q

        slots = slots.filter(
            Q(schedule__practitioner_role__profession_code=code)
            | Q(
                schedule__practitioner_role__isnull=True,
                schedule__specialty_code__startswith=prefix,
            )
        )
    options: list[Option] = []
    for slot in slots[:5000]:
        site = slot.schedule.site
        loc = site.location
        if loc is not None and loc.latitude is not None:
            lat, lon = loc.latitude, loc.longitude
        elif site.commune is not None and site.commune.latitude is not None:
            lat, lon = site.commune.latitude, site.commune.longitude
        else:
            continue
        km = _km(commune.latitude, commune.longitude, lat, lon)
        minutes = round(_MODEL.intra_commune_minutes + float(_MODEL.minutes_for_km(km)))
        options.append(Option(slot, km, minutes))
    result = Result(commune, window, until, None)
    for radius in RADII_KM:
        result.tried_km.append(radius)
        within = [o for o in options if o.km <= radius]
        if len(within) >= MIN_OPTIONS or radius == RADII_KM[-1]:
            result.radius_km = radius
            within.sort(key=lambda o: (o.minutes, o.slot.start, o.slot.pk))
            result.options = within[:MAX_OPTIONS]
            break
    return result
