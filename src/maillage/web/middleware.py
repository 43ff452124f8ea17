"""Security headers every page gets."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    """Send a Content-Security-Policy that allows only this site's own assets.

    Map tiles are the one exception, and only when ``MAILLAGE_TILE_URL`` is set.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        img_src = "'self' data:"
        tile_url = getattr(settings, "MAILLAGE_TILE_URL", "")
        if tile_url:
            from urllib.parse import urlsplit

            parts = urlsplit(tile_url.replace("{s}", "a"))
            img_src += f" {parts.scheme}://{parts.netloc.replace('a.', '*.', 1)}"
        from maillage.accounts.psc import form_action_origins

        # the logout form goes on to Pro Santé Connect after a PSC login (accounts/psc.py)
        form_action = " ".join(["'self'", *form_action_origins()])
        self.policy = (
            "default-src 'self'; "
            f"img-src {img_src}; "
            "style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; "
            "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
            f"form-action {form_action}"
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.policy)
        return response
