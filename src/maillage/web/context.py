"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

import maillage


def site(request: HttpRequest) -> dict[str, object]:
    return {
        "maillage_version": maillage.__version__,
        "tile_url": settings.MAILLAGE_TILE_URL,
    }
