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
from django.template import loader

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


#: What each error page says: (title, sentence). The pages share the site's layout and offer a
#: way on; the JSON API and the FHIR server answer in their own shapes (:func:`side_error`).
PAGES: dict[int, tuple[str, str]] = {
    400: (
        "Requête invalide",
        "Le serveur n'a pas pu comprendre cette demande. Vérifiez l'adresse ou les valeurs "
        "saisies, puis réessayez.",
    ),
    403: (
        "Accès refusé",
        "Vous n'avez pas le droit de voir cette page. Connectez-vous avec le compte qui y a "
        "accès, ou demandez cet accès à la coordination de votre territoire.",
    ),
    404: (
        "Page introuvable",
        "Aucune page ne se trouve à cette adresse : elle a peut-être été déplacée, ou l'adresse "
        "contient une faute de frappe.",
    ),
    500: (
        "Erreur du serveur",
        "Une erreur inattendue s'est produite ; elle a été consignée pour l'équipe technique. "
        "Réessayez dans un instant.",
    ),
}
CSRF_TEXT = (
    "Le formulaire a expiré ou les cookies sont bloqués par votre navigateur : rechargez la "
    "page, puis envoyez le formulaire de nouveau. Les cookies de ce site servent seulement à "
    "garder votre session."
)
_API_CODES = {400: ("requete_invalide", "invalid"), 403: ("interdit", "forbidden"),
              404: ("introuvable", "not-found"), 500: ("erreur_serveur", "exception")}  # fmt: skip
_API_DETAILS = {400: "requête invalide", 403: "accès refusé", 404: "ressource introuvable",
                500: "erreur du serveur"}  # fmt: skip


def error_page(
    request: HttpRequest | None, status: int, text: str | None = None, title: str | None = None
) -> HttpResponse:
    """The French error page ``status`` in the site's layout (the JSON API and FHIR get their
    own shapes). Without ``request`` (a server error) the page is rendered without context
    processors, so that it never touches the database that may be the cause of the error."""
    default_title, default_text = PAGES[status]
    context = {"error_status": status, "error_title": title or default_title,
               "error_text": text or default_text}  # fmt: skip
    if request is not None and request.path.startswith(("/api/", "/fhir/")):
        code, fhir_code = _API_CODES[status]
        return side_error(request, status, _API_DETAILS[status], code, fhir_code)
    template = loader.get_template("web/error.html")
    body = template.render(context, request if status != 500 else None)
    return HttpResponse(body, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler400``."""
    return error_page(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler403``."""
    return error_page(request, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler404``."""
    return error_page(request, 404)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: why a form was refused, in words a visitor can act on."""
    return error_page(request, 403, CSRF_TEXT, "Formulaire refusé")


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: called while the exception is being handled, so it is in ``exc_info``."""
    if is_busy(sys.exc_info()[1]):
        return busy_response(request)
    if request.path.startswith(("/api/", "/fhir/")):
        return error_page(request, 500)
    return error_page(None, 500)
