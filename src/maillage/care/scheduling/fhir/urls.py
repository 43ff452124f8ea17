"""Schedule, Slot and Appointment on ``/fhir/`` (included before the directory's FHIR URLs,
whose catch-all serves every other type). Clients send no CSRF token: writes authenticate
with a bearer token, never with the session cookie."""

from __future__ import annotations

from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt

from maillage.care.scheduling.fhir import appointment, views

_ID = r"(?P<resource_id>[A-Za-z0-9\-.]{1,64})"
app_name = "fhir_scheduling"
urlpatterns = [
    re_path(r"^Schedule/?$", csrf_exempt(views.schedule_search), name="schedule-search"),
    re_path(rf"^Schedule/{_ID}/?$", csrf_exempt(views.schedule_read), name="schedule-read"),
    re_path(r"^Slot/?$", csrf_exempt(views.slot_search), name="slot-search"),
    re_path(rf"^Slot/{_ID}/?$", csrf_exempt(views.slot_read), name="slot-read"),
    re_path(r"^Appointment/?$", csrf_exempt(appointment.collection), name="appointment"),
    re_path(
        rf"^Appointment/{_ID}/?$", csrf_exempt(appointment.instance), name="appointment-instance"
    ),
]
