"""The JSON API at ``/api/`` (see :mod:`.endpoints`); OpenAPI 3 at ``/api/schema``."""

from __future__ import annotations

from django.urls import path

from maillage.directory.api.endpoints import api

urlpatterns = [path("", api.urls)]
