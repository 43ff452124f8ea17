"""iCalendar exports (``icalendar`` package): a schedule's free public slots, for anyone, and
a site's bookings, for its staff only (the person's name and the reference, never the reason).

Times are written in UTC (``…Z``): every calendar application converts them to its own zone,
and no VTIMEZONE block is needed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from icalendar import Calendar, Event

from maillage.care.scheduling.models import Booking, Schedule, Site, Slot

PRODID = "-//maillage//agendas de soins//FR"


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    return cal


def _where(site: Site) -> str:
    parts = [
        site.name,
        site.address,
        f"{site.postal_code} {site.commune.name if site.commune else ''}",
    ]
    return ", ".join(p.strip() for p in parts if p and p.strip())


def free_slots_calendar(schedule: Schedule, slots: Iterable[Slot], stamp: dt.datetime) -> bytes:
    site = schedule.site
    cal = _calendar(f"{schedule.name} — créneaux libres")
    for slot in slots:
        event = Event()
        event.add("uid", f"slot-{slot.pk}@maillage")
        event.add("dtstamp", stamp)
        event.add("dtstart", slot.start.astimezone(dt.UTC))
        event.add("dtend", slot.end.astimezone(dt.UTC))
        event.add("summary", f"Créneau libre ({slot.free} place{'s' if slot.free > 1 else ''})")
        event.add("location", _where(site))
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return cal.to_ical()


def bookings_calendar(site: Site, bookings: Iterable[Booking], stamp: dt.datetime) -> bytes:
    cal = _calendar(f"{site.name} — rendez-vous")
    for booking in bookings:
        event = Event()
        event.add("uid", f"booking-{booking.pk}@maillage")
        event.add("dtstamp", stamp)
        event.add("dtstart", booking.slot.start.astimezone(dt.UTC))
        event.add("dtend", booking.slot.end.astimezone(dt.UTC))
        event.add("summary", f"{booking.person.display_name} — {booking.reference}")
        event.add("location", _where(site))
        event.add("status", "CONFIRMED")
        event.add("class", "CONFIDENTIAL")
        cal.add_component(event)
    return cal.to_ical()
