"""FHIR R4 Schedule and Slot of the care sites, shaped as the ANS guides do.

- Profiles claimed: the GAP guide's (``ans.fhir.fr.gap`` 3.0.0: gap-fr-schedule, gap-fr-slot,
  gap-fr-appointment, which add nothing to FR Core), and the SAS aggregator's Schedule profile;
  the SAS Slot profile fixes ``status = free``, so it is claimed by free slots only.
- Slot type (who may book) in ``meta.security`` with the TRE_R314 codes the SAS guide uses
  (PUBLIC, PRO, SNP); a slot reserved to a partner carries a maillage code instead, the SAS
  nomenclature having none.
- Consultation mode in ``serviceType`` (v3-ActCode AMB / VR / HH), the ordinal specialty
  (TRE_R38) in ``specialty``, ``appointmentType`` v2-0276 ROUTINE (booked ahead).
- Capacity and free places, which R4 Slot lacks, are maillage extensions.
- Times are written in local time with their offset (Europe/Paris).
- Schedule.actor: the directory's Location, HealthcareService and PractitionerRole of the site
  when they exist, else a contained Location built from the site's address.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage.care.scheduling.models import Schedule, Site, Slot, SlotType
from maillage.care.scheduling.services.generation import local_zone
from maillage.directory.fhir.resources import (
    MAILLAGE_FHIR,
    SYNTHETIC_TAG,
    _address,
    _clean,
    _ref,
)
from maillage.opendata.nomenclatures import SPECIALTIES, SPECIALTY_SYSTEM

GAP = "https://interop.esante.gouv.fr/ig/fhir/gap/StructureDefinition"
SAS_SCHEDULE_PROFILE = "http://sas.fr/fhir/StructureDefinition/FrScheduleAgregateur"
SAS_SLOT_PROFILE = "http://sas.fr/fhir/StructureDefinition/FrSlotAgregateur"
PROFILES = {
    "Schedule": [f"{GAP}/gap-fr-schedule", SAS_SCHEDULE_PROFILE],
    "Slot": [f"{GAP}/gap-fr-slot"],
    "Appointment": [f"{GAP}/gap-fr-appointment"],
}
SLOT_TYPE_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
MAILLAGE_SLOT_TYPE_SYSTEM = f"{MAILLAGE_FHIR}/CodeSystem/slot-type"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
APPOINTMENT_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0276"
CAPACITY_EXTENSION = f"{MAILLAGE_FHIR}/StructureDefinition/slot-capacity"
FREE_PLACES_EXTENSION = f"{MAILLAGE_FHIR}/StructureDefinition/slot-free-places"
SITE_KIND_SYSTEM = f"{MAILLAGE_FHIR}/CodeSystem/care-site-kind"
LOCAL_IDS = {
    "Schedule": f"{MAILLAGE_FHIR}/sid/schedule",
    "Slot": f"{MAILLAGE_FHIR}/sid/slot",
    "Appointment": f"{MAILLAGE_FHIR}/sid/appointment",
}

SLOT_TYPE_CODES = {
    SlotType.PUBLIC: (SLOT_TYPE_SYSTEM, "PUBLIC", "Créneau accessible par le grand public"),
    SlotType.PRO: (SLOT_TYPE_SYSTEM, "PRO", "Créneau accessible par les professionnels de santé"),
    SlotType.SNP: (
        SLOT_TYPE_SYSTEM,
        "SNP",
        "Créneau accessible par les Régulateurs et Organisateurs de Soins Non Programmés",
    ),
    SlotType.PARTNER: (MAILLAGE_SLOT_TYPE_SYSTEM, "partner", "Réservé à une structure partenaire"),
}
MODE_DISPLAY = {"AMB": "Consultation au cabinet", "VR": "Téléconsultation", "HH": "À domicile"}


def instant(value: dt.datetime) -> str:
    """An aware datetime as a FHIR instant in local time with its offset."""
    return value.astimezone(local_zone()).isoformat(timespec="seconds")


def _meta(kind: str, obj: Any, synthetic: bool, profiles: list[str] | None = None) -> dict:
    meta: dict[str, Any] = {"profile": profiles or PROFILES[kind]}
    updated = getattr(obj, "updated_at", None)
    if updated is not None:
        meta["lastUpdated"] = updated.isoformat(timespec="milliseconds")
    if synthetic:
        meta["tag"] = [dict(SYNTHETIC_TAG)]
    return meta


def _service_type(schedule: Schedule) -> list[dict[str, Any]]:
    return [
        {
            "coding": [
                {
                    "system": ACT_CODE_SYSTEM,
                    "code": schedule.mode,
                    "display": MODE_DISPLAY.get(schedule.mode, schedule.mode),
                }
            ]
        }
    ]


def _specialty(schedule: Schedule) -> list[dict[str, Any]]:
    if not schedule.specialty_code:
        return []
    coding = {"system": SPECIALTY_SYSTEM, "code": schedule.specialty_code}
    if schedule.specialty_code in SPECIALTIES:
        coding["display"] = SPECIALTIES[schedule.specialty_code]
    return [{"coding": [coding]}]


def actor_references(schedule: Schedule) -> list[str]:
    """``Type/id`` of the directory resources a schedule is the agenda of."""
    site: Site = schedule.site
    refs = []
    if site.location_id:
        refs.append(f"Location/{site.location_id}")
    if site.service_id:
        refs.append(f"HealthcareService/{site.service_id}")
    if schedule.practitioner_role_id:
        refs.append(f"PractitionerRole/{schedule.practitioner_role_id}")
    return refs


def schedule_resource(schedule: Schedule) -> dict[str, Any]:
    site: Site = schedule.site
    actors = [{"reference": ref} for ref in actor_references(schedule)]
    contained = []
    if not actors:
        contained.append(
            _clean(
                {
                    "resourceType": "Location",
                    "id": "site",
                    "name": site.name,
                    "address": _address(site.address, site.postal_code, "", site.commune),
                    "telecom": [{"system": "phone", "value": site.phone}] if site.phone else [],
                }
            )
        )
        actors.append({"reference": "#site", "display": site.name})
    else:
        actors[0]["display"] = site.name
    horizon = {}
    if schedule.generated_until:
        end = dt.datetime.combine(
            schedule.generated_until + dt.timedelta(days=1), dt.time(0), tzinfo=local_zone()
        )
        horizon = {"end": instant(end)}
    return _clean(
        {
            "resourceType": "Schedule",
            "id": str(schedule.pk),
            "meta": _meta("Schedule", schedule, schedule.synthetic or site.synthetic),
            "language": "fr",
            "contained": contained,
            "identifier": [
                {"use": "secondary", "system": LOCAL_IDS["Schedule"], "value": str(schedule.pk)}
            ],
            "active": schedule.active and site.active,
            "serviceCategory": [
                {
                    "coding": [
                        {
                            "system": SITE_KIND_SYSTEM,
                            "code": site.kind,
                            "display": site.get_kind_display(),
                        }
                    ]
                }
            ],
            "serviceType": _service_type(schedule),
            "specialty": _specialty(schedule),
            "actor": actors,
            "planningHorizon": horizon,
            "comment": f"{schedule.name} ({site.name})",
        }
    )


def slot_resource(slot: Slot) -> dict[str, Any]:
    schedule: Schedule = slot.schedule
    system, code, display = SLOT_TYPE_CODES[SlotType(slot.slot_type)]
    status = slot.status
    profiles = PROFILES["Slot"] + ([SAS_SLOT_PROFILE] if status == "free" else [])
    meta = _meta("Slot", slot, schedule.synthetic or schedule.site.synthetic, profiles)
    meta["security"] = [{"system": system, "code": code, "display": display}]
    extension = [
        {"url": CAPACITY_EXTENSION, "valuePositiveInt": slot.capacity},
        {"url": FREE_PLACES_EXTENSION, "valueUnsignedInt": slot.free},
    ]
    if slot.partner_id:
        extension.append(
            {
                "url": f"{MAILLAGE_FHIR}/StructureDefinition/slot-reserved-for",
                "valueReference": _ref("Organization", slot.partner_id),
            }
        )
    return _clean(
        {
            "resourceType": "Slot",
            "id": str(slot.pk),
            "meta": meta,
            "extension": extension,
            "identifier": [
                {"use": "secondary", "system": LOCAL_IDS["Slot"], "value": str(slot.pk)}
            ],
            "serviceType": _service_type(schedule),
            "specialty": _specialty(schedule),
            "appointmentType": {
                "coding": [
                    {
                        "system": APPOINTMENT_REASON_SYSTEM,
                        "code": "ROUTINE",
                        "display": "Routine appointment - default if not valued",
                    }
                ]
            },
            "schedule": {"reference": f"Schedule/{schedule.pk}", "display": schedule.name},
            "status": status,
            "start": instant(slot.start),
            "end": instant(slot.end),
        }
    )
