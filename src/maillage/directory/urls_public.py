"""Public directory URLs (``/annuaire/``): no login; see :mod:`maillage.directory.views_public`."""

from django.urls import path

from maillage.directory import views_public as views

app_name = "directory"
urlpatterns = [
    path("", views.search_page, name="search"),
    path("carte.json", views.map_points, name="map_points"),
    path("fond.geojson", views.base_layer, name="base_layer"),
    path("professionnel/<int:role_id>/", views.role_page, name="role"),
    path("structure/<int:organization_id>/", views.organization_page, name="organization"),
    path("lieu/<int:location_id>/", views.location_page, name="location"),
    path("service/<int:service_id>/", views.service_page, name="service"),
    path("dispositifs/", views.scheme_list, name="schemes"),
    path("dispositif/<slug:slug>/", views.scheme_page, name="scheme"),
    path(
        "dispositif/<slug:slug>/perimetre.geojson",
        views.scheme_perimeter,
        name="scheme_perimeter",
    ),
    path("actions/", views.action_list, name="actions"),
    path("actions/<slug:slug>/", views.action_page, name="action"),
]
