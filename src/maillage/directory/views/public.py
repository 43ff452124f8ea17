"""Public directory pages ("le Bottin"): the Acteurs side (search, professionals, structures,
places, services), the dispositifs with their perimeters, and the Actions library.

No login is needed. The views stay thin: search is :func:`maillage.directory.search.service.search`,
opening hours are :mod:`maillage.directory.hours`, permissions are
:func:`maillage.accounts.permissions.can`. What the views add is the one rule of these pages:
**pro-only data is never put in the template context of a user who may not see it** (the
templates cannot leak what they are not given). Pro-only fields go through :func:`_pro_fields`;
non-public schemes, services, contacts and actions are filtered here, and answer 404 rather than
403 so that their existence does not leak either.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from maillage.accounts.permissions import can
from maillage.directory import hours as hours_mod
from maillage.directory.languages import LANGUAGE_NAMES, language_choices
from maillage.directory.models import (
    Action,
    HealthcareService,
    Location,
    Organization,
    PractitionerRole,
    ProOnly,
    Scheme,
    SchemeKind,
    StructureKind,
)
from maillage.directory.names import display_name
from maillage.opendata.nomenclatures import (
    MODE_DISPLAY,
    PROFESSION_GROUPS,
    PROFESSIONS,
    SPECIALTIES,
    profession_group,
)
from maillage.territory.models import Commune, Territory

#: Points sent to the results map at most: beyond, clusters stop meaning much and the page
#: would carry megabytes; the page says when the cap is reached.
MAP_CAP = 1000  # markers drawn; beyond, the map says how many it leaves out
PAGE_SIZE = 20
RADII = (2, 5, 10, 20, 30, 50, 100)
#: Members listed on a page before "… et N autres": a hospital has hundreds of roles.
MEMBERS_SHOWN = 60
#: The order the dispositifs page lists kinds in: the order of the seeds' "cartographie des
#: dispositifs" (proximity first, then coordination, then shared resources).
SCHEME_KIND_ORDER = (
    SchemeKind.MSP, SchemeKind.CENTRE_SANTE, SchemeKind.CPTS, SchemeKind.CLS, SchemeKind.DAC,
    SchemeKind.PCPE, SchemeKind.NIGHT_NURSE, SchemeKind.TELECONSULTATION, SchemeKind.OUTREACH,
    SchemeKind.HOSPITAL, SchemeKind.OTHER,
)  # fmt: skip
KIND_LABELS = {
    "role": "Professionnels", "organization": "Structures", "scheme": "Dispositifs",
    "service": "Services",
}  # fmt: skip


# --------------------------------------------------------------------------- small formatting


def phone_text(value: str) -> str:
    """0325875234 → 03 25 87 52 34 (anything else is shown as stored)."""
    digits = re.sub(r"\D", "", value or "")
    if len(digits) == 10 and digits.startswith("0"):
        return " ".join(digits[i : i + 2] for i in range(0, 10, 2))
    return value


def clean_name(value: str) -> str:
    """A structure's name as pages show it: FINESS names keep CSV quoting
    ('"CATTP ""LE TEMPS"" CH"') and capitals; pages show « CATTP "Le Temps" CH »
    (:func:`maillage.directory.names.display_name`; the data keep the official spelling)."""
    value = value or ""
    if len(value) > 1 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return display_name(value.replace('""', '"'))


def date_fr(value: date | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {hours_mod.MONTHS[value.month - 1]} {value.year}"


def partial_date_fr(value: str) -> str:
    """An ISO date that may stop at the year or month ("2019-11") as French text."""
    parts = value.split("-") if value else []
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        return value
    if len(numbers) == 3:
        return date_fr(date(*numbers))
    if len(numbers) == 2 and 1 <= numbers[1] <= 12:
        return f"{hours_mod.MONTHS[numbers[1] - 1]} {numbers[0]}"
    return value


def verified_text(value: date | None) -> str:
    return f"vérifiée le {date_fr(value)}" if value else "non vérifiée"  # "Fiche …"


def _pro_fields(obj: ProOnly, pro: bool) -> list[tuple[str, str]]:
    """(label, value) of the pro-only fields that are filled — only for those who may see them.

    The single gate between ``ProOnly.PRO_ONLY_FIELDS`` and the templates.
    """
    if not pro:
        return []
    rows = []
    for name in obj.PRO_ONLY_FIELDS:
        value = getattr(obj, name, "")
        if value:
            label = str(obj._meta.get_field(name).verbose_name)
            rows.append((label[:1].upper() + label[1:], value))
    return rows


def _querystring(params: dict[str, Any], **changes: Any) -> str:
    """The query string of a search link (map, pages, filters): flags are written ``1``, as the
    form writes them, so that every side parses one spelling with :func:`_flag`."""
    merged = {**params, **changes}
    return urlencode(
        {k: ("1" if v is True else v) for k, v in merged.items() if v not in (None, "", False)}
    )


# --------------------------------------------------------------------------- search


FLAG_TRUE = frozenset({"1", "on", "oui", "true", "vrai", "yes"})


def _flag(request: HttpRequest, name: str) -> bool:
    """A checkbox-like parameter; case-insensitive so that ``True`` (what an older map link
    sent) and ``1`` (what the form sends) mean the same thing to list, map and counts."""
    return request.GET.get(name, "").strip().lower() in FLAG_TRUE


def _commune_code(text: str) -> str | None:
    """The INSEE code of the commune ``text`` names (code, name without accents, address with
    its postal code, or a small typo), through the search module's one place resolver."""
    from maillage.directory.search.service import resolve_place

    place = resolve_place(text) if text.strip() else None
    return place.code if place is not None else None


def _search_params(request: HttpRequest) -> dict[str, Any]:
    """The GET parameters of the search page, cleaned (unknown values dropped)."""
    g = request.GET
    radius = g.get("rayon", "")
    profession = g.get("profession", "")
    specialty = g.get("specialite", "")
    kind = g.get("type", "")
    structure = g.get("structure", "")
    language = g.get("langue", "")
    return {
        # bounded by the search's own parser (search_page refuses what is too long)
        "q": g.get("q", "").strip(),
        "ou": g.get("ou", "").strip(),
        "rayon": int(radius) if radius.isdigit() and int(radius) in RADII else None,
        "profession": profession
        if profession in PROFESSION_GROUPS or profession in PROFESSIONS
        else "",
        "specialite": specialty if specialty in SPECIALTIES else "",
        "type": kind if kind in KIND_LABELS else "",
        "structure": structure if structure in StructureKind.values else "",
        "langue": language if language in LANGUAGE_NAMES else "",
        "nouveaux": _flag(request, "nouveaux"),
        "teleconsultation": _flag(request, "teleconsultation"),
        "ouvert": _flag(request, "ouvert"),
    }


