"""The FHIR R4 server at ``/fhir/`` (see :mod:`maillage.directory.fhir.views`).

FHIR clients post nothing here (read-only server) and send no CSRF token, so the views are
exempt from CSRF: there is no state to change.
"""

from __future__ import annotations

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from maillage.directory.fhir import views as views_fhir

app_name = "fhir"
urlpatterns = [
    path("metadata", csrf_exempt(views_fhir.metadata), name="metadata"),
    re_path(r"^(?P<resource_type>[A-Za-z]+)/?$", csrf_exempt(views_fhir.search), name="search"),
    re_path(
        r"^(?P<resource_type>[A-Za-z]+)/(?P<resource_id>[A-Za-z0-9\-.]{1,64})/?$",
        csrf_exempt(views_fhir.read),
        name="read",
    ),
    re_path(r"^(?P<path>.*)$", csrf_exempt(views_fhir.not_found), name="not-found"),
]
