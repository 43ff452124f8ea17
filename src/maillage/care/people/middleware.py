"""A missing encryption key is an administrator's problem, not a crash: the visitor gets a
French 503 page (or the API's and FHIR's error shapes) saying nothing was changed, the log gets
the administrator's sentence (never personal data: the error carries none)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from maillage.care.people.crypto import CareKeyError

log = logging.getLogger(__name__)

VISITOR_MESSAGE = (
    "Les données de santé chiffrées ne peuvent pas être lues pour l'instant (clé de "
    "chiffrement absente) : l'administrateur du site doit la rétablir. Rien n'a été modifié."
)


class CareKeyErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, CareKeyError):
            return None
        from django.template import loader

        from maillage.web.errors import side_error

        log.error("care encryption keys: %s", exception)
        context = {"error_status": 503, "error_title": "Données momentanément illisibles",
                   "error_text": VISITOR_MESSAGE}  # fmt: skip
        page = loader.render_to_string("web/error.html", context)  # no request: no database
        response = side_error(request, 503, VISITOR_MESSAGE, "cle_absente", "transient", page)
        response["Cache-Control"] = "no-store"
        return response
