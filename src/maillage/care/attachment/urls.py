"""The waiting list's pages: the public request under ``/medecin-traitant/``, the professional
space under ``/soins/medecin-traitant/`` (included from :mod:`maillage.urls`)."""

from __future__ import annotations

from django.urls import path

from maillage.care.attachment.views import dashboard, public, staff

app_name = "attachment"
urlpatterns = [
    path("medecin-traitant/", public.request_form, name="request"),
    path("soins/medecin-traitant/", staff.queue, name="queue"),
    path("soins/medecin-traitant/calculer/", staff.run_matching, name="run"),
    path("soins/medecin-traitant/tableau-de-bord/", dashboard.dashboard_page, name="dashboard"),
    path(
        "soins/medecin-traitant/tableau-de-bord.csv", dashboard.dashboard_csv, name="dashboard_csv"
    ),
    path(
        "soins/medecin-traitant/tableau-de-bord.xlsx",
        dashboard.dashboard_xlsx,
        name="dashboard_xlsx",
    ),  # fmt: skip
    path("soins/medecin-traitant/ponderations/", staff.weights_page, name="weights"),
    path("soins/medecin-traitant/nouvelle/", staff.new_request, name="new"),
    path("soins/medecin-traitant/capacite/", staff.capacity_page, name="capacity"),
    path("soins/medecin-traitant/propositions/", staff.proposals_page, name="proposals"),
    path(
        "soins/medecin-traitant/propositions/<int:pk>/<slug:decision>/",
        staff.decide,
        name="decide",
    ),
]
