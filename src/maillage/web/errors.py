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


def side_error(
    request: HttpRequest, status: int, detail: str, code: str, fhir_code: str, page: str = ""
) -> HttpResponse:
    """An error in the language of the side of the site asked, the one shape for every layer
    that answers before or around the views: the API's documented body (``{"detail", "code",
    "fields"}``), a FHIR OperationOutcome (issue code ``fhir_code``) under ``/fhir/``, else
    ``page`` (HTML) or the French sentence as text."""
    if request.path.startswith("/fhir/"):
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": fhir_code, "diagnostics": detail}],
        }
        return HttpResponse(json.dumps(outcome, ensure_ascii=False), status=status,
                            content_type="application/fhir+json; charset=utf-8")  # fmt: skip
    if request.path.startswith("/api/"):
        body = {"detail": detail, "code": code, "fields": None}
        return HttpResponse(json.dumps(body, ensure_ascii=False), status=status,
                            content_type="application/json; charset=utf-8")  # fmt: skip
    if page:
        return HttpResponse(page, status=status)
    return HttpResponse(detail[:1].upper() + detail[1:] + ".", status=status,
                        content_type="text/plain; charset=utf-8")  # fmt: skip


def busy_response(request: HttpRequest) -> HttpResponse:
    response = side_error(
        request, 503, BUSY_MESSAGE, "serveur_occupe", "transient",
        page=BUSY_PAGE.format(message=BUSY_MESSAGE),
    )  # fmt: skip
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """``handler500``: called while the exception is being handled, so it is in ``exc_info``."""
    if is_busy(sys.exc_info()[1]):
        return busy_response(request)
    return django_server_error(request, template_name)
