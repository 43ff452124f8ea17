"""The demo directory: the dispositifs and the Actions library stated by the seed documents.

The records are data files, ``maillage/demo/data/{territories,schemes,actions,services}.yaml``,
read by :func:`demo_content` and written by :func:`load_demo_directory`.

A demonstration is only worth something if a Haute-Marne coordinator recognises her territory in
it, so every record here comes from what the five seed documents (``../shared/seeds/``) state, and
its ``source_note`` names the seed and the section it comes from:

* seed 000 — dossier de presse de la délégation territoriale ARS de la Haute-Marne (25/09/2019);
* seed 001 — conférence santé Centre et Sud Haute-Marne, démarche de concertation (mai 2021);
* seed 002 — feuille de route départementale Centre Sud Haute-Marne (24/11/2021);
* seed 003 — projet de santé de la CPTS Saint-Dizier Der & Blaise (novembre 2019);
* seed 004 — conférence santé Centre et Sud Haute-Marne (15/07/2021).

What is real and what is reconstructed:

* Real structures are linked to their FINESS établissement (FINESS 2021 as shipped); the number is
  also kept in ``Scheme.finess`` so that a database imported without that département still says
  which établissement is meant (the link is then left empty and counted in ``report.skipped``).
  An EHPAD or MSP named only by its commune was identified as the only établissement of that
  FINESS category in the commune; the source note says so.
* No phone number, address or person is invented. Contacts are the ones the seeds publish (the
  CPTS Saint-Dizier cover page); addresses appear only where a seed prints them.
* Perimeters the seeds describe in words are rebuilt from the COG, and the territory description
  says how (CLS du Bassin de Joinville, CLS du Pays de Chaumont and du Pays de Langres).
* Services (HealthcareService) are the ones the seeds describe, per structure: the hospital
  sites' offer of the feuille de route 2021 (scénario 1), the services of Saint-Dizier's
  agglomeration (projet de santé de la CPTS), the two teleconsultation rooms. Weekly hours only
  where a seed gives times (the PMI centre), else what the seed says in ``hours_note``; no seed
  prints a service's phone number, so none has one. The two structures the seeds describe that
  are not FINESS établissements (the CPTS association, the circonscription d'action sociale)
  are Organization rows of source "manual", looked up by name.
* Nothing here is invented for demonstration, so no record is ``synthetic``; the demo login
  accounts (:mod:`maillage.demo.accounts`) are attached to a synthetic practitioner.

``verified_on`` stays empty: the seeds are dated documents, not a verification, so every demo
record starts in the coordinators' "to verify" list; an action's document date is its
``source_date`` (shown as its date, never the date of the import).

Loading is an upsert by slug that saves only what differs, so a second run changes nothing (no
new history rows either).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import time
from itertools import chain
from pathlib import Path

import yaml
from django.db import models

from maillage.directory.models import (
    Action,
    HealthcareService,
    Location,
    OpeningHours,
    Organization,
    Scheme,
    SchemeContact,
    Source,
    StructureKind,
)
from maillage.imports import ImportReport, run_import
from maillage.territory.models import Commune, Territory

log = logging.getLogger(__name__)

PUBLIC = Action.Visibility.PUBLIC

# The seed documents, as source notes cite them (../shared/seeds/000 to 004).

S000 = "Dossier de presse de l'ARS, délégation territoriale de la Haute-Marne (25/09/2019)"
S001 = "Conférence santé Centre et Sud Haute-Marne, démarche de concertation (2021)"
S002 = "Feuille de route départementale Centre Sud Haute-Marne (24/11/2021)"
S003 = "Projet de santé de la CPTS Saint-Dizier Der & Blaise (novembre 2019)"
S004 = "Conférence santé Centre et Sud Haute-Marne (15/07/2021)"


@dataclass(frozen=True)
class TerritorySpec:
    """A perimeter the seeds describe in words, rebuilt from COG units."""

    slug: str
    name: str
    kind: str
    members: tuple[str, ...]  # "epci:…", "arrondissement:…", "commune:…"
    description: str


@dataclass(frozen=True)
class ContactSpec:
    name: str
    role: str
    email: str = ""
    public: bool = False


@dataclass(frozen=True)
class SchemeSpec:
    slug: str
    name: str
    kind: str
    status: str
    source_note: str
    description: str = ""
    finess: str = ""  # FINESS ET of the carrying structure, linked as ``organization``
    commune: str | None = None  # INSEE code; default: the carrying structure's commune
    perimeter: str | None = None  # territory slug or COG spec
    members: tuple[str, ...] = ()  # FINESS ET of member structures
    email: str = ""
    website: str = ""
    contacts: tuple[ContactSpec, ...] = ()


@dataclass(frozen=True)
class ActionSpec:
    slug: str
    title: str
    kind: str
    summary: str
    body: str
    author: str
    source_note: str
    source_date: str = ""
    tags: tuple[str, ...] = ()
    territory: str | None = None
    scheme: str | None = None
    visibility: str = PUBLIC
    link: str = ""


#: The categories a demo service may have: a small fixed vocabulary, so that a search or a
#: filter by category finds every service of a kind (the words people type are the search
#: engine's synonyms, not new categories).
SERVICE_CATEGORIES = (
    "urgences", "SAMU", "SMUR", "médecine", "chirurgie", "obstétrique", "périnatalité", "SSR",
    "soins critiques", "psychiatrie", "EHPAD", "USLD", "accueil de jour", "SSIAD", "HAD", "PMI",
    "CAMSP", "SESSAD", "centre dentaire", "consultation avancée", "téléconsultation",
    "permanence des soins", "astreinte infirmière de nuit", "PTA/DAC",
)  # fmt: skip


@dataclass(frozen=True)
class StructureSpec:
    """A structure a seed describes that is not a FINESS établissement."""

    key: str
    name: str
    kind: str
    commune: str
    address: str = ""
    postal_code: str = ""
    email: str = ""
    website: str = ""


@dataclass(frozen=True)
class PlaceSpec:
    """A service's own address, when the seed prints one (a Location of the structure)."""

    name: str
    address: str
    postal_code: str
    commune: str


