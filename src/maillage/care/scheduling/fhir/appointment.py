"""``/fhir/Appointment``: booking through FHIR, as the ANS GAP guide's flow 6 does.

- ``POST /fhir/Appointment`` with a ``slot`` reference and a contained Patient (name, birthDate,
  gender, telecom): 201 with a ``Location`` header and the Appointment; 409 with an
  OperationOutcome when the slot is full; 4xx with an OperationOutcome on bad input. An
  ``Idempotency-Key`` header makes a retry return the first answer (same key, other body: 422).
- ``GET /fhir/Appointment/<id>``, and ``PUT``/``PATCH`` with status ``cancelled``: only on the
  appointments the caller may open (those its token booked; site staff for theirs; a GP reads
  those addressed to them, never cancels them).
- ``GET /fhir/Appointment`` (search: ``date``, ``status``, ``_count``, ``_offset``): a Bundle
  of the appointments the caller may open, nothing else; the list returned is audited.

Writing and reading need an API token (``Authorization: Bearer …``, :func:`api_user`); the
session cookie is not accepted (the endpoints are CSRF-exempt). Every booking goes through
:func:`maillage.care.scheduling.services.booking.book`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import OperationalError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse

from maillage.accounts.permissions import role_of
from maillage.accounts.tokens import user_from_request
from maillage.care.people import audit
from maillage.care.people.permissions import can_access
from maillage.care.scheduling.fhir.resources import LOCAL_IDS, PROFILES, instant
from maillage.care.scheduling.models import Booking, BookingStatus, Channel
from maillage.care.scheduling.personal_data import bookings_open_to
from maillage.care.scheduling.services import booking as booking_service
from maillage.care.scheduling.services import idempotency
from maillage.directory.fhir.resources import MAILLAGE_FHIR, SYNTHETIC_TAG, _clean
from maillage.directory.fhir.views import (
    DEFAULT_COUNT,
    MAX_COUNT,
    MAX_OFFSET,
    PAGING_PARAMS,
    BadRequest,
    _base_url,
    _check_sizes,
    _int_param,
    _page_url,
    as_id,
    fhir_response,
    outcome,
)

log = logging.getLogger(__name__)
REFERENCE_SYSTEM = f"{MAILLAGE_FHIR}/sid/appointment-reference"
GENDERS = {"female": "F", "male": "M", "other": "I", "unknown": "I"}
GENDERS_BACK = {"F": "female", "M": "male", "I": "other"}
MAX_BODY = 64 * 1024
STATUS = {
    BookingStatus.BOOKED: "booked",
    BookingStatus.CANCELLED: "cancelled",
    BookingStatus.HONOURED: "fulfilled",
    BookingStatus.NO_SHOW: "noshow",
}
PURPOSE = "booking"


class Invalid(ValueError):
    def __init__(self, message: str, status: int = 400, code: str = "invalid") -> None:
        super().__init__(message)
        self.status, self.code = status, code


def api_user(request: HttpRequest) -> Any | None:
    """The user an ``Authorization: Bearer`` token stands for (None without a valid one)."""
    return user_from_request(request)


def _unauthorized() -> HttpResponse:
    response = outcome(
        401,
        "login",
        "jeton d'API manquant, invalide ou révoqué (en-tête Authorization: Bearer <jeton>, "
        "créé par « maillage token create UTILISATEUR »)",
    )
    response["WWW-Authenticate"] = 'Bearer realm="maillage"'
    return response


def _guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Bearer token required; errors as OperationOutcome, never an HTML page or a 500."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = api_user(request)
        if user is None:
            return _unauthorized()
        try:
            return view(request, user, *args, **kwargs)
        except Invalid as exc:
            return outcome(exc.status, exc.code, str(exc))
        except OperationalError:  # SQLite's write lock not obtained in time
            response = outcome(503, "transient", "serveur occupé : réessayez dans un instant")
            response["Retry-After"] = "2"
            return response
        except Exception:
            log.exception("FHIR Appointment error on %s", request.path[:200])
            return outcome(500, "exception", "erreur interne ; elle a été journalisée")

    return wrapped


# --- reading a request -------------------------------------------------------------------------
def _json_body(request: HttpRequest) -> dict[str, Any]:
    from django.core.exceptions import RequestDataTooBig

    too_big = Invalid(f"corps de requête trop grand (au plus {MAX_BODY} octets)", 413, "too-long")
    try:
        body = request.body  # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE here
    except RequestDataTooBig:
        raise too_big from None
    if len(body) > MAX_BODY:
        raise too_big
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise Invalid("le corps de la requête n'est pas du JSON valide", 400, "structure") from None
    except RecursionError:
        raise Invalid("JSON trop profondément imbriqué", 400, "structure") from None
    return data


def _validated_appointment(data: Any) -> dict[str, Any]:
    from fhir.resources import R4B

    if not isinstance(data, dict) or data.get("resourceType") != "Appointment":
        raise Invalid('une ressource FHIR Appointment est attendue ("resourceType": "Appointment")')
    try:
        R4B.get_fhir_model_class("Appointment").model_validate(data)
    except ValueError as exc:  # pydantic's ValidationError
        errors = exc.errors() if hasattr(exc, "errors") else [{"msg": str(exc)}]
        first = errors[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"Appointment invalide ({where}) : {first.get('msg', '')}"
        raise Invalid(message, 400, "structure") from None
    return data


def _slot_id(data: dict[str, Any]) -> int:
    slots = data.get("slot") or []
    if len(slots) != 1:
        raise Invalid("un et un seul créneau est attendu (slot: [{reference: Slot/<id>}])", 400)
    ref = str(slots[0].get("reference", ""))
    number = as_id(ref.rsplit("/", 1)[-1]) if ref.rpartition("/")[0].endswith("Slot") else None
    if number is None:
        raise Invalid(f"slot.reference doit être « Slot/<id> », pas {ref[:60]!r}")
    return number


def _patient(data: dict[str, Any]) -> dict[str, Any]:
    """The contained Patient as Person fields."""
    patients = [r for r in data.get("contained") or [] if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        raise Invalid("un Patient contenu (contained) est attendu, avec nom, naissance et sexe")
    patient = patients[0]
    actors = [str((p.get("actor") or {}).get("reference", "")) for p in data["participant"]]
    if f"#{patient.get('id', '')}" not in actors:
        raise Invalid("le Patient contenu doit être participant (actor: {reference: #<id>})")
    names = patient.get("name") or []
    official = next((n for n in names if n.get("use") in ("official", None)), None)
    if official is None or not official.get("family") or not official.get("given"):
        raise Invalid("le nom de naissance (name.family) et les prénoms (name.given) manquent")
    usual = next((n for n in names if n.get("use") == "usual"), {})
    phones = [t for t in patient.get("telecom") or [] if t.get("system") in ("phone", "sms")]
    emails = [t for t in patient.get("telecom") or [] if t.get("system") == "email"]
    if not phones:
        raise Invalid("un numéro de téléphone (telecom, system phone) est attendu")
    if patient.get("gender") not in GENDERS:
        raise Invalid("gender est obligatoire (female, male, other, unknown)")
    if not patient.get("birthDate") or len(str(patient["birthDate"])) != 10:
        raise Invalid("birthDate est obligatoire, en date complète (AAAA-MM-JJ)")
    return {
        "birth_name": official["family"],
        "first_names": " ".join(official["given"]),
        "used_name": usual.get("family", ""),
        "used_first_name": (usual.get("given") or [""])[0],
        "birth_date": str(patient["birthDate"]),
        "sex": GENDERS[patient["gender"]],
        "phone": phones[0].get("value", ""),
        "email": emails[0].get("value", "") if emails else "",
    }


def _reason(data: dict[str, Any]) -> str:
    texts = [c.get("text", "") for c in data.get("reasonCode") or [] if c.get("text")]
    return texts[0] if texts else str(data.get("comment") or "")


# --- writing an answer -------------------------------------------------------------------------
def appointment_resource(booking: Booking, base_url: str) -> dict[str, Any]:
    slot = booking.slot
    site = slot.schedule.site
    person = booking.person
    patient = _clean(
        {
            "resourceType": "Patient",
            "id": "patient",
            "name": [
                _clean(
                    {
                        "use": "official",
                        "family": person.birth_name,
                        "given": person.first_names.split(),
                    }
                )
            ]
            if person.birth_name
            else [],
            "gender": GENDERS_BACK.get(person.sex),
            "birthDate": person.birth_date.isoformat() if person.birth_date else None,
            "telecom": [{"system": "phone", "value": person.phone}] if person.phone else [],
        }
    )
    participants = [{"actor": {"reference": "#patient"}, "status": "accepted"}]
    if site.location_id:
        participants.append(
            {"actor": {"reference": f"Location/{site.location_id}", "display": site.name},
             "status": "accepted"}
        )  # fmt: skip
    meta: dict[str, Any] = {"profile": PROFILES["Appointment"]}
    if booking.synthetic:
        meta["tag"] = [dict(SYNTHETIC_TAG)]
    return _clean(
        {
            "resourceType": "Appointment",
            "id": str(booking.pk),
            "meta": meta,
            "contained": [patient],
            "identifier": [
                {"use": "official", "system": REFERENCE_SYSTEM, "value": booking.reference},
                {"use": "secondary", "system": LOCAL_IDS["Appointment"], "value": str(booking.pk)},
            ],
            "status": STATUS[BookingStatus(booking.status)],
            "start": instant(slot.start),
            "end": instant(slot.end),
            "created": booking.created_at.isoformat(timespec="seconds"),
            "slot": [{"reference": f"Slot/{slot.pk}"}],
            "participant": participants,
            "comment": f"{site.name} — référence {booking.reference}",
        }
    )


def _answer(status: int, body: dict[str, Any], headers: dict[str, str]) -> HttpResponse:
    response = fhir_response(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _outcome_body(code: str, diagnostics: str) -> dict[str, Any]:
    from maillage.directory.fhir.resources import operation_outcome

    return operation_outcome(code, diagnostics)


# --- views -------------------------------------------------------------------------------------
@_guarded
def create(request: HttpRequest, user: Any) -> HttpResponse:
    data = _validated_appointment(_json_body(request))
    made: list[Booking] = []

    def run() -> idempotency.Answer:
        slot_id = _slot_id(data)
        person = _patient(data)
        try:
            result = booking_service.book(
                slot_id, person, channel=Channel.API, user=user, reason=_reason(data)
            )
        except booking_service.BookingError as exc:
            return exc.status, _outcome_body(exc.code, str(exc)), {}
        made.append(result.booking)
        base = _base_url(request)
        # the stored answer names the booking; its resource (personal data) is built for each
        # reply, never kept in the idempotency table
        return (
            201,
            {"booking": result.booking.pk},
            {"Location": f"{base}/Appointment/{result.booking.pk}"},
        )

    key = request.headers.get("Idempotency-Key")
    if key is None:
        status, body, headers = run()
    else:
        fingerprint = idempotency.request_hash("POST", request.path, request.body)
        try:
            status, body, headers = idempotency.once(f"user:{user.pk}", key, fingerprint, run)
        except idempotency.KeyReused as exc:
            raise Invalid(str(exc), 422, "business-rule") from None
    if status == 201:
        if made and made[0].pk == body["booking"]:
            booking = made[0]  # made by this request: its slot, site and person are at hand
        else:  # a replayed answer
            booking = Booking.objects.select_related("slot__schedule__site", "person").get(
                pk=body["booking"]
            )
        body = appointment_resource(booking, _base_url(request))
    return _answer(status, body, headers)


def _own(user: Any, resource_id: str, action: str) -> Booking:
    number = as_id(resource_id)
    booking = (
        Booking.objects.select_related("slot__schedule__site", "person").filter(pk=number).first()
        if number is not None
        else None
    )
    if booking is None or not can_access(user, booking, action):
        # the same answer for "unknown" and "not yours": ids reveal nothing
        raise Invalid(f"Appointment/{resource_id} est inconnu", 404, "not-found")
    return booking


def _cancel_requested(request: HttpRequest) -> bool:
    """Whether a PUT (a whole Appointment) or a PATCH (JSON Patch, or a merge patch) asks for
    status cancelled; anything else is refused."""
    data = _json_body(request)
    if request.method == "PUT":
        _validated_appointment(data)
        return data.get("status") == "cancelled"
    if isinstance(data, list):  # JSON Patch
        return data == [{"op": "replace", "path": "/status", "value": "cancelled"}]
    return isinstance(data, dict) and data == {"status": "cancelled"}


@_guarded
def instance(request: HttpRequest, user: Any, resource_id: str) -> HttpResponse:
    if request.method in ("GET", "HEAD"):
        booking = _own(user, resource_id, "view")
        audit.record(user, "view", booking, PURPOSE, channel="fhir")
        return fhir_response(appointment_resource(booking, _base_url(request)))
    if request.method in ("PUT", "PATCH"):
        booking = _own(user, resource_id, "update")
        if not _cancel_requested(request):
            raise Invalid(
                "seule l'annulation est prise en charge : status « cancelled » (PUT de la "
                'ressource, ou PATCH [{"op": "replace", "path": "/status", "value": '
                '"cancelled"}])',
                422,
                "not-supported",
            )
        try:
            booking_service.cancel(booking, user)
        except booking_service.BookingError as exc:
            raise Invalid(str(exc), 409, "business-rule") from None
        booking.refresh_from_db()
        return fhir_response(appointment_resource(booking, _base_url(request)))
    response = outcome(405, "not-supported", f"{request.method} n'est pas pris en charge ici")
    response["Allow"] = "GET, HEAD, PUT, PATCH"
    return response


#: Search parameters of ``GET /fhir/Appointment`` (name → FHIR type, documentation).
SEARCH_PARAMS = {
    "date": (
        "date",
        "Start of the appointment: eq, ge, gt, le, lt + a date (a whole local day) or a date-time.",
    ),
    "status": ("token", "booked, cancelled, fulfilled or noshow."),
}
_STATUS_BACK = {code: status for status, code in STATUS.items()}


def _search_filter(request: HttpRequest) -> Q:
    from maillage.care.scheduling.fhir.views import _start

    wanted = Q()
    for key in request.GET:
        if key in PAGING_PARAMS:
            continue
        if key not in SEARCH_PARAMS:
            known = ", ".join(sorted(SEARCH_PARAMS) + ["_count", "_offset"])
            raise Invalid(f"paramètre de recherche inconnu {key!r} (pris en charge : {known})")
        for raw in request.GET.getlist(key):
            values = [v for v in raw.split(",") if v != ""]
            if not values:
                raise Invalid(f"le paramètre de recherche {key!r} n'a pas de valeur")
            either = Q()
            for value in values:
                if key == "status":
                    if value not in _STATUS_BACK:
                        raise Invalid(
                            f"status attend booked, cancelled, fulfilled ou noshow, pas {value!r}"
                        )
                    either |= Q(status=_STATUS_BACK[value])
                else:
                    try:
                        start = _start(value)
                    except BadRequest as exc:
                        raise Invalid(str(exc).replace("start attend", "date attend")) from None
                    either |= Q(**{f"slot__{k}": v for k, v in start.children})
            wanted &= either
    return wanted


@_guarded
def search(request: HttpRequest, user: Any) -> HttpResponse:
    """The appointments the token's user may open (the people module's rule: those it
    booked; a site's staff, the site's; a GP, those addressed to them as médecin traitant or
    médecin relais), oldest first; the list returned is audited."""
    try:
        _check_sizes(request)
        count = _int_param(request, "_count", DEFAULT_COUNT, 0, MAX_COUNT)
        offset = _int_param(request, "_offset", 0, 0, MAX_OFFSET)
    except BadRequest as exc:
        raise Invalid(str(exc)) from None
    qs = (
        bookings_open_to(user, role_of(user))
        .filter(_search_filter(request))
        .select_related("slot__schedule__site", "person")
        .order_by("slot__start", "pk")
    )
    total = qs.count()
    page = [
        b for b in (qs[offset : offset + count] if count else []) if can_access(user, b, "view")
    ]
    audit.record_list(user, page, PURPOSE, channel="fhir")
    links = [{"relation": "self", "url": _page_url(request, offset, count)}]
    if count and offset + count < total:
        links.append({"relation": "next", "url": _page_url(request, offset + count, count)})
    base = _base_url(request)
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total,
                              "link": links}  # fmt: skip
    if page:
        bundle["entry"] = [
            {
                "fullUrl": f"{base}/Appointment/{b.pk}",
                "resource": appointment_resource(b, base),
                "search": {"mode": "match"},
            }
            for b in page
        ]
    return fhir_response(bundle)


def collection(request: HttpRequest) -> HttpResponse:
    if request.method in ("GET", "HEAD"):
        return search(request)
    if request.method != "POST":
        response = outcome(
            405,
            "not-supported",
            "Appointment : création (POST) et recherche (GET) seulement",
        )
        response["Allow"] = "GET, HEAD, POST"
        return response
    return create(request)
