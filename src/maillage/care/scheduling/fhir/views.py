"""``/fhir/Schedule`` and ``/fhir/Slot``: read and search, as the directory's FHIR server does
(same rules: repeated parameters ANDed, comma-separated values ORed, unknown parameters refused
with a 400 OperationOutcome, ``_count``/``_offset`` paging).

Slot search parameters: ``_id``, ``status`` (free, busy, busy-unavailable), ``start`` (a date or
a date-time with the prefixes eq, ge, gt, le, lt; a date is a whole local day, a date-time
without offset is local time), ``schedule``, ``schedule.actor`` (``Location/<id>``,
``HealthcareService/<id>`` or ``PractitionerRole/<id>`` of the directory), ``service-type``
(AMB, VR, HH), and ``_include=Slot:schedule``.

Who sees what: the public sees public slots of active sites; a professional
(``can(user, "view_pro")``) sees every slot type (reserved to professionals, to regulators, to a
partner), as the SAS platform shows PRO slots to regulators.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.dateparse import parse_datetime

from maillage.accounts.permissions import can
from maillage.care.scheduling.fhir import resources as res
from maillage.care.scheduling.models import Schedule, Slot, SlotType
from maillage.care.scheduling.services.generation import local_zone
from maillage.directory.fhir.views import (
    DEFAULT_COUNT,
    MAX_COUNT,
    MAX_OFFSET,
    PAGING_PARAMS,
    BadRequest,
    _base_url,
    _check_sizes,
    _int_param,
    _page_url,
    as_id,
    fhir_response,
    outcome,
    require_GET,
)

ACTOR_FIELDS = {
    "Location": "site__location_id",
    "HealthcareService": "site__service_id",
    "PractitionerRole": "practitioner_role_id",
}
_PREFIXES = ("eq", "ge", "gt", "le", "lt")


def _reference(value: str, kind: str) -> int:
    match = re.fullmatch(rf"(?:(?:.*/)?{kind}/)?([0-9]+)", value)
    number = as_id(match.group(1)) if match is not None else None
    if number is None:
        raise BadRequest(f"une référence « {kind}/<id> » est attendue, pas {value!r}")
    return number


def _actor(prefix: str) -> Callable[[str], Q]:
    def make(value: str) -> Q:
        match = re.fullmatch(r"(?:.*/)?([A-Za-z]+)/([0-9]+)", value)
        if match is None or match.group(1) not in ACTOR_FIELDS or as_id(match.group(2)) is None:
            raise BadRequest(
                "schedule.actor attend Location/<id>, HealthcareService/<id> ou "
                f"PractitionerRole/<id>, pas {value!r}"
            )
        return Q(**{f"{prefix}{ACTOR_FIELDS[match.group(1)]}": int(match.group(2))})

    return make


def _date_range(value: str) -> tuple[str, dt.datetime, dt.datetime]:
    """``ge2026-03-29`` → ("ge", lower, upper): the bounds of the value's precision."""
    prefix = value[:2] if value[:2] in _PREFIXES else "eq"
    raw = value[2:] if value[:2] in _PREFIXES else value
    zone = local_zone()
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            raise BadRequest(f"date invalide : {raw!r}") from None
        lower = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
        upper = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
        return prefix, lower, upper
    try:
        moment = parse_datetime(raw.replace(" ", "+"))  # '+' of an unencoded URL reads ' '
    except ValueError:
        moment = None
    if moment is None:
        raise BadRequest(
            f"start attend une date (2026-03-29) ou une date-heure (2026-03-29T09:00:00+02:00), "
            f"précédée de eq, ge, gt, le ou lt ; pas {value!r}"
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return prefix, moment, moment


def _start(value: str) -> Q:
    prefix, lower, upper = _date_range(value)
    exact = lower == upper
    if prefix == "ge":
        return Q(start__gte=lower)
    if prefix == "gt":
        return Q(start__gt=upper) if exact else Q(start__gte=upper)
    if prefix == "lt":
        return Q(start__lt=lower)
    if prefix == "le":
        return Q(start__lte=upper) if exact else Q(start__lt=upper)
    return Q(start=lower) if exact else Q(start__gte=lower, start__lt=upper)


def _status(value: str) -> Q:
    if value == "free":
        return Q(blocked=False, booked__lt=F("capacity"))
    if value == "busy":
        return Q(blocked=False, booked__gte=F("capacity"))
    if value == "busy-unavailable":
        return Q(blocked=True)
    if value == "busy-tentative":
        return Q(pk__in=[])
    raise BadRequest(f"status attend free, busy ou busy-unavailable, pas {value!r}")


def _mode(prefix: str) -> Callable[[str], Q]:
    def make(value: str) -> Q:
        code = value.split("|", 1)[-1]
        return Q(**{f"{prefix}mode": code})

    return make


def _id(value: str) -> Q:
    number = as_id(value)
    if number is None:
        raise BadRequest(f"_id doit être un identifiant numérique, pas {value!r}")
    return Q(pk=number)


def _active(value: str) -> Q:
    if value not in ("true", "false"):
        raise BadRequest(f"true ou false attendu, pas {value!r}")
    return Q(active=value == "true", site__active=value == "true")


#: name → (FHIR type, documentation, value → Q)
PARAMS: dict[str, dict[str, tuple[str, str, Callable[[str], Q]]]] = {
    "Schedule": {
        "_id": ("token", "Logical id of the schedule.", _id),
        "actor": (
            "reference",
            "The directory resource the schedule is the agenda of: Location/<id>, "
            "HealthcareService/<id> or PractitionerRole/<id>.",
            _actor(""),
        ),
        "active": ("token", "true or false.", _active),
        "service-type": ("token", "AMB (on site), VR (teleconsultation), HH.", _mode("")),
    },
    "Slot": {
        "_id": ("token", "Logical id of the slot.", _id),
        "status": ("token", "free, busy or busy-unavailable.", _status),
        "start": (
            "date",
            "Start of the slot: eq, ge, gt, le, lt + a date (a whole local day) or a date-time.",
            _start,
        ),
        "schedule": (
            "reference",
            "The schedule (Schedule/<id>).",
            lambda v: Q(schedule_id=_reference(v, "Schedule")),
        ),
        "schedule.actor": (
            "reference",
            "The schedule's actor: Location/<id>, HealthcareService/<id> or PractitionerRole/<id>.",
            _actor("schedule__"),
        ),
        "service-type": (
            "token",
            "AMB (on site), VR (teleconsultation), HH.",
            _mode("schedule__"),
        ),
    },
}
INCLUDES = {"Slot": {"Slot:schedule"}, "Schedule": set()}


def _visible(kind: str, pro: bool) -> QuerySet:
    if kind == "Schedule":
        return Schedule.objects.select_related("site__commune")
    qs = Slot.objects.select_related("schedule__site")
    if not pro:
        qs = qs.filter(slot_type=SlotType.PUBLIC)
    return qs


def _filter(kind: str, qs: QuerySet, request: HttpRequest) -> tuple[QuerySet, set[str]]:
    params = PARAMS[kind]
    includes: set[str] = set()
    for key in request.GET:
        if key in PAGING_PARAMS:
            continue
        if key == "_include":
            for value in request.GET.getlist(key):
                if value not in INCLUDES[kind]:
                    allowed = ", ".join(sorted(INCLUDES[kind])) or "aucun"
                    raise BadRequest(
                        f"_include={value!r} non pris en charge (possibles : {allowed})"
                    )
                includes.add(value)
            continue
        if key not in params:
            known = ", ".join(sorted(params) + sorted(PAGING_PARAMS) + ["_include"])
            raise BadRequest(
                f"paramètre de recherche inconnu {key!r} pour {kind} (pris en charge : {known})"
            )
        make = params[key][2]
        for raw in request.GET.getlist(key):
            values = [v for v in raw.split(",") if v != ""]
            if not values:
                raise BadRequest(f"le paramètre de recherche {key!r} n'a pas de valeur")
            q = Q()
            for value in values:
                q |= make(value)
            qs = qs.filter(q)
    return qs, includes


def _build(kind: str, obj: Any) -> dict[str, Any]:
    return res.schedule_resource(obj) if kind == "Schedule" else res.slot_resource(obj)


def search(request: HttpRequest, resource_type: str) -> HttpResponse:
    try:
        _check_sizes(request)
    except BadRequest as exc:
        return outcome(400, "too-costly", str(exc))
    pro = can(request.user, "view_pro")
    try:
        count = _int_param(request, "_count", DEFAULT_COUNT, 0, MAX_COUNT)
        offset = _int_param(request, "_offset", 0, 0, MAX_OFFSET)
        qs, includes = _filter(resource_type, _visible(resource_type, pro), request)
    except BadRequest as exc:
        return outcome(400, "invalid", str(exc))
    qs = qs.order_by("start", "pk") if resource_type == "Slot" else qs.order_by("pk")
    total = qs.count()
    items = list(qs[offset : offset + count]) if count else []
    links = [{"relation": "self", "url": _page_url(request, offset, count)}]
    if count and offset + count < total:
        links.append({"relation": "next", "url": _page_url(request, offset + count, count)})
    if count and offset > 0:
        links.append(
            {"relation": "previous", "url": _page_url(request, max(offset - count, 0), count)}
        )
    base = _base_url(request)
    entries = [
        {
            "fullUrl": f"{base}/{resource_type}/{obj.pk}",
            "resource": _build(resource_type, obj),
            "search": {"mode": "match"},
        }
        for obj in items
    ]
    if "Slot:schedule" in includes:
        schedules = {slot.schedule_id: slot.schedule for slot in items}
        entries += [
            {
                "fullUrl": f"{base}/Schedule/{pk}",
                "resource": res.schedule_resource(schedule),
                "search": {"mode": "include"},
            }
            for pk, schedule in sorted(schedules.items())
        ]
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
    }
    if entries:
        bundle["entry"] = entries
    return fhir_response(bundle)


def read(request: HttpRequest, resource_type: str, resource_id: str) -> HttpResponse:
    pro = can(request.user, "view_pro")
    obj = None
    if as_id(resource_id) is not None:
        obj = _visible(resource_type, pro).filter(pk=as_id(resource_id)).first()
    if obj is None:
        return outcome(404, "not-found", f"{resource_type}/{resource_id} est inconnu")
    return fhir_response(_build(resource_type, obj))


@require_GET
def schedule_search(request: HttpRequest) -> HttpResponse:
    return search(request, "Schedule")


@require_GET
def slot_search(request: HttpRequest) -> HttpResponse:
    return search(request, "Slot")


@require_GET
def schedule_read(request: HttpRequest, resource_id: str) -> HttpResponse:
    return read(request, "Schedule", resource_id)


@require_GET
def slot_read(request: HttpRequest, resource_id: str) -> HttpResponse:
    return read(request, "Slot", resource_id)
