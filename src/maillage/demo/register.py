"""The demo's register of vulnerable people: synthetic people of Saint-Dizier read from
``data/register.yaml`` (invented names, fiction phone numbers), registered through the
register's service with their consent. Idempotent: a person already registered is skipped."""

from __future__ import annotations

from pathlib import Path

import yaml

DATA = Path(__file__).parent / "data" / "register.yaml"
TRAITS = ("birth_name", "first_names", "sex", "birth_date", "phone")
DETAILS = (
    "address", "emergency_contacts", "living_alone", "mobility", "power_devices",
    "power_devices_detail", "attending_doctor", "nurse", "share_with_professionals",
)  # fmt: skip


def load_demo_register(path: Path = DATA) -> int:
    """Register the demo's synthetic people; returns how many were added this time."""
    from maillage.care.register.services.registrations import RegisterError, register_person
    from maillage.territory.models import Commune

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    commune = str(data["commune"])
    if not Commune.objects.filter(code=commune).exists():
        return 0
    added = 0
    for row in data["people"]:
        try:
            register_person(
                None,
                traits={k: row[k] for k in TRAITS},
                commune_id=commune,
                details={k: row[k] for k in DETAILS if k in row},
                registered_by=row.get("registered_by", "agent"),
                consent=True,
                synthetic=True,
            )
        except RegisterError as exc:
            if "déjà inscrite" not in str(exc):
                raise
        else:
            added += 1
    return added
