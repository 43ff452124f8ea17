"""JSON API of the unscheduled-care finder, on the site's API (``/api/``, OpenAPI at
``/api/schema``): ``GET /api/care/finder``. Registered on import (by
:mod:`maillage.care.scheduling.urls_staff`, before the API's URLs are built)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema

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


api.add_router("/care", router)
