"""Server errors: a busy database is a 503 "réessayez dans un instant", not a 500.

On SQLite a write waits for the one writer at a time (``timeout`` in the settings, 20 s). If it
still cannot write after that, the request fails with ``OperationalError: database is locked``:
nothing was written, and trying again a moment later works. The visitor is told exactly that,
with ``Retry-After``, in the form their client reads (HTML page, JSON API, FHIR OperationOutcome).
"""

from __future__ import annotations

import json
import sys

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.defaults import server_error as django_server_error

RETRY_AFTER_SECONDS = 5
BUSY_MESSAGE = (
    "Le serveur est momentanément occupé (une mise à jour des données est en cours) : "
    "réessayez dans un instant. Rien n'a été enregistré."
)
BUSY_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Réessayez dans un instant — maillage</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>Réessayez dans un instant</h1>
<p>{message}</p>
<p><a href="">Recharger la page</a></p>
</body></html>
"""


def is_busy(exc: BaseException | None) -> bool:
    """A database that stayed locked (SQLite) or a lock wait that gave up."""
    while exc is not None:
        if isinstance(exc, OperationalError) and (
            "database is locked" in str(exc) or "database table is locked" in str(exc)
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def busy_response(request: HttpRequest) -> HttpResponse:
    path = request.path
    if path.startswith("/fhir/"):
        body = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "transient", "diagnostics": BUSY_MESSAGE}],
        }
        response = HttpResponse(
            json.dumps(body, ensure_ascii=False), status=503,
            content_type="application/fhir+json; charset=utf-8",
        )  # fmt: skip
    elif path.startswith("/api/"):
        response = HttpResponse(
            json.dumps({"detail": BUSY_MESSAGE}, ensure_ascii=False), status=503,
            content_type="application/json; charset=utf-8",
        )  # fmt: skip
    else:
        response = HttpResponse(BUSY_PAGE.format(message=BUSY_MESSAGE), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """``handler500``: called while the exception is being handled, so it is in ``exc_info``."""
    if is_busy(sys.exc_info()[1]):
        return busy_response(request)
    return django_server_error(request, template_name)
