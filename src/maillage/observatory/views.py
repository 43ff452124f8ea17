"""Observatory pages: territory dashboard, map layer and report downloads. Thin: the work is in
:mod:`maillage.observatory.services` and :mod:`maillage.observatory.reports`."""

from __future__ import annotations

from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify

from maillage.accounts.permissions import audit, can
from maillage.config import DEFAULT_TERRITORY
from maillage.exports.cache import respond
from maillage.observatory import reports
from maillage.observatory.diagnostic import NoCommunes
from maillage.observatory.services import communes_feature_collection, figures_for
from maillage.territory import search
from maillage.territory.models import Departement, Territory
from maillage.territory.services import (
    ResolvedTerritory,
    UnknownTerritory,
    resolve,
    resolve_slug,
    save_territory,
)


def _territory(slug: str) -> Territory | ResolvedTerritory:
    try:
        return resolve_slug(slug)
    except UnknownTerritory as exc:
        raise Http404(str(exc)) from exc


def home(request: HttpRequest) -> HttpResponse:
    try:
        territory = resolve(DEFAULT_TERRITORY)
    except UnknownTerritory:
        return redirect("observatory:territories")
    return redirect("observatory:dashboard", slug=territory.slug)


def territory_list(request: HttpRequest) -> HttpResponse:
    """The picker. GET never writes: a ``type:code`` or saved slug opens its dashboard, a name
    lists the matching territories. A coordinator saves a named territory with a POST."""
    if request.method == "POST":
        return _save(request)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    spec = request.GET.get("t", "").strip()[: search.MAX_QUERY_CHARS]
    error = None
    suggestions: list[search.Suggestion] = []
    if spec:
        if ":" in spec or Territory.objects.filter(slug=spec).exists():
            try:
                return redirect("observatory:dashboard", slug=resolve(spec).slug)
            except UnknownTerritory as exc:
                error = str(exc)
        else:
            suggestions = search.search(spec, limit=20)
            if not suggestions:
                error = f"Aucun territoire ne correspond à « {spec} »."
    return _list_page(request, spec, error, suggestions)


def _list_page(
    request: HttpRequest,
    query: str,
    error: str | None,
    suggestions: list,
    status: int = 200,
) -> HttpResponse:
    saved = (
        Territory.objects.annotate(n=Count("communes"))
        .filter(n__gt=0)
        .order_by("-predefined", "kind", "name")
    )
    return render(
        request,
        "observatory/territories.html",
        {
            "saved": saved,
            "departements": Departement.objects.order_by("code"),
            "error": error,
            "query": query,
            "suggestions": suggestions,
        },
        status=status,
    )


def _save(request: HttpRequest) -> HttpResponse:
    """Save a named territory (coordinators and administrators; CSRF-checked like every POST)."""
    if not can(request.user, "edit"):
        return _list_page(
            request, "", "Seul un coordinateur connecté peut enregistrer un territoire.", [], 403
        )
    spec = request.POST.get("spec", "").strip()[:200]
    name = " ".join(request.POST.get("name", "").split())[:200]
    slug = slugify(name)[:120]
    error = None
    if not name or not slug:
        error = "Donnez un nom au territoire à enregistrer."
    elif Territory.objects.filter(slug=slug).exists():
        error = f"Un territoire enregistré porte déjà le nom court « {slug} »."
    else:
        try:
            resolved = resolve(spec)
        except UnknownTerritory as exc:
            error = str(exc)
        else:
            if not resolved.communes.exists():
                error = "Ce territoire ne contient aucune commune : il n'est pas enregistré."
    if error:
        return _list_page(request, spec, error, [], 400)
    territory = save_territory(resolved, name=name, slug=slug)
    audit(request.user, "save_territory", territory, spec=spec)
    return redirect("observatory:dashboard", slug=territory.slug)


