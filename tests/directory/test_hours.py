"""Opening hours (``maillage.directory.hours``): hand-made weeks, exceptions and Paris time.

No database: the functions take anything shaped like OpeningHours / OpeningException, which is
what lets these cases be written by hand and read like a timetable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from maillage.directory.hours import (
    is_open,
    slots_text,
    status,
    status_text,
    time_text,
    upcoming_exceptions,
    weekly_table,
)

UTC = ZoneInfo("UTC")
PARIS = ZoneInfo("Europe/Paris")


@dataclass
class H:
    weekday: int
    opens: time
    closes: time


@dataclass
class X:
    start_date: date
    end_date: date
    closed: bool = True
    opens: time | None = None
    closes: time | None = None
    label: str = ""


def practice() -> list[H]:
    """Mon–Fri 8:30–12:00 and 14:00–19:00, Saturday morning 9:00–12:00, Sunday closed."""
    week = []
    for day in range(5):
        week += [H(day, time(8, 30), time(12)), H(day, time(14), time(19))]
    return [*week, H(5, time(9), time(12))]


# 2026-07-13 is a Monday; 2026-07-14 (Tuesday) the national holiday.
MONDAY = date(2026, 7, 13)


def test_time_and_slots_in_french() -> None:
    assert time_text(time(8, 30)) == "8 h 30"
    assert time_text(time(12)) == "12 h"
    two = [(time(8, 30), time(12)), (time(14), time(19))]
    assert slots_text(two) == "8 h 30 – 12 h, 14 h – 19 h"
    assert slots_text([]) == "fermé"


def test_weekly_pattern_without_exceptions() -> None:
    rows = weekly_table(practice(), [], MONDAY)
    assert [r.weekday for r in rows] == [
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    ]  # fmt: skip
    assert rows[0].is_today and not rows[1].is_today
    assert rows[0].text == "8 h 30 – 12 h, 14 h – 19 h"
    assert rows[0].slot_texts == ["8 h 30 – 12 h", "14 h – 19 h"]
    assert rows[5].text == "9 h – 12 h"
    assert rows[6].text == "fermé"
    assert all(r.exception is None for r in rows)


def test_table_starts_today_and_wraps_the_week() -> None:
    rows = weekly_table(practice(), [], date(2026, 7, 18))  # a Saturday
    assert [r.weekday for r in rows][:3] == ["samedi", "dimanche", "lundi"]
    assert rows[2].day == date(2026, 7, 20)
    assert rows[0].date_text == "samedi 18 juillet"


def test_closed_exception_closes_the_day_and_is_labelled() -> None:
    holiday = X(date(2026, 7, 14), date(2026, 7, 14), label="Fête nationale")
    rows = weekly_table(practice(), [holiday], MONDAY)
    assert rows[1].text == "fermé"
    assert rows[1].closed_by_exception and rows[1].exception == "Fête nationale"
    assert rows[1].usual  # the usual hours are kept to show what changed
    assert rows[2].text == "8 h 30 – 12 h, 14 h – 19 h"
    tuesday_10 = datetime(2026, 7, 14, 10, 0)
    assert not is_open(practice(), [holiday], tuesday_10)
    assert status_text(practice(), [holiday], tuesday_10) == (
        "Fermé aujourd'hui (Fête nationale) · ouvre demain à 8 h 30"
    )


def test_exception_with_special_hours_replaces_the_pattern() -> None:
    late = X(date(2026, 7, 15), date(2026, 7, 15), closed=False, opens=time(10),
             closes=time(21), label="Nocturne vaccination")  # fmt: skip
    rows = weekly_table(practice(), [late], MONDAY)
    assert rows[2].text == "10 h – 21 h"
    assert rows[2].exception == "Nocturne vaccination" and not rows[2].closed_by_exception
    assert is_open(practice(), [late], datetime(2026, 7, 15, 20, 30))
    assert not is_open(practice(), [late], datetime(2026, 7, 15, 9, 0))


def test_multi_day_closure_spans_a_weekend() -> None:
    leave = X(date(2026, 8, 7), date(2026, 8, 17), label="Congés d'été")  # Fri → Mon
    friday_noon = datetime(2026, 8, 7, 11, 0)
    assert not is_open(practice(), [leave], friday_noon)
    # reopens Tuesday 18 August, more than a day ahead: the weekday is named
    assert status_text(practice(), [leave], datetime(2026, 8, 14, 11, 0)) == (
        "Fermé aujourd'hui (Congés d'été) · ouvre mardi à 8 h 30"
    )
    assert status_text(practice(), [leave], friday_noon).endswith("ouvre le mardi 18 août à 8 h 30")
    assert upcoming_exceptions([leave], date(2026, 8, 10)) == [leave]
    assert upcoming_exceptions([leave], date(2026, 8, 18)) == []


def test_slot_boundaries() -> None:
    assert is_open(practice(), [], datetime(2026, 7, 13, 8, 30))
    assert not is_open(practice(), [], datetime(2026, 7, 13, 12, 0))
    assert status_text(practice(), [], datetime(2026, 7, 13, 12, 0)) == (
        "Fermé · ouvre aujourd'hui à 14 h"
    )
    assert status_text(practice(), [], datetime(2026, 7, 13, 18, 0)) == (
        "Ouvert maintenant · ferme à 19 h"
    )
    assert status_text(practice(), [], datetime(2026, 7, 18, 13, 0)) == (
        "Fermé · ouvre lundi à 8 h 30"
    )
    assert status_text(practice(), [], datetime(2026, 7, 17, 20, 0)) == (
        "Fermé · ouvre demain à 9 h"
    )


def test_aware_datetimes_are_read_in_paris_time() -> None:
    # 06:45 UTC in July is 08:45 in Paris (UTC+2): open.
    assert is_open(practice(), [], datetime(2026, 7, 13, 6, 45, tzinfo=UTC))
    # 06:45 UTC in January is 07:45 in Paris (UTC+1): not yet.
    assert not is_open(practice(), [], datetime(2026, 1, 12, 6, 45, tzinfo=UTC))
    assert is_open(practice(), [], datetime(2026, 1, 12, 7, 45, tzinfo=UTC))
    # 22:30 UTC on a Friday is already Saturday 00:30 in Paris.
    assert status_text(practice(), [], datetime(2026, 7, 17, 22, 30, tzinfo=UTC)) == (
        "Fermé · ouvre aujourd'hui à 9 h"
    )
    # The date of an exception is the Paris date too.
    holiday = X(date(2026, 7, 14), date(2026, 7, 14))
    assert not is_open(practice(), [holiday], datetime(2026, 7, 14, 8, 0, tzinfo=PARIS))
    assert is_open(practice(), [holiday], datetime(2026, 7, 13, 21, 59, tzinfo=UTC)) is False


def test_unknown_and_never_open() -> None:
    assert status([], [], datetime(2026, 7, 13, 10)) == {
        "known": False, "open": False, "text": "Horaires non renseignés",
    }  # fmt: skip
    closed_for_good = X(date(2026, 7, 1), date(2026, 12, 31), label="Travaux")
    text = status_text(practice(), [closed_for_good], datetime(2026, 7, 13, 10))
    assert text == "Fermé aujourd'hui (Travaux) · pas d'ouverture prévue dans les 14 jours"


def test_week_summary_groups_consecutive_days_with_the_same_slots():
    from maillage.directory.hours import week_summary

    rows = [H(d, time(8, 15), time(12, 15)) for d in range(5)]
    rows += [H(d, time(13, 30), time(17, 30)) for d in range(5)]
    rows += [H(5, time(9), time(12))]
    assert week_summary(rows) == (
        "du lundi au vendredi : 8 h 15 – 12 h 15, 13 h 30 – 17 h 30 ; samedi : 9 h – 12 h"
    )
    assert week_summary([H(1, time(9), time(12)), H(2, time(9), time(12))]) == (
        "mardi et mercredi : 9 h – 12 h"
    )
    # A gap breaks the run: Monday and Wednesday are not "du lundi au mercredi".
    assert week_summary([H(0, time(9), time(12)), H(2, time(9), time(12))]) == (
        "lundi : 9 h – 12 h ; mercredi : 9 h – 12 h"
    )
    assert week_summary([]) == ""
