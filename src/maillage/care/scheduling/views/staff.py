"""The nurse's day: for one site she serves and one day, the people booked, their arrival, the
act, the outcome, the note and the report to the médecin traitant; a printable day sheet.

Thin views: the writes go through :mod:`..services.attendance` and :mod:`..services.outcomes`;
every list shown is audited (purpose "nurse_day", the sheet "day_sheet").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from maillage.accounts.models import Role
from maillage.accounts.permissions import role_of
from maillage.care.people import audit, flags
from maillage.care.people.views import personal_data_required
from maillage.care.scheduling.models import Act, Booking, BookingStatus, Outcome, Site, Visit
from maillage.care.scheduling.services import attendance, outcomes
from maillage.care.scheduling.services.booking import BookingError, local_date
from maillage.care.scheduling.services.generation import local_zone

STAFF_ROLES = (Role.NURSE, Role.OPERATOR, Role.ADMINISTRATOR)


def served_sites(user: Any) -> list[Site]:
    """The sites whose days ``user`` may open: those they serve; every site for an admin."""
    sites = Site.objects.filter(active=True).select_related("commune")
    if role_of(user) != Role.ADMINISTRATOR:
        sites = sites.filter(staff=user)
    return list(sites)


def _site_for(user: Any, slug: str) -> Site:
    for site in served_sites(user):
        if site.slug == slug:
            return site
    raise Http404("site inconnu ou non servi")


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Http404("date invalide") from None


def day_bookings(site: Site, day: dt.date) -> list[Booking]:
    zone = local_zone()
    start = dt.datetime.combine(day, dt.time(0), zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone)
    rows = (
        Booking.objects.filter(
            slot__schedule__site=site, slot__start__gte=start, slot__start__lt=end
        )
        .exclude(status=BookingStatus.CANCELLED)
        .select_related(
            "slot", "person", "person__commune", "gp__practitioner", "person__attending_doctor"
        )
        .order_by("slot__start", "seat")
    )
    bookings = list(rows)
    visits = {v.booking_id: v for v in Visit.objects.filter(booking__in=bookings)}
    for booking in bookings:
        booking.the_visit = visits.get(booking.pk)
        booking.local_start = booking.slot.start.astimezone(zone)
        booking.age = booking.person.age_on(day) if booking.person.birth_date else None
        booking.report_address = outcomes.report_address(booking)
    return bookings


@require_GET
@personal_data_required(roles=STAFF_ROLES)
def home(request: HttpRequest) -> HttpResponse:
    """The first site served, today (or a page saying none is served)."""
    sites = served_sites(request.user)
    if not sites:
        return render(request, "scheduling/staff/no_site.html", status=200)
    today = timezone.localdate()
    return redirect("care_staff:day", slug=sites[0].slug, day=today.isoformat())


def _context(request: HttpRequest, slug: str, day: str) -> dict[str, Any]:
    site = _site_for(request.user, slug)
    date = _day(day)
    bookings = day_bookings(site, date)
    return {
        "site": site,
        "sites": served_sites(request.user),
        "day": date,
        "previous": date - dt.timedelta(days=1),
        "next": date + dt.timedelta(days=1),
        "today": timezone.localdate(),
        "bookings": bookings,
        "counts": {
            "booked": len(bookings),
            "honoured": sum(b.status == BookingStatus.HONOURED for b in bookings),
            "no_show": sum(b.status == BookingStatus.NO_SHOW for b in bookings),
        },
    }


@require_GET
@personal_data_required(roles=STAFF_ROLES)
def day_view(request: HttpRequest, slug: str, day: str) -> HttpResponse:
    context = _context(request, slug, day)
    audit.record_list(request.user, context["bookings"], attendance.PURPOSE)
    flags.annotate(request.user, [b.person for b in context["bookings"]])  # e.g. on a register
    context.update(
        acts=Act.choices,
        outcomes=Outcome.choices,
        relays=outcomes.relay_candidates(context["site"]),
    )
    return render(request, "scheduling/staff/day.html", context)


@require_GET
@personal_data_required(roles=STAFF_ROLES)
def day_sheet(request: HttpRequest, slug: str, day: str) -> HttpResponse:
    """The printable day sheet (HTML with a print stylesheet; ``?format=pdf`` through
    WeasyPrint)."""
    context = _context(request, slug, day)
    pdf = request.GET.get("format") == "pdf"
    audit.record_list(
        request.user, context["bookings"], "day_sheet", action="export" if pdf else "view"
    )
    context["printed_at"] = timezone.localtime()
    response = render(request, "scheduling/staff/sheet.html", context)
    if not pdf:
        return response
    import weasyprint

    document = weasyprint.HTML(string=response.content.decode("utf-8"), base_url=None)
    out = HttpResponse(document.write_pdf(), content_type="application/pdf")
    out["Content-Disposition"] = f'inline; filename="journee-{slug}-{day}.pdf"'
    out["Cache-Control"] = "no-store"
    return out


def _booking_for(request: HttpRequest, pk: int) -> Booking:
    booking = get_object_or_404(Booking.objects.select_related("slot__schedule__site"), pk=pk)
    if booking.slot.schedule.site not in served_sites(request.user):
        raise Http404("rendez-vous inconnu")
    return booking


def _back(booking: Booking) -> HttpResponse:
    url = reverse(
        "care_staff:day",
        kwargs={"slug": booking.slot.schedule.site.slug, "day": local_date(booking.slot.start)},
    )
    return redirect(f"{url}#rdv-{booking.pk}")


@require_POST
@personal_data_required(roles=STAFF_ROLES)
def mark_view(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _booking_for(request, pk)
    try:
        attendance.mark(booking, request.POST.get("status", ""), request.user)
    except BookingError as exc:
        messages.error(request, str(exc))
    return _back(booking)


@require_POST
@personal_data_required(roles=STAFF_ROLES)
def outcome_view(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _booking_for(request, pk)
    try:
        outcomes.record(
            booking,
            request.user,
            act=request.POST.get("act", ""),
            outcome=request.POST.get("outcome", ""),
            relay=request.POST.get("relay") or None,
            note=request.POST.get("note", ""),
        )
        messages.success(request, "Orientation enregistrée.")
    except BookingError as exc:
        messages.error(request, str(exc))
    return _back(booking)


@require_POST
@personal_data_required(roles=STAFF_ROLES)
def report_view(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _booking_for(request, pk)
    try:
        outcomes.mark_report(booking, request.user, request.POST.get("step", ""))
    except BookingError as exc:
        messages.error(request, str(exc))
    return _back(booking)
