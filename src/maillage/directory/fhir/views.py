"""The FHIR R4 server of the directory: read, search-type and the CapabilityStatement.

Views stay thin: each search parameter is one entry of :data:`SEARCH_PARAMS` (a FHIR name, its
type, the documentation the CapabilityStatement shows, and a function turning one value into a
``Q``), so the parser, the CapabilityStatement and the docs can never disagree. Resources come
from :mod:`.resources`. Pro-only fields are emitted only when the session user
passes ``can(user, "view_pro")``.

Search follows the FHIR rules maillage needs: repeated parameters are ANDed, comma-separated
values ORed, string parameters match case-insensitively at the start (``:exact`` and
``:contains`` modifiers supported), token parameters accept ``system|code`` or ``code``, references
``Type/id`` or ``id``. Unknown parameters and modifiers are refused with a 400 OperationOutcome
(``Prefer: handling=strict`` behaviour): a silently ignored filter would return the whole
directory to a client that believes it filtered it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse

from maillage import __version__ as maillage_version
from maillage.accounts.permissions import audit, can
from maillage.directory.fhir import resources as fhir
from maillage.opendata.nomenclatures import (
    FINESS_SYSTEMS,
    IDNPS_SYSTEM,
    IDNST_SYSTEM,
    PROFESSION_SYSTEM,
    RPPS_SYSTEMS,
    SIRENE_SYSTEMS,
    SPECIALTY_SYSTEM,
)
from maillage.territory.services import UnknownTerritory, resolve

DEFAULT_COUNT = 20
MAX_COUNT = 200
#: Bounds of what a search may ask, refused with a 400 OperationOutcome before any query runs:
#: the deepest offset (a national directory has ~1.3 M roles), values in one request (each is an
#: OR or an AND of the SQL query; 3,000 ids overflowed SQLite's expression depth), characters in
#: one value (a 100k-character name) and the largest id (beyond, the database overflows).
MAX_OFFSET = 2_000_000
MAX_VALUES = 100
MAX_VALUE_CHARS = 200
MAX_ID = 2**63 - 1
PAGING_PARAMS = frozenset({"_count", "_offset", "page", "_format"})
logger = logging.getLogger(__name__)
_ASCII_ID = re.compile(r"[0-9]{1,19}")


#: Functions returning more CapabilityStatement ``rest.resource`` entries: the care apps serve
#: their resources (Schedule, Slot, Appointment) on the same ``/fhir/`` base and register here
#: from their AppConfig.ready (the directory imports no care app).
_CAPABILITY_PROVIDERS: list[Callable[[], list[dict[str, Any]]]] = []


def register_capability(provider: Callable[[], list[dict[str, Any]]]) -> None:
    if provider not in _CAPABILITY_PROVIDERS:
        _CAPABILITY_PROVIDERS.append(provider)


class BadRequest(ValueError):
    """A search the server cannot run; the message goes to the OperationOutcome."""


def fhir_response(data: dict[str, Any], status: int = 200) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False),
        status=status,
        content_type=f"{fhir.FHIR_CONTENT_TYPE}; charset=utf-8",
    )
    return response


def outcome(status: int, code: str, diagnostics: str) -> HttpResponse:
    return fhir_response(fhir.operation_outcome(code, diagnostics), status=status)


# --- value parsing --------------------------------------------------------------------------
def _token(value: str) -> tuple[str | None, str]:
    """``system|code`` → (system, code); ``code`` → (None, code); ``|code`` → ("", code)."""
    if "|" in value:
        system, code = value.split("|", 1)
        return system, code
    return None, value


def as_id(value: str) -> int | None:
    """``value`` as a database id: ASCII digits only (``int("٣")`` would accept Arabic ones,
    ``"²".isdigit()`` is true but ``int`` refuses it), within the database's integer range."""
    if not _ASCII_ID.fullmatch(value):
        return None
    number = int(value)
    return number if number <= MAX_ID else None


def _reference(value: str, kind: str) -> int:
    """``Type/id``, an absolute URL ending in ``Type/id``, or a bare ``id``."""
    match = re.fullmatch(rf"(?:(?:.*/)?{kind}/)?([0-9]+)", value)
    number = as_id(match.group(1)) if match is not None else None
    if number is None:
        raise BadRequest(
            f'une référence à un {kind} ("{kind}/<id>" ou "<id>") est attendue, pas {value!r}'
        )
    return number


