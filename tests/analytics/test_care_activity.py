"""The activity figures of a care site, on tables small enough to count by hand."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from maillage.analytics import care_activity as ca

PARIS = ZoneInfo("Europe/Paris")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def _sessions(*rows: tuple[str, str, str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"site": s, "start": _at(a), "end": _at(b), "slots": n} for s, a, b, n in rows]
    )


def _bookings(*rows: tuple) -> pd.DataFrame:
    columns = ["site", "start", "status", "patient", "has_gp", "age", "commune"]
    return pd.DataFrame([dict(zip(columns, (r[0], _at(r[1]), *r[2:]), strict=True)) for r in rows])


def test_monthly_figures_counted_as_the_seeds_count_them():
    sessions = _sessions(
        ("cm", "2019-04-09 08:30", "2019-04-09 12:30", 8),
        ("cm", "2019-04-09 13:30", "2019-04-09 17:30", 8),
        ("cm", "2019-04-11 08:30", "2019-04-11 12:30", 8),
        # a second session in the same morning is the same half-day
        ("cm", "2019-04-11 10:00", "2019-04-11 12:00", 4),
    )
    bookings = _bookings(
        ("cm", "2019-04-09 08:30", "honoured", "p1", False, 34, "52448"),
        ("cm", "2019-04-09 09:00", "honoured", "p2", False, 70, "52448"),
        ("cm", "2019-04-09 14:00", "no_show", "p3", False, 12, "52045"),
        ("cm", "2019-04-11 08:30", "honoured", "p1", False, 34, "52448"),
        ("cm", "2019-04-11 09:00", "cancelled", "p4", True, 50, "52448"),
        ("cm", "2019-04-11 09:30", "honoured", "p5", True, 80, "52104"),
        # booked, its outcome not yet recorded: neither an act nor a no-show
        ("cm", "2019-04-11 10:00", "booked", "p6", False, 40, "52448"),
    )
    row = ca.monthly_activity(sessions, bookings).iloc[0]
    assert (row["site"], row["month"]) == ("cm", "2019-04")
    assert row["half_days"] == 3
    assert row["days_open"] == 2
    assert row["hours_open"] == pytest.approx(14.0)
    assert row["slots_offered"] == 28
    assert row["booked"] == 6  # the cancelled one is not
    assert row["acts"] == 4
    assert row["no_shows"] == 1
    assert row["no_show_rate"] == pytest.approx(1 / 5)
    assert row["distinct_patients"] == 3  # p1 came twice
    assert row["acts_per_day"] == pytest.approx(2.0)
    assert row["acts_per_hour"] == pytest.approx(4 / 14)
    assert row["share_without_gp"] == pytest.approx(3 / 4)
    assert (row["30-44"], row["60-74"], row["75+"], row["6-14"]) == (2, 1, 1, 0)


def test_months_are_local_and_a_month_without_bookings_has_zero_acts():
    # 30 April 23:30 in Paris is 21:30 UTC: April, whatever the storage's time zone
    late = datetime(2019, 4, 30, 21, 30, tzinfo=ZoneInfo("UTC"))
    sessions = pd.DataFrame(
        [
            {"site": "x", "start": late, "end": late + pd.Timedelta(hours=1), "slots": 2},
            {
                "site": "x",
                "start": _at("2019-05-02 08:30"),
                "end": _at("2019-05-02 12:30"),
                "slots": 8,
            },
        ]
    )
    bookings = pd.DataFrame(
        [
            {
                "site": "x",
                "start": late,
                "status": "honoured",
                "patient": "a",
                "has_gp": None,
                "age": None,
                "commune": None,
            }
        ]
    )
    table = ca.monthly_activity(sessions, bookings).set_index("month")
    assert table.loc["2019-04", "acts"] == 1
    assert table.loc["2019-04", "half_days"] == 1  # 23:30 is an afternoon
    assert table.loc["2019-05", "acts"] == 0
    assert math.isnan(table.loc["2019-05", "no_show_rate"])  # nothing was due: unknown, not 0
    assert math.isnan(table.loc["2019-04", "share_without_gp"])  # the answer is not known


def test_totals_recompute_rates_and_count_a_patient_once():
    sessions = _sessions(
        ("cm", "2019-04-09 08:30", "2019-04-09 12:30", 8),
        ("cm", "2019-05-09 08:30", "2019-05-09 12:30", 8),
    )
    bookings = _bookings(
        ("cm", "2019-04-09 08:30", "honoured", "p1", False, 34, "52448"),
        ("cm", "2019-05-09 08:30", "honoured", "p1", False, 34, "52448"),
        ("cm", "2019-05-09 09:00", "no_show", "p2", False, 34, "52448"),
        ("cm", "2019-05-09 09:30", "no_show", "p3", False, 34, "52448"),
        ("cm", "2019-05-09 10:00", "no_show", "p4", False, 34, "52448"),
    )
    monthly = ca.monthly_activity(sessions, bookings)
    total = ca.totals(monthly, bookings).iloc[0]
    assert total["acts"] == 2
    assert total["distinct_patients"] == 1
    # 3 no-shows of 5 due, not the mean of the months' rates (0 and 3/4)
    assert total["no_show_rate"] == pytest.approx(3 / 5)
    assert ca.residence(bookings).to_dict("records") == [
        {"site": "cm", "commune": "52448", "acts": 2}
    ]


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="patient"):
        ca.monthly_activity(
            _sessions(("cm", "2019-04-09 08:30", "2019-04-09 12:30", 8)),
            pd.DataFrame(columns=["site", "start", "status", "has_gp", "age", "commune"]),
        )


def test_anonymised_bookings_count_by_their_kept_band():
    sessions = _sessions(("cm", "2019-04-09 08:30", "2019-04-09 12:30", 8))
    bookings = _bookings(
        ("cm", "2019-04-09 08:30", "honoured", "p1", False, None, None),
        ("cm", "2019-04-09 09:00", "honoured", "p2", False, 40, "52448"),
    )
    bookings["age_band"] = ["75+", ""]
    row = ca.monthly_activity(sessions, bookings).iloc[0]
    assert (row["75+"], row["30-44"]) == (1, 1)
