"""The iCalendar files: ``/agendas/<id>/creneaux.ics`` (public) and
``/agendas/sites/<slug>/rendez-vous.ics`` (the site's staff, with their second factor, or an
API token of theirs). A GET never writes, except the audit event of the personal data read."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.http import require_GET

from maillage.accounts.models import Role
from maillage.accounts.permissions import role_of
from maillage.care.people import audit
from maillage.care.people.views import personal_data_required
from maillage.care.scheduling import ical
from maillage.care.scheduling.models import ACTIVE_STATUSES, Booking, Schedule, Site, Slot

ICS = "text/calendar; charset=utf-8"


def _ics(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=ICS)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_GET
def free_slots(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = get_object_or_404(
        Schedule.objects.select_related("site__commune"),
        pk=schedule_id, active=True, site__active=True,
    )  # fmt: skip
    now = timezone.now()
    slots = [
        s
        for s in Slot.objects.filter(
            schedule=schedule, start__gt=now, slot_type="public", blocked=False
        ).order_by("start")
        if s.free > 0
    ]
    return _ics(ical.free_slots_calendar(schedule, slots, now), f"creneaux-{schedule.pk}.ics")


@require_GET
@personal_data_required(roles=[Role.OPERATOR, Role.NURSE, Role.ADMINISTRATOR])
def site_bookings(request: HttpRequest, slug: str) -> HttpResponse:
    site = get_object_or_404(Site.objects.select_related("commune"), slug=slug)
    if role_of(request.user) != Role.ADMINISTRATOR and not site.is_served_by(request.user):
        raise Http404("site inconnu")
    now = timezone.now()
    bookings = list(
        Booking.objects.filter(
            slot__schedule__site=site,
            status__in=ACTIVE_STATUSES,
            slot__end__gte=now - timezone.timedelta(days=7),
        )
        .select_related("slot", "person")
        .order_by("slot__start", "seat")
    )
    audit.record_list(request.user, bookings, "booking", action="export", format="ics")
    return _ics(ical.bookings_calendar(site, bookings, now), f"rendez-vous-{site.slug}.ics")