def _ids(value: str) -> int:
    number = as_id(value)
    if number is None:
        raise BadRequest(f"_id doit être un identifiant numérique de ressource, pas {value!r}")
    return number


def _pk_or_nothing(code: str) -> Q:
    number = as_id(code)
    return Q(pk=number) if number is not None else Q(pk__in=[])


def _string(fields: tuple[str, ...]) -> Callable[[str, str | None], Q]:
    """A FHIR string search over ``fields`` (any of them matching)."""

    def make(value: str, modifier: str | None) -> Q:
        lookup = {None: "istartswith", "exact": "exact", "contains": "icontains"}.get(modifier)
        if lookup is None:
            raise BadRequest(
                f"le modificateur :{modifier} n'est pas pris en charge ici (:exact, :contains)"
            )
        q = Q()
        for field in fields:
            q |= Q(**{f"{field}__{lookup}": value})
        return q

    return make


def _no_modifier(make: Callable[[str], Q]) -> Callable[[str, str | None], Q]:
    def wrapped(value: str, modifier: str | None) -> Q:
        if modifier is not None:
            raise BadRequest(
                f"le modificateur :{modifier} n'est pas pris en charge pour ce paramètre"
            )
        return make(value)

    return wrapped


def _practitioner_identifier(value: str) -> Q:
    system, code = _token(value)
    if system in RPPS_SYSTEMS:
        if code.startswith(fhir.PSEUDO_RPPS_PREFIX) and as_id(code[2:]) is not None:
            return Q(rpps=code) | Q(rpps__isnull=True, pk=as_id(code[2:]))
        return Q(rpps=code)
    if system == IDNPS_SYSTEM:
        return Q(rpps=code[1:]) if code.startswith("8") else Q(pk__in=[])
    if system == fhir.LOCAL_ID_SYSTEMS["Practitioner"]:
        return _pk_or_nothing(code)
    if system:
        return Q(pk__in=[])
    q = Q(rpps=code)
    if code.startswith("8"):
        q |= Q(rpps=code[1:])
    return q


def _organization_identifier(value: str) -> Q:
    system, code = _token(value)
    if system in FINESS_SYSTEMS:
        return Q(finess_et=code)
    if system in SIRENE_SYSTEMS:
        return Q(siret=code)
    if system == IDNST_SYSTEM:
        return Q(finess_et=code[1:]) if code.startswith("1") else Q(pk__in=[])
    if system == fhir.LOCAL_ID_SYSTEMS["Organization"]:
        return _pk_or_nothing(code)
    if system:
        return Q(pk__in=[])
    return Q(finess_et=code) | Q(siret=code)


def _coded(field: str, system_uri: str) -> Callable[[str], Q]:
    def make(value: str) -> Q:
        system, code = _token(value)
        if system and system != system_uri:
            return Q(pk__in=[])
        return Q(**{field: code})

    return make


def _organization_type(value: str) -> Q:
    system, code = _token(value)
    if system == fhir.STRUCTURE_KIND_SYSTEM:
        return Q(kind=code)
    if system and system != fhir.FINESS_CATEGORY_SYSTEM:
        return Q(pk__in=[])
    if system:
        return Q(category_code=code)
    return Q(category_code=code) | Q(kind=code)


def _ref_filter(field: str, kind: str) -> Callable[[str], Q]:
    return lambda value: Q(**{field: _reference(value, kind)})


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # FHIR search parameter type: string, token, reference
    documentation: str
    make: Callable[[str, str | None], Q]


_ID = Param("_id", "token", "Logical id of the resource.", _no_modifier(lambda v: Q(pk=_ids(v))))
_CITY = ("commune__name", "city")

