"""French number formatting shared by the HTML template, the SVG maps and charts.

Kept free of Django so that the maps and charts (and any notebook) format numbers exactly as the
report does. French typography (Imprimerie nationale, INSEE usage):

- thousands are grouped with a narrow no-break space (U+202F): ``58 982``;
- the decimal separator is a comma: ``6,1``;
- units and ``%`` are separated from the number by a narrow no-break space: ``45 %``, ``14,2 min``;
- a missing value is written ``n.d.`` (non disponible), as in ORS and CartoSanté tables.

Rounding is half-up on the decimal representation (``2,45`` → ``2,5``), which is what readers
of a printed table expect; Python's ``round`` would give the binary half-even result.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

NNBSP = "\u202f"  # narrow no-break space: thousands, before % and units
NBSP = "\u00a0"  # no-break space: before ':'
MISSING = "n.d."

_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def to_number(value: object) -> float | None:
    """Coerce a figure to a float, or ``None`` when it is missing or not a finite number.

    Figures come from JSON, so numbers may arrive as ints, floats, numeric strings or ``None``;
    NaN (from pandas) is treated as missing rather than printed.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, Decimal):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace(NNBSP, "").replace(" ", "").replace(",", "."))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _quantize(number: float, decimals: int) -> Decimal:
    try:
        exponent = Decimal(1).scaleb(-decimals)
        return Decimal(repr(number)).quantize(exponent, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # pragma: no cover - absurdly large numbers
        return Decimal(number)


def fr_number(value: object, decimals: int = 0) -> str:
    """``58982`` → ``58 982``; ``6.15`` with 1 decimal → ``6,2``; ``None`` → ``n.d.``."""
    number = to_number(value)
    if number is None:
        return MISSING
    decimals = max(0, int(decimals))
    quantized = _quantize(number, decimals)
    if quantized == 0:
        quantized = abs(quantized)  # no "-0,0"
    sign = "-" if quantized < 0 else ""
    text = f"{abs(quantized):.{decimals}f}"
    integer, _, fraction = text.partition(".")
    groups = []
    while len(integer) > 3:
        groups.insert(0, integer[-3:])
        integer = integer[:-3]
    groups.insert(0, integer)
    result = sign + NNBSP.join(groups)
    if fraction:
        result += "," + fraction
    return result


def fr_percent(value: object, decimals: int = 0) -> str:
    """A share in [0, 1] as a French percentage: ``0.452`` → ``45 %``.

    A share that is positive but rounds to zero is written ``< 1 %`` (or ``< 0,1 %``), as in
    the CPTS tables, so that "a few people" is not shown as "nobody".
    """
    number = to_number(value)
    if number is None:
        return MISSING
    decimals = max(0, int(decimals))
    percent = number * 100
    smallest = Decimal(1).scaleb(-decimals)
    if 0 < percent and _quantize(percent, decimals) == 0:
        return f"<{NBSP}{fr_number(float(smallest), decimals)}{NNBSP}%"
    return f"{fr_number(percent, decimals)}{NNBSP}%"


def fr_minutes(value: object, decimals: int = 1) -> str:
    """A travel time: ``14.24`` → ``14,2 min``."""
    number = to_number(value)
    if number is None:
        return MISSING
    return f"{fr_number(number, decimals)}{NNBSP}min"


def fr_date(value: object) -> str:
    """An ISO timestamp as a French date: ``2026-11-22T10:00:00+01:00`` → ``22 novembre 2026``.

    Anything that does not parse is returned as given, so that a hand-written figures file never
    breaks the report.
    """
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except (TypeError, ValueError):
            return str(value) if value else MISSING
    day = "1er" if moment.day == 1 else str(moment.day)
    return f"{day} {_MONTHS[moment.month - 1]} {moment.year}"
