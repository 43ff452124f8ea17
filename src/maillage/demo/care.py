"""The synthetic activity history of the teleconsultation rooms, loaded into the database.

:func:`maillage.demo.care_history.generate` draws the rooms' sessions and bookings since they
opened (calibrated on the seeds' figures); this module writes them as Slot and Booking rows of
a schedule of their own per room ("Historique synthétique", inactive, flagged synthetic), with
one Person per pseudonymous patient. Everything is flagged synthetic, and the people are born
anonymised: they are in the past, so only the statistics a real person keeps after the
retention period exist (age band, commune of residence, sex); no name, no birth date, no phone.

Fast (bulk inserts, about 30,000 bookings) and idempotent: a second run adds only the days
after the last loaded one (nothing when run twice the same day).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time

import pandas as pd
from django.db import models, transaction
from django.utils import timezone

from maillage.care.people.models import Person, Sex, age_band
from maillage.care.scheduling.models import (
    Booking,
    Channel,
    ConsultationMode,
    Schedule,
    Site,
    Slot,
    SlotType,
)
from maillage.care.scheduling.services.booking import REFERENCE_ALPHABET
from maillage.demo import care_history
from maillage.imports import ImportReport
from maillage.territory.models import Commune

HISTORY_SCHEDULE = "Historique synthétique (démonstration)"
SITE_SLUGS = {
    "clos-mortier": "teleconsultation-clos-mortier",
    "la-noue": "teleconsultation-la-noue",
}
BATCH = 2000


def _reference(taken: set[str]) -> str:
    while True:
        raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
        ref = f"{raw[:4]}-{raw[4:]}"
        if ref not in taken:
            taken.add(ref)
            return ref


def _sex(key: str) -> str:
    """A stable sex for a pseudonymous patient key (about half and half)."""
    return Sex.FEMALE if hashlib.sha256(key.encode()).digest()[0] % 100 < 54 else Sex.MALE


def load_care_history(until: dt.date | None = None) -> ImportReport:
    """Write the history up to ``until`` (excluded; default today) for the rooms the database
    has. Returns what was written."""
    started = time.perf_counter()
    until = until or timezone.localdate()
    report = ImportReport(
        "historique synthétique des salles",
        counts={"créneaux": 0, "rendez-vous": 0, "personnes": 0},
        skipped={"salles absentes": 0},
    )
    history = care_history.generate(until)
    step = dt.timedelta(minutes=int(care_history.plan()["slot_minutes"]))
    known_communes = set(
        Commune.objects.filter(code__in=history.bookings["commune"].unique().tolist()).values_list(
            "code", flat=True
        )
    )
    now = timezone.now()
    for key, slug in SITE_SLUGS.items():
        site = Site.objects.filter(slug=slug).first()
        if site is None:
            report.skipped["salles absentes"] += 1
            continue
        schedule, _ = Schedule.objects.get_or_create(
            site=site,
            name=HISTORY_SCHEDULE,
            defaults={
                "mode": ConsultationMode.VR, "active": False, "synthetic": True,
                "specialty_code": "SM54",
            },
        )  # fmt: skip
        sessions = history.sessions[history.sessions["site"] == key]
        bookings = history.bookings[history.bookings["site"] == key]
        person_of: dict[str, int] = {}  # pseudonymous patient key → Person id, for this run
        session_day = pd.Series([s.date() for s in sessions["start"]], index=sessions.index)
        booking_day = pd.Series([s.date() for s in bookings["start"]], index=bookings.index)
        # one short transaction per quarter (SQLite has one writer: bookings made meanwhile
        # wait a fraction of a second, not the whole load); generated_until says how far
        # the load went, so an interrupted load resumes where it stopped
        bounds = sorted({dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1) for d in session_day})
        for i, low in enumerate(bounds):
            high = bounds[i + 1] if i + 1 < len(bounds) else until
            with transaction.atomic():
                done = Schedule.objects.select_for_update().get(pk=schedule.pk).generated_until
                if done is not None and done >= high:
                    continue
                low = max(low, done) if done is not None else low
                chunk_s = sessions[(session_day >= low) & (session_day < high)]
                chunk_b = bookings[(booking_day >= low) & (booking_day < high)]
                _write(schedule, chunk_s, chunk_b, step, known_communes, now, report, person_of)
                Schedule.objects.filter(pk=schedule.pk).update(generated_until=high)
    report.seconds = time.perf_counter() - started
    return report


def _write(
    schedule: Schedule,
    sessions: pd.DataFrame,
    bookings: pd.DataFrame,
    step: dt.timedelta,
    communes: set[str],
    now: dt.datetime,
    report: ImportReport,
    person_of: dict[str, int],
) -> None:
    if not len(sessions):
        return
    booked_at = set(bookings["start"])
    slots = [
        Slot(
            schedule=schedule, start=start + i * step, end=start + (i + 1) * step, capacity=1,
            booked=1 if start + i * step in booked_at else 0, slot_type=SlotType.PUBLIC,
        )
        for start, count in zip(sessions["start"], sessions["slots"], strict=True)
        for i in range(int(count))
    ]  # fmt: skip
    Slot.objects.bulk_create(slots, batch_size=BATCH)
    report.counts["créneaux"] += len(slots)
    slot_ids = dict(
        Slot.objects.filter(schedule=schedule, start__in=list(booked_at)).values_list("start", "pk")
    )
    first = bookings.drop_duplicates("patient")
    first = first[~first["patient"].isin(list(person_of))]
    people = [
        Person(
            birth_name="", first_names="", birth_date=None, sex=_sex(row.patient),
            commune_id=row.commune if row.commune in communes else None,
            synthetic=True, anonymised_at=now, age_band_kept=age_band(int(row.age)),
            created_at=row.start,
        )
        for row in first.itertuples(index=False)
    ]  # fmt: skip
    Person.objects.bulk_create(people, batch_size=BATCH)
    if people and people[0].pk is None:  # a backend that does not return ids: read them back
        raise RuntimeError("bulk_create did not set primary keys")
    person_of.update(zip(first["patient"], (p.pk for p in people), strict=True))
    report.counts["personnes"] += len(people)
    taken = set(Booking.objects.values_list("reference", flat=True))
    rows = [
        Booking(
            slot_id=slot_ids[row.start], seat=0, person_id=person_of[row.patient],
            status=row.status, reference=_reference(taken),
            access_digest=secrets.token_hex(32),
            channel=Channel.PHONE if i % 3 else Channel.WEB,
            has_gp=bool(row.has_gp), synthetic=True, anonymised_at=now,
        )
        for i, row in enumerate(bookings.itertuples(index=False))
    ]  # fmt: skip
    Booking.objects.bulk_create(rows, batch_size=BATCH)
    report.counts["rendez-vous"] += len(rows)


def ensure_history_loaded() -> bool:
    """Load the history unless today's is loaded (for a background task). True if it wrote."""
    today = timezone.localdate()
    done = Schedule.objects.filter(name=HISTORY_SCHEDULE, generated_until__gte=today).count()
    if done >= Site.objects.filter(slug__in=SITE_SLUGS.values()).count() > 0:
        return False
    load_care_history(today)
    return True