SEARCH_PARAMS: dict[str, dict[str, Param]] = {
    "Practitioner": {
        "_id": _ID,
        "identifier": Param(
            "identifier",
            "token",
            "RPPS (https://rpps.esante.gouv.fr|<11 digits>), IDNPS or maillage id.",
            _no_modifier(_practitioner_identifier),
        ),
        "name": Param(
            "name", "string", "Family or given name.", _string(("family_name", "given_name"))
        ),
        "family": Param("family", "string", "Family name.", _string(("family_name",))),
        "given": Param("given", "string", "Given name.", _string(("given_name",))),
        "qualification-code": Param(
            "qualification-code",
            "token",
            "Profession (TRE_G15) or specialty (TRE_R38) of one of the practitioner's roles.",
            _no_modifier(
                lambda v: (
                    Q(roles__profession_code=_token(v)[1]) | Q(roles__specialty_code=_token(v)[1])
                )
            ),
        ),
    },
    "PractitionerRole": {
        "_id": _ID,
        "practitioner": Param(
            "practitioner",
            "reference",
            "The practitioner (Practitioner/<id>).",
            _no_modifier(_ref_filter("practitioner_id", "Practitioner")),
        ),
        "organization": Param(
            "organization",
            "reference",
            "The organisation (Organization/<id>).",
            _no_modifier(_ref_filter("organization_id", "Organization")),
        ),
        "location": Param(
            "location",
            "reference",
            "The place of practice (Location/<id>).",
            _no_modifier(_ref_filter("location_id", "Location")),
        ),
        "role": Param(
            "role",
            "token",
            f"Profession code, TRE_G15 ({PROFESSION_SYSTEM}).",
            _no_modifier(_coded("profession_code", PROFESSION_SYSTEM)),
        ),
        "specialty": Param(
            "specialty",
            "token",
            f"Ordinal specialty code, TRE_R38 ({SPECIALTY_SYSTEM}).",
            _no_modifier(_coded("specialty_code", SPECIALTY_SYSTEM)),
        ),
        "active": Param(
            "active",
            "token",
            "true or false.",
            _no_modifier(lambda v: Q(active=_boolean(v))),
        ),
    },
    "Organization": {
        "_id": _ID,
        "identifier": Param(
            "identifier",
            "token",
            "FINESS (https://finess.esante.gouv.fr|<9 characters>), IDNST, SIRET or maillage id.",
            _no_modifier(_organization_identifier),
        ),
        "name": Param("name", "string", "Name of the organisation.", _string(("name",))),
        "address-city": Param("address-city", "string", "Commune.", _string(_CITY)),
        "address-postalcode": Param(
            "address-postalcode", "string", "Postal code.", _string(("postal_code",))
        ),
        "type": Param(
            "type",
            "token",
            "FINESS category (TRE_R66) or maillage structure kind.",
            _no_modifier(_organization_type),
        ),
    },
    "Location": {
        "_id": _ID,
        "name": Param("name", "string", "Name of the place.", _string(("name",))),
        "address-city": Param("address-city", "string", "Commune.", _string(("commune__name",))),
        "address-postalcode": Param(
            "address-postalcode", "string", "Postal code.", _string(("postal_code",))
        ),
        "organization": Param(
            "organization",
            "reference",
            "The managing organisation (Organization/<id>).",
            _no_modifier(_ref_filter("organization_id", "Organization")),
        ),
    },
    "HealthcareService": {
        "_id": _ID,
        "name": Param("name", "string", "Name of the service.", _string(("name",))),
        "organization": Param(
            "organization",
            "reference",
            "The organisation providing the service (Organization/<id>).",
            _no_modifier(_ref_filter("organization_id", "Organization")),
        ),
        "location": Param(
            "location",
            "reference",
            "Where the service is given (Location/<id>).",
            _no_modifier(_ref_filter("location_id", "Location")),
        ),
    },
}


def _boolean(value: str) -> bool:
    if value not in ("true", "false"):
        raise BadRequest(f"true ou false attendu, pas {value!r}")
    return value == "true"


def _queryset(kind: str, pro: bool) -> QuerySet:
    return {
        "Practitioner": fhir.practitioners_qs,
        "PractitionerRole": fhir.roles_qs,
        "Organization": fhir.organizations_qs,
        "Location": fhir.locations_qs,
        "HealthcareService": lambda: fhir.services_qs(pro=pro),
    }[kind]()


def _int_param(request: HttpRequest, name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"-?[0-9]{1,12}", raw):
        raise BadRequest(f"{name} doit être un entier, pas {raw[:40]!r}")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise BadRequest(f"{name} doit être entre {minimum} et {maximum}, pas {value}")
    return value


