"""The scheduling app's URLs, one module, one list per namespace; :mod:`maillage.urls`
mounts each under its prefix:

- ``calendar_urls`` (``scheduling``) under ``/agendas/``: iCalendar files;
- ``booking_urls`` (``booking``) at the root: the public's ``/rendez-vous/…`` (no account) and
  the phone operator's ``/soins/operateur/…``;
- ``staff_urls`` (``care_staff``) under ``/soins/``: the nurse's day, activity;
- ``gp_urls`` (``care_gp``) under ``/pro/mes-patients/``: what the care apps address to a GP,
  in the professional space;
- ``finder_urls`` (``care_finder``) under ``/soins-non-programmes/``: the public finder of
  unscheduled-care slots (its JSON API is :mod:`maillage.care.scheduling.api`, on the site's
  API by :mod:`maillage.api_urls`).
"""

from __future__ import annotations

from django.urls import path

from maillage.care.scheduling.views import (
    activity,
    addressed,
    calendars,
    finder,
    operator,
    public,
    staff,
)

calendar_urls = (
    [
        path("<int:schedule_id>/creneaux.ics", calendars.free_slots, name="free-slots-ics"),
        path(
            "sites/<slug:slug>/rendez-vous.ics", calendars.site_bookings, name="site-bookings-ics"
        ),
    ],
    "scheduling",
)

_public = [
    path("", public.index, name="index"),
    path("rdv/<str:token>/", public.manage, name="manage"),
    path("rdv/<str:token>/annuler/", public.cancel, name="cancel"),
    path("rdv/<str:token>/deplacer/", public.move, name="move"),
    path("offre/<str:token>/confirmer/", public.offer, name="offer"),
    path("<slug:slug>/", public.site_slots, name="site"),
    path("<slug:slug>/<int:slot_id>/reserver/", public.book, name="book"),
    path("<slug:slug>/liste-attente/", public.join_waitlist, name="waitlist"),
]
_operator = [
    path("", operator.home, name="operator"),
    path("appelants/", operator.callers, name="operator-callers"),
    path("creneaux/<int:slot_id>/reserver/", operator.book, name="operator-book"),
    path("rdv/<int:booking_id>/", operator.booking_page, name="operator-booking"),
    path("rdv/<int:booking_id>/annuler/", operator.cancel, name="operator-cancel"),
    path("rdv/<int:booking_id>/deplacer/", operator.move, name="operator-move"),
    path("rdv/<int:booking_id>/presence/", operator.mark, name="operator-mark"),
]
booking_urls = (
    [
        *[path("rendez-vous/" + str(p.pattern), p.callback, name=p.name) for p in _public],
        *[path("soins/operateur/" + str(p.pattern), p.callback, name=p.name) for p in _operator],
    ],
    "booking",
)

staff_urls = (
    [
        path("journee/", staff.home, name="home"),
        path("journee/<slug:slug>/<str:day>/", staff.day_view, name="day"),
        path("journee/<slug:slug>/<str:day>/feuille/", staff.day_sheet, name="sheet"),
        path("rendez-vous/<int:pk>/pointer/", staff.mark_view, name="mark"),
        path("rendez-vous/<int:pk>/orientation/", staff.outcome_view, name="outcome"),
        path("rendez-vous/<int:pk>/compte-rendu/", staff.report_view, name="report"),
        path("activite/", activity.activity_page, name="activity"),
        path("activite.csv", activity.activity_csv, name="activity_csv"),
        path("activite.xlsx", activity.activity_xlsx, name="activity_xlsx"),
    ],
    "care_staff",
)

gp_urls = (
    [
        path("", addressed.addressed_page, name="addressed"),
        path("<int:pk>/compte-rendu-recu/", addressed.acknowledge, name="acknowledge"),
    ],
    "care_gp",
)

finder_urls = ([path("", finder.finder_page, name="finder")], "care_finder")
