"""The status of a build, polled by the waiting page (JSON, no database)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from maillage.exports.cache import status_by_token, with_worker_state


def status(request: HttpRequest, kind: str, token: str) -> JsonResponse:
    found = status_by_token(kind, token)
    if found is None:
        return JsonResponse({"detail": "Export inconnu."}, status=404)
    found = with_worker_state(found)
    body = {k: found[k] for k in ("state", "progress", "message", "worker") if k in found}
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response