def _check_sizes(request: HttpRequest) -> None:
    """Refuse, before any work, a request whose values are too many or too long."""
    n_values = 0
    for key in request.GET:
        if len(key) > 64:
            raise BadRequest(f"nom de paramètre de recherche trop long ({len(key)} caractères)")
        for raw in request.GET.getlist(key):
            if len(raw) > MAX_VALUE_CHARS * MAX_VALUES:
                raise BadRequest(f"la valeur de {key!r} est trop longue ({len(raw)} caractères)")
            for value in raw.split(","):
                if len(value) > MAX_VALUE_CHARS:
                    raise BadRequest(
                        f"une valeur de {key!r} a {len(value)} caractères "
                        f"(au plus {MAX_VALUE_CHARS})"
                    )
                n_values += 1
    if n_values > MAX_VALUES:
        raise BadRequest(f"trop de valeurs de recherche : {n_values} (au plus {MAX_VALUES})")


def _filter(kind: str, qs: QuerySet, request: HttpRequest) -> QuerySet:
    params = SEARCH_PARAMS[kind]
    needs_distinct = False
    for key in request.GET:
        name, _, modifier = key.partition(":")
        if name in PAGING_PARAMS and not modifier:
            continue
        param = params.get(name)
        if param is None:
            known = ", ".join(sorted(params) + sorted(PAGING_PARAMS))
            raise BadRequest(
                f"paramètre de recherche inconnu {key!r} pour {kind} (pris en charge : {known})"
            )
        for raw in request.GET.getlist(key):
            values = [v for v in raw.split(",") if v != ""]
            if not values:
                raise BadRequest(f"le paramètre de recherche {key!r} n'a pas de valeur")
            q = Q()
            for value in values:
                q |= param.make(value, modifier or None)
            qs = qs.filter(q)
        needs_distinct |= name == "qualification-code"
    return qs.distinct() if needs_distinct else qs


def _page_url(request: HttpRequest, offset: int, count: int) -> str:
    query = [(k, v) for k in request.GET for v in request.GET.getlist(k) if k not in PAGING_PARAMS]
    query += [("_count", str(count)), ("_offset", str(offset))]
    return request.build_absolute_uri(f"{request.path}?{urlencode(query)}")


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/fhir/").rstrip("/")