def _search_query(params: dict[str, Any], request: HttpRequest, page: int, page_size: int):
    from maillage.directory.search.service import SearchQuery

    # A distance means nothing without a place: it is ignored (the form offers both side by side).
    commune, near, radius = None, None, params["rayon"] if params["ou"] else None
    if params["ou"]:
        # Within N km: around the place. Without a distance: in the commune it names, nearest
        # first; a place nobody knows goes to ``near`` so that the result says "not found".
        near = params["ou"]
        if not radius:
            commune = _commune_code(params["ou"])
    return SearchQuery(
        text=params["q"],
        profession=params["profession"] or None,
        specialty=params["specialite"] or None,
        commune=commune,
        near=near,
        radius_km=radius,
        kind=params["type"] or None,
        structure_kind=params["structure"] or None,
        accepts_new_patients=True if params["nouveaux"] else None,
        teleconsultation=True if params["teleconsultation"] else None,
        language=params["langue"] or None,
        open_now=params["ouvert"],
        include_private=can(request.user, "view_pro"),
        page=page,
        page_size=page_size,
    )


def _entry_urls(items: Iterable[Any]) -> dict[tuple[str, int], str]:
    """The public page of each search entry (schemes are addressed by slug)."""
    items = list(items)
    scheme_ids = [e.object_id for e in items if e.kind == "scheme"]
    slugs = dict(Scheme.objects.filter(pk__in=scheme_ids).values_list("pk", "slug"))
    urls = {}
    for e in items:
        if e.kind == "role":
            url = reverse("directory:role", args=[e.object_id])
        elif e.kind == "organization":
            url = reverse("directory:organization", args=[e.object_id])
        elif e.kind == "service":
            url = reverse("directory:service", args=[e.object_id])
        elif e.kind == "scheme" and e.object_id in slugs:
            url = reverse("directory:scheme", args=[slugs[e.object_id]])
        else:
            url = ""
        urls[(e.kind, e.object_id)] = url
    return urls


def _open_status(location_ids: Iterable[int], at: Any) -> dict[int, dict[str, Any]]:
    """Open/closed status of the places on a results page, in two queries."""
    from maillage.directory.models import OpeningException, OpeningHours

    ids = [i for i in set(location_ids) if i]
    weekly, exceptions = defaultdict(list), defaultdict(list)
    for h in OpeningHours.objects.filter(location_id__in=ids):
        weekly[h.location_id].append(h)
    for x in OpeningException.objects.filter(location_id__in=ids, end_date__gte=at.date()):
        exceptions[x.location_id].append(x)
    return {
        i: hours_mod.status(weekly[i], exceptions[i], at) for i in ids if weekly[i] or exceptions[i]
    }


def _filter_options() -> dict[str, Any]:
    doctors = sorted(
        ((code, label) for code, label in SPECIALTIES.items() if code.startswith("SM")),
        key=lambda pair: pair[1],
    )
    others = sorted(
        ((code, label) for code, label in SPECIALTIES.items() if not code.startswith("SM")),
        key=lambda pair: pair[1],
    )
    grouped = {p for _label, p, spec in PROFESSION_GROUPS.values() if spec is None}
    return {
        "groups": [(key, label) for key, (label, _p, _s) in PROFESSION_GROUPS.items()],
        "other_professions": sorted(
            ((code, label) for code, label in PROFESSIONS.items() if code not in grouped),
            key=lambda pair: pair[1],
        ),
        "specialties_doctors": doctors,
        "specialties_others": others,
        "kinds": list(KIND_LABELS.items()),
        "structures": StructureKind.choices,
        "languages": language_choices(),
        "radii": RADII,
    }


def search_page(request: HttpRequest) -> HttpResponse:
    """The Acteurs side: one free-text box, filters, a paginated list and a clustered map."""
    from maillage.directory.search.service import MAX_PAGE, QueryTooLarge, query_text, search

    params = _search_params(request)
    page_no = request.GET.get("page", "1")
    page_no = (
        int(page_no)
        if page_no.isascii() and page_no.isdigit() and 0 < int(page_no) <= MAX_PAGE
        else 1
    )
    searched = any(v for k, v in params.items())
    result = None
    rows: list[dict[str, Any]] = []
    too_large = ""
    try:
        query_text(params["q"], "la recherche")
        query_text(params["ou"], "le lieu")
    except QueryTooLarge as exc:
        too_large, searched = str(exc), False
        params["q"], params["ou"] = params["q"][:200], params["ou"][:200]
    if searched:
        now = timezone.now()
        result = search(_search_query(params, request, page_no, PAGE_SIZE), now=now)
        urls = _entry_urls(result.items)
        communes = dict(
            Commune.objects.filter(
                code__in={e.commune_id for e in result.items if e.commune_id}
            ).values_list("code", "name")
        )
        statuses = _open_status((e.location_id for e in result.items), now)
        for e in result.items:
            rows.append(
                {
                    "entry": e,
                    "title": clean_name(e.title),
                    "url": urls.get((e.kind, e.object_id), ""),
                    "kind_label": KIND_LABELS.get(e.kind, ""),
                    "commune": communes.get(e.commune_id, ""),
                    "languages": [LANGUAGE_NAMES.get(c, c) for c in _codes(e.languages)],
                    "status": statuses.get(e.location_id),
                    "distance": getattr(e, "distance_km", None),
                    "nearest": getattr(e, "nearest", False),
                }
            )
    active = {k: v for k, v in params.items() if v}
    filters_open = any(
        params[k]
        for k in ("profession", "specialite", "type", "structure", "langue", "nouveaux",
                  "teleconsultation", "ouvert")
    )  # fmt: skip
    relax = []  # one link per active filter, each dropping it: the empty state's suggestions
    labels = {
        "profession": "profession", "specialite": "spécialité", "type": "type de fiche",
        "structure": "type de structure", "langue": "langue", "nouveaux": "nouveaux patients",
        "teleconsultation": "téléconsultation", "ouvert": "ouvert maintenant", "ou": "lieu",
    }  # fmt: skip
    for key, label in labels.items():
        if params.get(key):
            relax.append(
                (
                    label,
                    "?"
                    + _querystring(
                        active, **{key: None, "rayon": None} if key == "ou" else {key: None}
                    ),
                )
            )
    wider = None
    if params["ou"] and (params["rayon"] or 0) < RADII[-1]:
        bigger = next(r for r in RADII if r > (params["rayon"] or 10))
        wider = (bigger, "?" + _querystring(active, rayon=bigger))
    return render(
        request,
        "directory/public/search.html",
        _context(
            request,
            p=params,
            searched=searched,
            result=result,
            rows=rows,
            any_synthetic=any(r["entry"].synthetic for r in rows),
            map_url=reverse("directory:map_points") + "?" + _querystring(active),
            page_links=_page_links(result, active) if result else [],
            options=_filter_options(),
            filters_open=filters_open,
            relax=relax,
            wider=wider,
            place_links=[
                (label, "?" + _querystring(active, ou=text, page=None))
                for label, text in (result.place_alternatives if result else [])
            ],
            map_cap=MAP_CAP,
            too_large=too_large,
        ),
        status=400 if too_large else 200,
    )