try:  # Django >= 6
    from django.tasks import task
except ImportError:  # the backport
    from django_tasks import task


@task()
def load_history_task() -> str:
    """The history load as a background task: it costs about 30 s on SQLite (measured: 37,276
    slots, 29,327 bookings, 20,795 people), so ``maillage demo`` answers first and the
    embedded worker loads it."""
    return "déjà chargé" if not ensure_history_loaded() else "chargé"


def ensure_history_scheduled() -> bool:
    """Enqueue the load unless it is done for today or already waiting. True if enqueued."""
    from django_tasks_db.models import DBTaskResult

    today = timezone.localdate()
    rooms = Site.objects.filter(slug__in=SITE_SLUGS.values()).count()
    loaded = Schedule.objects.filter(name=HISTORY_SCHEDULE, generated_until__gte=today).count()
    if rooms == 0 or loaded >= rooms:
        return False
    func = load_history_task.func
    path = f"{func.__module__}.{func.__qualname__}"
    if DBTaskResult.objects.filter(task_path=path, status__in=["READY", "RUNNING"]).exists():
        return False
    load_history_task.enqueue()
    return True


#: Communes of the synthetic practices offering unscheduled-care slots (INSEE codes): around
#: the rooms (Saint-Dizier) and farther (Joinville, Chaumont, Langres), so that the finder
#: widens its radius from a rural commune.
PRACTICE_COMMUNES = ("52448", "52250", "52121", "52269", "52332", "52060")
PRACTICE_PREFIX = "snp-demo-"