def suggestions(request: HttpRequest) -> JsonResponse:
    """``GET /territoires/suggestions.json?q=langres``: the picker's suggestions, best first."""
    query = request.GET.get("q", "")
    if len(query) > search.MAX_QUERY_CHARS:
        return JsonResponse(
            {"detail": f"q : au plus {search.MAX_QUERY_CHARS} caractères"}, status=400
        )
    found = search.search(query, limit=10)
    return JsonResponse(
        {"query": query, "results": [s.as_dict() for s in found]},
        json_dumps_params={"ensure_ascii": False},
    )


def _compare_request(request: HttpRequest) -> tuple[list[str], dict | None, str]:
    from maillage.observatory.compare import MAX_TERRITORIES, CompareError, compare

    texts = [t[: search.MAX_QUERY_CHARS] for t in request.GET.getlist("t")][: MAX_TERRITORIES + 1]
    if not any(t.strip() for t in texts):
        return texts, None, ""
    try:
        return texts, compare(texts), ""
    except CompareError as exc:
        return texts, None, str(exc)[:1].upper() + str(exc)[1:] + "."


def compare_page(request: HttpRequest) -> HttpResponse:
    """``/territoires/comparer/?t=departement-52&t=departement-10``: territories side by side."""
    texts, result, error = _compare_request(request)
    fields = (texts + ["", "", "", ""])[:4]
    return render(
        request,
        "observatory/compare.html",
        {"fields": fields, "result": result, "error": error},
        status=400 if error else 200,
    )


def compare_json(request: HttpRequest) -> JsonResponse:
    """The same comparison as JSON (``t`` repeated, 2 to 4 territories)."""
    texts, result, error = _compare_request(request)
    if result is None:
        return JsonResponse(
            {
                "detail": error or "paramètre t attendu : de 2 à 4 territoires",
                "code": "requete_invalide",
            },
            status=400,
            json_dumps_params={"ensure_ascii": False},
        )
    return JsonResponse(result, json_dumps_params={"ensure_ascii": False})


def _no_communes(
    request: HttpRequest, territory: Territory | ResolvedTerritory, exc: Exception
) -> HttpResponse:
    return render(
        request,
        "observatory/no_communes.html",
        {"territory": territory, "message": str(exc)},
        status=404,
    )


def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    territory = _territory(slug)
    try:
        figures = figures_for(territory)
    except NoCommunes as exc:
        return _no_communes(request, territory, exc)
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
            # no professional of the directory works here (e.g. overseas, outside the demo's
            # départements): the count is unknown, not zero
            "offer_unknown": all(not o["count"] for o in figures["offer"].values()),
            "emergency": emergency,
            "offer": figures["offer"].values(),
            "missing_offer": [
                o["label"].lower() for o in figures["offer"].values() if o["count"] is None
            ],
            "has_shapes": territory.communes.exclude(geometry__isnull=True).exists(),
            "can_save": territory.pk is None and can(request.user, "edit"),
        },
    )


def communes_geojson(request: HttpRequest, slug: str) -> JsonResponse:
    territory = _territory(slug)
    try:
        figures = figures_for(territory)
    except NoCommunes:
        figures = None
    return JsonResponse(communes_feature_collection(territory, figures))


def report_file(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    territory = _territory(slug)
    if fmt not in (*reports.FORMATS, "json"):
        raise Http404("format inconnu")
    if fmt != "json":
        export = reports.report_export(territory, fmt)
        if export.path.exists():  # built for this data version: no figures to compute
            return respond(request, export)
    try:
        figures_for(territory)  # a territory without communes: say so, not a 500
    except NoCommunes as exc:
        if fmt == "json":
            return JsonResponse({"detail": str(exc)}, status=404)
        return _no_communes(request, territory, exc)
    if fmt == "json":
        return JsonResponse(
            figures_for(territory), json_dumps_params={"ensure_ascii": False, "indent": 2}
        )
    export = reports.report_export(territory, fmt)
    sync = territory.communes.count() <= reports.SYNC_MAX_COMMUNES[fmt]
    return respond(request, export, sync=sync)
