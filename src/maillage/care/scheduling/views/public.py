"""The public booking pages, with no account: a site's free slots (next days first, grouped by
day), the form, the confirmation with the reference and the private link, and that link's page
to see, move or cancel; the waiting list and its offers.

A GET never writes (the audit of a read aside); every change is a POST of a form with its CSRF
token. Bad input answers the form again with French messages (400), never a 500, and nothing
half-written (the services work in one transaction).
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from maillage.care.people.models import Person
from maillage.care.scheduling.booking_forms import IdentityForm, WaitlistForm
from maillage.care.scheduling.models import BookingStatus, Site, Slot, SlotType
from maillage.care.scheduling.services import channels, waitlist
from maillage.care.scheduling.services.booking import (
    BookingError,
    TooYoung,
    by_access_token,
    check_bookable,
)

TOKEN_PURPOSE = "booking_link"


def _site(slug: str) -> Site:
    return get_object_or_404(Site, slug=slug, active=True)


def _first_day(request: HttpRequest) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(request.GET.get("depuis", ""))
    except ValueError:
        return None
    today = timezone.localdate()
    return day if today <= day <= today + dt.timedelta(days=120) else None


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    sites = Site.objects.filter(active=True, schedules__active=True).distinct().order_by("name")
    return render(request, "scheduling/public/index.html", {"sites": sites})


@require_GET
def site_slots(request: HttpRequest, slug: str) -> HttpResponse:
    site = _site(slug)
    first = _first_day(request) or timezone.localdate()
    days = channels.by_day(channels.free_slots([site], first_day=first))
    return render(
        request,
        "scheduling/public/slots.html",
        {
            "site": site,
            "days": days,
            "first": first,
            "next_from": first + dt.timedelta(days=channels.DAYS_SHOWN),
            "previous_from": first - dt.timedelta(days=channels.DAYS_SHOWN)
            if first > timezone.localdate()
            else None,
        },
    )


def _public_slot(site: Site, slot_id: int) -> Slot:
    return get_object_or_404(
        Slot.objects.select_related("schedule__site"),
        pk=slot_id,
        schedule__site=site,
        slot_type=SlotType.PUBLIC,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, slug: str, slot_id: int) -> HttpResponse:
    site = _site(slug)
    slot = _public_slot(site, slot_id)
    form = IdentityForm(request.POST or None, site=site)
    problem = ""
    try:
        check_bookable(slot, None)
        if slot.free <= 0:
            problem = "Ce créneau vient d'être pris : choisissez-en un autre."
    except BookingError as exc:
        problem = str(exc)
    if request.method == "POST" and not problem and form.is_valid():
        try:
            result = channels.book_from_form(slot, form.cleaned_data, channel="web")
        except TooYoung as exc:
            form.add_error("birth_date", str(exc))
        except BookingError as exc:
            form.add_error(None, str(exc))
        else:
            request.session["booking_new"] = result.booking.reference
            return redirect("booking:manage", token=result.access_token)
    status = 409 if problem else (200 if request.method == "GET" else 400)
    return render(
        request,
        "scheduling/public/book.html",
        {"site": site, "slot": slot, "form": form, "problem": problem},
        status=status,
    )


def _by_token(token: str):
    booking = by_access_token(token)
    if booking is None:
        raise Http404("Lien inconnu")
    return booking


@never_cache
@require_GET
def manage(request: HttpRequest, token: str) -> HttpResponse:
    booking = channels.view_booking(_by_token(token), None, TOKEN_PURPOSE)
    new = request.session.pop("booking_new", None) == booking.reference
    return render(
        request,
        "scheduling/public/manage.html",
        {
            "booking": booking,
            "slot": booking.slot,
            "site": booking.slot.schedule.site,
            "person": booking.person,
            "token": token,
            "new": new,
            "editable": booking.status == BookingStatus.BOOKED
            and booking.slot.start > timezone.now(),
            "link": request.build_absolute_uri(reverse("booking:manage", args=[token])),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    booking = channels.view_booking(_by_token(token), None, TOKEN_PURPOSE)
    error = ""
    if request.method == "POST":
        try:
            channels.cancel_booking(booking)
        except BookingError as exc:
            error = str(exc)
        else:
            return redirect("booking:manage", token=token)
    return render(
        request,
        "scheduling/public/cancel.html",
        {"booking": booking, "slot": booking.slot, "token": token, "error": error},
        status=400 if error else 200,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def move(request: HttpRequest, token: str) -> HttpResponse:
    booking = channels.view_booking(_by_token(token), None, TOKEN_PURPOSE)
    site = booking.slot.schedule.site
    error = ""
    if request.method == "POST":
        try:
            slot_id = int(request.POST.get("slot", ""))
            target = _public_slot(site, slot_id)
            channels.move_booking(booking, target)
        except (ValueError, Http404):
            error = "Choisissez un des créneaux proposés."
        except BookingError as exc:
            error = str(exc)
        else:
            return redirect("booking:manage", token=token)
    first = _first_day(request) or timezone.localdate()
    days = channels.by_day(channels.free_slots([site], first_day=first))
    return render(
        request,
        "scheduling/public/move.html",
        {"booking": booking, "slot": booking.slot, "site": site, "days": days, "token": token,
         "error": error},
        status=400 if error else 200,
    )  # fmt: skip


@never_cache
@require_http_methods(["GET", "POST"])
def join_waitlist(request: HttpRequest, slug: str) -> HttpResponse:
    site = _site(slug)
    today = timezone.localdate()
    initial = {"from_date": today, "until_date": today + dt.timedelta(days=14)}
    form = WaitlistForm(request.POST or None, site=site, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        person = Person(
            birth_name=data["birth_name"].upper(), first_names=data["first_names"],
            used_first_name=data.get("used_first_name") or "", birth_date=data["birth_date"],
            sex=data["sex"], phone=data["phone"], email=data.get("email") or "",
            has_attending_doctor=data["has_gp"], attending_doctor_label=data.get("gp_label") or "",
        )  # fmt: skip
        if site.min_age and person.age_on(data["until_date"]) < site.min_age:
            form.add_error(
                "birth_date", f"Ce site reçoit les patients à partir de {site.min_age} ans."
            )
        else:
            try:
                waitlist.join(
                    site, person, from_date=data["from_date"], until_date=data["until_date"],
                    weekdays="".join(data.get("weekdays") or []), reason=data["reason"],
                    has_gp=data["has_gp"],
                )  # fmt: skip
            except BookingError as exc:
                form.add_error(None, str(exc))
            else:
                return render(request, "scheduling/public/waitlist_done.html", {"site": site})
    return render(
        request,
        "scheduling/public/waitlist.html",
        {"site": site, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def offer(request: HttpRequest, token: str) -> HttpResponse:
    found = waitlist.by_offer_token(token)
    if found is None:
        raise Http404("Lien inconnu")
    error = ""
    if request.method == "POST":
        try:
            result = waitlist.accept(found, token)
        except BookingError as exc:
            error = str(exc)
        else:
            from maillage.care.scheduling import notify
            from maillage.care.scheduling.models_booking import NotificationKind

            notify.notify_booking(
                result.booking, NotificationKind.CONFIRMATION, result.access_token
            )
            request.session["booking_new"] = result.booking.reference
            return redirect("booking:manage", token=result.access_token)
    valid = found.status == "open" and found.expires_at > timezone.now()
    return render(
        request,
        "scheduling/public/offer.html",
        {"offer": found, "slot": found.slot, "site": found.slot.schedule.site, "valid": valid,
         "error": error},
        status=400 if error else 200,
    )  # fmt: skip
