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
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@lru_cache(maxsize=8)
def _compiled(rules: tuple) -> list[tuple[str, re.Pattern[str], int, int]]:
    return [(name, re.compile(regex), int(n), int(s)) for name, regex, n, s in rules]


def _client(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u{user.pk}"
    return "ip" + (request.META.get("REMOTE_ADDR") or "unknown")


def _json(status: int, detail: str, code: str) -> HttpResponse:
    body = {"detail": detail, "code": code, "fields": None}
    return HttpResponse(json.dumps(body, ensure_ascii=False), status=status,
                        content_type="application/json; charset=utf-8")  # fmt: skip


def too_many(request: HttpRequest, name: str, retry_after: int) -> HttpResponse:
    detail = f"trop de requêtes ({name}) depuis ce client : réessayez dans {retry_after} s"
    if request.path.startswith("/fhir/"):
        from maillage.directory.fhir import resources as fhir

        response = HttpResponse(
            json.dumps(fhir.operation_outcome("throttled", detail), ensure_ascii=False),
            status=429,
            content_type=f"{fhir.FHIR_CONTENT_TYPE}; charset=utf-8",
        )
    elif request.path.startswith("/api/"):
        response = _json(429, detail, "trop_de_requetes")
    else:
        response = HttpResponse(detail.capitalize() + ".", status=429,
                                content_type="text/plain; charset=utf-8")  # fmt: skip
    response["Retry-After"] = str(retry_after)
    return response


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
        # add() then incr(): atomic on every shared backend (database, Redis, memcached)
        cache.add(key, 0, timeout=seconds + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=seconds + 1)
            count = 1
        if count > limit:
            return too_many(request, name, max(1, int((window + 1) * seconds - now) + 1))
    return None


class RateLimitMiddleware:
    """Put it after ``AuthenticationMiddleware`` (it needs ``request.user``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.path.startswith("/api/")
            and request.method not in SAFE_METHODS
            and not request.user.is_authenticated
        ):
            return _json(
                401,
                "authentification requise : les écritures demandent une session connectée",
                "authentification_requise",
            )
        limited = check(request)
        if limited is not None:
            return limited
        return self.get_response(request)
