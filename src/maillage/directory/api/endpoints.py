"""The JSON API of the directory (django-ninja), described by OpenAPI 3 at ``/api/schema``.

Handlers are thin: search goes through :func:`..search.service.search`, edits through
:mod:`maillage.directory.review`, permissions through :func:`maillage.accounts.permissions.can`,
FHIR through :mod:`..fhir.resources`. What the public may see is decided here once, by
:func:`_pro`: pro-only fields travel in a separate ``pro`` object that is ``null`` unless the
session user may ``view_pro``, so a client (or a test) can never receive them by accident, and
non-public records (services, schemes, actions, contacts) answer 404 to everyone else.

Authentication is the Django session (the logged-in user of the site); writes need the CSRF
token (``X-CSRFToken`` header), as every form of the site does.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from ninja import Body, NinjaAPI, Query, Router, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import DocsBase
from ninja.security import django_auth

from maillage import __version__
from maillage.accounts.permissions import audit, can
from maillage.directory import review
from maillage.directory.changes import ChangeProposal
from maillage.directory.models import (
    Action,
    HealthcareService,
    Location,
    OpeningException,
    OpeningHours,
    Organization,
    Practitioner,
    PractitionerRole,
    Scheme,
    SchemeKind,
    StructureKind,
)
from maillage.directory.search import service as search_service
from maillage.opendata.nomenclatures import MODES, PROFESSIONS, SPECIALTIES
from maillage.territory.models import Commune
from maillage.territory.services import UnknownTerritory, resolve

MAX_PAGE_SIZE = 100
#: Deepest page of a list (the search has its own, ``search_service.MAX_PAGE``).
MAX_PAGE = search_service.MAX_PAGE
#: Longest free-text filter of a list (``q``, ``tag``, ``territory``…): the search's bound.
MAX_TEXT = search_service.MAX_QUERY_CHARS
logger = logging.getLogger(__name__)

#: The machine-readable ``code`` of each error status (the ``detail`` says it in French).
ERROR_CODES = {
    400: "requete_invalide",
    401: "authentification_requise",
    403: "interdit",
    404: "introuvable",
    405: "methode_non_autorisee",
    409: "conflit",
    422: "donnees_invalides",
    429: "trop_de_requetes",
    500: "erreur_serveur",
}
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


class ServerDocs(DocsBase):
    """An API reference page rendered on the server from the OpenAPI document.

    Swagger UI needs its scripts from ``ninja``'s static files or a CDN; the CSP forbids the
    CDN and ``ninja`` is not an installed app, so the docs are plain HTML: no script at all.
    """

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        schema = api.get_openapi_schema(path_params=kwargs)
        rows = []
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                params = ", ".join(
                    p["name"] + ("*" if p.get("required") else "")
                    for p in operation.get("parameters", [])
                )
                rows.append(
                    f"<tr><td><code>{method.upper()}</code></td><td><code>{escape(path)}</code>"
                    f"</td><td>{escape(operation.get('summary', ''))}</td>"
                    f"<td>{escape(params)}</td></tr>"
                )
        html = (
            '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
            f"<title>{escape(api.title)} — API</title></head><body>"
            f"<h1>{escape(api.title)} {escape(api.version)}</h1>"
            f"<p>{escape(api.description)}</p>"
            f'<p>Schéma OpenAPI 3 : <a href="{escape(self.get_openapi_url(api, kwargs))}">'
            "schema</a></p><table><thead><tr><th>Méthode</th><th>Chemin</th><th>Résumé</th>"
            "<th>Paramètres (* requis)</th></tr></thead><tbody>" + "".join(rows) + "</tbody>"
            "</table></body></html>"
        )
        return HttpResponse(html)


_ERROR_REF = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_ERROR_DOCS = {
    400: "Paramètre invalide ou hors limites (longueur, nombre de mots, page…).",
    401: "Authentification requise (écriture anonyme ou ressource de session).",
    403: "Interdit : rôle insuffisant ou jeton CSRF absent.",
    429: "Trop de requêtes de ce client : réessayer après `Retry-After` secondes.",
}


class MaillageAPI(NinjaAPI):
    """NinjaAPI whose schema documents, on every operation, the errors it really gives.

    Errors raised outside a handler (parameter validation, authentication, CSRF, the rate
    limits of :mod:`maillage.web.ratelimit`) would otherwise be missing from the document.
    """

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                codes = [429]
                if operation.get("parameters") or operation.get("requestBody"):
                    codes.append(400)
                if operation.get("security") or method in ("post", "put", "patch", "delete"):
                    codes += [401, 403]
                for code in codes:
                    responses.setdefault(code, {"description": _ERROR_DOCS[code], **_ERROR_REF})
        return schema


api = MaillageAPI(
    title="maillage",
    version="1",
    description=(
        f"maillage {__version__}: the directory (annuaire croisé) of a health territory. "
        "Anonymous users see public data; logged-in professionals and coordinators also get "
        "the pro-only fields (object `pro`) and the records reserved to professionals. Writes "
        "need the session and the CSRF token."
    ),
    openapi_url="/schema",
    docs_url="/docs",
    docs=ServerDocs(),
    urls_namespace="api",
)
directory = Router(tags=["directory"])
territories = Router(tags=["territories"])


# --- schemas --------------------------------------------------------------------------------
class Error(Schema):
    """Every error of the API: a French sentence, a stable code, the offending fields."""

    detail: str
    code: str
    fields: list[str] | None = None


def error(status: int, detail: str, fields: list[str] | None = None) -> Status:
    """An error answer with the one documented body (:class:`Error`)."""
    return Status(status, {"detail": detail, "code": ERROR_CODES[status], "fields": fields})


def _error_response(
    request: HttpRequest, status: int, detail: str, fields: list[str] | None = None
) -> HttpResponse:
    body = {"detail": detail, "code": ERROR_CODES.get(status, "erreur"), "fields": fields}
    return api.create_response(request, body, status=status)


_HTTP_MESSAGES = {"CSRF check Failed": "jeton CSRF absent ou invalide (en-tête X-CSRFToken)"}


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Parameters (query, path) that do not parse: 400; a body that does not: 422."""
    fields, parts, in_body = [], [], False
    for err in exc.errors:
        loc = [str(x) for x in err.get("loc", ())]
        in_body |= bool(loc) and loc[0] == "body"
        name = ".".join(loc[1:]) or ".".join(loc) or "?"
        fields.append(name)
        parts.append(f"{name} : {err.get('msg', 'valeur invalide')}")
    status = 422 if in_body else 400
    what = "corps de la requête invalide" if in_body else "paramètre invalide"
    return _error_response(request, status, f"{what} — " + " ; ".join(parts), fields)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error_response(
        request, 401, "authentification requise : connectez-vous (session du site)"
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error_response(request, exc.status_code, _HTTP_MESSAGES.get(str(exc), str(exc)))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error_response(request, 404, "ressource introuvable")


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A bug, never an input: logged with its traceback, answered with the documented body."""
    logger.exception("API error on %s %s", request.method, request.path)
    return _error_response(request, 500, "erreur interne du serveur ; elle a été journalisée")


class ExportPending(Schema):
    """A large export not built yet (202) or whose build failed (503)."""

    state: str
    progress: float
    message: str
    detail: str
    status_url: str
    download_url: str


class Code(Schema):
    code: str
    label: str


class CommuneRef(Schema):
    code: str
    name: str


class Ref(Schema):
    id: int
    name: str


class SchemeRef(Schema):
    slug: str
    name: str
    kind: str


class ServiceRef(Schema):
    id: int
    name: str
    category: str


class ActionRef(Schema):
    slug: str
    title: str
    kind: str


class Pro(Schema):
    """Pro-only fields: only for logged-in professionals and coordinators."""

    mssante: str
    direct_line: str
    notes_pro: str


class Address(Schema):
    line: str
    postal_code: str
    city: str
    commune: CommuneRef | None


class Hours(Schema):
    weekday: int
    day: str
    opens: str
    closes: str


class HoursException(Schema):
    start_date: dt.date
    end_date: dt.date
    closed: bool
    opens: str | None
    closes: str | None
    label: str


class NearOut(Schema):
    label: str | None
    latitude: float | None
    longitude: float | None


class SearchItem(Schema):
    kind: str
    id: int
    title: str
    subtitle: str
    profession: Code | None
    specialty: Code | None
    commune: CommuneRef | None
    latitude: float | None
    longitude: float | None
    accepts_new_patients: bool | None
    teleconsultation: bool
    synthetic: bool
    url: str


class SearchOut(Schema):
    total: int
    page: int
    pages: int
    corrected: str | None
    near: NearOut | None
    results: list[SearchItem]


class LocationRef(Schema):
    id: int
    name: str
    address: Address


class RoleOut(Schema):
    id: int
    practitioner: Ref
    profession: Code
    specialty: Code | None
    mode: Code | None
    organization: Ref | None
    location: LocationRef | None
    accepts_new_patients: bool | None
    teleconsultation: bool
    active: bool
    synthetic: bool


class PractitionerOut(Schema):
    id: int
    rpps: str | None
    family_name: str
    given_name: str
    languages: list[str]
    roles: list[RoleOut]
    schemes: list[SchemeRef]
    verified_on: dt.date | None
    synthetic: bool
    pro: Pro | None


class OrganizationOut(Schema):
    id: int
    name: str
    finess_et: str | None
    finess_ej: str
    siret: str
    category: Code | None
    kind: Code | None
    address: Address
    phone: str
    email: str
    website: str
    latitude: float | None
    longitude: float | None
    locations: list[Ref]
    services: list[ServiceRef]
    schemes: list[SchemeRef]
    verified_on: dt.date | None
    synthetic: bool
    pro: Pro | None


class PlaceRole(Schema):
    id: int
    practitioner: Ref
    profession: Code
    specialty: Code | None
    accepts_new_patients: bool | None


class LocationOut(Schema):
    id: int
    name: str
    organization: Ref | None
    address: Address
    phone: str
    email: str
    website: str
    teleconsultation: bool
    latitude: float | None
    longitude: float | None
    opening_hours: list[Hours]
    exceptions: list[HoursException]
    services: list[ServiceRef]
    roles: list[PlaceRole]
    schemes: list[SchemeRef]
    verified_on: dt.date | None
    synthetic: bool
    pro: Pro | None


class ServiceOut(Schema):
    id: int
    name: str
    category: str
    description: str
    organization: Ref
    location: LocationRef | None
    phone: str
    email: str
    teleconsultation: bool
    opening_hours: list[Hours]
    #: What the source says of the hours when it gives no weekly slots ("24 h/24").
    hours_note: str
    exceptions: list[HoursException]
    public: bool
    verified_on: dt.date | None
    synthetic: bool
    #: The document the entry comes from (demo services: seed document and section).
    source_note: str
    pro: Pro | None


class Contact(Schema):
    name: str
    role: str
    phone: str
    email: str
    public: bool


class PerimeterOut(Schema):
    slug: str
    name: str
    communes: int


class SchemeOut(Schema):
    slug: str
    name: str
    kind: Code
    status: Code
    description: str
    perimeter: PerimeterOut | None
    organization: Ref | None
    location: LocationRef | None
    commune: CommuneRef | None
    finess: str
    phone: str
    email: str
    website: str
    member_organizations: list[Ref]
    member_practitioners: list[Ref]
    contacts: list[Contact]
    actions: list[ActionRef]
    source_note: str
    public: bool
    verified_on: dt.date | None
    synthetic: bool
    pro: Pro | None


class ActionOut(Schema):
    slug: str
    title: str
    kind: Code
    summary: str
    body: str
    territory: PerimeterOut | None
    scheme: SchemeRef | None
    tags: list[str]
    file: str | None
    link: str
    version: str
    author: str
    review_on: dt.date | None
    visibility: str
    source_note: str


class ActionSummary(Schema):
    slug: str
    title: str
    kind: Code
    summary: str
    tags: list[str]
    visibility: str
    url: str


class ActionList(Schema):
    total: int
    page: int
    pages: int
    results: list[ActionSummary]


class ProposalOut(Schema):
    id: int
    target_type: str
    target_id: int
    changes: dict[str, Any]
    previous: dict[str, Any]
    comment: str
    status: str
    proposed_by: str
    proposed_at: dt.datetime
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    review_comment: str


# --- helpers --------------------------------------------------------------------------------
def _pro(request: HttpRequest) -> bool:
    return can(request.user, "view_pro")


def _pro_fields(obj: Any, pro: bool) -> dict[str, str] | None:
    if not pro:
        return None
    return {name: getattr(obj, name) for name in obj.PRO_ONLY_FIELDS}


def _audit_pro(request: HttpRequest, obj: Any) -> None:
    """Pro-only data was read: the audit log says who read what (never the values)."""
    audit(request.user, "view_pro", obj)


def _code(code: str, labels: dict[str, str]) -> dict[str, str] | None:
    return {"code": code, "label": labels.get(code, code)} if code else None


def _choice(value: str, choices: Any) -> dict[str, str] | None:
    if not value:
        return None
    try:
        return {"code": value, "label": str(choices(value).label)}
    except ValueError:
        return {"code": value, "label": value}


def _commune(commune: Commune | None) -> dict[str, str] | None:
    return {"code": commune.code, "name": commune.name} if commune is not None else None


def _address(obj: Any) -> dict[str, Any]:
    commune = obj.commune if obj.commune_id else None
    return {
        "line": obj.address,
        "postal_code": obj.postal_code,
        "city": getattr(obj, "city", "") or (commune.name if commune else ""),
        "commune": _commune(commune),
    }


def _ref(obj: Any) -> dict[str, Any] | None:
    return {"id": obj.pk, "name": str(obj)} if obj is not None else None


def _location_ref(loc: Location | None) -> dict[str, Any] | None:
    if loc is None:
        return None
    return {"id": loc.pk, "name": loc.name, "address": _address(loc)}


def _scheme_ref(scheme: Scheme) -> dict[str, str]:
    return {"slug": scheme.slug, "name": scheme.name, "kind": scheme.kind}


def _hours(hours: Any) -> list[dict[str, Any]]:
    return [
        {
            "weekday": h.weekday,
            "day": WEEKDAYS[h.weekday],
            "opens": f"{h.opens:%H:%M}",
            "closes": f"{h.closes:%H:%M}",
        }
        for h in hours
    ]


def _exceptions(exceptions: Any) -> list[dict[str, Any]]:
    return [
        {
            "start_date": e.start_date,
            "end_date": e.end_date,
            "closed": e.closed,
            "opens": f"{e.opens:%H:%M}" if e.opens else None,
            "closes": f"{e.closes:%H:%M}" if e.closes else None,
            "label": e.label,
        }
        for e in exceptions
    ]


def _visible_schemes(qs: Any, pro: bool) -> list[dict[str, str]]:
    return [_scheme_ref(s) for s in qs if pro or s.public]


def _public_url(name: str, key: Any, fallback: str) -> str:
    """The public page of an entry when the site has one, else its API resource."""
    try:
        return reverse(name, args=[key])
    except NoReverseMatch:
        return fallback


def _page(total: int, page: int, page_size: int) -> tuple[int, int]:
    pages = max(1, math.ceil(total / page_size))
    return pages, (page - 1) * page_size


# --- search ---------------------------------------------------------------------------------
@directory.get(
    "/search",
    response={200: SearchOut, 400: Error},
    summary="Search the directory (free text with typos, filters, near a place)",
)
def search(
    request: HttpRequest,
    q: str = "",
    profession: str = "",
    specialty: str = "",
    commune: str = "",
    near: str = "",
    radius_km: float | None = None,
    kind: str = "",
    structure_kind: str = "",
    accepts_new_patients: bool | None = None,
    teleconsultation: bool | None = None,
    language: str = "",
    open_now: bool = False,
    page: int = 1,
    page_size: int = 20,
):
    """Thin on purpose: one call to the search service, one query for commune names, and one
    for the slugs of schemes (their public key) when the page has any.

    ``profession`` is a TRE_G15 code or a group key (``medecin_generaliste``), ``specialty`` a
    TRE_R38 code, ``commune`` an INSEE code, ``near`` a commune or an address (``radius_km``
    needs it). Invalid values give a 400 naming the parameter.
    """
    query = search_service.SearchQuery(
        text=q,
        profession=profession or None,
        specialty=specialty or None,
        commune=commune or None,
        near=near or None,
        radius_km=radius_km,
        kind=kind or None,
        structure_kind=structure_kind or None,
        accepts_new_patients=accepts_new_patients,
        teleconsultation=teleconsultation,
        language=language or None,
        open_now=open_now,
        include_private=_pro(request),
        page=page,
        page_size=page_size,
    )
    try:
        result = search_service.search(query)
    except (ValueError, LookupError) as exc:
        return error(400, str(exc))
    items = result.items
    names = dict(
        Commune.objects.filter(code__in={i.commune_id for i in items if i.commune_id}).values_list(
            "code", "name"
        )
    )
    scheme_ids = [i.object_id for i in items if i.kind == "scheme"]
    slug_of = (
        dict(Scheme.objects.filter(pk__in=scheme_ids).values_list("pk", "slug"))
        if scheme_ids
        else {}
    )
    results = []
    for item in items:
        results.append(
            {
                "kind": item.kind,
                "id": item.object_id,
                "title": item.title,
                "subtitle": item.subtitle,
                "profession": _code(item.profession_code, PROFESSIONS),
                "specialty": _code(item.specialty_code, SPECIALTIES),
                "commune": (
                    {"code": item.commune_id, "name": names.get(item.commune_id, "")}
                    if item.commune_id
                    else None
                ),
                "latitude": item.latitude,
                "longitude": item.longitude,
                "accepts_new_patients": item.accepts_new_patients,
                "teleconsultation": bool(item.teleconsultation),
                "synthetic": bool(item.synthetic),
                "url": _entry_url(item.kind, item.object_id, slug_of),
            }
        )
    center = getattr(result, "center", None)
    near_out = None
    if center is not None or getattr(result, "near_label", None):
        lat, lon = (center[0], center[1]) if center is not None else (None, None)
        near_out = {"label": getattr(result, "near_label", None), "latitude": lat, "longitude": lon}
    return {
        "total": result.total,
        "page": result.page,
        "pages": result.pages,
        "corrected": result.corrected_text or None,
        "near": near_out,
        "results": results,
    }


_API_PREFIX = "/api/directory"
_URLS = {
    "role": ("directory:role", "roles"),
    "organization": ("directory:organization", "organizations"),
    "service": ("directory:service", "services"),
    "scheme": ("directory:scheme", "schemes"),
}


def _entry_url(kind: str, object_id: int, slug_of: dict) -> str:
    name, plural = _URLS.get(kind, ("", kind + "s"))
    key: Any = object_id
    if kind == "scheme":
        key = slug_of.get(object_id, object_id)
    return _public_url(name, key, f"{_API_PREFIX}/{plural}/{key}")


# --- entries --------------------------------------------------------------------------------
def _role(role: PractitionerRole) -> dict[str, Any]:
    return {
        "id": role.pk,
        "practitioner": _ref(role.practitioner),
        "profession": _code(role.profession_code, PROFESSIONS),
        "specialty": _code(role.specialty_code, SPECIALTIES),
        "mode": _code(role.mode_code, MODES),
        "organization": _ref(role.organization),
        "location": _location_ref(role.location),
        "accepts_new_patients": role.accepts_new_patients,
        "teleconsultation": role.teleconsultation,
        "active": role.active,
        "synthetic": role.synthetic,
    }


_ROLE_RELATED = ("practitioner", "organization", "location__commune")


@directory.get(
    "/practitioners/{id}",
    response={200: PractitionerOut, 404: Error},
    summary="A practitioner, their roles and schemes",
)
def practitioner(request: HttpRequest, id: int):
    pro = _pro(request)
    p = get_object_or_404(
        Practitioner.objects.prefetch_related(
            Prefetch("roles", PractitionerRole.objects.select_related(*_ROLE_RELATED)),
            "schemes",
        ),
        pk=id,
    )
    if pro:
        _audit_pro(request, p)
    return {
        "id": p.pk,
        "rpps": p.rpps,
        "family_name": p.family_name,
        "given_name": p.given_name,
        "languages": [c.strip() for c in p.languages.split(",") if c.strip()],
        "roles": [_role(r) for r in p.roles.all()],
        "schemes": _visible_schemes(p.schemes.all(), pro),
        "verified_on": p.verified_on,
        "synthetic": p.synthetic,
        "pro": _pro_fields(p, pro),
    }


@directory.get(
    "/roles/{id}", response={200: RoleOut, 404: Error}, summary="A practitioner's activity"
)
def role(request: HttpRequest, id: int):
    return _role(get_object_or_404(PractitionerRole.objects.select_related(*_ROLE_RELATED), pk=id))


def _services(qs: Any, pro: bool) -> list[dict[str, Any]]:
    return [{"id": s.pk, "name": s.name, "category": s.category} for s in qs if pro or s.public]


@directory.get(
    "/organizations/{id}",
    response={200: OrganizationOut, 404: Error},
    summary="A structure (établissement FINESS, MSP, cabinet…)",
)
def organization(request: HttpRequest, id: int):
    pro = _pro(request)
    org = get_object_or_404(
        Organization.objects.select_related("commune").prefetch_related(
            "locations", "services", "schemes"
        ),
        pk=id,
    )
    if pro:
        _audit_pro(request, org)
    return {
        "id": org.pk,
        "name": org.name,
        "finess_et": org.finess_et,
        "finess_ej": org.finess_ej,
        "siret": org.siret,
        "category": (
            {"code": org.category_code, "label": org.category_label or org.category_code}
            if org.category_code
            else None
        ),
        "kind": _choice(org.kind, StructureKind),
        "address": _address(org),
        "phone": org.phone,
        "email": org.email,
        "website": org.website,
        "latitude": org.latitude,
        "longitude": org.longitude,
        "locations": [_ref(loc) for loc in org.locations.all()],
        "services": _services(org.services.all(), pro),
        "schemes": _visible_schemes(org.schemes.all(), pro),
        "verified_on": org.verified_on,
        "synthetic": org.synthetic,
        "pro": _pro_fields(org, pro),
    }


@directory.get(
    "/locations/{id}",
    response={200: LocationOut, 404: Error},
    summary="A place of care: address, opening hours, who works there",
)
def location(request: HttpRequest, id: int):
    pro = _pro(request)
    loc = get_object_or_404(
        Location.objects.select_related("commune", "organization").prefetch_related(
            "opening_hours",
            "exceptions",
            "services",
            "schemes",
            Prefetch("roles", PractitionerRole.objects.select_related("practitioner")),
        ),
        pk=id,
    )
    if pro:
        _audit_pro(request, loc)
    return {
        "id": loc.pk,
        "name": loc.name,
        "organization": _ref(loc.organization),
        "address": _address(loc),
        "phone": loc.phone,
        "email": loc.email,
        "website": loc.website,
        "teleconsultation": loc.teleconsultation,
        "latitude": loc.latitude,
        "longitude": loc.longitude,
        "opening_hours": _hours(loc.opening_hours.all()),
        "exceptions": _exceptions(loc.exceptions.all()),
        "services": _services(loc.services.all(), pro),
        "roles": [
            {
                "id": r.pk,
                "practitioner": _ref(r.practitioner),
                "profession": _code(r.profession_code, PROFESSIONS),
                "specialty": _code(r.specialty_code, SPECIALTIES),
                "accepts_new_patients": r.accepts_new_patients,
            }
            for r in loc.roles.all()
            if r.active
        ],
        "schemes": _visible_schemes(loc.schemes.all(), pro),
        "verified_on": loc.verified_on,
        "synthetic": loc.synthetic,
        "pro": _pro_fields(loc, pro),
    }


@directory.get(
    "/services/{id}",
    response={200: ServiceOut, 404: Error},
    summary="A service of a structure (404 for anonymous users if reserved to professionals)",
)
def service(request: HttpRequest, id: int):
    pro = _pro(request)
    qs = HealthcareService.objects.select_related(
        "organization", "location__commune"
    ).prefetch_related(
        Prefetch("opening_hours", OpeningHours.objects.all()),
        Prefetch("exceptions", OpeningException.objects.all()),
    )
    s = get_object_or_404(qs if pro else qs.filter(public=True), pk=id)
    if pro:
        _audit_pro(request, s)
    return {
        "id": s.pk,
        "name": s.name,
        "category": s.category,
        "description": s.description,
        "organization": _ref(s.organization),
        "location": _location_ref(s.location),
        "phone": s.phone,
        "email": s.email,
        "teleconsultation": s.teleconsultation,
        "opening_hours": _hours(s.opening_hours.all()),
        "hours_note": s.hours_note,
        "exceptions": _exceptions(s.exceptions.all()),
        "public": s.public,
        "verified_on": s.verified_on,
        "synthetic": s.synthetic,
        "source_note": s.source_note,
        "pro": _pro_fields(s, pro),
    }


def _perimeter(territory: Any) -> dict[str, Any] | None:
    if territory is None:
        return None
    return {"slug": territory.slug, "name": territory.name, "communes": territory.communes.count()}


def _visible_actions(pro: bool) -> Any:
    qs = Action.objects.all()
    return qs if pro else qs.filter(visibility=Action.Visibility.PUBLIC)


@directory.get(
    "/schemes/{slug}",
    response={200: SchemeOut, 404: Error},
    summary="A scheme (dispositif): perimeter, members, contacts, actions",
)
def scheme(request: HttpRequest, slug: str):
    pro = _pro(request)
    qs = Scheme.objects.select_related(
        "perimeter", "organization", "location__commune", "commune"
    ).prefetch_related("member_organizations", "member_practitioners", "contacts")
    s = get_object_or_404(qs if pro else qs.filter(public=True), slug=slug)
    if pro:
        _audit_pro(request, s)
    return {
        "slug": s.slug,
        "name": s.name,
        "kind": _choice(s.kind, SchemeKind),
        "status": _choice(s.status, Scheme.Status),
        "description": s.description,
        "perimeter": _perimeter(s.perimeter),
        "organization": _ref(s.organization),
        "location": _location_ref(s.location),
        "commune": _commune(s.commune),
        "finess": s.finess,
        "phone": s.phone,
        "email": s.email,
        "website": s.website,
        "member_organizations": [_ref(o) for o in s.member_organizations.all()],
        "member_practitioners": [_ref(p) for p in s.member_practitioners.all()],
        "contacts": [
            {"name": c.name, "role": c.role, "phone": c.phone, "email": c.email, "public": c.public}
            for c in s.contacts.all()
            if pro or c.public
        ],
        "actions": [
            {"slug": a.slug, "title": a.title, "kind": a.kind}
            for a in _visible_actions(pro).filter(scheme=s)
        ],
        "source_note": s.source_note,
        "public": s.public,
        "verified_on": s.verified_on,
        "synthetic": s.synthetic,
        "pro": _pro_fields(s, pro),
    }


def _tags(action: Action) -> list[str]:
    return [t.strip() for t in action.tags.split(",") if t.strip()]


@directory.get(
    "/actions",
    response={200: ActionList, 400: Error},
    summary="The actions library: fiches parcours, protocols, resources",
)
def actions(
    request: HttpRequest,
    q: str = Query("", max_length=MAX_TEXT),
    kind: str = Query("", max_length=MAX_TEXT),
    tag: str = Query("", max_length=MAX_TEXT),
    territory: str = Query("", max_length=MAX_TEXT),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    page_size: int = Query(20, ge=1, le=MAX_PAGE_SIZE),
):
    qs = _visible_actions(_pro(request))
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(summary__icontains=q) | Q(tags__icontains=q))
    if kind:
        qs = qs.filter(kind=kind)
    if tag:
        qs = qs.filter(tags__icontains=tag)
    if territory:
        qs = qs.filter(territory__slug=territory)
    total = qs.count()
    pages, offset = _page(total, page, page_size)
    return {
        "total": total,
        "page": page,
        "pages": pages,
        "results": [
            {
                "slug": a.slug,
                "title": a.title,
                "kind": _choice(a.kind, Action.Kind),
                "summary": a.summary,
                "tags": _tags(a),
                "visibility": a.visibility,
                "url": _public_url("directory:action", a.slug, f"{_API_PREFIX}/actions/{a.slug}"),
            }
            for a in qs.order_by("title")[offset : offset + page_size]
        ],
    }


@directory.get(
    "/actions/{slug}",
    response={200: ActionOut, 404: Error},
    summary="One action (404 for anonymous users if reserved to professionals)",
)
def action(request: HttpRequest, slug: str):
    a = get_object_or_404(
        _visible_actions(_pro(request)).select_related("territory", "scheme"), slug=slug
    )
    return {
        "slug": a.slug,
        "title": a.title,
        "kind": _choice(a.kind, Action.Kind),
        "summary": a.summary,
        "body": a.body,
        "territory": _perimeter(a.territory),
        "scheme": _scheme_ref(a.scheme) if a.scheme is not None else None,
        "tags": _tags(a),
        "file": a.file.url if a.file else None,
        "link": a.link,
        "version": a.version,
        "author": a.author,
        "review_on": a.review_on,
        "visibility": a.visibility,
        "source_note": a.source_note,
    }


# --- editing --------------------------------------------------------------------------------
#: URL segment → review target type (keys of ``review.EDITABLE_FIELDS``).
EDIT_TYPES = {
    "practitioners": "practitioner",
    "organizations": "organization",
    "locations": "location",
    "roles": "role",
    "services": "service",
    "schemes": "scheme",
}
COMMENT_KEY = "_comment"


def _proposal(p: ChangeProposal) -> dict[str, Any]:
    return {
        "id": p.pk,
        "target_type": p.target_type,
        "target_id": p.target_id,
        "changes": p.changes,
        "previous": p.previous,
        "comment": p.comment,
        "status": p.status,
        "proposed_by": p.proposed_by.get_username(),
        "proposed_at": p.proposed_at,
        "reviewed_by": p.reviewed_by.get_username() if p.reviewed_by_id else None,
        "reviewed_at": p.reviewed_at,
        "review_comment": p.review_comment,
    }


def _propose(request: HttpRequest, segment: str, target: Any, payload: dict[str, Any]):
    """Validate field names against ``review.EDITABLE_FIELDS``, then hand over to review."""
    target_type = EDIT_TYPES[segment]
    if not isinstance(payload, dict):
        return error(422, "un objet JSON champ → valeur est attendu")
    comment = payload.pop(COMMENT_KEY, "")
    allowed = review.EDITABLE_FIELDS[target_type]
    unknown = sorted(set(payload) - set(allowed))
    if unknown:
        return error(
            422,
            f"champ(s) non modifiable(s) sur un(e) {target_type} : {', '.join(unknown)} "
            f"(modifiables : {', '.join(allowed)})",
            unknown,
        )
    if not isinstance(comment, str):
        return error(422, f"{COMMENT_KEY} doit être un texte", [COMMENT_KEY])
    try:
        proposal = review.propose(request.user, target, payload, comment=comment)
    except PermissionDenied as exc:
        return error(403, str(exc) or "action non autorisée")
    except ValueError as exc:
        fields = [exc.field] if isinstance(exc, review.InvalidField) else None
        return error(422, str(exc), fields)
    return Status(202, _proposal(proposal))


_EDIT_RESPONSES = {202: ProposalOut, 401: Error, 403: Error, 404: Error, 422: Error}
_EDIT_DOC = (
    "Propose a change to an entry (JSON object field → value; the optional key `_comment` "
    "explains it). Professionals may propose on their own entry, coordinators on any. The "
    "proposal waits for a coordinator's review: 202 with the proposal."
)


def _edit_route(segment: str, model: Any, key: str) -> None:
    """Register ``PATCH /directory/<segment>/{id|slug}`` on the same path as the GET, so that
    both methods share one URL pattern (ninja groups operations by path)."""
    target_type = EDIT_TYPES[segment]
    if key == "slug":

        def handler(request: HttpRequest, slug: str, payload: Body[dict[str, Any]]):
            return _propose(request, segment, get_object_or_404(model, slug=slug), payload)

    else:

        def handler(request: HttpRequest, id: int, payload: Body[dict[str, Any]]):  # type: ignore[misc]
            return _propose(request, segment, get_object_or_404(model, pk=id), payload)

    handler.__name__ = f"propose_{target_type}"
    directory.patch(
        f"/{segment}/{{{key if key == 'slug' else 'id'}}}",
        response=_EDIT_RESPONSES,
        auth=django_auth,
        summary=f"Propose a change to a {target_type}",
        description=_EDIT_DOC,
        operation_id=f"propose_{target_type}",
    )(handler)


for _segment, _model, _key in (
    ("practitioners", Practitioner, "pk"),
    ("organizations", Organization, "pk"),
    ("locations", Location, "pk"),
    ("roles", PractitionerRole, "pk"),
    ("services", HealthcareService, "pk"),
    ("schemes", Scheme, "slug"),
):
    _edit_route(_segment, _model, _key)


@directory.get(
    "/proposals",
    response={200: list[ProposalOut], 401: Error},
    auth=django_auth,
    summary="Change proposals: all for coordinators, one's own for professionals",
)
def proposals(request: HttpRequest, status: str = "pending"):
    qs = ChangeProposal.objects.select_related("proposed_by", "reviewed_by").order_by("-pk")
    if status:
        if status not in ChangeProposal.Status.values:
            raise HttpError(
                422, f"status doit valoir l'un de : {', '.join(ChangeProposal.Status.values)}"
            )
        qs = qs.filter(status=status)
    if not can(request.user, "review"):
        qs = qs.filter(proposed_by=request.user)
    return [_proposal(p) for p in qs[:500]]


def _comment(request: HttpRequest) -> str:
    """The optional review comment: JSON ``{"comment": "..."}``, a form field, or nothing."""
    if request.content_type == "application/json" and request.body:
        try:
            data = json.loads(request.body)
        except ValueError:
            raise HttpError(400, "le corps de la requête n'est pas du JSON valide") from None
        comment = data.get("comment", "") if isinstance(data, dict) else None
        if not isinstance(comment, str):
            raise HttpError(422, 'attendu : {"comment": "<texte>"}')
        return comment
    return request.POST.get("comment", "") if request.method == "POST" else ""


def _review(request: HttpRequest, id: int, verb: str):
    proposal = get_object_or_404(ChangeProposal.objects.select_related("proposed_by"), pk=id)
    if not can(request.user, "review"):
        return error(403, "la revue des propositions est réservée aux coordinateurs")
    try:
        getattr(review, verb)(request.user, proposal, comment=_comment(request))
    except PermissionDenied as exc:
        return error(403, str(exc) or "action non autorisée")
    except ValueError as exc:
        return error(409, str(exc))
    proposal.refresh_from_db()
    return Status(200, _proposal(proposal))


_REVIEW_RESPONSES = {
    200: ProposalOut,
    400: Error,
    401: Error,
    403: Error,
    404: Error,
    409: Error,
    422: Error,
}
#: The body is optional (a bare POST reviews without comment), so it is documented by hand.
_REVIEW_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": {"comment": {"type": "string"}}}
            }
        },
    }
}


@directory.post(
    "/proposals/{id}/publish",
    response=_REVIEW_RESPONSES,
    auth=django_auth,
    openapi_extra=_REVIEW_BODY,
    summary="Publish a pending proposal (coordinators): the entry changes",
)
def publish(request: HttpRequest, id: int):
    return _review(request, id, "publish")


@directory.post(
    "/proposals/{id}/reject",
    response=_REVIEW_RESPONSES,
    auth=django_auth,
    openapi_extra=_REVIEW_BODY,
    summary="Reject a pending proposal (coordinators): the entry is left as it is",
)
def reject(request: HttpRequest, id: int):
    return _review(request, id, "reject")


# --- territories ----------------------------------------------------------------------------
@territories.get(
    "/{spec}/fhir-bundle",
    response={200: dict[str, Any], 202: ExportPending, 404: Error, 503: ExportPending},
    summary="The directory of a territory as one FHIR R4 collection Bundle",
    description=(
        "`spec` is `kind:code` (epci:200068666, departement:52) or the slug of a saved "
        "territory (cpts-saint-dizier-der-blaise). Served as application/fhir+json, with "
        "`ETag` and `Last-Modified` (conditional requests get 304). The Bundle is built once "
        "per territory and data version: while it is being built the answer is 202 with the "
        "progress and a `status_url` to poll (`Retry-After` says when); 503 if the build failed."
    ),
)
def territory_fhir_bundle(request: HttpRequest, spec: str):
    try:
        territory = resolve(spec)
    except UnknownTerritory as exc:
        return error(404, str(exc))
    base = request.build_absolute_uri("/fhir/").rstrip("/")
    pro = _pro(request)
    if pro:
        _audit_pro(request, territory)
    from maillage.directory.fhir.export import SYNC_MAX_COMMUNES, territory_bundle_export
    from maillage.exports.cache import respond

    export = territory_bundle_export(territory, pro=pro, base_url=base)
    return respond(request, export, sync=territory.communes.count() <= SYNC_MAX_COMMUNES)


api.add_router("/directory", directory)
api.add_router("/territories", territories)
