"""What the discharge letters tell :mod:`maillage.care.people` about their personal data: who
may open a discharge, how discharges expire, a person's discharges for an access or erasure
request, and the merge of two persons. Registered by the app's ``ready``.

Rules: a hospital referent (``Role.HOSPITAL``) views, creates and updates the discharges of
their hospitals (``Profile.organizations``; none: nothing); a GP (a professional linked to a
practitioner) views the discharges whose médecin traitant they are and acknowledges their
letters ("update"); a coordinator sees aggregates only (every object refused); anyone else
nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from maillage.accounts.models import Role
from maillage.care.letters.models import Discharge, ImportDraft
from maillage.care.people import identity, permissions, retention
from maillage.care.people.models import Person

PURPOSE = "discharge_letter"


def hospitals_of(user: Any) -> set[int]:
    """The ids of a hospital referent's hospitals (empty: none, never "all")."""
    profile = getattr(user, "profile", None)
    if profile is None or profile.role != Role.HOSPITAL:
        return set()
    return set(profile.organizations.values_list("pk", flat=True))


def practitioner_of(user: Any) -> int | None:
    profile = getattr(user, "profile", None)
    if profile is None or profile.role != Role.PROFESSIONAL:
        return None
    return profile.practitioner_id


def discharge_rule(user: Any, role: str, discharge: Discharge, action: str) -> bool:
    if role == Role.HOSPITAL:
        return action in (
            "view",
            "create",
            "update",
            "export",
        ) and discharge.hospital_id in hospitals_of(user)
    if role == Role.PROFESSIONAL:
        practitioner = practitioner_of(user)
        return (
            action in ("view", "update")
            and practitioner is not None
            and discharge.gp_id == practitioner
        )
    return False


def person_rule(user: Any, role: str, person: Person, action: str) -> bool:
    if action not in ("view", "update"):
        return False
    discharges = Discharge.objects.filter(person=person)
    if role == Role.HOSPITAL:
        return discharges.filter(hospital_id__in=hospitals_of(user)).exists()
    if role == Role.PROFESSIONAL and action == "view":
        practitioner = practitioner_of(user)
        return practitioner is not None and discharges.filter(gp_id=practitioner).exists()
    return False


def anonymise_discharges(cutoff: dt.datetime) -> int:
    """Discharges older than ``cutoff``: note emptied, stay number and GP forgotten; the
    hospital, service, dates, destination, channel and commune of residence stay for the
    indicators."""
    expired = Discharge.objects.filter(anonymised_at__isnull=True, discharge_at__lt=cutoff)
    return expired.update(note="", stay_number="", gp=None, anonymised_at=timezone.now())


def drop_stale_drafts(cutoff: dt.datetime) -> int:
    """Uploaded files never mapped: deleted a day after their upload (whatever ``cutoff``)."""
    return ImportDraft.objects.filter(
        created_at__lt=timezone.now() - dt.timedelta(days=1)
    ).delete()[0]


def person_discharges(person: Person) -> list[dict[str, Any]]:
    return [
        {
            "hospital": d.hospital.name,
            "service": d.service,
            "stay_number": d.stay_number,
            "admission_at": d.admission_at.isoformat(),
            "discharge_at": d.discharge_at.isoformat(),
            "destination": d.destination,
            "residence_commune": d.residence_commune_id,
            "gp": d.gp_id,
            "letter_sent_at": d.letter_sent_at.isoformat() if d.letter_sent_at else None,
            "channel": d.channel,
            "acknowledged_at": d.acknowledged_at.isoformat() if d.acknowledged_at else None,
            "note": d.note,
        }
        for d in Discharge.objects.filter(person=person).select_related("hospital")
    ]


def erase_discharges(person: Person) -> int:
    """An erasure request: what anonymisation forgets, and the commune of residence too."""
    return Discharge.objects.filter(person=person).update(
        note="", stay_number="", gp=None, residence_commune=None, anonymised_at=timezone.now()
    )


def merge_discharges(kept: Person, gone: Person) -> int:
    """A merge of two persons (care.people.identity): the duplicate's discharges are the kept
    person's."""
    return Discharge.objects.filter(person=gone).update(person=kept)


def register() -> None:
    from maillage.care.letters.services.summary import letters_figures
    from maillage.care.people import summary

    summary.register("letters", letters_figures)
    identity.register_merge(merge_discharges)
    permissions.register(Discharge, discharge_rule)
    permissions.register_person_rule(person_rule)
    retention.register(anonymise_discharges)
    retention.register(drop_stale_drafts)
    retention.register_access("letters", person_discharges)
    retention.register_erase(erase_discharges)
