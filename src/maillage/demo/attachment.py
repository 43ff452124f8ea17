"""Synthetic waiting list for a médecin traitant in Haute-Marne (``data/attachment.yaml``):
requests of fictitious people (flagged synthetic, ARCEP fiction phone numbers), capacities
declared by synthetic GPs of the directory, one matching run, some proposals accepted and
registered; the demo coordinator attached to a territory of the département so that the
queue and the dashboard show them. Idempotent: nothing is written once a synthetic request
exists."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.utils import timezone

from maillage.imports import ImportReport

DATA = Path(__file__).resolve().parent / "data" / "attachment.yaml"


def _plan() -> dict[str, Any]:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def _territory(plan: dict[str, Any]) -> Any:
    from maillage.demo.accounts import COORDINATOR_USERNAME
    from maillage.territory.models import Commune, Territory

    spec = plan["territory"]
    territory, _ = Territory.objects.get_or_create(
        slug=spec["slug"], defaults={"name": spec["name"], "kind": Territory.Kind.CUSTOM,
                                     "code": f"departement:{spec['departement']}"},
    )  # fmt: skip
    territory.communes.set(Commune.objects.filter(departement_id=spec["departement"]))
    from maillage.accounts.models import Profile

    profile = Profile.objects.filter(user__username=COORDINATOR_USERNAME).first()
    if profile is not None:
        profile.territories.add(territory)
    return territory


def _capacities(plan: dict[str, Any]) -> int:
    from maillage.care.attachment.models import GpCapacity
    from maillage.directory.models import PractitionerRole
    from maillage.territory.models import Commune

    made = 0
    for spec in plan["capacities"]:
        roles = (
            PractitionerRole.objects.filter(
                synthetic=True, profession_code="10", location__commune_id=spec["commune"],
                practitioner__attachment_capacity__isnull=True,
            )
            .select_related("practitioner", "location")
            .order_by("practitioner__family_name", "practitioner__given_name", "pk")
        )  # fmt: skip
        for role in roles[: spec["doctors"]]:
            capacity = GpCapacity.objects.create(
                practitioner=role.practitioner, location=role.location,
                new_patients_per_month=spec["per_month"], radius_km=spec["radius_km"],
            )  # fmt: skip
            capacity.communes.set(Commune.objects.filter(code=spec["commune"]))
            made += 1
    return made


def load_demo_waiting_list(now: dt.datetime | None = None) -> ImportReport:
    from maillage.care.attachment.models import AttachmentRequest, Proposal, Transition
    from maillage.care.attachment.services import capacity as capacity_service
    from maillage.care.attachment.services import matching
    from maillage.care.attachment.services import requests as service

    now = now or timezone.now()
    report = ImportReport("liste d'attente de médecin traitant (synthétique)",
                          counts={"demandes": 0, "capacités": 0, "propositions": 0})  # fmt: skip
    plan = _plan()
    from maillage.territory.models import Commune

    if not Commune.objects.filter(code__in=list(plan["requests"])).exists():
        return report
    if AttachmentRequest.objects.filter(person__synthetic=True).exists():
        return report
    rng = random.Random(plan["seed"])
    with transaction.atomic():
        territory = _territory(plan)
        report.counts["capacités"] = _capacities(plan)
        n = 0
        for commune, count in plan["requests"].items():
            for _ in range(count):
                n += 1
                sex = rng.choice("FM")
                born = dt.date(rng.randint(*plan["birth_years"]), rng.randint(1, 12),
                               rng.randint(1, 28))  # fmt: skip
                criteria: dict[str, Any] = {
                    k: rng.random() < p for k, p in plan["criteria"].items()
                }
                if sex == "M" or not 1982 <= born.year <= 2004:
                    criteria["pregnancy"] = False
                criteria["months_without_gp"] = rng.randint(1, 30)
                criteria["teleconsultations"] = rng.randint(0, 4)
                traits = {
                    "birth_name": rng.choice(plan["birth_names"]),
                    "first_names": rng.choice(plan["first_names"][sex]),
                    "birth_date": born, "sex": sex,
                    "phone": f"+331990{n:05d}"[:12],
                }  # fmt: skip
                try:
                    request = service.create_request(
                        None, traits=traits, commune_id=commune, criteria=criteria,
                        channel=rng.choice(["web", "web", "phone", "professional"]),
                        consent=True, synthetic=True,
                    )  # fmt: skip
                except service.AttachmentError:
                    continue  # the same name and birth date drawn twice
                created = now - dt.timedelta(days=rng.randint(1, 30 * plan["months_back"]))
                AttachmentRequest.objects.filter(pk=request.pk).update(
                    created_at=created, state_changed_at=created
                )
                Transition.objects.filter(request=request).update(at=created)
                report.counts["demandes"] += 1
        communes = set(territory.communes.values_list("code", flat=True))
        run = matching.run(None, communes, territory=territory, now=now)
        report.counts["propositions"] = run.proposed
        for proposal in Proposal.objects.filter(run=run).order_by("pk"):
            if rng.random() < plan["accepted_share"]:
                service.accept(None, proposal)
                if rng.random() < plan["registered_share"]:
                    service.register_patient(None, proposal)
        capacity_service.sync_directory()
    return report
