"""The register's pages under ``/soins/registre/`` (included from :mod:`maillage.urls`)."""

from __future__ import annotations

from django.urls import path

from maillage.care.register.views import staff

app_name = "register"
urlpatterns = [
    path("", staff.register_list, name="list"),
    path("<int:pk>/confirmer/", staff.confirm, name="confirm"),
    path("<int:pk>/retirer/", staff.remove, name="remove"),
    path("campagnes/", staff.campaigns, name="campaigns"),
    path("campagnes/<int:pk>/", staff.campaign_page, name="campaign"),
    path("campagnes/<int:pk>/appel/", staff.call, name="call"),
    path("campagnes/<int:pk>/appel/<int:call>/", staff.outcome, name="outcome"),
    path("liste-prefet.csv", staff.prefect_list, name="prefect"),
]