def load_demo_practices(today: dt.date | None = None) -> ImportReport:
    """A few synthetic GP practices offering unscheduled-care slots on weekday evenings
    (17:00-19:00, 20 minutes), each linked to a synthetic GP of the directory practising in
    one of :data:`PRACTICE_COMMUNES`; flagged synthetic. Idempotent (upsert by slug)."""
    from maillage.care.scheduling.models import OpeningRule
    from maillage.care.scheduling.services.generation import generate
    from maillage.directory.models import PractitionerRole

    started = time.perf_counter()
    report = ImportReport("cabinets de soins non programmés", counts={"cabinets": 0})
    with transaction.atomic():
        for commune in PRACTICE_COMMUNES:
            role = (
                PractitionerRole.objects.filter(
                    synthetic=True,
                    active=True,
                    profession_code="10",
                    location__commune_id=commune,
                )  # fmt: skip
                .select_related("practitioner", "location__commune")
                .order_by("pk")
                .first()
            )
            if role is None:
                continue
            doctor = role.practitioner
            site, _ = Site.objects.update_or_create(
                slug=f"{PRACTICE_PREFIX}{commune}",
                defaults={
                    "name": f"Cabinet du Dr {doctor.given_name} {doctor.family_name}".strip(),
                    "kind": "unscheduled_care", "practitioner_role": role,
                    "location": role.location, "organization": role.organization,
                    "address": role.location.address, "postal_code": role.location.postal_code,
                    "commune_id": commune, "phone": role.location.phone, "synthetic": True,
                    "active": True,
                    "source_note": "Cabinet synthétique de démonstration (soins non programmés).",
                },
            )  # fmt: skip
            schedule, _ = Schedule.objects.get_or_create(
                site=site, name=f"Soins non programmés — {site.name}",
                defaults={"mode": ConsultationMode.AMB, "practitioner_role": role,
                          "synthetic": True, "specialty_code": "SM54"},
            )  # fmt: skip
            OpeningRule.objects.get_or_create(
                schedule=schedule, label="Soirs de semaine (soins non programmés)",
                defaults={"weekdays": "01234", "start_time": dt.time(17),
                          "end_time": dt.time(19), "slot_minutes": 20,
                          "valid_from": dt.date(2026, 1, 1)},
            )  # fmt: skip
            generate(schedule, today=today)
            report.counts["cabinets"] += 1
    report.seconds = time.perf_counter() - started
    return report


#: The schedule of each room that holds the past bookings addressed to the demo GP (inactive:
#: generation never plans it, and the past is never touched).
ADDRESSED_SCHEDULE = "Rendez-vous adressés au médecin de démonstration"
#: Synthetic patients of the demo GP (invented names, ARCEP fiction numbers 03 53 01 …):
#: (birth name, first names, birth date, sex, commune, phone).
GP_PATIENTS = (
    ("Vaucouleurs", "Odette Marie", dt.date(1944, 2, 11), "F", "52121", "+33353019101"),
    ("Tranchevent", "Lucien Paul", dt.date(1958, 9, 30), "M", "52448", "+33353019102"),
    ("Pimparel", "Anaïs Claire", dt.date(1987, 6, 3), "F", "52121", "+33353019103"),
    ("Moustardier", "Gaston Henri", dt.date(1939, 12, 24), "M", "52250", "+33353019104"),
    ("Folleville", "Roger", dt.date(1966, 1, 8), "M", "52060", "+33353019105"),
    ("Cassegrain", "Élise Jeanne", dt.date(1975, 4, 17), "F", "52121", "+33353019106"),
    ("Bellecombe", "Marius", dt.date(1951, 7, 2), "M", "52448", "+33353019107"),
)
#: The past visits: (patient, days ago, local hour, room, status, act, outcome, note, report:
#: "" none, "sent", "acknowledged"). Patient 4 has no médecin traitant: the nurse sent him to
#: the demo GP as médecin relais.
GP_PAST = (
    (
        0,
        20,
        10,
        "clos-mortier",
        "honoured",
        "TCG",
        "back_to_gp",
        "Bronchite aiguë, pas de signe de gravité ; ordonnance envoyée.",
        "acknowledged",
    ),
    (
        1,
        9,
        14,
        "la-noue",
        "honoured",
        "TCG",
        "back_to_gp",
        "Lombalgie commune ; à revoir si pas d'amélioration sous 10 jours.",
        "sent",
    ),
    (2, 6, 9, "clos-mortier", "no_show", "", "", "", ""),
    (
        3,
        3,
        11,
        "clos-mortier",
        "honoured",
        "TCG",
        "specialist",
        "Souffle cardiaque à explorer : avis cardiologique demandé.",
        "sent",
    ),
    (
        4,
        2,
        15,
        "la-noue",
        "honoured",
        "TCG",
        "relay",
        "Pas de médecin traitant ; suivi de l'hypertension à reprendre.",
        "",
    ),
)
GP_REASONS = ("Toux et fièvre depuis trois jours", "Douleur lombaire", "Renouvellement",
              "Essoufflement à l'effort", "Tension à contrôler", "Éruption cutanée",
              "Douleur à l'oreille")  # fmt: skip


def _demo_gp_role():
    from maillage.demo.accounts import DEMO_GP_COMMUNE, demo_gp
    from maillage.directory.models import PractitionerRole

    doctor = demo_gp()
    if doctor is None:
        return None
    roles = PractitionerRole.objects.filter(practitioner=doctor, profession_code="10")
    return (
        roles.filter(location__commune_id=DEMO_GP_COMMUNE).order_by("pk").first()
        or roles.order_by("pk").first()
    )


