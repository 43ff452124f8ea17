"""URLs of the care staff pages (the nurse's day, activity), of the GP's page in the
professional space (what the care apps address to them) and of the public finder of
unscheduled-care slots; included from :mod:`maillage.urls`."""

from __future__ import annotations

from django.urls import path

from maillage.care.scheduling.views import activity, addressed, finder, staff

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
