"""Per-client rate limits and the API's rule for anonymous writes, before any view runs.

Each rule of ``settings.MAILLAGE_RATE_LIMITS`` is ``(name, path regex, requests, seconds)``: a
fixed-window counter in the Django cache per rule and client (the session user when logged in,
else ``REMOTE_ADDR``, which the proxy settings make the real client). A client over a limit gets
429 with ``Retry-After`` and the body its side of the site speaks: the API's documented error
(``{"detail", "code"}``), a FHIR OperationOutcome under ``/fhir/``, plain French text elsewhere.
Logged-in users get ``MAILLAGE_RATE_LIMIT_USER_FACTOR`` times the anonymous budget.
``MAILLAGE_RATE_LIMITS_ENABLED = False`` turns every limit off (the test suite does, except the
tests of the limits themselves).

Anonymous writes to ``/api/`` (POST, PUT, PATCH, DELETE) answer 401 with the API's error body,
whatever the method or path, as ``docs/api.md`` promises: not a CSRF 403 nor a 405.

A query parameter holding a NUL character (``%00``) answers 400 in the same way before any view
runs: no text field of maillage may hold one, and PostgreSQL refuses them in any string (a
search for ``q=%00`` was a server error there).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from maillage.logs import ThrottledWarning
from maillage.web.errors import side_error

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


log = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def _compiled(rules: tuple) -> list[tuple[str, re.Pattern[str], int, int]]:
    return [(name, re.compile(regex), int(n), int(s)) for name, regex, n, s in rules]


def _client(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u{user.pk}"
    return "ip" + (request.META.get("REMOTE_ADDR") or "unknown")


def too_many(request: HttpRequest, name: str, retry_after: int) -> HttpResponse:
    detail = f"trop de requêtes ({name}) depuis ce client : réessayez dans {retry_after} s"
    response = side_error(request, 429, detail, "trop_de_requetes", "throttled")
    response["Retry-After"] = str(retry_after)
    return response


def nul_parameter(request: HttpRequest) -> HttpResponse | None:
    """400 when a query parameter (name or value) holds a NUL character, else None."""
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            shown = name.replace("\x00", "\\0")[:40]
            detail = f"le paramètre « {shown} » contient un caractère nul (%00), refusé"
            return side_error(request, 400, detail, "requete_invalide", "invalid")
    return None


def check(request: HttpRequest) -> HttpResponse | None:
    """The 429 answer when ``request`` is over one of the limits, else None (and counted)."""
    if not getattr(settings, "MAILLAGE_RATE_LIMITS_ENABLED", True):
        return None
    rules = _compiled(tuple(tuple(r) for r in getattr(settings, "MAILLAGE_RATE_LIMITS", ())))
    factor = getattr(settings, "MAILLAGE_RATE_LIMIT_USER_FACTOR", 5)
    client = _client(request)
    now = time.time()
    for name, pattern, limit, seconds in rules:
        if not pattern.search(request.path):
            continue
        if client.startswith("u"):
            limit *= factor
        window = int(now // seconds)
        key = f"ratelimit:{name}:{client}:{window}"
        try:
            count = _count(key, seconds)
        except Exception:  # a shared cache that is down must not take the site with it
            _warn_unreachable()
            return None
        if count > limit:
            return too_many(request, name, max(1, int((window + 1) * seconds - now) + 1))
    return None


def _count(key: str, seconds: int) -> int:
    # add() then incr(): atomic on every shared backend (database, Redis, memcached)
    cache.add(key, 0, timeout=seconds + 1)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds + 1)
        return 1


_cache_down_warning = ThrottledWarning(log)


def _warn_unreachable() -> None:
    """Log, at most once a minute, that the limits are off because the cache is unreachable."""
    _cache_down_warning(
        "rate limits not applied: the cache (MAILLAGE_CACHE_URL) is unreachable", exc_info=True
    )


class RateLimitMiddleware:
    """Put it after ``AuthenticationMiddleware`` (it needs ``request.user``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = nul_parameter(request)
        if refused is not None:
            return refused
        if (
            request.path.startswith("/api/")
            and request.method not in SAFE_METHODS
            and not request.user.is_authenticated
        ):
            return side_error(
                request,
                401,
                "authentification requise : les écritures demandent une session connectée",
                "authentification_requise",
                "login",
            )
        limited = check(request)
        if limited is not None:
            return limited
        return self.get_response(request)
