"""The directory's pages: the public directory under ``/annuaire/`` (no login) and the
professional space under ``/pro/`` (login required on every page). The JSON API and the FHIR
server have their own ``urls`` in ``api/urls.py`` and ``fhir/urls.py``.
"""

from django.urls import path

from maillage.directory.views import pro, public

public_urls = (
    [
        path("", public.search_page, name="search"),
        path("carte.json", public.map_points, name="map_points"),
        path("fond.geojson", public.base_layer, name="base_layer"),
        path("professionnel/<int:role_id>/", public.role_page, name="role"),
        path("structure/<int:organization_id>/", public.organization_page, name="organization"),
        path("lieu/<int:location_id>/", public.location_page, name="location"),
        path("service/<int:service_id>/", public.service_page, name="service"),
        path("signaler/<str:target_type>/<int:pk>/", public.report_page, name="report"),
        path("dispositifs/", public.scheme_list, name="schemes"),
        path("dispositifs/carte.json", public.schemes_map, name="schemes_map"),
        path("dispositif/<slug:slug>/", public.scheme_page, name="scheme"),
        path(
            "dispositif/<slug:slug>/perimetre.geojson",
            public.scheme_perimeter,
            name="scheme_perimeter",
        ),
        path("actions/", public.action_list, name="actions"),
        path("actions/<slug:slug>/", public.action_page, name="action"),
    ],
    "directory",
)

pro_urls = (
    [
        path("", pro.home, name="home"),
        path("ma-fiche/", pro.my_entry, name="my_entry"),
        path("a-valider/", pro.to_review, name="to_review"),
        path("a-valider/<int:pk>/", pro.decide, name="decide"),
        path("historique/", pro.history_search, name="history_search"),
        path("historique/<str:target_type>/<int:pk>/", pro.history, name="history"),
        path("a-relancer/", pro.stale, name="stale"),
        path("a-relancer/<str:target_type>/<int:pk>/verifiee/", pro.confirm, name="confirm"),
        path("importer/", pro.import_upload, name="import_upload"),
        path("importer/<int:pk>/colonnes/", pro.import_mapping, name="import_mapping"),
        path("importer/<int:pk>/", pro.import_review, name="import_review"),
    ],
    "pro",
)