# --- views ----------------------------------------------------------------------------------
def require_GET(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:  # noqa: N802
    """Read-only server: other methods get a 405 OperationOutcome (not Django's HTML page)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            response = outcome(
                405, "not-supported", f"{request.method} is not supported: this server is read-only"
            )
            response["Allow"] = "GET, HEAD"
            return response
        try:
            return view(request, *args, **kwargs)
        except Exception:
            # A bug, never an input: the client still gets FHIR, not Django's HTML page.
            logger.exception("FHIR error on %s", request.get_full_path()[:300])
            return outcome(500, "exception", "internal server error; it has been logged")

    return wrapped


@require_GET
def metadata(request: HttpRequest) -> HttpResponse:
    return fhir_response(capability_statement(_base_url(request)))


def capability_statement(base_url: str) -> dict[str, Any]:
    """What this server does: read and search-type on the five directory resources."""
    resources = []
    for kind, params in SEARCH_PARAMS.items():
        resource: dict[str, Any] = {"type": kind}
        if kind in fhir.PROFILES:
            resource["profile"] = fhir.PROFILES[kind]
        resource["interaction"] = [{"code": "read"}, {"code": "search-type"}]
        resource["searchParam"] = [
            {"name": p.name, "type": p.type, "documentation": p.documentation}
            for p in params.values()
        ]
        resources.append(resource)
    resources.append(
        {
            "type": "Bundle",
            "interaction": [{"code": "search-type"}],
            "searchParam": [
                {
                    "name": "territory",
                    "type": "string",
                    "documentation": (
                        "A territory (epci:200068666, departement:52, or a saved slug): every "
                        "directory resource located in it, as one collection Bundle."
                    ),
                }
            ],
        }
    )
    for provider in _CAPABILITY_PROVIDERS:
        resources.extend(provider())
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": fhir._now(),
        "publisher": "maillage",
        "kind": "instance",
        "software": {"name": "maillage", "version": maillage_version},
        "implementation": {
            "description": "maillage directory (annuaire croisé), FHIR R4",
            "url": base_url,
        },
        "fhirVersion": fhir.FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Shaped like the Annuaire Santé (ANS) public profiles. Searches: repeated "
                    "parameters are ANDed, comma-separated values ORed; paging with _count "
                    f"(≤ {MAX_COUNT}) and _offset (≤ {MAX_OFFSET}). At most {MAX_VALUES} "
                    f"values of at most {MAX_VALUE_CHARS} characters per search. Unknown "
                    "parameters and values beyond these bounds give a 400."
                ),
                "resource": resources,
            }
        ],
    }


@require_GET
def search(request: HttpRequest, resource_type: str) -> HttpResponse:
    try:
        _check_sizes(request)
    except BadRequest as exc:
        return outcome(400, "too-costly", str(exc))
    if resource_type == "Bundle":
        return territory_bundle(request)
    if resource_type not in SEARCH_PARAMS:
        return outcome(404, "not-supported", f"type de ressource {resource_type!r} non servi")
    pro = can(request.user, "view_pro")
    try:
        count = _int_param(request, "_count", DEFAULT_COUNT, 0, MAX_COUNT)
        offset = _int_param(request, "_offset", 0, 0, MAX_OFFSET)
        if "page" in request.GET and "_offset" not in request.GET:
            page = _int_param(request, "page", 1, 1, MAX_OFFSET // max(count, 1) + 1)
            offset = (page - 1) * count
        qs = _filter(resource_type, _queryset(resource_type, pro), request)
    except BadRequest as exc:
        return outcome(400, "invalid", str(exc))
    qs = qs.order_by("pk")
    total = qs.count()
    items = list(qs[offset : offset + count]) if count else []
    links = [{"relation": "self", "url": _page_url(request, offset, count)}]
    if count and offset + count < total:
        links.append({"relation": "next", "url": _page_url(request, offset + count, count)})
    if count and offset > 0:
        links.append(
            {"relation": "previous", "url": _page_url(request, max(offset - count, 0), count)}
        )
    if pro and items:
        audit(request.user, "view_pro", None, channel="fhir", resource=resource_type, n=len(items))
    base = _base_url(request)
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/{resource_type}/{obj.pk}",
                "resource": fhir.build(resource_type, obj, pro=pro),
                "search": {"mode": "match"},
            }
            for obj in items
        ],
    }
    if not bundle["entry"]:
        del bundle["entry"]
    return fhir_response(bundle)


@require_GET
def read(request: HttpRequest, resource_type: str, resource_id: str) -> HttpResponse:
    if resource_type not in SEARCH_PARAMS:
        return outcome(404, "not-supported", f"type de ressource {resource_type!r} non servi")
    pro = can(request.user, "view_pro")
    obj = None
    if as_id(resource_id) is not None:
        obj = _queryset(resource_type, pro).filter(pk=as_id(resource_id)).first()
    if obj is None:
        return outcome(404, "not-found", f"{resource_type}/{resource_id} est inconnu")
    if pro:
        audit(request.user, "view_pro", obj, channel="fhir")
    return fhir_response(fhir.build(resource_type, obj, pro=pro))


def territory_bundle(request: HttpRequest) -> HttpResponse:
    """``GET /fhir/Bundle?territory=epci:200068666``: the territory export."""
    unknown = set(request.GET) - {"territory", "_format"}
    if unknown:
        return outcome(400, "invalid", f"paramètre(s) inconnu(s) : {', '.join(sorted(unknown))}")
    spec = request.GET.get("territory", "").strip()
    if not spec:
        return outcome(
            400, "required", "territory est obligatoire (par exemple territory=epci:200068666)"
        )
    try:
        territory = resolve(spec)
    except UnknownTerritory as exc:
        return outcome(404, "not-found", str(exc))
    pro = can(request.user, "view_pro")
    if pro:
        audit(request.user, "view_pro", territory, channel="fhir", export="territory_bundle")
    bundle = fhir.territory_bundle(territory, pro=pro, base_url=_base_url(request))
    return fhir_response(bundle)


def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    return outcome(404, "not-found", f"rien à l'adresse /fhir/{path}")