def load_demo_gp_bookings(now: dt.datetime | None = None) -> ImportReport:
    """A few synthetic bookings addressed to the demo GP (the professional demo account's
    practitioner), so that their page "Mes patients" is not empty: past visits at both rooms
    with their outcome and report (one sent to them as médecin relais), and two upcoming
    bookings on the rooms' free slots. Everything is flagged synthetic. Idempotent: nothing
    is written while a booking addressed to the demo GP is less than 30 days old."""
    from maillage.care.people.models import IdentityStatus
    from maillage.care.scheduling.models import BookingStatus, Visit
    from maillage.care.scheduling.services.booking import BookingError, book, new_reference
    from maillage.care.scheduling.services.generation import local_zone

    started = time.perf_counter()
    now = now or timezone.now()
    report = ImportReport("rendez-vous adressés au médecin de démonstration",
                          counts={"rendez-vous": 0}, skipped={"salles absentes": 0})  # fmt: skip
    role = _demo_gp_role()
    sites = {key: Site.objects.filter(slug=slug).first() for key, slug in SITE_SLUGS.items()}
    if role is None or not all(sites.values()):
        report.skipped["salles absentes"] += 1
        return report
    recent = Booking.objects.filter(
        synthetic=True, anonymised_at__isnull=True, slot__start__gte=now - dt.timedelta(days=30)
    ).filter(models.Q(gp=role) | models.Q(visit__relay=role))
    if recent.exists():
        return report
    zone = local_zone()
    address = role.practitioner.mssante
    with transaction.atomic():
        people = [
            Person.objects.create(
                birth_name=name, first_names=first, birth_date=born, sex=sex,
                commune_id=commune if Commune.objects.filter(code=commune).exists() else None,
                phone=phone, identity_status=IdentityStatus.PROVISIONAL, synthetic=True,
                has_attending_doctor=i != 4, attending_doctor=None if i == 4 else role.practitioner,
            )
            for i, (name, first, born, sex, commune, phone) in enumerate(GP_PATIENTS)
        ]  # fmt: skip
        for i, days, hour, room, status, act, outcome, note, report_step in GP_PAST:
            schedule, _ = Schedule.objects.get_or_create(
                site=sites[room], name=ADDRESSED_SCHEDULE,
                defaults={"mode": ConsultationMode.VR, "active": False, "synthetic": True,
                          "specialty_code": "SM54"},
            )  # fmt: skip
            day = (now.astimezone(zone) - dt.timedelta(days=days)).date()
            start = dt.datetime.combine(day, dt.time(hour), zone)
            slot, _ = Slot.objects.get_or_create(
                schedule=schedule, start=start,
                defaults={"end": start + dt.timedelta(minutes=30), "capacity": 1},
            )  # fmt: skip
            if slot.booked >= slot.capacity:
                continue
            relay = outcome == "relay"
            booking = Booking.objects.create(
                slot=slot, seat=slot.booked, person=people[i], status=status,
                reference=new_reference(), access_digest=secrets.token_hex(32),
                channel=Channel.PHONE if i % 2 else Channel.WEB, reason=GP_REASONS[i],
                has_gp=not relay, gp=None if relay else role, synthetic=True,
            )  # fmt: skip
            Slot.objects.filter(pk=slot.pk).update(booked=slot.booked + 1)
            if status == BookingStatus.HONOURED:
                sent = start + dt.timedelta(hours=2)
                Visit.objects.create(
                    booking=booking, arrived_at=start - dt.timedelta(minutes=5), act=act,
                    outcome=outcome, relay=role if relay else None, note=note,
                    report_to=address if report_step else "",
                    report_sent_at=sent if report_step else None,
                    report_acknowledged_at=(
                        sent + dt.timedelta(days=1) if report_step == "acknowledged" else None
                    ),
                )  # fmt: skip
            report.counts["rendez-vous"] += 1
        # two upcoming bookings on the rooms' real free slots (from tomorrow on)
        tomorrow = dt.datetime.combine(
            (now.astimezone(zone) + dt.timedelta(days=1)).date(), dt.time(0), zone
        )
        for i, room in ((5, "clos-mortier"), (6, "la-noue")):
            free = (
                Slot.objects.filter(
                    schedule__site=sites[room],
                    schedule__active=True,
                    start__gte=tomorrow,
                    blocked=False,
                    slot_type=SlotType.PUBLIC,
                    booked__lt=models.F("capacity"),
                )  # fmt: skip
                .select_related("schedule__site")
                .order_by("start")
                .first()
            )
            if free is None:
                continue
            try:
                book(free, people[i], channel=Channel.PHONE, reason=GP_REASONS[i],
                     has_gp=True, gp=role, now=now)  # fmt: skip
            except BookingError:
                continue
            report.counts["rendez-vous"] += 1
    report.seconds = time.perf_counter() - started
    return report
