"""JSON API of the unscheduled-care finder, on the site's API (``/api/``, OpenAPI at
``/api/schema``): ``GET /api/care/finder``. Registered on import (by
:mod:`maillage.api_urls`, before the API's URLs are built)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.security import django_auth

from maillage.care.scheduling.services import finder
from maillage.directory.api.endpoints import Error, api, error

router = Router(tags=["care"])


class SiteOut(Schema):
    slug: str
    name: str
    address: str
    commune: str | None
    phone: str
    synthetic: bool


class OptionOut(Schema):
    slot: int
    start: dt.datetime
    end: dt.datetime
    free: int
    teleconsultation: bool
    km: float
    travel_minutes: int
    site: SiteOut
    fhir_slot: str


class FinderOut(Schema):
    commune: str
    commune_name: str
    window: str
    until: dt.datetime
    radius_km: int | None
    radii_tried_km: list[int]
    count: int
    synthetic: bool
    options: list[OptionOut]


@router.get(
    "/finder",
    response={200: FinderOut, 400: Error},
    summary="Free unscheduled-care slots near a place, today or within 24/48 hours",
)
def finder_api(
    request: HttpRequest,
    place: str,
    window: str = "24h",
    profession: str = "",
    teleconsultation: bool | None = None,
):
    """``place``: a commune name, postal code, INSEE code or address; ``window``: ``today``,
    ``24h`` or ``48h``; ``profession``: ``medecin``, ``infirmier`` or
    ``chirurgien-dentiste``. Sorted by estimated travel time by car; the radius widens (10, 20,
    30, 50, 80, 120, 200 km) until at least five options exist. ``synthetic`` is true when any
    option belongs to a synthetic (demonstration) site."""
    try:
        result = finder.find(
            place, window, profession=profession, teleconsultation=teleconsultation
        )
    except finder.FinderError as exc:
        return error(400, str(exc), [exc.field] if exc.field else None)
    options = [
        {
            "slot": o.slot.pk,
            "start": o.slot.start,
            "end": o.slot.end,
            "free": o.slot.free,
            "teleconsultation": o.teleconsultation,
            "km": round(o.km, 1),
            "travel_minutes": o.minutes,
            "site": {
                "slug": o.site.slug,
                "name": o.site.name,
                "address": o.site.address,
                "commune": o.site.commune.name if o.site.commune else None,
                "phone": o.site.phone,
                "synthetic": o.site.synthetic,
            },
            "fhir_slot": f"/fhir/Slot/{o.slot.pk}",
        }
        for o in result.options
    ]
    return {
        "commune": result.commune.code,
        "commune_name": result.commune.name,
        "window": result.window,
        "until": result.until,
        "radius_km": result.radius_km,
        "radii_tried_km": result.tried_km,
        "count": len(options),
        "synthetic": any(o.site.synthetic for o in result.options),
        "options": options,
    }


class ActivityMonthOut(Schema):
    site: str
    site_name: str
    month: str
    half_days: int
    slots_offered: int
    booked: int
    acts: int
    no_shows: int
    no_show_rate: float | None
    distinct_patients: int
    acts_per_day: float | None
    acts_per_hour: float | None
    share_without_gp: float | None
    age_bands: dict[str, int]
    synthetic: bool


class ActivityOut(Schema):
    synthetic: bool
    months: list[ActivityMonthOut]


@router.get(
    "/activity",
    response={200: ActivityOut, 400: Error, 403: Error},
    auth=django_auth,
    summary="Activity of the care sites per site and month (aggregates, synthetic flagged)",
)
def activity_api(request: HttpRequest, site: str = ""):
    """The figures of the activity page: coordinators and administrators get every site,
    nurses and operators their own; aggregates only. ``synthetic`` is true for months of the
    demo's synthetic history (and at the top when any month is)."""
    import math

    from maillage.analytics.care_activity import AGE_BANDS
    from maillage.care.scheduling.models import Site
    from maillage.care.scheduling.services import activity

    allowed = activity.sites_for(request.user, Site.objects.filter(active=True))
    if not allowed:
        return error(403, "votre rôle ne donne pas accès à l'activité des sites de soins")
    sites = [s for s in allowed if s.slug == site] if site else allowed
    if not sites:
        return error(400, "site inconnu ou hors de vos sites", ["site"])
    result = activity.compute(sites)

    def number(value: object) -> float | None:
        return None if value is None or math.isnan(float(value)) else float(value)

    months = [
        {
            "site": row["site"],
            "site_name": result.site_names.get(row["site"], row["site"]),
            "month": row["month"],
            **{k: int(row[k]) for k in ("half_days", "slots_offered", "booked", "acts")},
            "no_shows": int(row["no_shows"]),
            "distinct_patients": int(row["distinct_patients"]),
            **{
                k: number(row[k])
                for k in ("no_show_rate", "acts_per_day", "acts_per_hour", "share_without_gp")
            },
            "age_bands": {band: int(row[band]) for band, _, _ in AGE_BANDS},
            "synthetic": bool(row["synthetic"]),
        }
        for row in result.monthly.to_dict("records")
    ]
    return {"synthetic": result.synthetic, "months": months}


api.add_router("/care", router)