@dataclass(frozen=True)
class SlotSpec:
    days: tuple[int, ...]
    opens: time
    closes: time


@dataclass(frozen=True)
class ServiceSpec:
    slug: str
    name: str
    category: str
    source_note: str
    description: str = ""
    finess: str = ""  # the FINESS établissement that runs it…
    structure: str = ""  # …or the key of a StructureSpec
    place: PlaceSpec | None = None
    scheme: str = ""  # a scheme slug: the dispositif is at the service's place
    hours: tuple[SlotSpec, ...] = ()
    hours_note: str = ""
    phone: str = ""
    email: str = ""
    teleconsultation: bool = False


@dataclass
class DemoContent:
    territories: list[TerritorySpec] = field(default_factory=list)
    schemes: list[SchemeSpec] = field(default_factory=list)
    actions: list[ActionSpec] = field(default_factory=list)
    structures: list[StructureSpec] = field(default_factory=list)
    services: list[ServiceSpec] = field(default_factory=list)


DATA_DIR = Path(__file__).resolve().parent / "data"


def _load(name: str) -> object:
    with (DATA_DIR / f"{name}.yaml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _records(name: str, records: object) -> list[dict]:
    records = records or []
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError(f"{name}.yaml : une liste d'enregistrements est attendue")
    return records


def _read(name: str) -> list[dict]:
    """The records of ``data/<name>.yaml`` (a YAML list of mappings)."""
    return _records(name, _load(name))


def _clock(value: object, where: str) -> time:
    """'08:15' → time(8, 15), with a French error naming the record."""
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{where} : heure illisible {value!r} (attendu HH:MM)") from None


def _spec(cls: type, record: dict, where: str):
    """``cls(**record)``, with a French error naming the record for a missing or unknown
    field (instead of Python's TypeError)."""
    fields = {f.name for f in dataclasses.fields(cls)}
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    unknown, missing = set(record) - fields, required - set(record)
    if unknown or missing:
        said = [f"champ inconnu : {', '.join(sorted(unknown))}"] if unknown else []
        said += [f"champ manquant : {', '.join(sorted(missing))}"] if missing else []
        raise ValueError(f"{where} : {' ; '.join(said)}")
    return cls(**record)


def _service(record: dict) -> ServiceSpec:
    where = f"services.yaml, service {record.get('slug', '?')}"
    place = record.pop("place", None)
    slots = []
    for slot in record.pop("hours", ()):
        if not isinstance(slot, dict) or set(slot) != {"days", "opens", "closes"}:
            raise ValueError(f"{where} : un créneau s'écrit {{days: [0, …], opens, closes}}")
        days = tuple(slot["days"])
        if not days or any(d not in range(7) for d in days):
            raise ValueError(f"{where} : jours attendus de 0 (lundi) à 6 (dimanche), lu {days}")
        opens, closes = _clock(slot["opens"], where), _clock(slot["closes"], where)
        if closes <= opens:
            raise ValueError(f"{where} : fermeture {closes} avant l'ouverture {opens}")
        slots.append(SlotSpec(days, opens, closes))
    record["place"] = _spec(PlaceSpec, place, f"{where}, lieu") if place else None
    return _spec(ServiceSpec, {**record, "hours": tuple(slots)}, where)


def _read_services() -> tuple[list[StructureSpec], list[ServiceSpec]]:
    data = _load("services") or {}
    if not isinstance(data, dict) or set(data) - {"structures", "services"}:
        raise ValueError("services.yaml : les listes « structures » et « services » sont attendues")
    structures = [
        _spec(StructureSpec, r, f"services.yaml, structure {r.get('key', '?')}")
        for r in _records("services", data.get("structures"))
    ]
    services = [_service(dict(r)) for r in _records("services", data.get("services"))]
    return structures, services


def _tuples(record: dict, *names: str) -> dict:
    """YAML lists become tuples (the specs are frozen, hashable values)."""
    return {k: tuple(v) if k in names else v for k, v in record.items()}


def _read_content() -> DemoContent:
    territories = [TerritorySpec(**_tuples(r, "members")) for r in _read("territories")]
    schemes = []
    for record in _read("schemes"):
        contacts = tuple(ContactSpec(**c) for c in record.pop("contacts", ()))
        schemes.append(SchemeSpec(**_tuples(record, "members"), contacts=contacts))
    actions = [ActionSpec(**_tuples(r, "tags")) for r in _read("actions")]
    structures, services = _read_services()
    return DemoContent(territories, schemes, actions, structures, services)


def demo_content() -> DemoContent:
    """The demo content read from ``data/*.yaml``, checked for consistency (no database access).
    A record with an unknown or missing field fails here (``TypeError`` from the spec class)."""
    content = _read_content()
    for label, slugs in (
        ("territoire", [t.slug for t in content.territories]),
        ("dispositif", [s.slug for s in content.schemes]),
        ("action", [a.slug for a in content.actions]),
        ("structure", [s.key for s in content.structures]),
        ("service", [s.slug for s in content.services]),
    ):
        duplicates = {s for s in slugs if slugs.count(s) > 1}
        if duplicates:
            raise ValueError(f"{label}s en double dans la démo : {sorted(duplicates)}")
    scheme_slugs = {s.slug for s in content.schemes}
    for action in content.actions:
        if action.scheme and action.scheme not in scheme_slugs:
            raise ValueError(f"action {action.slug} : dispositif inconnu {action.scheme}")
    for spec in chain(content.schemes, content.actions, content.services):
        if len(spec.source_note) > Scheme._meta.get_field("source_note").max_length:
            raise ValueError(f"{spec.slug} : source trop longue ({len(spec.source_note)})")
    structure_keys = {s.key for s in content.structures}
    for structure in content.structures:
        if structure.kind not in StructureKind.values:
            raise ValueError(f"structure {structure.key} : type inconnu {structure.kind!r}")
    for service in content.services:
        if not service.source_note.strip():
            raise ValueError(f"service {service.slug} : source manquante")
        if service.category not in SERVICE_CATEGORIES:
            raise ValueError(f"service {service.slug} : catégorie inconnue {service.category!r}")
        if bool(service.finess) == bool(service.structure):
            raise ValueError(f"service {service.slug} : indiquer soit finess, soit structure")
        if service.structure and service.structure not in structure_keys:
            raise ValueError(f"service {service.slug} : structure inconnue {service.structure}")
        if service.scheme and (service.scheme not in scheme_slugs or service.place is None):
            raise ValueError(f"service {service.slug} : dispositif {service.scheme} sans lieu")
    return content


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _sync(model: type[models.Model], lookup: dict, values: dict) -> tuple[models.Model, str]:
    """Create or update one row, saving only when a value differs.

    Saving unchanged rows would add a history entry and bump ``updated_at`` on every run; the
    demo loader must leave a database it already filled exactly as it was.
    """
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        return model.objects.create(**lookup, **values), "created"
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if not changed:
        return obj, "unchanged"
    for name in changed:
        setattr(obj, name, values[name])
    obj.save()
    return obj, "updated"


def _set_members(manager, wanted: Iterable[int]) -> bool:
    wanted = set(wanted)
    if set(manager.values_list("pk", flat=True)) == wanted:
        return False
    manager.set(wanted)
    return True


def _cog_codes(spec: str) -> set[str]:
    kind, code = spec.split(":", 1)
    field_name = {
        "departement": "departement_id",
        "arrondissement": "arrondissement_id",
        "epci": "epci_id",
        "commune": "code",
    }[kind]
    return set(Commune.objects.filter(**{field_name: code}).values_list("code", flat=True))


def _territory(spec: str | None, report: ImportReport) -> Territory | None:
    """The saved territory named by ``spec`` (a slug, or a COG spec the demo import saves)."""
    from maillage.territory.services import UnknownTerritory, save_territory

    if not spec:
        return None
    try:
        return save_territory(spec)
    except UnknownTerritory:
        log.warning("démo : territoire %s absent de la base", spec)
        report.skipped["territoires absents"] = report.skipped.get("territoires absents", 0) + 1
        return None


def _write(content: DemoContent) -> ImportReport:
    report = ImportReport("dispositifs")
    tally = {"created": 0, "updated": 0}

    def note(state: str) -> None:
        if state in tally:
            tally[state] += 1

    skipped = report.skipped
    for spec in content.territories:
        codes: set[str] = set()
        for member in spec.members:
            codes |= _cog_codes(member)
        if not codes:
            skipped["territoires absents"] = skipped.get("territoires absents", 0) + 1
            continue
        territory, state = _sync(
            Territory,
            {"slug": spec.slug},
            {
                "name": spec.name,
                "kind": spec.kind,
                "code": ",".join(spec.members),
                "description": spec.description,
                "predefined": False,
            },
        )
        note(state)
        if _set_members(territory.communes, codes) and state == "unchanged":
            note("updated")

    finess = {s.finess for s in content.schemes if s.finess}
    finess |= {m for s in content.schemes for m in s.members}
    orgs = {
        o.finess_et: o
        for o in Organization.objects.filter(finess_et__in=finess).only("pk", "commune_id")
    }
    missing = sorted(finess - set(orgs))
    if missing:
        log.warning("démo : FINESS absents de la base : %s", ", ".join(missing))
        skipped["FINESS absents"] = len(missing)
    communes = set(
        Commune.objects.filter(
            code__in={s.commune for s in content.schemes if s.commune}
        ).values_list("code", flat=True)
    )

    schemes: dict[str, Scheme] = {}
    n_contacts = n_links = 0
    for spec in content.schemes:
        carrier = orgs.get(spec.finess) if spec.finess else None
        commune_id = spec.commune if spec.commune in communes else None
        if spec.commune and commune_id is None:
            skipped["communes absentes"] = skipped.get("communes absentes", 0) + 1
        if commune_id is None and carrier is not None:
            commune_id = carrier.commune_id
        perimeter = _territory(spec.perimeter, report)
        scheme, state = _sync(
            Scheme,
            {"slug": spec.slug},
            {
                "name": spec.name,
                "kind": spec.kind,
                "status": spec.status,
                "description": spec.description,
                "perimeter_id": perimeter.pk if perimeter else None,
                "organization_id": carrier.pk if carrier else None,
                "commune_id": commune_id,
                "finess": spec.finess,
                "email": spec.email,
                "website": spec.website,
                "source_note": spec.source_note,
                "public": True,
                "synthetic": False,
            },
        )
        note(state)
        schemes[spec.slug] = scheme
        members = [orgs[m].pk for m in spec.members if m in orgs]
        n_links += len(members)
        if _set_members(scheme.member_organizations, members) and state == "unchanged":
            note("updated")
        for contact in spec.contacts:
            _, c_state = _sync(
                SchemeContact,
                {"scheme": scheme, "name": contact.name},
                {"role": contact.role, "email": contact.email, "public": contact.public},
            )
            note(c_state)
            n_contacts += 1

    for spec in content.actions:
        territory = _territory(spec.territory, report)
        scheme = schemes.get(spec.scheme) if spec.scheme else None
        _, state = _sync(
            Action,
            {"slug": spec.slug},
            {
                "title": spec.title,
                "kind": spec.kind,
                "summary": spec.summary,
                "body": spec.body,
                "territory_id": territory.pk if territory else None,
                "scheme_id": scheme.pk if scheme else None,
                "tags": ", ".join(spec.tags),
                "link": spec.link,
                "author": spec.author,
                "visibility": spec.visibility,
                "source_note": spec.source_note,
                "source_date": spec.source_date,
            },
        )
        note(state)

    n_services = _write_services(content, note, skipped)

    report.counts = {
        "territoires": len(content.territories),
        "dispositifs": len(content.schemes),
        "contacts": n_contacts,
        "structures liées": n_links,
        "actions": len(content.actions),
        "services": n_services,
        "créés": tally["created"],
        "modifiés": tally["updated"],
    }
    return report


def _write_services(content: DemoContent, note, skipped: dict[str, int]) -> int:
    """The seeds' structures (non-FINESS) and services, with their places and weekly hours.

    Returns the number of services written; a service whose FINESS établissement or commune is
    missing from the database is skipped and counted, like the schemes' links.
    """
    codes = {s.commune for s in content.structures}
    codes |= {s.place.commune for s in content.services if s.place}
    communes = set(Commune.objects.filter(code__in=codes).values_list("code", flat=True))

    structures: dict[str, Organization] = {}
    for spec in content.structures:
        if spec.commune not in communes:
            skipped["communes absentes"] = skipped.get("communes absentes", 0) + 1
            continue
        org, state = _sync(
            Organization,
            {"name": spec.name, "finess_et": None, "source": Source.MANUAL},
            {
                "kind": spec.kind,
                "address": spec.address,
                "postal_code": spec.postal_code,
                "commune_id": spec.commune,
                "email": spec.email,
                "website": spec.website,
                "synthetic": False,
            },
        )
        note(state)
        structures[spec.key] = org

    wanted = {s.finess for s in content.services if s.finess}
    by_finess = {o.finess_et: o for o in Organization.objects.filter(finess_et__in=wanted)}
    missing = wanted - set(by_finess)
    if missing:
        log.warning("démo : services sans leur FINESS : %s", ", ".join(sorted(missing)))
        skipped["services sans FINESS"] = sum(s.finess in missing for s in content.services)

    written = 0
    for spec in content.services:
        org = by_finess.get(spec.finess) if spec.finess else structures.get(spec.structure)
        if org is None:
            continue
        location = None
        if spec.place is not None:
            if spec.place.commune not in communes:
                skipped["communes absentes"] = skipped.get("communes absentes", 0) + 1
            else:
                location, state = _sync(
                    Location,
                    {"organization": org, "name": spec.place.name},
                    {
                        "address": spec.place.address,
                        "postal_code": spec.place.postal_code,
                        "commune_id": spec.place.commune,
                        "teleconsultation": spec.teleconsultation,
                        "source": Source.MANUAL,
                        "synthetic": False,
                    },
                )
                note(state)
                scheme = Scheme.objects.filter(slug=spec.scheme).first() if spec.scheme else None
                if scheme is not None and scheme.location_id != location.pk:
                    scheme.location = location
                    scheme.save()  # saved, not updated: the move is in the scheme's history
                    note("updated")
        service, state = _sync(
            HealthcareService,
            {"slug": spec.slug},
            {
                "organization_id": org.pk,
                "location_id": location.pk if location else None,
                "name": spec.name,
                "category": spec.category,
                "description": spec.description,
                "phone": spec.phone,
                "email": spec.email,
                "hours_note": spec.hours_note,
                "teleconsultation": spec.teleconsultation,
                "public": True,
                "source": Source.MANUAL,
                "synthetic": False,
                "source_note": spec.source_note,
            },
        )
        if _set_hours(service, spec.hours) and state == "unchanged":
            state = "updated"
        note(state)
        written += 1
    return written


def _set_hours(service: HealthcareService, slots: tuple[SlotSpec, ...]) -> bool:
    """Make the service's weekly hours exactly ``slots``; False when they already were."""
    wanted = sorted((day, s.opens, s.closes) for s in slots for day in s.days)
    current = sorted(service.opening_hours.values_list("weekday", "opens", "closes"))
    if current == wanted:
        return False
    service.opening_hours.all().delete()
    for day, opens, closes in wanted:  # one by one: each row gets its history entry
        OpeningHours.objects.create(service=service, weekday=day, opens=opens, closes=closes)
    return True


def load_demo_directory() -> ImportReport:
    """Load the seeds' dispositifs and Actions (idempotent: upsert by slug, one transaction).

    Runs after the FINESS import; a FINESS number missing from the database (a partial import)
    leaves the link empty and is counted in ``report.skipped`` instead of failing.
    """
    return run_import("dispositifs", demo_content, _write)
