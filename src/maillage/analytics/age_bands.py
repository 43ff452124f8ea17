"""Age bands of the activity tables, in plain Python.

Apart from :mod:`~maillage.analytics.care_activity` (which uses them) because the care models
keep a person's band once their data is anonymised: importing the bands must not import numpy
and pandas into every process at Django's start-up (~1 s of a command such as ``maillage
report``).
"""

from __future__ import annotations

import math

#: Age bands of the activity tables: INSEE's 15-year bands with children apart, the bands the
#: care apps keep once a person's data is anonymised (``maillage.care.people``).
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-5", 0, 5),
    ("6-14", 6, 14),
    ("15-29", 15, 29),
    ("30-44", 30, 44),
    ("45-59", 45, 59),
    ("60-74", 60, 74),
    ("75+", 75, None),
)


def age_band(age: float | None) -> str | None:
    """The band of :data:`AGE_BANDS` an age falls in (``None`` for an unknown or younger age)."""
    if age is None or (isinstance(age, float) and math.isnan(age)):
        return None
    for label, low, high in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return None
