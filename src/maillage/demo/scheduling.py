"""The demo agendas: the care sites of ``data/scheduling.yaml`` with their opening rules, and
their slots generated from today over the horizon.

Loading is an upsert by slug (sites), by name (schedules) and by label (rules): a second run
changes nothing. A site is linked to its directory entry (the HealthcareService of the same
slug in ``services.yaml``, its Location and Organization) when the directory has it; a partner
named by FINESS that the database lacks leaves its rule out, counted in ``report.skipped``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage.care.scheduling.models import (
    OpeningRule,
    Schedule,
    Site,
    SiteKind,
    SlotType,
)
from maillage.care.scheduling.services.generation import generate
from maillage.demo.directory import _clock, _read
from maillage.directory.models import HealthcareService, Organization
from maillage.imports import ImportReport, run_import
from maillage.territory.models import Commune

SITE_FIELDS = {
    "slug", "name", "kind", "service", "address", "postal_code", "commune", "min_age",
    "opened_on", "source_note", "schedules", "description",
}  # fmt: skip
SCHEDULE_FIELDS = {"name", "mode", "specialty", "rules"}
RULE_FIELDS = {
    "weekdays", "half_day", "start", "end", "slot_minutes", "capacity", "slot_type",
    "partner_finess", "valid_from", "valid_until", "label",
}  # fmt: skip


def _check(record: dict, allowed: set[str], where: str) -> None:
    unknown = set(record) - allowed
    if unknown:
        raise ValueError(f"scheduling.yaml, {where} : champ inconnu : {', '.join(sorted(unknown))}")


def read_demo_scheduling() -> list[dict[str, Any]]:
    """The records of ``data/scheduling.yaml``, checked (unknown fields, kinds, times)."""
    sites = _read("scheduling")
    slugs: set[str] = set()
    for site in sites:
        where = f"site {site.get('slug', '?')}"
        _check(site, SITE_FIELDS, where)
        if site.get("slug") in slugs:
            raise ValueError(f"scheduling.yaml : slug en double {site['slug']!r}")
        slugs.add(site["slug"])
        if site.get("kind") not in SiteKind.values:
            raise ValueError(f"scheduling.yaml, {where} : type inconnu {site.get('kind')!r}")
        for schedule in site.get("schedules", ()):
            _check(schedule, SCHEDULE_FIELDS, f"{where}, agenda {schedule.get('name', '?')}")
            for rule in schedule.get("rules", ()):
                rwhere = f"{where}, règle {rule.get('label', '?')}"
                _check(rule, RULE_FIELDS, rwhere)
                if not rule.get("label"):
                    raise ValueError(f"scheduling.yaml, {rwhere} : le libellé est obligatoire")
                for key in ("start", "end"):
                    if key in rule:
                        rule[key] = _clock(rule[key], rwhere)
                if rule.get("slot_type", "public") not in SlotType.values:
                    raise ValueError(f"scheduling.yaml, {rwhere} : type de créneau inconnu")
    return sites


def _sync(obj: Any, values: dict[str, Any]) -> bool:
    changed = {k: v for k, v in values.items() if getattr(obj, k) != v}
    for k, v in changed.items():
        setattr(obj, k, v)
    if changed:
        obj.save()
    return bool(changed)


def write_demo_scheduling(
    sites: list[dict[str, Any]], today: dt.date | None = None
) -> ImportReport:
    report = ImportReport(
        "agendas",
        counts={"sites": 0, "agendas": 0, "règles": 0, "créneaux créés": 0},
        skipped={"partenaires absents": 0},
    )
    for record in sites:
        service = HealthcareService.objects.filter(slug=record.get("service")).first()
        commune = Commune.objects.filter(code=record.get("commune")).first()
        values = {
            "name": record["name"],
            "kind": record["kind"],
            "service": service,
            "location": service.location if service else None,
            "organization": service.organization if service else None,
            "address": record.get("address", ""),
            "postal_code": record.get("postal_code", ""),
            "commune": commune,
            "min_age": record.get("min_age", 0),
            "opened_on": record.get("opened_on"),
            "source_note": " ".join(record.get("source_note", "").split()),
            "description": record.get("description", ""),
        }
        site = Site.objects.filter(slug=record["slug"]).first()
        if site is None:
            site = Site.objects.create(slug=record["slug"], **values)
        else:
            _sync(site, values)
        report.counts["sites"] += 1
        for srecord in record.get("schedules", ()):
            schedule, _ = Schedule.objects.get_or_create(
                site=site,
                name=srecord["name"],
                defaults={"mode": srecord.get("mode", "AMB")},
            )
            wanted = {
                "mode": srecord.get("mode", "AMB"),
                "specialty_code": srecord.get("specialty", ""),
            }
            _sync(schedule, wanted)
            report.counts["agendas"] += 1
            kept = []
            for rrecord in srecord.get("rules", ()):
                partner = None
                if rrecord.get("partner_finess"):
                    partner = Organization.objects.filter(
                        finess_et=rrecord["partner_finess"]
                    ).first()
                    if partner is None:
                        report.skipped["partenaires absents"] += 1
                        continue
                rvalues = {
                    "weekdays": rrecord["weekdays"],
                    "half_day": rrecord.get("half_day", ""),
                    "start_time": rrecord.get("start"),
                    "end_time": rrecord.get("end"),
                    "slot_minutes": rrecord.get("slot_minutes", 30),
                    "capacity": rrecord.get("capacity", 1),
                    "slot_type": rrecord.get("slot_type", SlotType.PUBLIC),
                    "partner": partner,
                    "valid_from": rrecord["valid_from"],
                    "valid_until": rrecord.get("valid_until"),
                }
                if rvalues["half_day"] and rvalues["start_time"] is None:
                    rvalues.pop("start_time")
                    rvalues.pop("end_time")
                rule = schedule.rules.filter(label=rrecord["label"]).first()
                if rule is None:
                    rule = OpeningRule.objects.create(
                        schedule=schedule, label=rrecord["label"], **rvalues
                    )
                else:
                    _sync(rule, rvalues)
                kept.append(rule.pk)
                report.counts["règles"] += 1
            schedule.rules.exclude(pk__in=kept).delete()
            generated = generate(schedule, today=today)
            report.counts["créneaux créés"] += generated.created
    return report


def load_demo_scheduling(today: dt.date | None = None) -> ImportReport:
    """Load the demo agendas and generate their slots (idempotent, one transaction)."""
    return run_import(
        "agendas", read_demo_scheduling, lambda sites: write_demo_scheduling(sites, today)
    )
