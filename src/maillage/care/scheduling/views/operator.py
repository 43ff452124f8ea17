"""The phone operator's screen: built for speed and the keyboard alone.

One page searches free slots across the sites the operator serves (``Site.staff``) by day, site
and type; a slot opens the booking form for a caller (channel "phone", booked by the operator);
a second search finds a caller's earlier bookings by birth name and date of birth, or by phone
(each search and each booking shown audited), with cancel and move on their behalf, and no-shows
recorded (:func:`maillage.care.scheduling.services.attendance.mark`).

Every view is behind :func:`maillage.care.people.views.personal_data_required` (operators and
nurses, with their second factor) and answers 404 for a slot or a booking of a site the user
does not serve.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from maillage.accounts.models import Role
from maillage.care.people.permissions import can_access
from maillage.care.people.views import personal_data_required
from maillage.care.scheduling.booking_forms import CallerSearchForm, IdentityForm, SlotSearchForm
from maillage.care.scheduling.models import Booking, BookingStatus, Slot
from maillage.care.scheduling.services import attendance, channels
from maillage.care.scheduling.services.booking import (
    BookingError,
    TooYoung,
    local_date,
    may_book_type,
)

STAFF = [Role.OPERATOR, Role.NURSE, Role.ADMINISTRATOR]
PURPOSE = "phone_booking"
operator_only = personal_data_required(roles=STAFF)
#: The consents as the operator asks them on the phone.
PHONE_CONSENTS = {
    "consent_teleconsultation": "L'appelant·e accepte d'être examiné·e en téléconsultation.",
    "consent_report": "L'appelant·e accepte l'envoi du compte rendu à son médecin traitant.",
    "consent_reminders": "L'appelant·e souhaite un rappel la veille (SMS, courriel si donné).",
}


def _slot(request: HttpRequest, slot_id: int) -> Slot:
    slot = get_object_or_404(
        Slot.objects.select_related("schedule__site"),
        pk=slot_id,
        schedule__site__in=channels.operator_sites(request.user),
    )
    return slot


def _booking(request: HttpRequest, booking_id: int) -> Booking:
    booking = get_object_or_404(
        Booking.objects.select_related("slot__schedule__site", "person"), pk=booking_id
    )
    if not can_access(request.user, booking, "view"):
        raise Http404("Rendez-vous inconnu")
    return booking


@never_cache
@operator_only
def home(request: HttpRequest) -> HttpResponse:
    sites = channels.operator_sites(request.user)
    form = SlotSearchForm(request.GET or None, sites=sites)
    days = []
    if form.is_valid() or not request.GET:
        data = form.cleaned_data if request.GET else {}
        chosen = [data["site"]] if data.get("site") else sites
        types = (
            [data["slot_type"]] if data.get("slot_type") else ["public", "pro", "snp", "partner"]
        )
        slots = channels.free_slots(
            chosen, first_day=data.get("day") or timezone.localdate(),
            days=data.get("days") or 7, slot_types=types,
        )[:300]  # fmt: skip
        days = channels.by_day_and_site(s for s in slots if may_book_type(s, request.user))
    callers = CallerSearchForm(prefix="c")
    return render(
        request,
        "scheduling/operator/home.html",
        {"form": form, "days": days, "sites": sites, "callers": callers},
        status=200 if not form.errors else 400,
    )


@never_cache
@operator_only
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, slot_id: int) -> HttpResponse:
    slot = _slot(request, slot_id)
    site = slot.schedule.site
    form = IdentityForm(request.POST or None, site=site)
    form.fields["birth_name"].widget.attrs["autofocus"] = True  # the caller's name first
    for name, label in PHONE_CONSENTS.items():
        if name in form.fields:
            form.fields[name].label = label
    if request.method == "POST" and form.is_valid():
        try:
            result = channels.book_from_form(
                slot, form.cleaned_data, channel="phone", user=request.user
            )
        except TooYoung as exc:
            form.add_error("birth_date", str(exc))
        except BookingError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect(
                reverse("booking:operator-booking", args=[result.booking.pk]) + "?nouveau=1"
            )
    return render(
        request,
        "scheduling/operator/book.html",
        {"slot": slot, "site": site, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@never_cache
@operator_only
def callers(request: HttpRequest) -> HttpResponse:
    form = CallerSearchForm(request.GET or None, prefix="c")
    bookings = None
    if form.is_valid():
        data = form.cleaned_data
        bookings = channels.caller_bookings(
            request.user, birth_name=data.get("birth_name") or "",
            birth_date=data.get("birth_date"), phone=data.get("phone") or "",
        )  # fmt: skip
    return render(
        request,
        "scheduling/operator/callers.html",
        {"callers": form, "bookings": bookings, "now": timezone.now()},
        status=400 if form.errors else 200,
    )


@never_cache
@operator_only
def booking_page(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = channels.view_booking(_booking(request, booking_id), request.user, PURPOSE)
    return render(
        request,
        "scheduling/operator/booking.html",
        {
            "booking": booking,
            "slot": booking.slot,
            "person": booking.person,
            "new": request.GET.get("nouveau") == "1",
            "editable": booking.status == BookingStatus.BOOKED
            and booking.slot.start > timezone.now(),
            "attendance_open": local_date(booking.slot.start) <= timezone.localdate(),
        },
    )


@operator_only
@require_POST
def cancel(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = _booking(request, booking_id)
    try:
        channels.cancel_booking(booking, request.user)
    except BookingError as exc:
        return render(request, "people/forbidden.html", {"message": str(exc)}, status=400)
    return redirect("booking:operator-booking", booking_id=booking.pk)


@never_cache
@operator_only
@require_http_methods(["GET", "POST"])
def move(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = channels.view_booking(_booking(request, booking_id), request.user, PURPOSE)
    site = booking.slot.schedule.site
    error = ""
    if request.method == "POST":
        try:
            target = _slot(request, int(request.POST.get("slot", "")))
            channels.move_booking(booking, target, request.user)
        except (ValueError, Http404):
            error = "Choisissez un des créneaux proposés."
        except BookingError as exc:
            error = str(exc)
        else:
            return redirect("booking:operator-booking", booking_id=booking.pk)
    slots = [
        s for s in channels.free_slots([site], days=21, slot_types=["public", "pro", "snp",
                                                                     "partner"])
        if may_book_type(s, request.user)
    ]  # fmt: skip
    return render(
        request,
        "scheduling/operator/move.html",
        {"booking": booking, "slot": booking.slot, "days": channels.by_day(slots), "error": error},
        status=400 if error else 200,
    )


@operator_only
@require_POST
def mark(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = _booking(request, booking_id)
    try:
        attendance.mark(booking, request.POST.get("status", ""), request.user)
    except BookingError as exc:
        return render(request, "people/forbidden.html", {"message": str(exc)}, status=400)
    return redirect("booking:operator-booking", booking_id=booking.pk)
