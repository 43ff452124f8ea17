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
import math
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone

from maillage.analytics.travel import TravelModel
from maillage.care.scheduling.models import ConsultationMode, Site, Slot, SlotType
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
_RELATED = ("schedule__site__commune", "schedule__site__location", "schedule__practitioner_role")
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
    slots = Slot.objects.filter(
        start__gt=now,
        start__lt=until,
        blocked=False,
        booked__lt=F("capacity"),
        slot_type=SlotType.PUBLIC,
        schedule__active=True,  # the sites: active ones only, read by _sites_near
    ).select_related(*_RELATED)
    if teleconsultation is not None:
        slots = (
            slots.filter(schedule__mode=ConsultationMode.VR)
            if teleconsultation
            else slots.exclude(schedule__mode=ConsultationMode.VR)
        )
    if profession:
        code, prefix = PROFESSIONS[profession]
        slots = slots.filter(
            Q(schedule__practitioner_role__profession_code=code)
            | Q(
                schedule__practitioner_role__isnull=True,
                schedule__specialty_code__startswith=prefix,
            )
        )
    result = Result(commune, window, until, None)
    # the SAS rule: the smallest radius with MIN_OPTIONS free slots (or the largest radius),
    # the sites read ring by ring; each ring's best MAX_OPTIONS slots (nearest by whole
    # minutes, then soonest) read with their sites: the best of all rings is among them
    picked: list[tuple[int, dt.datetime, int, float, Slot]] = []
    inner = -1.0
    for radius in RADII_KM:
        result.tried_km.append(radius)
        ring = _sites_near(commune, radius, inner)
        picked.extend(_best(slots, ring))
        inner = radius
        if len(picked) >= MIN_OPTIONS or radius == RADII_KM[-1]:
            result.radius_km = radius
            break
    picked.sort(key=lambda p: p[:3])
    result.options = [Option(slot, km, minutes) for minutes, _, _, km, slot in picked[:MAX_OPTIONS]]
    return result


#: Sites per statement when a ring's slots are read (whole travel-time groups, so a block's
#: slots all come before the next block's): the database sorts only these sites' free slots.
_BLOCK = 50


def _best(
    slots: Any, ring: list[tuple[int, float, int]]
) -> list[tuple[int, dt.datetime, int, float, Slot]]:
    """The ring's best :data:`MAX_OPTIONS` free slots as (minutes, start, pk, km, slot):
    nearest by whole minutes, then soonest, read block of sites by block (sorted by their
    minutes in SQL, through the (schedule, start) index) until enough are found."""
    best: list[tuple[int, dt.datetime, int, float, Slot]] = []
    i = 0
    while i < len(ring) and len(best) < MAX_OPTIONS:
        block: dict[int, list[int]] = {}
        km: dict[int, float] = {}
        while i < len(ring) and (len(km) < _BLOCK or ring[i][2] in block):
            pk, distance, minutes = ring[i]
            block.setdefault(minutes, []).append(pk)
            km[pk] = distance
            i += 1
        # the block's best ids sorted on narrow rows (its sites' minutes as a CASE when they
        # differ), their slots and sites loaded by the same statement; the few rows are then
        # ordered in Python (compiling the CASE a second time cost more than the sort)
        chosen = slots.filter(schedule__site_id__in=list(km)).select_related(None)
        if len(block) > 1:
            chosen = chosen.annotate(
                minutes=Case(
                    *(When(schedule__site_id__in=ids, then=Value(m)) for m, ids in block.items()),
                    output_field=IntegerField(),
                )
            ).order_by("minutes", "start", "pk")
        else:
            chosen = chosen.order_by("start", "pk")
        chosen = chosen.values("pk")[: MAX_OPTIONS - len(best)]
        minutes_of = {pk: m for m, ids in block.items() for pk in ids}
        rows = Slot.objects.select_related(*_RELATED).filter(pk__in=chosen).order_by()
        best.extend(
            sorted(
                (minutes_of[s.schedule.site_id], s.start, s.pk, km[s.schedule.site_id], s)
                for s in rows
            )
        )
    return best


def _sites_near(
    commune: Commune, radius_km: float, inner_km: float = -1.0
) -> list[tuple[int, float, int]]:
    """Active sites farther than ``inner_km`` and within ``radius_km`` of the commune's
    centroid, as (pk, km, minutes), nearest first: the sites' coordinates (their Location's,
    else their commune's centroid, copied onto :class:`Site`) selected by a latitude/longitude
    box around the commune through the ``site_lat_lon`` index, the exact distance then
    computed."""
    lat0, lon0 = commune.latitude, commune.longitude
    dlat = radius_km / 111.0 + 1e-6
    dlon = radius_km / (111.0 * max(math.cos(math.radians(min(89.0, abs(lat0) + dlat))), 0.01))
    rows = (
        Site.objects.filter(
            active=True,
            latitude__gte=lat0 - dlat,
            latitude__lte=lat0 + dlat,
            longitude__gte=lon0 - dlon,
            longitude__lte=lon0 + dlon,
        )
        .values_list("pk", "latitude", "longitude")
        .order_by()
    )
    sites = []
    for pk, lat, lon in rows:
        km = _km(lat0, lon0, lat, lon)
        if inner_km < km <= radius_km:
            minutes = round(_MODEL.intra_commune_minutes + float(_MODEL.minutes_for_km(km)))
            sites.append((pk, km, minutes))
    sites.sort(key=lambda s: (s[2], s[1], s[0]))
    return sites
