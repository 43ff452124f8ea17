"""Discharge letters' services on the real database: validation in French, scope on create,
indicators on a hand-computed set (exact numbers), acknowledgement in the pro space and by the
signed link, summary part, retention, erasure and merge."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from maillage.accounts.models import AuditEvent
from maillage.analytics import letters as analytics
from maillage.care.letters.models import Discharge, discharge_errors
from maillage.care.letters.personal_data import anonymise_discharges, erase_discharges
from maillage.care.letters.services import discharges as service
from maillage.care.letters.services.summary import letters_figures
from maillage.care.people import summary
from maillage.care.people.models import Person

from .conftest import SAINT_DIZIER, WASSY, discharge, paris

NOW = paris(2026, 5, 1, 12, 0)


@pytest.mark.parametrize(
    ("dates", "field", "message"),
    [
        ({"discharge_at": paris(2026, 3, 1, 10)}, "discharge_at", "La sortie ne peut pas précéder"),
        ({"admission_at": paris(2026, 6, 1)}, "admission_at", "La date d'entrée est dans le futur"),
        (
            {"discharge_at": paris(2026, 6, 1)},
            "discharge_at",
            "La date de sortie est dans le futur",
        ),
        (
            {"letter_sent_at": paris(2026, 3, 9, 10), "channel": "mssante"},
            "letter_sent_at",
            "La lettre ne peut pas être envoyée avant la sortie",
        ),
        ({"letter_sent_at": paris(2026, 3, 9, 12)}, "channel", "Indiquez le canal"),
        ({"channel": "post"}, "letter_sent_at", "Indiquez la date d'envoi"),
        (
            {"letter_sent_at": paris(2026, 3, 10), "channel": "post", "ack": paris(2026, 3, 9, 12)},
            "acknowledged_at",
            "La réception ne peut pas précéder",
        ),
    ],
)
def test_dates_that_make_no_sense_are_refused_in_french(dates, field, message):
    values = {
        "admission_at": paris(2026, 3, 2, 10),
        "discharge_at": paris(2026, 3, 9, 11),
        "letter_sent_at": None,
        "channel": "",
        "ack": None,
        **dates,
    }
    errors = discharge_errors(
        values["admission_at"], values["discharge_at"], values["letter_sent_at"],
        values["channel"], values["ack"], NOW,
    )  # fmt: skip
    assert message in errors[field]


def test_sensible_dates_pass():
    assert (
        discharge_errors(
            paris(2026, 3, 2), paris(2026, 3, 9, 11), paris(2026, 3, 9, 11), "handed", None, NOW
        )
        == {}
    )


def test_a_referent_records_a_discharge_of_their_hospital_audited(
    referent_sd, hospital_sd, doctor_a
):
    made = discharge(referent_sd, hospital_sd, doctor_a)
    assert made.person.birth_name == "ZORGBELIN" and made.created_by == referent_sd
    events = AuditEvent.objects.filter(target_type="letters.discharge", action="create")
    assert events.filter(target_id=str(made.pk), user=referent_sd).exists()
    # the same person again: identity reused, not a second Person
    discharge(
        referent_sd, hospital_sd, admission_at=paris(2026, 4, 1), discharge_at=paris(2026, 4, 2)
    )
    assert Person.objects.filter(birth_name="ZORGBELIN").count() == 1


def test_a_referent_cannot_record_for_another_hospital_nothing_written(referent_sd, hospital_ch):
    with pytest.raises(PermissionDenied):
        discharge(referent_sd, hospital_ch)
    assert (
        not Discharge.objects.exists()
        and not Person.objects.filter(birth_name="ZORGBELIN").exists()
    )


def test_record_refuses_a_discharge_before_admission_nothing_written(referent_sd, hospital_sd):
    with pytest.raises(ValidationError) as refused:
        discharge(referent_sd, hospital_sd, discharge_at=paris(2026, 3, 1))
    assert "La sortie ne peut pas précéder l'entrée." in refused.value.messages
    assert not Discharge.objects.exists() and not Person.objects.exists()


# --- indicators: a hand-computed set ------------------------------------------------------------

STAYS = [
    # Monday 11:00, sent 15:00 the same day (4 h), acknowledged
    ("H", "S", paris(2026, 3, 9, 11), paris(2026, 3, 9, 15), paris(2026, 3, 10, 9)),
    # Friday 19:00 (evening), sent Monday 09:00 (62 h)
    ("H", "S", paris(2026, 3, 13, 19), paris(2026, 3, 16, 9), None),
    # Saturday 10:00 (weekend), sent 10 days later (240 h)
    ("H", "S", paris(2026, 3, 14, 10), paris(2026, 3, 24, 10), None),
    # Sunday 20:00 (weekend, evening), never sent
    ("H", "S", paris(2026, 3, 15, 20), None, None),
    # Wednesday 00:30 Paris (still 31 March in UTC), sent 10:00: same Paris day, April, 9.5 h
    ("H", "T", paris(2026, 4, 1, 0, 30), paris(2026, 4, 1, 10), None),
]


def test_indicators_by_hospital_service_and_month_exact():
    stays = [analytics.Stay(*s) for s in STAYS]
    rows = analytics.indicators(stays)
    assert rows == [
        {
            "hospital": "H", "service": "S", "month": "2026-03", "discharges": 4, "sent": 3,
            "median_delay_hours": 62.0, "sent_same_day_share": 0.25,
            "sent_within_7_days_share": 0.5, "acknowledged_share": 0.333,
            "evening_share": 0.5, "weekend_share": 0.5,
        },
        {
            "hospital": "H", "service": "T", "month": "2026-04", "discharges": 1, "sent": 1,
            "median_delay_hours": 9.5, "sent_same_day_share": 1.0,
            "sent_within_7_days_share": 1.0, "acknowledged_share": 0.0,
            "evening_share": 0.0, "weekend_share": 0.0,
        },
    ]  # fmt: skip
    (whole,) = analytics.indicators(stays, ("hospital",))
    assert whole["median_delay_hours"] == 35.8 and whole["discharges"] == 5
    assert whole["sent_same_day_share"] == 0.4 and whole["evening_share"] == 0.4
    assert [s.discharge_at for s in analytics.overdue(stays, paris(2026, 3, 18), 2)] == [
        paris(2026, 3, 15, 20)
    ]


def _load(user, hospital, gp=None):
    for n, (_, svc, out, sent, ack) in enumerate(STAYS):
        made = discharge(
            user, hospital, gp, name=f"PATIENT{'ABCDE'[n]}", service=svc,
            admission_at=out - dt.timedelta(days=2), discharge_at=out, letter_sent_at=sent,
            channel="mssante" if sent else "",
        )  # fmt: skip
        if ack:
            Discharge.objects.filter(pk=made.pk).update(acknowledged_at=ack)


def test_summary_part_and_the_service_table_give_the_same_exact_figures(
    referent_sd, hospital_sd, referent_ch, hospital_ch
):
    _load(referent_sd, hospital_sd)
    discharge(referent_ch, hospital_ch)  # Chaumont: not in the communes asked
    part = letters_figures({SAINT_DIZIER, WASSY}, NOW)
    assert part["discharges"] == 5 and [h["name"] for h in part["hospitals"]] == [hospital_sd.name]
    (row,) = part["hospitals"]
    assert row["median_delay_hours"] == 35.8  # median of 4, 62, 240, 9.5
    assert row["sent_same_day_share"] == 0.4 and row["sent_within_7_days_share"] == 0.6
    assert row["acknowledged_share"] == 0.25 and row["weekend_share"] == 0.4
    assert summary.summary({SAINT_DIZIER}, NOW)["letters"] == part
    rows = service.table(Discharge.objects.filter(hospital=hospital_sd))
    assert [(r["service"], r["month"], r["median_delay_hours"]) for r in rows] == [
        ("S", "2026-03", 62.0),
        ("T", "2026-04", 9.5),
    ]


def test_overdue_lists_only_the_referents_unsent_letters(
    referent_sd, hospital_sd, referent_ch, hospital_ch
):
    _load(referent_sd, hospital_sd)
    discharge(referent_ch, hospital_ch, name="AUTRE")
    late = service.overdue(referent_sd, now=paris(2026, 4, 10))
    assert [d.discharge_at for d in late] == [paris(2026, 3, 15, 20)]
    assert AuditEvent.objects.filter(user=referent_sd, details__ids=[late[0].pk]).exists()


# --- acknowledgement ------------------------------------------------------------------------------


def test_the_gp_acknowledges_their_own_patients_letter_only(
    referent_sd, hospital_sd, gp_a, gp_b, doctor_a
):
    made = discharge(
        referent_sd, hospital_sd, doctor_a, letter_sent_at=paris(2026, 3, 9, 15), channel="mssante"
    )
    with pytest.raises(Discharge.DoesNotExist):
        service.acknowledge(gp_b, made.pk)
    with pytest.raises(Discharge.DoesNotExist):
        service.acknowledge(referent_sd, made.pk)  # the hospital does not acknowledge for the GP
    done = service.acknowledge(gp_a, made.pk)
    assert done.acknowledged_at is not None and done.acknowledged_by == gp_a
    first = done.acknowledged_at
    assert service.acknowledge(gp_a, made.pk).acknowledged_at == first  # idempotent


def test_a_letter_not_sent_cannot_be_acknowledged(referent_sd, hospital_sd, gp_a, doctor_a):
    made = discharge(referent_sd, hospital_sd, doctor_a)
    with pytest.raises(ValidationError):
        service.acknowledge(gp_a, made.pk)
    assert Discharge.objects.get(pk=made.pk).acknowledged_at is None


def test_the_signed_link_names_one_discharge_and_its_gp(
    referent_sd, hospital_sd, doctor_a, doctor_b
):
    made = discharge(
        referent_sd, hospital_sd, doctor_a, letter_sent_at=paris(2026, 3, 9, 15), channel="mssante"
    )
    token = service.signed_token(made)
    assert service.by_token(token).pk == made.pk
    with pytest.raises(Discharge.DoesNotExist):
        service.by_token(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    Discharge.objects.filter(pk=made.pk).update(gp=doctor_b)
    with pytest.raises(Discharge.DoesNotExist):
        service.acknowledge_by_token(token)
    assert Discharge.objects.get(pk=made.pk).acknowledged_at is None


# --- retention, rights, merge ---------------------------------------------------------------------


def test_retention_and_erasure_keep_the_figures_and_forget_the_rest(
    referent_sd, hospital_sd, doctor_a
):
    old = discharge(referent_sd, hospital_sd, doctor_a, stay_number="S1", note="Chute à domicile")
    assert anonymise_discharges(paris(2026, 3, 1)) == 0
    assert anonymise_discharges(paris(2026, 4, 1)) == 1
    old.refresh_from_db()
    assert (old.note, old.stay_number, old.gp_id) == ("", "", None) and old.anonymised_at
    assert old.discharge_at == paris(2026, 3, 9, 11)
    assert anonymise_discharges(paris(2026, 4, 1)) == 0  # idempotent
    other = discharge(referent_sd, hospital_sd, name="DEUXIEME", note="x")
    assert erase_discharges(other.person) == 1


def test_a_merge_moves_the_discharges_to_the_kept_person(referent_sd, hospital_sd):
    from maillage.care.letters.personal_data import merge_discharges

    first = discharge(referent_sd, hospital_sd)
    second = discharge(referent_sd, hospital_sd, name="ZORGBELLIN")
    assert merge_discharges(first.person, second.person) == 1
    assert Discharge.objects.filter(person=first.person).count() == 2


def test_the_indicators_page_groups_services_under_their_hospital_months_newest_first():
    services = [
        {"hospital": "A", "service": "Cardiologie", "discharges": 3},
        {"hospital": "A", "service": "Gériatrie", "discharges": 1},
        {"hospital": "B", "service": "Cardiologie", "discharges": 2},
    ]
    months = [
        {"hospital": "A", "service": "Cardiologie", "month": "2026-01", "discharges": 1},
        {"hospital": "A", "service": "Cardiologie", "month": "2026-02", "discharges": 2},
        {"hospital": "B", "service": "Cardiologie", "month": "2026-02", "discharges": 2},
        {"hospital": "A", "service": "Gériatrie", "month": "2026-01", "discharges": 1},
    ]
    groups = service.by_hospital_and_service(services, months)
    assert [(g["name"], [s["service"] for s in g["services"]]) for g in groups] == [
        ("A", ["Cardiologie", "Gériatrie"]),
        ("B", ["Cardiologie"]),
    ]
    cardio_a = groups[0]["services"][0]
    assert [m["month"] for m in cardio_a["months"]] == ["2026-02", "2026-01"]
    assert [m["discharges"] for m in groups[1]["services"][0]["months"]] == [2]
