"""Activity of a bookable care site counted as the seeds count it.

The CPTS of Saint-Dizier reports its teleconsultation rooms in half-days opened, patients, acts
and acts per day ("63 demi-journées […] 450 patients, 478 actes réalisés, en moyenne 15 actes
(2/heure environ) par jour", seed 000; "915 téléconsultations réalisées", seed 003). This module
turns plain tables of sessions and bookings into those figures, per site and month, with no
Django and no personal data: a booking is described by a pseudonymous patient key, an age, a
commune code and whether the person has a médecin traitant.

Conventions, stated once:
- months and half-days are counted in local time (Europe/Paris): a session starting before
  13:00 is a morning, otherwise an afternoon; two sessions of one site in the same half-day
  count as one half-day;
- an *act* is a booking honoured (the person came and was seen); a *no-show* a booking the
  person did not attend; a cancelled booking counts for neither; the no-show rate is
  no-shows / (acts + no-shows), NaN when nothing was due;
- acts per day divide by the days the site opened, acts per hour by the hours it opened;
- the share without médecin traitant is taken over acts whose answer is known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from maillage.analytics.age_bands import AGE_BANDS, age_band

TIMEZONE = "Europe/Paris"

#: Booking statuses understood here (the scheduling app's own values).
HONOURED = "honoured"
NO_SHOW = "no_show"
CANCELLED = "cancelled"
BOOKED = "booked"

SESSION_COLUMNS = ("site", "start", "end", "slots")
BOOKING_COLUMNS = ("site", "start", "status", "patient", "has_gp", "age", "commune")

MONTHLY_COLUMNS = (
    "site",
    "month",
    "half_days",
    "days_open",
    "hours_open",
    "slots_offered",
    "booked",
    "acts",
    "no_shows",
    "no_show_rate",
    "distinct_patients",
    "acts_per_day",
    "acts_per_hour",
    "share_without_gp",
    *(band for band, _, _ in AGE_BANDS),
)


def _local(values: pd.Series) -> pd.Series:
    """Aware datetimes in local time (naive values are taken as UTC, as Django stores them)."""
    return pd.to_datetime(values, utc=True).dt.tz_convert(TIMEZONE)


def _check(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: colonnes manquantes {', '.join(missing)}")


def monthly_activity(sessions: pd.DataFrame, bookings: pd.DataFrame) -> pd.DataFrame:
    """One row per site and month (``YYYY-MM``) with the figures of :data:`MONTHLY_COLUMNS`.

    ``sessions``: one row per opening session (``site``, aware ``start`` and ``end``, ``slots``
    offered in it). ``bookings``: one row per booking (``site``, the slot's aware ``start``,
    ``status``, a pseudonymous ``patient`` key, ``has_gp`` True/False/None, ``age`` at the
    booking, or its band in an ``age_band`` column once anonymised, ``commune`` of residence).
    A month with sessions but no booking has zero acts; a month with bookings but no session (a
    site closed since) still appears.
    """
    _check(sessions, SESSION_COLUMNS, "séances")
    _check(bookings, BOOKING_COLUMNS, "réservations")

    s = sessions.loc[:, list(SESSION_COLUMNS)].copy()
    s["start"] = _local(s["start"])
    s["end"] = _local(s["end"])
    s["month"] = s["start"].dt.strftime("%Y-%m")
    s["day"] = s["start"].dt.date
    s["half"] = np.where(s["start"].dt.hour < 13, "am", "pm")
    s["hours"] = (s["end"] - s["start"]).dt.total_seconds() / 3600.0
    by_month = s.groupby(["site", "month"])
    opened = pd.DataFrame(
        {
            "half_days": by_month.apply(
                lambda g: g[["day", "half"]].drop_duplicates().shape[0], include_groups=False
            ),
            "days_open": by_month["day"].nunique(),
            "hours_open": by_month["hours"].sum(),
            "slots_offered": by_month["slots"].sum(),
        }
    )

    b = bookings.loc[:, list(BOOKING_COLUMNS)].copy()
    b["start"] = _local(b["start"])
    b["month"] = b["start"].dt.strftime("%Y-%m")
    b["band"] = b["age"].map(age_band)
    if "age_band" in bookings.columns:  # anonymised bookings keep the band, not the age
        b["band"] = b["band"].fillna(bookings["age_band"].replace("", None))
    acts_rows = b[b["status"] == HONOURED]
    grouped = b.groupby(["site", "month"])
    counted = pd.DataFrame(
        {
            "booked": grouped["status"].apply(lambda x: int((x != CANCELLED).sum())),
            "no_shows": grouped["status"].apply(lambda x: int((x == NO_SHOW).sum())),
        }
    )
    acts_grouped = acts_rows.groupby(["site", "month"])
    known_gp = acts_rows[acts_rows["has_gp"].notna()]
    without_gp = known_gp.groupby(["site", "month"])["has_gp"].apply(
        lambda x: float((~x.astype(bool)).mean())
    )
    bands = (
        acts_rows.dropna(subset=["band"])
        .groupby(["site", "month", "band"])
        .size()
        .unstack("band", fill_value=0)
    )
    acts = pd.DataFrame(
        {
            "acts": acts_grouped.size(),
            "distinct_patients": acts_grouped["patient"].nunique(),
            "share_without_gp": without_gp,
        }
    )

    table = opened.join(counted, how="outer").join(acts, how="outer").join(bands, how="left")
    for column in ("half_days", "days_open", "slots_offered", "booked", "no_shows", "acts"):
        table[column] = table[column].fillna(0).astype(int)
    table["hours_open"] = table["hours_open"].fillna(0.0)
    table["distinct_patients"] = table["distinct_patients"].fillna(0).astype(int)
    for label, _, _ in AGE_BANDS:
        table[label] = table[label].fillna(0).astype(int) if label in table else 0
    due = table["acts"] + table["no_shows"]
    table["no_show_rate"] = (table["no_shows"] / due.where(due > 0)).astype(float)
    table["acts_per_day"] = table["acts"] / table["days_open"].where(table["days_open"] > 0)
    table["acts_per_hour"] = table["acts"] / table["hours_open"].where(table["hours_open"] > 0)
    table = table.reset_index()
    return table.loc[:, list(MONTHLY_COLUMNS)].sort_values(["site", "month"], ignore_index=True)


def totals(monthly: pd.DataFrame, bookings: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per site over the whole period of ``monthly``.

    Sums add up; rates are recomputed from the sums (never averaged month by month); distinct
    patients over the period need the ``bookings`` (a person seen in two months counts once),
    and are NaN without them.
    """
    sums = monthly.groupby("site")[
        [
            "half_days",
            "days_open",
            "hours_open",
            "slots_offered",
            "booked",
            "acts",
            "no_shows",
            *(b for b, _, _ in AGE_BANDS),
        ]
    ].sum()
    due = sums["acts"] + sums["no_shows"]
    sums["no_show_rate"] = sums["no_shows"] / due.where(due > 0)
    sums["acts_per_day"] = sums["acts"] / sums["days_open"].where(sums["days_open"] > 0)
    sums["acts_per_hour"] = sums["acts"] / sums["hours_open"].where(sums["hours_open"] > 0)
    if bookings is not None and len(bookings):
        seen = bookings[bookings["status"] == HONOURED]
        patients = seen.groupby("site")["patient"].nunique()
        sums["distinct_patients"] = patients.reindex(sums.index).fillna(0).astype(int)
        known = seen[seen["has_gp"].notna()]
        sums["share_without_gp"] = known.groupby("site")["has_gp"].apply(
            lambda x: float((~x.astype(bool)).mean())
        )
    else:
        sums["distinct_patients"] = np.nan
        sums["share_without_gp"] = np.nan
    return sums.reset_index()


def residence(bookings: pd.DataFrame) -> pd.DataFrame:
    """Acts per site and commune of residence (for the map), largest first."""
    seen = bookings[(bookings["status"] == HONOURED) & bookings["commune"].notna()]
    counts = seen.groupby(["site", "commune"]).size().rename("acts").reset_index()
    return counts.sort_values(["site", "acts", "commune"], ascending=[True, False, True])