def _codes(value: str) -> list[str]:
    return [c.strip() for c in (value or "").split(",") if c.strip()]


def _page_links(result: Any, active: dict[str, Any]) -> list[dict[str, Any]]:
    """Previous / numbered / next links, with gaps, keeping every filter."""
    if result.pages <= 1:
        return []
    shown = sorted(
        {1, result.pages, *range(max(1, result.page - 2), min(result.pages, result.page + 2) + 1)}
    )
    links, last = [], 0
    if result.page > 1:
        links.append(
            {"label": "‹ Précédent", "url": "?" + _querystring(active, page=result.page - 1)}
        )
    for n in shown:
        if n - last > 1:
            links.append({"label": "…", "url": ""})
        links.append(
            {
                "label": str(n),
                "url": "?" + _querystring(active, page=n),
                "current": n == result.page,
            }
        )
        last = n
    if result.page < result.pages:
        links.append(
            {"label": "Suivant ›", "url": "?" + _querystring(active, page=result.page + 1)}
        )
    return links


def map_points(request: HttpRequest) -> JsonResponse:
    """The results map: the same search as the page, up to :data:`MAP_CAP` points."""
    from maillage.directory.search.service import MAX_PAGE_SIZE, QueryTooLarge, query_text, search

    params = _search_params(request)
    try:
        query_text(params["q"], "q")
        query_text(params["ou"], "ou")
    except QueryTooLarge as exc:
        return JsonResponse({"detail": str(exc), "code": "requete_trop_longue"}, status=400)
    if not any(params.values()):
        return JsonResponse({"total": 0, "count": 0, "cap": MAP_CAP, "capped": False,
                             "points": [], "departements": []})  # fmt: skip
    # The search pages by at most MAX_PAGE_SIZE: walk the pages, in rank order, up to the cap.
    now, page, found = timezone.now(), 1, []
    while True:
        query = _search_query(params, request, page, MAX_PAGE_SIZE)
        result = search(query, now=now)
        found += result.items
        if page >= result.pages or len(found) >= MAP_CAP:
            break
        page += 1
    found = found[:MAP_CAP]
    items = [e for e in found if e.latitude is not None and e.longitude is not None]
    urls = _entry_urls(items)
    points = [
        {
            "lat": round(e.latitude, 5),
            "lon": round(e.longitude, 5),
            "title": clean_name(e.title),
            "subtitle": e.subtitle,
            "kind": e.kind,
            "url": urls.get((e.kind, e.object_id), ""),
            "synthetic": e.synthetic,
        }
        for e in items
    ]
    departements = Counter(_departement_of(e.commune_id) for e in items if e.commune_id)
    return JsonResponse(
        {
            "total": result.total,
            "count": len(points),
            "cap": MAP_CAP,
            "capped": result.total > len(found),
            "center": list(result.center) if result.center else None,
            "near_label": result.near_label,
            "radius_km": query.radius_km if result.center else None,
            "departements": [d for d, _n in departements.most_common(4)],
            "points": points,
            "base_url": reverse("directory:base_layer"),
        },
        json_dumps_params={"ensure_ascii": False},
    )


def _coarse(geometry: dict[str, Any]) -> dict[str, Any]:
    """Coordinates to 3 decimals (~100 m): a background does not need more, and three
    départements drop from about 2 MB to about 1.3 MB."""

    def walk(value: Any) -> Any:
        if value and isinstance(value[0], int | float):
            return [round(value[0], 3), round(value[1], 3)]
        return [walk(v) for v in value]

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def _departement_of(commune_code: str) -> str:
    return commune_code[:3] if commune_code.startswith("97") else commune_code[:2]


def base_layer(request: HttpRequest) -> JsonResponse:
    """Commune polygons of up to four départements: the map's background (no tiles needed)."""
    codes = [c for c in request.GET.get("dep", "").split(",") if re.fullmatch(r"\w{2,3}", c)][:4]
    rows = (
        Commune.objects.filter(departement_id__in=codes)
        .exclude(geometry__isnull=True)
        .values_list("code", "name", "geometry")
    )
    response = JsonResponse(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": _coarse(g), "properties": {"code": c, "name": n}}
                for c, n, g in rows
            ],
        },
        json_dumps_params={"ensure_ascii": False},
    )
    response["Cache-Control"] = "public, max-age=86400"
    return response


# --------------------------------------------------------------------------- entry pages


def _place(location: Location | None, pro: bool, at: Any) -> dict[str, Any] | None:
    """Everything a page shows about a place: address, phones, hours and their status."""
    if location is None:
        return None
    weekly = list(location.opening_hours.all())
    exceptions = list(location.exceptions.all())
    today = hours_mod.local(at).date()
    return {
        "obj": location,
        "name": clean_name(location.name),
        "url": reverse("directory:location", args=[location.pk]),
        "address": location.address,
        "postal_code": location.postal_code,
        "commune": location.commune,
        "phone": phone_text(location.phone),
        "phone_raw": re.sub(r"[^\d+]", "", location.phone or ""),
        "email": location.email,
        "website": location.website,
        "teleconsultation": location.teleconsultation,
        "hours": _hours_block(weekly, exceptions, at, today),
        "pro": _pro_fields(location, pro),
        "verified": verified_text(location.verified_on),
        "synthetic": location.synthetic,
    }


