"""The synthetic history of the teleconsultation rooms meets the figures of the seeds."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from maillage.analytics import care_activity as ca
from maillage.demo.care_history import generate


@pytest.fixture(scope="module")
def history():
    return generate(date(2020, 6, 1))


def _acts_before(history, site: str, day: str) -> pd.DataFrame:
    b = history.bookings
    return b[
        (b.site == site)
        & (b.status == "honoured")
        & (b.start < pd.Timestamp(day, tz="Europe/Paris"))
    ]


def test_calibrated_on_the_seeds(history):
    # seed 003: 915 teleconsultations at Clos Mortier, 200 at La Noue, on 14 November 2019
    assert len(_acts_before(history, "clos-mortier", "2019-11-15")) == pytest.approx(915, rel=0.03)
    assert len(_acts_before(history, "la-noue", "2019-11-15")) == pytest.approx(200, rel=0.06)
    # seed 000: 63 half-days, 478 acts, 450 patients, about 15 acts a day
    first = history.sessions[history.sessions.site == "clos-mortier"].iloc[:63]
    acts = _acts_before(history, "clos-mortier", "2100-01-01")
    acts = acts[acts.start < first.end.max()]
    assert len(acts) == pytest.approx(478, rel=0.04)
    assert acts.patient.nunique() == pytest.approx(450, rel=0.05)
    days = first.start.map(lambda d: d.date()).nunique()
    assert len(acts) / days == pytest.approx(15, abs=1.5)
    monthly = ca.monthly_activity(history.sessions, history.bookings)
    assert monthly[monthly.site == "clos-mortier"].acts.sum() == len(
        _acts_before(history, "clos-mortier", "2100-01-01")
    )
    # seed 003: 95 % without médecin traitant, patients from age 6
    seen = history.bookings[history.bookings.status == "honoured"]
    assert (~seen.has_gp).mean() == pytest.approx(0.95, abs=0.02)
    assert seen.age.min() >= 6


def test_opening_dates_holidays_and_determinism(history):
    s = history.sessions
    first = s.groupby("site").start.min()
    assert first["clos-mortier"].date() == date(2019, 4, 9)
    assert first["la-noue"].date() >= date(2019, 9, 15)
    days = set(s.start.map(lambda d: d.date()))
    assert date(2019, 11, 11) not in days  # Armistice, a public holiday (a Monday)
    assert date(2019, 12, 25) not in days
    assert s.start.max().date() < date(2020, 6, 1)
    again = generate(date(2020, 6, 1))
    pd.testing.assert_frame_equal(again.bookings, history.bookings)
    # one booking per slot of a session at most
    b = history.bookings
    assert not b.duplicated(["site", "start"]).any()
