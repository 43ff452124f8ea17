"""The CapabilityStatement entries of Schedule, Slot and Appointment (registered with the
directory's ``/fhir/metadata`` by the app's ``ready``)."""

from __future__ import annotations

from typing import Any

from maillage.care.scheduling.fhir.appointment import SEARCH_PARAMS
from maillage.care.scheduling.fhir.resources import PROFILES
from maillage.care.scheduling.fhir.views import INCLUDES, PARAMS


def resources() -> list[dict[str, Any]]:
    entries = []
    for kind in ("Schedule", "Slot"):
        entry: dict[str, Any] = {
            "type": kind,
            "profile": PROFILES[kind][0],
            "supportedProfile": PROFILES[kind][1:],
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchInclude": sorted(INCLUDES[kind]),
            "searchParam": [
                {"name": name, "type": kind_, "documentation": doc}
                for name, (kind_, doc, _) in PARAMS[kind].items()
            ],
        }
        entries.append({k: v for k, v in entry.items() if v})
    entries.append(
        {
            "type": "Appointment",
            "profile": PROFILES["Appointment"][0],
            "documentation": (
                "create: POST with a slot reference and a contained Patient (name, birthDate, "
                "gender, telecom), an API token (Authorization: Bearer) and optionally an "
                "Idempotency-Key header; 201 with Location, 409 when the slot is full. read, "
                "and update/patch to status cancelled, of the appointments the token booked. "
                "search: the appointments the token's user may open (those it booked; a site's "
                "staff, the site's; a GP, those addressed to them, read only)."
            ),
            "interaction": [
                {"code": "create"},
                {"code": "read"},
                {"code": "update"},
                {"code": "patch"},
                {"code": "search-type"},
            ],
            "searchParam": [
                {"name": name, "type": kind_, "documentation": doc}
                for name, (kind_, doc) in SEARCH_PARAMS.items()
            ],
        }
    )
    return entries
