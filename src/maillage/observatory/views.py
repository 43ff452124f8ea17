"""Observatory pages: territory dashboard, map layer and report downloads. Thin: the work is in
:mod:`maillage.observatory.services` and :mod:`maillage.observatory.reports`."""

from __future__ import annotations

from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from maillage.config import DEFAULT_TERRITORY
from maillage.observatory import reports
from maillage.observatory.services import communes_feature_collection, figures_for
from maillage.territory.models import Departement, Territory
from maillage.territory.services import UnknownTerritory, resolve


def home(request: HttpRequest) -> HttpResponse:
    try:
        territory = resolve(DEFAULT_TERRITORY)
    except UnknownTerritory:
        return redirect("observatory:territories")
    return redirect("observatory:dashboard", slug=territory.slug)


def territory_list(request: HttpRequest) -> HttpResponse:
    spec = request.GET.get("t", "").strip()
    error = None
    if spec:
        try:
            return redirect("observatory:dashboard", slug=resolve(spec).slug)
        except UnknownTerritory as exc:
            error = str(exc)
    saved = Territory.objects.annotate(n=Count("communes")).order_by("-predefined", "kind", "name")
    return render(
        request,
        "observatory/territories.html",
        {
            "saved": saved,
            "departements": Departement.objects.order_by("code"),
            "error": error,
            "query": spec,
        },
    )


def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    territory = get_object_or_404(Territory, slug=slug)
    figures = figures_for(territory)
    years = sorted(figures["apl_drees"])
    last = years[-1] if years else None
    emergency = next((t for t in figures["access_times"] if t["key"] == "emergency"), None)
    return render(
        request,
        "observatory/dashboard.html",
        {
            "territory": territory,
            "f": figures,
            "apl_year": last,
            "apl": figures["apl_drees"].get(last) if last else None,
            "apl_france": figures["apl_drees_reference"]["france"].get(last) if last else None,
            "apl_dep": figures["apl_drees_reference"]["departement"].get(last) if last else None,
            "below": figures["apl_below_2_5"].get(last) if last else None,
            "gp": figures["offer"].get("medecin_generaliste"),
            "emergency": emergency,
            "offer": figures["offer"].values(),
            "missing_offer": [
                o["label"].lower() for o in figures["offer"].values() if o["count"] is None
            ],
        },
    )


def communes_geojson(request: HttpRequest, slug: str) -> JsonResponse:
    territory = get_object_or_404(Territory, slug=slug)
    return JsonResponse(communes_feature_collection(territory, figures_for(territory)))


def report_file(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    territory = get_object_or_404(Territory, slug=slug)
    if fmt not in (*reports.FORMATS, "json"):
        raise Http404("format inconnu")
    figures = figures_for(territory)
    if fmt == "json":
        return JsonResponse(figures, json_dumps_params={"ensure_ascii": False, "indent": 2})
    body = reports.render(territory, figures, fmt)
    response = HttpResponse(body, content_type=reports.CONTENT_TYPES[fmt])
    disposition = "inline" if fmt == "html" else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="diagnostic-{slug}.{fmt}"'
    return response