def _hours_block(weekly: list, exceptions: list, at: Any, today: date) -> dict[str, Any]:
    return {
        "known": bool(weekly or exceptions),
        "status": hours_mod.status(weekly, exceptions, at),
        "table": hours_mod.weekly_table(weekly, exceptions, today),
        "exceptions": [
            {
                "label": x.label or ("Fermeture" if x.closed else "Horaires particuliers"),
                "when": (
                    f"le {hours_mod.date_text(x.start_date)}"
                    if x.start_date == x.end_date
                    else f"du {hours_mod.date_text(x.start_date)} au "
                    f"{hours_mod.date_text(x.end_date)}"
                ),
                "what": "fermé"
                if x.closed
                else hours_mod.slots_text([(x.opens, x.closes)] if x.opens and x.closes else []),
            }
            for x in hours_mod.upcoming_exceptions(exceptions, today)
        ],
    }


def _visible_schemes(qs: QuerySet[Scheme], pro: bool) -> QuerySet[Scheme]:
    return qs if pro else qs.filter(public=True)


def _scheme_links(schemes: Iterable[Scheme]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for s in schemes:
        if s.pk in seen:
            continue
        seen.add(s.pk)
        out.append(
            {
                "name": s.name,
                "url": reverse("directory:scheme", args=[s.slug]),
                "kind": s.get_kind_display(),
                "status": s.get_status_display(),
                "planned": s.status == Scheme.Status.PLANNED,
                "public": s.public,
            }
        )
    return out


def _map_data(lat: float | None, lon: float | None, label: str, commune: Commune | None):
    """What the small map of an entry page needs, embedded with ``json_script`` (CSP-safe)."""
    if lat is None or lon is None:
        if commune is None or commune.latitude is None:
            return None
        lat, lon = commune.latitude, commune.longitude
    return {
        "point": [lat, lon],
        "label": label,
        "commune": commune.geometry if commune is not None else None,
    }


def _context(request: HttpRequest, section: str = "acteurs", **extra: Any) -> dict[str, Any]:
    """What every directory page gets: may the user see pro-only data, the login link, the tab."""
    pro = can(request.user, "view_pro")
    context = {"pro": pro, "login_url": reverse("accounts:login"), "section": section, **extra}
    context["report_url"] = _report_url(extra)
    return context


#: The entry a page is about, by the context key its view passes: what "Signaler une erreur"
#: reports on (the first key present wins: a role page also passes its organisation).
_REPORTED = (("role", "role"), ("service", "service"), ("scheme", "scheme"),
             ("org", "organization"), ("place", "location"))  # fmt: skip


def _report_url(extra: dict[str, Any]) -> str:
    for key, kind in _REPORTED:
        obj = extra.get(key)
        if isinstance(obj, dict):
            obj = obj.get("obj")
        if obj is not None and getattr(obj, "pk", None):
            return reverse("directory:report", args=[kind, obj.pk])
    return ""


def report_page(request: HttpRequest, target_type: str, pk: int) -> HttpResponse:
    """ "Signaler une erreur": anyone corrects the public fields of an entry or describes the
    error; each correction becomes a proposal that a coordinator reviews (nothing changes
    before). A GET shows the form and writes nothing."""
    from maillage.directory import review
    from maillage.directory.forms import EntryForm

    if target_type not in ("role", "organization", "location", "service", "scheme"):
        raise Http404("type de fiche inconnu")
    target = get_object_or_404(review.TARGET_MODELS[target_type], pk=pk)
    if target_type in ("service", "scheme") and not getattr(target, "public", True):
        raise Http404("fiche non publique")
    data = request.POST if request.method == "POST" else None
    targets: list[tuple[str, str, Any]] = [(target_type, str(target), target)]
    if target_type == "role":
        targets = [("role", f"Activité de {target.practitioner}", target)]
        if target.location_id:
            targets.append(("location", f"Lieu d'exercice : {clean_name(target.location.name)}",
                            target.location))  # fmt: skip
    forms = []
    for kind, title, obj in targets:
        exclude = tuple(
            f for f in review.EDITABLE_FIELDS[kind] if f not in review.PUBLIC_FIELDS[kind]
        )
        forms.append((title, EntryForm(kind, obj, data, prefix=f"{kind}{obj.pk}", exclude=exclude)))
    comment = (request.POST.get("comment", "") if data else "")[: review.REPORT_COMMENT_MAX]
    error, sent = "", False
    if data is not None:
        if request.POST.get("site_web_confirmation"):  # a field people never see: a robot
            sent = True
        elif all(form.is_valid() for _, form in forms):
            try:
                review.public_report([(form.target, form.changes()) for _, form in forms], comment)
                sent = True
            except ValueError as exc:
                error = str(exc)[:1].upper() + str(exc)[1:] + "."
        else:
            error = "Certaines valeurs sont à corriger (voir en rouge)."
    return render(
        request,
        "directory/public/report.html",
        _context(
            request,
            title=f"Signaler une erreur : {clean_name(str(target))}",
            entry_name=clean_name(str(target)),
            forms=forms,
            comment=comment,
            error=error,
            sent=sent,
            synthetic=getattr(target, "synthetic", False),
        ),
        status=400 if error else 200,
    )


def role_page(request: HttpRequest, role_id: int) -> HttpResponse:
    """A professional's activity: who, which profession, where, when, and with whom."""
    role = get_object_or_404(
        PractitionerRole.objects.select_related(
            "practitioner", "location__commune", "organization__commune"
        ),
        pk=role_id,
        active=True,
    )
    pro = can(request.user, "view_pro")
    now = timezone.now()
    person = role.practitioner
    group = profession_group(role.profession_code, role.specialty_code)
    schemes = list(_visible_schemes(person.schemes.all(), pro))
    if role.organization_id:
        schemes += list(_visible_schemes(role.organization.schemes.all(), pro))
    if role.location_id:
        schemes += list(_visible_schemes(role.location.schemes.all(), pro))
    other_roles = (
        person.roles.filter(active=True)
        .exclude(pk=role.pk)
        .select_related("location__commune", "organization")
    )
    place = _place(role.location, pro, now)
    location = role.location
    return render(
        request,
        "directory/public/role.html",
        _context(
            request,
            role=role,
            person=person,
            title=str(person),
            profession=PROFESSIONS.get(role.profession_code, role.profession_code),
            group_label=PROFESSION_GROUPS[group][0] if group else "",
            specialty=SPECIALTIES.get(role.specialty_code, role.specialty_code),
            mode=MODE_DISPLAY.get(role.mode_code, ""),
            languages=[LANGUAGE_NAMES.get(c, c) for c in _codes(person.languages)],
            place=place,
            organization=role.organization,
            organization_name=clean_name(role.organization.name) if role.organization else "",
            other_roles=[
                {
                    "url": reverse("directory:role", args=[r.pk]),
                    "label": PROFESSIONS.get(r.profession_code, r.profession_code),
                    "where": clean_name(r.location.name) if r.location else "",
                    "commune": r.location.commune.name if r.location else "",
                }
                for r in other_roles
            ],
            schemes=_scheme_links(schemes),
            pro_fields=_pro_fields(person, pro),
            verified=verified_text(person.verified_on),
            synthetic=role.synthetic or person.synthetic,
            map_data=_map_data(
                location.latitude if location else None,
                location.longitude if location else None,
                str(person),
                location.commune if location else None,
            ),
        ),
    )


def _roles_list(qs: QuerySet[PractitionerRole]) -> tuple[list[dict[str, Any]], int]:
    total = qs.count()
    rows = [
        {
            "url": reverse("directory:role", args=[r.pk]),
            "name": str(r.practitioner),
            "profession": SPECIALTIES.get(r.specialty_code)
            or PROFESSIONS.get(r.profession_code, r.profession_code),
            "accepts": r.accepts_new_patients,
            "synthetic": r.synthetic,
        }
        for r in qs.select_related("practitioner").order_by(
            "profession_code", "practitioner__family_name"
        )[:MEMBERS_SHOWN]
    ]
    return rows, total


def _service_address(service: HealthcareService) -> str:
    """Where the service is: its own place, else its structure's address (one line)."""
    place = service.location
    if place is not None:
        street, postal_code, town = place.address, place.postal_code, place.commune.name
    else:
        org = service.organization
        street, postal_code = org.address, org.postal_code
        street = street.title() if street.isupper() else street  # FINESS writes capitals
        town = org.commune.name if org.commune else org.city.title()
    return ", ".join(p for p in (street, f"{postal_code} {town}".strip()) if p)


def _services_list(
    qs: QuerySet[HealthcareService], pro: bool, *, at: Location | None = None
) -> list[dict[str, Any]]:
    """The services of a structure's or a place's page, by category. The address is given
    only where it is not the page's own: a service with a place of its own (on a structure's
    page), none on the page of that place (``at``)."""
    if not pro:
        qs = qs.filter(public=True)
    qs = qs.select_related("location__commune", "organization__commune").prefetch_related(
        "opening_hours"
    )
    return [
        {
            "url": reverse("directory:service", args=[s.pk]),
            "name": s.name,
            "category": s.category,
            "phone": phone_text(s.phone),
            "phone_raw": re.sub(r"[^\d+]", "", s.phone or ""),
            "hours": hours_mod.week_summary(s.opening_hours.all()) or s.hours_note,
            "address": _service_address(s) if s.location_id and s.location != at else "",
            "source_note": s.source_note,
            "teleconsultation": s.teleconsultation,
            "public": s.public,
        }
        for s in qs.order_by(Lower("category"), Lower("name"))
    ]


def organization_page(request: HttpRequest, organization_id: int) -> HttpResponse:
    """A structure (FINESS établissement or not): identity, places, services, people, schemes."""
    org = get_object_or_404(Organization.objects.select_related("commune"), pk=organization_id)
    pro = can(request.user, "view_pro")
    now = timezone.now()
    locations = list(
        org.locations.select_related("commune")
        .prefetch_related("opening_hours", "exceptions")
        .annotate(n_services=Count("services"))[:20]
    )
    places = [_place(loc, pro, now) for loc in locations]
    for loc, place in zip(locations, places, strict=True):
        if loc.n_services and not place["hours"]["known"]:
            place["hours"] = None  # its services' hours are listed below, with their words
    roles, roles_total = _roles_list(org.roles.filter(active=True))
    schemes = list(_visible_schemes(org.schemes.all(), pro)) + list(
        _visible_schemes(org.carried_schemes.all(), pro)
    )
    # and the dispositifs at its places (a teleconsultation room, a site)
    schemes += list(_visible_schemes(Scheme.objects.filter(location__in=locations), pro))
    name = clean_name(org.name)
    return render(
        request,
        "directory/public/organization.html",
        _context(
            request,
            org=org,
            title=name,
            kind=org.get_kind_display() if org.kind else "",
            phone=phone_text(org.phone),
            phone_raw=re.sub(r"[^\d+]", "", org.phone or ""),
            places=places,
            services=_services_list(org.services.all(), pro),
            roles=roles,
            roles_more=max(0, roles_total - len(roles)),
            schemes=_scheme_links(schemes),
            pro_fields=_pro_fields(org, pro),
            verified=verified_text(org.verified_on),
            synthetic=org.synthetic,
            map_data=_map_data(org.latitude, org.longitude, name, org.commune),
        ),
    )


def location_page(request: HttpRequest, location_id: int) -> HttpResponse:
    """A place of care: hours, the professionals and services found there."""
    location = get_object_or_404(
        Location.objects.select_related("commune", "organization"), pk=location_id
    )
    pro = can(request.user, "view_pro")
    place = _place(location, pro, timezone.now())
    roles, roles_total = _roles_list(location.roles.filter(active=True))
    schemes = list(_visible_schemes(location.schemes.all(), pro))
    if location.organization_id:
        schemes += list(_visible_schemes(location.organization.schemes.all(), pro))
    return render(
        request,
        "directory/public/location.html",
        _context(
            request,
            place=place,
            title=place["name"],
            organization=location.organization,
            organization_name=clean_name(location.organization.name)
            if location.organization
            else "",
            services=_services_list(location.services.all(), pro, at=location),
            roles=roles,
            roles_more=max(0, roles_total - len(roles)),
            schemes=_scheme_links(schemes),
            synthetic=location.synthetic,
            map_data=_map_data(
                location.latitude, location.longitude, place["name"], location.commune
            ),
        ),
    )


def service_page(request: HttpRequest, service_id: int) -> HttpResponse:
    """A service of a structure; a service reserved to professionals is a 404 for the public."""
    pro = can(request.user, "view_pro")
    qs = HealthcareService.objects.select_related("organization__commune", "location__commune")
    service = get_object_or_404(qs if pro else qs.filter(public=True), pk=service_id)
    now = timezone.now()
    weekly, exceptions = list(service.opening_hours.all()), list(service.exceptions.all())
    schemes = list(_visible_schemes(service.organization.schemes.all(), pro))
    schemes += list(_visible_schemes(service.organization.carried_schemes.all(), pro))
    if service.location_id:
        schemes += list(_visible_schemes(service.location.schemes.all(), pro))
    place = _place(service.location, pro, now)
    if place and not place["hours"]["known"]:
        place["hours"] = None  # the service's own hours are above; no "non renseignés" twice
    org = service.organization
    commune = service.location.commune if service.location else org.commune
    # No number of its own: the structure's switchboard (FINESS), said to be that.
    switchboard = "" if service.phone else phone_text(org.phone)
    lat = service.location.latitude if service.location else org.latitude
    lon = service.location.longitude if service.location else org.longitude
    return render(
        request,
        "directory/public/service.html",
        _context(
            request,
            service=service,
            title=service.name,
            organization=org,
            organization_name=clean_name(org.name),
            phone=phone_text(service.phone),
            phone_raw=re.sub(r"[^\d+]", "", service.phone or ""),
            switchboard=switchboard,
            switchboard_raw=re.sub(r"[^\d+]", "", org.phone or "") if switchboard else "",
            switchboard_source="FINESS" if org.finess_et else "",
            hours=_hours_block(weekly, exceptions, now, hours_mod.local(now).date()),
            address="" if place else _service_address(service),
            place=place,
            schemes=_scheme_links(schemes),
            pro_fields=_pro_fields(service, pro),
            verified=verified_text(service.verified_on),
            synthetic=service.synthetic,
            map_data=_map_data(lat, lon, f"{service.name} — {clean_name(org.name)}", commune),
        ),
    )


# --------------------------------------------------------------------------- dispositifs


def _kind_order(kind: str) -> int:
    try:
        return SCHEME_KIND_ORDER.index(kind)
    except ValueError:
        return len(SCHEME_KIND_ORDER)


def _schemes_filtered(request: HttpRequest, pro: bool) -> tuple[list[Scheme], dict[str, Any]]:
    """The dispositifs the list and its map show for the query string: one parser, one result
    set. Returns them with the filters as read (and whether the commune was unknown)."""
    from maillage.directory.search.service import normalise

    kind = request.GET.get("type", "")
    kind = kind if kind in SchemeKind.values else ""
    status = request.GET.get("statut", "")
    status = status if status in Scheme.Status.values else ""
    q = request.GET.get("q", "").strip()[:200]
    where = request.GET.get("commune", "").strip()[:120]
    qs = _visible_schemes(Scheme.objects.all(), pro).select_related(
        "commune", "perimeter", "location"
    )
    qs = qs.annotate(n_orgs=Count("member_organizations", distinct=True)).annotate(
        n_people=Count("member_practitioners", distinct=True)
    )
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    commune_code = _commune_code(where) if where else None
    if where and commune_code:
        qs = qs.filter(Q(commune_id=commune_code) | Q(perimeter__communes=commune_code)).distinct()
    schemes = list(qs)
    if q:
        words = normalise(q).split()
        schemes = [
            s
            for s in schemes
            if all(
                w in normalise(f"{s.name} {s.description} {s.get_kind_display()} "
                               f"{s.commune.name if s.commune else ''}")
                for w in words
            )
        ]  # fmt: skip
    filters = {"type": kind, "statut": status, "q": q, "commune": where,
               "unknown_commune": bool(where and not commune_code)}  # fmt: skip
    return schemes, filters


def scheme_list(request: HttpRequest) -> HttpResponse:
    """The cartography of dispositifs, grouped by kind, with kind / status / commune / text
    filters, and their map (:func:`schemes_map`, same filters)."""
    pro = can(request.user, "view_pro")
    schemes, f = _schemes_filtered(request, pro)
    kind, status, q, where = f["type"], f["statut"], f["q"], f["commune"]
    groups: dict[str, list[Scheme]] = defaultdict(list)
    for s in schemes:
        groups[s.kind].append(s)
    sections = []
    for k in sorted(groups, key=_kind_order):
        items = sorted(groups[k], key=lambda s: (s.status != Scheme.Status.OPERATING, s.name))
        counts = Counter(s.status for s in items)
        sections.append(
            {
                "kind": k,
                "label": SchemeKind(k).label,
                "items": items,
                "operating": counts.get(Scheme.Status.OPERATING, 0),
                "planned": counts.get(Scheme.Status.PLANNED, 0),
            }
        )
    return render(
        request,
        "directory/public/schemes.html",
        _context(
            request,
            section="dispositifs",
            sections=sections,
            total=len(schemes),
            kinds=[(k.value, k.label) for k in SCHEME_KIND_ORDER],
            statuses=Scheme.Status.choices,
            f={"type": kind, "statut": status, "q": q, "commune": where},
            unknown_commune=f["unknown_commune"],
            map_url=reverse("directory:schemes_map")
            + ("?" + request.GET.urlencode() if request.GET else ""),
            any_synthetic=any(s.synthetic for s in schemes),
            filtered=bool(kind or status or q or where),
        ),
    )


#: Population from which a town's name is written on the maps' background.
TOWN_LABEL_POPULATION = 3000


def _perimeter_outline(perimeter: Territory) -> dict[str, Any] | None:
    """The union of a perimeter's communes, coarse enough for a map of many perimeters; kept
    in the cache per perimeter and version (a département's union takes a moment)."""
    from django.core.cache import cache

    version = perimeter.updated_at.timestamp() if perimeter.updated_at else 0
    key = f"perimeter-outline:{perimeter.pk}:{version}"
    outline = cache.get(key)
    if outline is None:
        shapes = [g for g in perimeter.communes.values_list("geometry", flat=True) if g]
        union = dissolve(shapes)
        outline = _coarse(union) if union else {}
        cache.set(key, outline, 24 * 3600)
    return outline or None


def schemes_map(request: HttpRequest) -> JsonResponse:
    """``/annuaire/dispositifs/carte.json``: the dispositifs of the list (same filters) for its
    map: perimeters as outlines by kind, places as points, and what the background needs (the
    départements' communes and the names of the main towns), so the map reads without tiles."""
    pro = can(request.user, "view_pro")
    schemes, _f = _schemes_filtered(request, pro)
    perimeters, points, communes = [], [], set()
    for s in schemes:
        base = {"slug": s.slug, "name": s.name, "kind": s.kind, "kind_label": s.get_kind_display(),
                "status": s.status, "url": reverse("directory:scheme", args=[s.slug]),
                "synthetic": s.synthetic}  # fmt: skip
        if s.perimeter_id:
            outline = _perimeter_outline(s.perimeter)
            if outline:
                properties = {**base, "perimeter": s.perimeter.name}
                perimeters.append(
                    {"type": "Feature", "geometry": outline, "properties": properties}
                )
                communes.update(s.perimeter.communes.values_list("code", flat=True)[:1])
        where = s.location if s.location_id and s.location.latitude is not None else s.commune
        if where is not None and where.latitude is not None:
            points.append({**base, "lat": where.latitude, "lon": where.longitude})
            communes.add(s.commune_id or getattr(where, "commune_id", "") or "")
    departements = sorted({_departement_of(c) for c in communes if c})[:4]
    towns = [
        {"name": n, "lat": lat, "lon": lon, "population": p}
        for n, lat, lon, p in Commune.objects.filter(
            departement_id__in=departements, population__gte=TOWN_LABEL_POPULATION
        )
        .exclude(latitude__isnull=True)
        .values_list("name", "latitude", "longitude", "population")
    ]
    return JsonResponse(
        {
            "count": len(schemes),
            "perimeters": {"type": "FeatureCollection", "features": perimeters},
            "points": points,
            "departements": departements,
            "base_url": reverse("directory:base_layer"),
            "towns": towns,
            "kinds": [{"kind": k.value, "label": k.label} for k in SCHEME_KIND_ORDER],
        },
        json_dumps_params={"ensure_ascii": False},
    )


def _get_scheme(request: HttpRequest, slug: str) -> Scheme:
    qs = Scheme.objects.select_related("perimeter", "organization", "location", "commune")
    if not can(request.user, "view_pro"):
        qs = qs.filter(public=True)
    return get_object_or_404(qs, slug=slug)


def _carrier_phone(scheme: Scheme) -> dict[str, str]:
    """The FINESS switchboard of the carrying établissement, for a scheme without a number of
    its own (a hospital's dispositif page then gives a number to call, said to be that)."""
    org = scheme.organization
    if scheme.phone or org is None or not org.finess_et or not org.phone:
        return {"carrier_phone": "", "carrier_phone_raw": ""}
    return {
        "carrier_phone": phone_text(org.phone),
        "carrier_phone_raw": re.sub(r"[^\d+]", "", org.phone),
    }


def scheme_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A dispositif: what it is, its perimeter on the map, its members and its contacts."""
    scheme = _get_scheme(request, slug)
    pro = can(request.user, "view_pro")
    contacts = scheme.contacts.all() if pro else scheme.contacts.filter(public=True)
    orgs = scheme.member_organizations.select_related("commune").order_by("name")
    people = scheme.member_practitioners.prefetch_related("roles").order_by(
        "family_name", "given_name"
    )
    n_orgs, n_people = orgs.count(), people.count()
    actions = scheme.actions.all() if pro else scheme.actions.filter(visibility="public")
    perimeter = scheme.perimeter
    point = None
    if scheme.location and scheme.location.latitude is not None:
        point = [scheme.location.latitude, scheme.location.longitude]
    elif scheme.organization and scheme.organization.latitude is not None:
        point = [scheme.organization.latitude, scheme.organization.longitude]
    elif scheme.commune and scheme.commune.latitude is not None:
        point = [scheme.commune.latitude, scheme.commune.longitude]
    return render(
        request,
        "directory/public/scheme.html",
        _context(
            request,
            section="dispositifs",
            scheme=scheme,
            title=scheme.name,
            phone=phone_text(scheme.phone),
            phone_raw=re.sub(r"[^\d+]", "", scheme.phone or ""),
            perimeter=perimeter,
            perimeter_communes=perimeter.communes.count() if perimeter else 0,
            perimeter_url=reverse("directory:scheme_perimeter", args=[scheme.slug])
            if perimeter
            else "",
            map_data={"point": point, "label": scheme.name} if point else None,
            carrier=scheme.organization,
            carrier_name=clean_name(scheme.organization.name) if scheme.organization else "",
            **_carrier_phone(scheme),
            # what one can use there: the services at its place, else its carrier's
            services=_services_list(
                HealthcareService.objects.filter(location=scheme.location)
                if scheme.location_id
                else HealthcareService.objects.filter(organization=scheme.organization_id)
                if scheme.organization_id
                else HealthcareService.objects.none(),
                pro,
            ),
            organizations=[
                {
                    "url": reverse("directory:organization", args=[o.pk]),
                    "name": clean_name(o.name),
                    "commune": o.commune.name if o.commune else o.city.title(),
                    "synthetic": o.synthetic,
                }
                for o in orgs[:MEMBERS_SHOWN]
            ],
            organizations_more=max(0, n_orgs - MEMBERS_SHOWN),
            practitioners=[_member_person(p) for p in people[:MEMBERS_SHOWN]],
            practitioners_more=max(0, n_people - MEMBERS_SHOWN),
            contacts=[
                {
                    "name": c.name,
                    "role": c.role,
                    "phone": phone_text(c.phone),
                    "phone_raw": re.sub(r"[^\d+]", "", c.phone or ""),
                    "email": c.email,
                    "public": c.public,
                }
                for c in contacts
            ],
            actions=actions,
            pro_fields=_pro_fields(scheme, pro),
            verified=verified_text(scheme.verified_on),
            synthetic=scheme.synthetic,
        ),
    )


def _member_person(person: Any) -> dict[str, Any]:
    roles = [r for r in person.roles.all() if r.active]
    role = roles[0] if roles else None
    return {
        "name": str(person),
        "url": reverse("directory:role", args=[role.pk]) if role else "",
        "profession": (
            SPECIALTIES.get(role.specialty_code)
            or PROFESSIONS.get(role.profession_code, role.profession_code)
        )
        if role
        else "",
        "synthetic": person.synthetic,
    }


def scheme_perimeter(request: HttpRequest, slug: str) -> JsonResponse:
    """The perimeter of a dispositif: its communes, and their union as one (Multi)Polygon."""
    scheme = _get_scheme(request, slug)
    if scheme.perimeter is None:
        raise Http404("Ce dispositif n'a pas de périmètre.")
    rows = list(scheme.perimeter.communes.values_list("code", "name", "geometry"))
    shapes = [g for _c, _n, g in rows if g]
    features = [
        {
            "type": "Feature",
            "geometry": g,
            "properties": {"role": "commune", "code": c, "name": n},
        }
        for c, n, g in rows
        if g
    ]
    union = dissolve(shapes)
    if union is not None:
        features.append(
            {
                "type": "Feature",
                "geometry": union,
                "properties": {
                    "role": "perimeter",
                    "name": scheme.perimeter.name,
                    "communes": len(rows),
                    "without_shape": len(rows) - len(shapes),
                },
            }
        )
    return JsonResponse(
        {"type": "FeatureCollection", "features": features},
        json_dumps_params={"ensure_ascii": False},
    )


# --------------------------------------------------------------------------- perimeter union


def dissolve(geometries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The union of commune polygons as one GeoJSON (Multi)Polygon, without a GIS library.

    Commune shapes share their borders vertex for vertex (they come from one topological
    source), so the union's boundary is the set of edges used by exactly one polygon; chaining
    those edges back into rings and nesting them (a ring inside an odd number of others is a
    hole: an enclave commune outside the perimeter) gives the outline drawn on the map.
    """
    counts: Counter[tuple[tuple[float, float], tuple[float, float]]] = Counter()
    directed: dict[tuple[tuple[float, float], tuple[float, float]], None] = {}
    for geom in geometries:
        polygons = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        for polygon in polygons:
            for ring in polygon:
                for a, b in zip(ring, ring[1:], strict=False):
                    a, b = (a[0], a[1]), (b[0], b[1])
                    if a == b:
                        continue
                    counts[(min(a, b), max(a, b))] += 1
                    directed[(a, b)] = None
    outer = [(a, b) for a, b in directed if counts[(min(a, b), max(a, b))] == 1]
    if not outer:
        return None
    nexts: dict[tuple[float, float], list[tuple[float, float]]] = defaultdict(list)
    for a, b in outer:
        nexts[a].append(b)
        nexts[b].append(a)
    used: set[tuple[tuple[float, float], tuple[float, float]]] = set()
    rings: list[list[tuple[float, float]]] = []
    for a, b in outer:
        key = (min(a, b), max(a, b))
        if key in used:
            continue
        used.add(key)
        ring, current, previous = [a, b], b, a
        while current != a:
            step = next(
                (n for n in nexts[current] if (min(current, n), max(current, n)) not in used),
                None,
            )
            if step is None:
                break
            used.add((min(current, step), max(current, step)))
            previous, current = current, step
            ring.append(current)
        del previous
        if len(ring) >= 4 and ring[0] == ring[-1]:
            rings.append(ring)
    if not rings:
        return None
    rings.sort(key=lambda r: -abs(_area(r)))
    depth = [sum(_inside(r[0], other) for other in rings if other is not r) for r in rings]
    shells = [i for i, d in enumerate(depth) if d % 2 == 0]
    polygons = {i: [_ccw(rings[i], True)] for i in shells}
    for i, d in enumerate(depth):
        if d % 2 == 1:  # a hole: attach to the smallest shell containing it
            host = next(
                (s for s in reversed(shells) if abs(_area(rings[s])) > abs(_area(rings[i]))
                 and _inside(rings[i][0], rings[s])),
                None,
            )  # fmt: skip
            if host is not None:
                polygons[host].append(_ccw(rings[i], False))
    coords = [[[list(p) for p in ring] for ring in polygons[i]] for i in shells]
    if len(coords) == 1:
        return {"type": "Polygon", "coordinates": coords[0]}
    return {"type": "MultiPolygon", "coordinates": coords}


def _area(ring: list[tuple[float, float]]) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:], strict=False)) / 2


