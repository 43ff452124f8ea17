"""The professional space, under ``/pro/`` (login required on every page)."""

from django.urls import path

from maillage.directory import views_pro as views

app_name = "pro"
urlpatterns = [
    path("", views.home, name="home"),
    path("ma-fiche/", views.my_entry, name="my_entry"),
    path("a-valider/", views.to_review, name="to_review"),
    path("a-valider/<int:pk>/", views.decide, name="decide"),
    path("historique/", views.history_search, name="history_search"),
    path("historique/<str:target_type>/<int:pk>/", views.history, name="history"),
    path("a-relancer/", views.stale, name="stale"),
    path("a-relancer/<str:target_type>/<int:pk>/verifiee/", views.confirm, name="confirm"),
    path("importer/", views.import_upload, name="import_upload"),
    path("importer/<int:pk>/colonnes/", views.import_mapping, name="import_mapping"),
    path("importer/<int:pk>/", views.import_review, name="import_review"),
]
