"""The public finder of same-day / 24-hour unscheduled-care slots (HTML; the JSON API is in
:mod:`maillage.care.scheduling.api`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from maillage.care.scheduling.services import finder


def parse_teleconsultation(value: str) -> bool | None:
    if value in ("", "tous"):
        return None
    if value in ("oui", "true", "1"):
        return True
    if value in ("non", "false", "0"):
        return False
    raise finder.FinderError("Téléconsultation : oui, non ou tous.", "teleconsultation")


@require_GET
def finder_page(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("lieu", "").strip()
    window = request.GET.get("fenetre", "24h")
    profession = request.GET.get("profession", "")
    tele = request.GET.get("teleconsultation", "")
    context = {
        "q": q, "window": window, "profession": profession, "tele": tele,
        "windows": finder.WINDOWS, "professions": finder.PROFESSIONS,
        "min_options": finder.MIN_OPTIONS, "window_label": finder.WINDOWS.get(window, ""),
    }  # fmt: skip
    status = 200
    if q:
        try:
            context["result"] = finder.find(
                q, window, profession=profession, teleconsultation=parse_teleconsultation(tele)
            )
        except finder.FinderError as exc:
            context["error"], status = str(exc), 400
    return render(request, "scheduling/finder.html", context, status=status)
