"""Retention: personal data anonymised after the configured period, statistics kept."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

from maillage.accounts.models import AuditEvent
from maillage.care.people import retention
from maillage.care.people.models import Person
from maillage.care.people.services import create_person, record_consent

from .conftest import TRAITS

PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=PARIS)


def _person(created: dt.datetime, **traits) -> Person:
    person = create_person(None, "test", **{**TRAITS, "commune_id": "52448", **traits})
    Person.objects.filter(pk=person.pk).update(created_at=created)
    person.refresh_from_db()
    return person


def test_cutoff_is_calendar_months():
    assert retention.cutoff(NOW, 12) == dt.datetime(2025, 12, 3, 10, 0, tzinfo=PARIS)
    end_of_march = dt.datetime(2026, 3, 31, 12, 0, tzinfo=PARIS)
    assert retention.cutoff(end_of_march, 1).date() == dt.date(2026, 2, 28)


def test_anonymised_after_twelve_months_statistics_kept(db, registries):
    old = _person(NOW - dt.timedelta(days=370))
    record_consent(old, "teleconsultation", True, "web")
    recent = _person(NOW - dt.timedelta(days=300))

    counts = retention.anonymise_expired(NOW)

    assert counts["people.person"] == 1
    old.refresh_from_db()
    for name in ("birth_name", "first_names", "used_first_name", "phone", "email", "notes"):
        assert getattr(old, name) == "", name
    assert old.birth_date is None and old.anonymised_at == NOW
    # the statistics: sex, commune, age band (at first contact: 84 in late 2025)
    assert (old.sex, old.commune_id, old.age_band_kept) == ("F", "52448", "75+")
    assert old.age_band_on(NOW.date()) == "75+"
    assert old.display_name == "Personne anonymisée"
    assert old.consents.count() == 1, "consents kept (purpose, date), the person is anonymous"
    recent.refresh_from_db()
    assert recent.birth_name == "ZORGBELIN" and recent.anonymised_at is None
    event = AuditEvent.objects.get(action="anonymise")
    assert event.purpose == "retention" and event.details == {"model": "people.person", "count": 1}


def test_a_second_run_changes_nothing(db, registries):
    old = _person(NOW - dt.timedelta(days=400))
    retention.anonymise_expired(NOW)
    old.refresh_from_db()
    first = (old.anonymised_at, old.age_band_kept)
    later = NOW + dt.timedelta(days=1)
    assert retention.anonymise_expired(later) == {"people.person": 0}
    old.refresh_from_db()
    assert (old.anonymised_at, old.age_band_kept) == first
    assert AuditEvent.objects.filter(action="anonymise").count() == 1


def test_the_period_is_a_setting(db, registries, settings):
    person = _person(NOW - dt.timedelta(days=200))
    assert retention.anonymise_expired(NOW)["people.person"] == 0
    settings.MAILLAGE_CARE_RETENTION_MONTHS = 6
    assert retention.anonymise_expired(NOW)["people.person"] == 1
    person.refresh_from_db()
    assert person.anonymised_at is not None


def test_a_live_record_keeps_its_person_until_its_app_anonymises_it(db, registries, visit_table):
    Visit = visit_table
    person = _person(NOW - dt.timedelta(days=500))
    visit = Visit.objects.create(person=person, at=NOW - dt.timedelta(days=100), reason="toux")
    assert retention.anonymise_expired(NOW)["people.person"] == 0, "a visit 100 days ago"
    person.refresh_from_db()
    assert person.birth_name == "ZORGBELIN"

    def anonymise_visits(cutoff: dt.datetime) -> int:
        return Visit.objects.filter(at__lt=cutoff, anonymised_at__isnull=True).update(
            reason="", anonymised_at=timezone.now()
        )

    retention.register(anonymise_visits)
    later = NOW + dt.timedelta(days=300)
    counts = retention.anonymise_expired(later)
    assert counts["people.person"] == 1
    assert sum(v for k, v in counts.items() if k.endswith("anonymise_visits")) == 1
    visit.refresh_from_db()
    person.refresh_from_db()
    assert visit.reason == "" and visit.person_id == person.pk, "the visit still counts"
    assert person.birth_name == "" and person.age_band_kept == "75+"


def test_next_run_is_three_in_the_morning_in_paris_across_clock_changes():
    from maillage.care.people.tasks import next_run

    # the night of the March change (29 March 2026, 02:00 -> 03:00) and of October's
    before_march = dt.datetime(2026, 3, 28, 23, 30, tzinfo=PARIS)
    assert next_run(before_march) == dt.datetime(2026, 3, 29, 3, 0, tzinfo=PARIS)
    assert next_run(before_march).utcoffset() == dt.timedelta(hours=2)
    before_october = dt.datetime(2026, 10, 25, 1, 0, tzinfo=PARIS)
    assert next_run(before_october) == dt.datetime(2026, 10, 25, 3, 0, tzinfo=PARIS)
    assert next_run(before_october).utcoffset() == dt.timedelta(hours=1)
    assert next_run(dt.datetime(2026, 6, 1, 3, 0, tzinfo=PARIS)).date() == dt.date(2026, 6, 2)


def test_the_worker_runs_retention_nightly(db, registries, worker):
    from django_tasks_db.models import DBTaskResult

    from maillage.care.people.tasks import anonymise_expired_daily, ensure_scheduled

    path = anonymise_expired_daily.module_path
    old = _person(timezone.now() - dt.timedelta(days=400))
    worker()  # a worker starting schedules the coming night's run, and nothing runs now
    waiting = DBTaskResult.objects.get(task_path=path, status="READY")
    assert waiting.run_after > timezone.now()
    assert timezone.localtime(waiting.run_after).time() == dt.time(3, 0)
    assert not ensure_scheduled(), "one run waiting is enough"
    old.refresh_from_db()
    assert old.anonymised_at is None

    DBTaskResult.objects.filter(pk=waiting.pk).update(run_after=timezone.now())  # the night came
    worker()

    old.refresh_from_db()
    assert old.anonymised_at is not None and old.birth_name == ""
    done = DBTaskResult.objects.get(pk=waiting.pk)
    assert done.status == "SUCCESSFUL" and done.return_value == {"people.person": 1}
    after = DBTaskResult.objects.filter(task_path=path, status="READY")
    assert after.count() == 1 and after.get().run_after > timezone.now(), "tomorrow's run"
