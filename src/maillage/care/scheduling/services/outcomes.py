"""What the nurse records after a visit: the act, the outcome (back to the médecin traitant, a
médecin relais from the directory, the emergency department, a specialist), an encrypted note,
and the report to the médecin traitant (his MSSanté address from the directory; sent, then
acknowledged).

Médecins relais are the directory's GPs (profession 10) near the site, those accepting new
patients first (``PractitionerRole.accepts_new_patients``), then the unknown, then the others.
"""

from __future__ import annotations

import math
from typing import Any

from django.db import transaction
from django.utils import timezone

from maillage.care.people import audit
from maillage.care.people.permissions import can_access
from maillage.care.scheduling.models import Act, Booking, BookingStatus, Outcome, Site, Visit
from maillage.care.scheduling.services.booking import BookingError, NotAllowed
from maillage.directory.models import PractitionerRole

PURPOSE = "nurse_day"
GP_PROFESSION = "10"
NOTE_MAX = 4000


def _km(lat0: float, lon0: float, lat: float, lon: float) -> float:
    p = math.pi / 180
    a = (
        math.sin((lat - lat0) * p / 2) ** 2
        + math.cos(lat0 * p) * math.cos(lat * p) * math.sin((lon - lon0) * p / 2) ** 2
    )
    return 12742 * math.asin(math.sqrt(a))


def relay_candidates(site: Site, limit: int = 15) -> list[PractitionerRole]:
    """GPs of the site's département for a médecin relais: accepting new patients first,
    then the nearest. Each has ``distance_km`` set (None without coordinates)."""
    commune = site.commune
    roles = PractitionerRole.objects.filter(
        profession_code=GP_PROFESSION, active=True, location__isnull=False
    ).select_related("practitioner", "location__commune")
    if commune is not None:
        roles = roles.filter(location__commune__departement_id=commune.departement_id)
    found = list(roles[:2000])
    for role in found:
        loc = role.location
        role.distance_km = (
            _km(commune.latitude, commune.longitude, loc.latitude, loc.longitude)
            if commune is not None and commune.latitude is not None and loc.latitude is not None
            else None
        )
    rank = {True: 0, None: 1, False: 2}
    found.sort(
        key=lambda r: (
            rank[r.accepts_new_patients],
            r.distance_km if r.distance_km is not None else 1e9,
            r.practitioner.family_name,
        )
    )
    return found[:limit]


def report_address(booking: Booking) -> str:
    """The MSSanté address of the booking's médecin traitant in the directory ("" if none)."""
    if booking.gp_id is not None and booking.gp.practitioner.mssante:
        return booking.gp.practitioner.mssante
    doctor = booking.person.attending_doctor
    return doctor.mssante if doctor is not None else ""


def _visit(booking: Booking, user: Any) -> tuple[Booking, Visit]:
    locked = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("slot__schedule__site", "gp__practitioner", "person")
        .get(pk=booking.pk)
    )
    if not can_access(user, locked, "update"):
        raise NotAllowed("Ce rendez-vous n'est pas celui d'un site que vous servez.")
    if locked.status != BookingStatus.HONOURED:
        raise BookingError("Notez d'abord l'arrivée de la personne (rendez-vous honoré).")
    visit, _ = Visit.objects.get_or_create(booking=locked)
    return locked, visit


def record(
    booking: Booking,
    user: Any,
    *,
    act: str,
    outcome: str,
    relay: PractitionerRole | int | None = None,
    note: str = "",
) -> Visit:
    """Record the act and outcome of an honoured booking. A médecin relais is required for
    the outcome "relay" and refused for any other."""
    if act not in Act.values:
        raise BookingError("Choisissez l'acte réalisé.")
    if outcome not in Outcome.values:
        raise BookingError("Choisissez l'orientation.")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise BookingError(f"La note dépasse {NOTE_MAX} caractères.")
    if isinstance(relay, int | str) and relay not in ("", None):
        try:
            relay = PractitionerRole.objects.get(pk=int(relay), profession_code=GP_PROFESSION)
        except (PractitionerRole.DoesNotExist, ValueError):
            raise BookingError("Ce médecin relais n'est pas dans l'annuaire.") from None
    elif relay == "":
        relay = None
    if outcome == Outcome.RELAY and relay is None:
        raise BookingError("Choisissez le médecin relais dans la liste.")
    if outcome != Outcome.RELAY and relay is not None:
        raise BookingError(
            "Un médecin relais n'est choisi que pour l'orientation « médecin relais »."
        )
    with transaction.atomic():
        locked, visit = _visit(booking, user)
        if outcome == Outcome.BACK_TO_GP and locked.has_gp is False:
            raise BookingError(
                "La personne a déclaré ne pas avoir de médecin traitant : choisissez un "
                "médecin relais."
            )
        visit.act, visit.outcome, visit.relay, visit.note = act, outcome, relay, note
        visit.recorded_by = user
        visit.save()
        audit.record(
            user, "update", visit, PURPOSE, act=act.lower(), outcome=outcome,
            relay=relay.pk if relay else None, note=bool(note),
        )  # fmt: skip
    return visit


def mark_report(booking: Booking, user: Any, step: str) -> Visit:
    """``step`` "sent": the report went to the médecin traitant's MSSanté address (kept on the
    visit); "acknowledged": he confirmed receipt (only after "sent")."""
    if step not in ("sent", "acknowledged"):
        raise BookingError("Étape inconnue du compte rendu.")
    with transaction.atomic():
        locked, visit = _visit(booking, user)
        now = timezone.now()
        if step == "sent":
            address = report_address(locked)
            if not address:
                raise BookingError(
                    "Aucune adresse MSSanté connue pour le médecin traitant dans l'annuaire."
                )
            visit.report_to, visit.report_sent_at = address, now
        else:
            if visit.report_sent_at is None:
                raise BookingError("Le compte rendu n'a pas encore été envoyé.")
            visit.report_acknowledged_at = now
        visit.save()
        audit.record(user, "update", visit, PURPOSE, report=step)
    return visit


def can_see(user: Any, booking: Booking) -> bool:
    return can_access(user, booking, "view")
