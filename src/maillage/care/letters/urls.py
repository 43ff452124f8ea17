"""The discharge letters' pages (included from :mod:`maillage.urls` at the root)."""

from __future__ import annotations

from django.urls import path

from maillage.care.letters import views

app_name = "letters"
urlpatterns = [
    path("soins/sorties/", views.discharge_list, name="list"),
    path("soins/sorties/nouvelle/", views.new_discharge, name="new"),
    path("soins/sorties/import/", views.import_upload, name="import"),
    path("soins/sorties/import/<int:pk>/", views.import_mapping, name="import_mapping"),
    path("soins/sorties/<int:pk>/avis/", views.send_notice, name="send_notice"),
    path("soins/sorties/en-retard/", views.overdue_list, name="overdue"),
    path("soins/sorties/indicateurs/", views.indicators_page, name="indicators"),
    path(
        "soins/sorties/indicateurs.<str:fmt>",
        views.indicators_export,
        name="export",
    ),
    path("pro/lettres-de-sortie/", views.gp_list, name="gp_list"),
    path("pro/lettres-de-sortie/<int:pk>/recue/", views.gp_acknowledge, name="gp_acknowledge"),
    path("lettre-de-sortie/<str:token>/", views.link_acknowledge, name="link"),
]
