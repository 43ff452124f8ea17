from django.urls import path

from maillage.observatory import views

app_name = "observatory"
urlpatterns = [
    path("", views.home, name="home"),
    path("territoires/", views.territory_list, name="territories"),
    path("territoires/suggestions.json", views.suggestions, name="suggestions"),
    path("territoires/comparer/", views.compare_page, name="compare"),
    path("territoires/comparer.json", views.compare_json, name="compare_json"),
    path("territoires/<slug:slug>/", views.dashboard, name="dashboard"),
    path("territoires/<slug:slug>/communes.geojson", views.communes_geojson, name="geojson"),
    path("territoires/<slug:slug>/diagnostic.<str:fmt>", views.report_file, name="report"),
]
