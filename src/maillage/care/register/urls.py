"""The register's pages: the agents' under ``/soins/registre/``, the public request under
``/registre/`` (``public_urls``, namespace ``register_public``); both included from
:mod:`maillage.urls`."""

from __future__ import annotations

from django.urls import path

from maillage.care.register.views import public, staff

app_name = "register"
urlpatterns = [
    path("", staff.register_list, name="list"),
    path("<int:pk>/confirmer/", staff.confirm, name="confirm"),
    path("<int:pk>/valider/", staff.decide, {"decision": "validate"}, name="validate"),
    path("<int:pk>/joindre/", staff.decide, {"decision": "join"}, name="join"),
    path("<int:pk>/refuser/", staff.decide, {"decision": "refuse"}, name="refuse"),
    path("<int:pk>/retirer/", staff.remove, name="remove"),
    path("campagnes/", staff.campaigns, name="campaigns"),
    path("campagnes/<int:pk>/", staff.campaign_page, name="campaign"),
    path("campagnes/<int:pk>/appel/", staff.call, name="call"),
    path("campagnes/<int:pk>/appel/<int:call>/", staff.outcome, name="outcome"),
    path("liste-prefet.csv", staff.prefect_list, {"fmt": "csv"}, name="prefect"),
    path("liste-prefet.xlsx", staff.prefect_list, {"fmt": "xlsx"}, name="prefect_xlsx"),
]

public_urls = (
    [
        path("", public.request_form, name="request"),
        path("confirmer/<str:token>/", public.confirm, name="confirm"),
    ],
    "register_public",
)
