"""The JSON API at ``/api/``: one django-ninja API, the directory's endpoints
(:mod:`maillage.directory.api.endpoints`) with the care apps' routers added here, before its
URLs are generated (ninja refuses a router added afterwards). OpenAPI 3 at ``/api/schema``.

The directory imports no care app (docs/architecture.md), so the two meet in this top-level
module, which :mod:`maillage.urls` includes.
"""

from __future__ import annotations

from django.urls import path

from maillage.care.scheduling import api as _care_api  # noqa: F401 - adds the /care router
from maillage.directory.api.endpoints import api

urlpatterns = [path("", api.urls)]
