"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

import maillage


def site(request: HttpRequest) -> dict[str, object]:
    context: dict[str, object] = {
        "maillage_version": maillage.__version__,
        "tile_url": settings.MAILLAGE_TILE_URL,
    }
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        from maillage.accounts.permissions import home_of

        context["home_url"], context["home_label"] = home_of(user)
    return context
