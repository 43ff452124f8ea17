"""The scheduling app's pages and files, under ``/agendas/``."""

from __future__ import annotations

from django.urls import path

from maillage.care.scheduling.views import calendars

app_name = "scheduling"
urlpatterns = [
    path("<int:schedule_id>/creneaux.ics", calendars.free_slots, name="free-slots-ics"),
    path("sites/<slug:slug>/rendez-vous.ics", calendars.site_bookings, name="site-bookings-ics"),
]
