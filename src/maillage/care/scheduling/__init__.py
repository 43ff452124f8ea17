"""Agendas, slots and bookings of the care sites (teleconsultation rooms, unscheduled care).

Parts: ``models.py`` (Site, Schedule, OpeningRule, ScheduleException, Slot, Booking,
IdempotencyKey), ``services/`` (``generation.py``: slots from the rules over a rolling horizon;
``booking.py``: the one booking function every channel uses), ``fhir/`` (Schedule, Slot and
Appointment on ``/fhir/``), ``ical.py`` (iCalendar exports), ``tasks.py`` (slot generation on
the task framework).
"""