def _ccw(ring: list[tuple[float, float]], counter_clockwise: bool) -> list[tuple[float, float]]:
    """GeoJSON (RFC 7946) winding: shells counter-clockwise, holes clockwise."""
    return ring if (_area(ring) > 0) == counter_clockwise else ring[::-1]


def _inside(point: tuple[float, float], ring: list[tuple[float, float]]) -> bool:
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


# --------------------------------------------------------------------------- actions


def _visible_actions(request: HttpRequest) -> QuerySet[Action]:
    qs = Action.objects.select_related("territory", "scheme")
    if not can(request.user, "view_pro"):
        qs = qs.filter(visibility=Action.Visibility.PUBLIC)
    return qs


def _tags(action: Action) -> list[str]:
    return [t.strip() for t in action.tags.split(",") if t.strip()]


def action_list(request: HttpRequest) -> HttpResponse:
    """The Actions side: fiches parcours, protocols and resources, searched without accents."""
    from maillage.directory.search.service import normalise

    q = request.GET.get("q", "").strip()[:200]
    kind = request.GET.get("type", "")
    kind = kind if kind in Action.Kind.values else ""
    tag = request.GET.get("tag", "").strip()[:80]
    territory = request.GET.get("territoire", "")
    qs = _visible_actions(request)
    if kind:
        qs = qs.filter(kind=kind)
    if territory:
        qs = qs.filter(territory__slug=territory)
    actions = list(qs)
    all_tags = Counter(t for a in actions for t in _tags(a))
    if tag:
        actions = [a for a in actions if normalise(tag) in {normalise(t) for t in _tags(a)}]
    if q:
        words = normalise(q).split()
        actions = [
            a
            for a in actions
            if all(
                w in normalise(f"{a.title} {a.tags} {a.summary} {a.get_kind_display()} "
                               f"{a.territory.name if a.territory else ''} {a.author}")
                for w in words
            )
        ]  # fmt: skip
    territories = Territory.objects.filter(
        pk__in=_visible_actions(request).exclude(territory=None).values("territory")
    ).order_by("name")
    return render(
        request,
        "directory/public/actions.html",
        _context(
            request,
            section="actions",
            actions=[{"obj": a, "tags": _tags(a)} for a in actions],
            f={"q": q, "type": kind, "tag": tag, "territoire": territory},
            kinds=Action.Kind.choices,
            territories=territories,
            popular_tags=[t for t, _n in all_tags.most_common(12)],
            filtered=bool(q or kind or tag or territory),
        ),
    )


def action_page(request: HttpRequest, slug: str) -> HttpResponse:
    """One fiche; a professionals-only fiche is a 404 for the public (its title is not leaked)."""
    action = get_object_or_404(_visible_actions(request), slug=slug)
    return render(
        request,
        "directory/public/action.html",
        _context(
            request,
            section="actions",
            action=action,
            title=action.title,
            tags=_tags(action),
            review_on=date_fr(action.review_on),
            review_due=bool(action.review_on and action.review_on < timezone.localdate()),
            updated=date_fr(timezone.localtime(action.updated_at).date()),
            document_date=partial_date_fr(action.source_date),
        ),
    )
