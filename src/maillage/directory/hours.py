"""Opening hours: the weekly pattern, its dated exceptions, and "open now" — in French.

Pure functions over anything shaped like :class:`~maillage.directory.models.OpeningHours`
(``weekday``, ``opens``, ``closes``) and :class:`~maillage.directory.models.OpeningException`
(``start_date``, ``end_date``, ``closed``, ``opens``, ``closes``, ``label``), so that pages, the
API and tests share one reading of the rules without a database:

- an exception covers every date from ``start_date`` to ``end_date`` inclusive;
- a ``closed`` exception closes the place all day, whatever the weekly pattern says;
- an exception with hours (``closed=False``) *replaces* the weekly slots of its dates (a holiday
  morning, a late opening); several such exceptions on one date add up;
- times are local to the place, i.e. Europe/Paris: an aware ``datetime`` is converted first, so
  a server running in UTC still says "ouvert" at 8 h 30 in Chaumont.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Europe/Paris")
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
#: How far ahead ``status_text`` looks for the next opening.
LOOKAHEAD_DAYS = 14


class HoursLike(Protocol):
    weekday: int
    opens: time
    closes: time


class ExceptionLike(Protocol):
    start_date: date
    end_date: date
    closed: bool
    opens: time | None
    closes: time | None
    label: str


Slot = tuple[time, time]


@dataclass(frozen=True)
class DayRow:
    """One line of the week table: a date, its slots after exceptions, and why they differ."""

    day: date
    weekday: str
    slots: tuple[Slot, ...]
    is_today: bool
    exception: str | None = None  # the exception's label ("" when unlabeled) if one applies
    closed_by_exception: bool = False
    usual: tuple[Slot, ...] = field(default=())

    @property
    def text(self) -> str:
        """Like "8 h 30 – 12 h, 14 h – 19 h", or "fermé"."""
        return slots_text(self.slots)

    @property
    def slot_texts(self) -> list[str]:
        """One string per slot, for pages that keep each slot on one line."""
        return [slots_text([slot]) for slot in self.slots]

    @property
    def date_text(self) -> str:
        return date_text(self.day)


def time_text(value: time) -> str:
    """French clock time: 8 h 30, 12 h, 0 h 15."""
    return f"{value.hour} h {value.minute:02d}" if value.minute else f"{value.hour} h"


def slots_text(slots: Sequence[Slot]) -> str:
    if not slots:
        return "fermé"
    return ", ".join(f"{time_text(a)} – {time_text(b)}" for a, b in slots)


def date_text(day: date) -> str:
    """Like "lundi 14 juillet"."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"


def local(at: datetime) -> datetime:
    """``at`` on the wall clock of Europe/Paris (naive datetimes are taken as already local)."""
    return at.astimezone(LOCAL_TZ).replace(tzinfo=None) if at.tzinfo else at


def _usual(hours: Iterable[HoursLike], day: date) -> tuple[Slot, ...]:
    return tuple(sorted((h.opens, h.closes) for h in hours if h.weekday == day.weekday()))


def _exceptions_on(exceptions: Iterable[ExceptionLike], day: date) -> list[ExceptionLike]:
    return [e for e in exceptions if e.start_date <= day <= e.end_date]


def day_slots(
    hours: Iterable[HoursLike], exceptions: Iterable[ExceptionLike], day: date
) -> tuple[tuple[Slot, ...], list[ExceptionLike]]:
    """The slots of ``day`` after exceptions, and the exceptions that apply to it."""
    hours, applying = list(hours), _exceptions_on(exceptions, day)
    if not applying:
        return _usual(hours, day), []
    if any(e.closed for e in applying):
        return (), applying
    special = sorted((e.opens, e.closes) for e in applying if e.opens and e.closes)
    return tuple(special), applying


def weekly_table(
    hours: Iterable[HoursLike], exceptions: Iterable[ExceptionLike], today: date
) -> list[DayRow]:
    """The seven days from ``today``, with exceptions applied and flagged.

    A table of the *coming* week (not an abstract Monday–Sunday) is what someone planning a visit
    needs: a closure next Tuesday shows on Tuesday's line instead of in a footnote.
    """
    hours, exceptions = list(hours), list(exceptions)
    rows = []
    for offset in range(7):
        day = today + timedelta(days=offset)
        slots, applying = day_slots(hours, exceptions, day)
        label = None
        if applying:
            label = " ; ".join(e.label for e in applying if e.label) or ""
        rows.append(
            DayRow(
                day=day,
                weekday=WEEKDAYS[day.weekday()],
                slots=slots,
                is_today=offset == 0,
                exception=label,
                closed_by_exception=any(e.closed for e in applying),
                usual=_usual(hours, day),
            )
        )
    return rows


def week_summary(hours: Iterable[HoursLike]) -> str:
    """The usual week in one line, consecutive days with the same slots grouped: "du lundi au
    vendredi : 8 h 15 – 12 h 15, 13 h 30 – 17 h 30 ; samedi : 9 h – 12 h" ("" without hours).
    For lists, where a seven-day table would not fit; exceptions are for the entry's page."""
    by_day: dict[int, list[Slot]] = {}
    for h in hours:
        by_day.setdefault(h.weekday, []).append((h.opens, h.closes))
    runs: list[tuple[int, int, tuple[Slot, ...]]] = []
    for day in range(7):
        slots = tuple(sorted(by_day.get(day, ())))
        if not slots:
            continue
        if runs and runs[-1][1] == day - 1 and runs[-1][2] == slots:
            runs[-1] = (runs[-1][0], day, slots)
        else:
            runs.append((day, day, slots))
    parts = []
    for first, last, slots in runs:
        if first == last:
            days = WEEKDAYS[first]
        elif last == first + 1:
            days = f"{WEEKDAYS[first]} et {WEEKDAYS[last]}"
        else:
            days = f"du {WEEKDAYS[first]} au {WEEKDAYS[last]}"
        parts.append(f"{days} : {slots_text(slots)}")
    return " ; ".join(parts)


def upcoming_exceptions(
    exceptions: Iterable[ExceptionLike], today: date, days: int = 90
) -> list[ExceptionLike]:
    """Exceptions still running or starting within ``days``, soonest first."""
    horizon = today + timedelta(days=days)
    return sorted(
        (e for e in exceptions if e.end_date >= today and e.start_date <= horizon),
        key=lambda e: e.start_date,
    )


def is_open(hours: Iterable[HoursLike], exceptions: Iterable[ExceptionLike], at: datetime) -> bool:
    """Is the place open at ``at`` (converted to Paris time)? A slot includes its opening minute
    and excludes its closing one."""
    now = local(at)
    slots, _ = day_slots(hours, exceptions, now.date())
    return any(a <= now.time() < b for a, b in slots)


def _next_opening(
    hours: list[HoursLike], exceptions: list[ExceptionLike], now: datetime
) -> datetime | None:
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = now.date() + timedelta(days=offset)
        slots, _ = day_slots(hours, exceptions, day)
        for opens, _closes in slots:
            start = datetime.combine(day, opens)
            if start > now:
                return start
    return None


def _when(start: datetime, now: datetime) -> str:
    delta = (start.date() - now.date()).days
    if delta == 0:
        return f"aujourd'hui à {time_text(start.time())}"
    if delta == 1:
        return f"demain à {time_text(start.time())}"
    if delta < 7:
        return f"{WEEKDAYS[start.weekday()]} à {time_text(start.time())}"
    return f"le {date_text(start.date())} à {time_text(start.time())}"


def status(
    hours: Iterable[HoursLike], exceptions: Iterable[ExceptionLike], at: datetime
) -> dict[str, Any]:
    """``{"known": bool, "open": bool, "text": str}`` for templates (colour + words)."""
    hours, exceptions = list(hours), list(exceptions)
    if not hours and not exceptions:
        return {"known": False, "open": False, "text": "Horaires non renseignés"}
    now = local(at)
    slots, applying = day_slots(hours, exceptions, now.date())
    for opens, closes in slots:
        if opens <= now.time() < closes:
            return {
                "known": True,
                "open": True,
                "text": f"Ouvert maintenant · ferme à {time_text(closes)}",
            }
    reason = ""
    if any(e.closed for e in applying):
        labels = [e.label for e in applying if e.closed and e.label]
        reason = (
            f" aujourd'hui ({labels[0]})" if labels else " aujourd'hui (fermeture exceptionnelle)"
        )
    start = _next_opening(hours, exceptions, now)
    if start is None:
        return {
            "known": True,
            "open": False,
            "text": f"Fermé{reason} · pas d'ouverture prévue dans les {LOOKAHEAD_DAYS} jours",
        }
    return {"known": True, "open": False, "text": f"Fermé{reason} · ouvre {_when(start, now)}"}


def status_text(
    hours: Iterable[HoursLike], exceptions: Iterable[ExceptionLike], at: datetime
) -> str:
    """Like "Ouvert maintenant · ferme à 19 h", "Fermé · ouvre demain à 8 h 30",
    "Fermé aujourd'hui (congés) · ouvre lundi à 9 h", "Horaires non renseignés"."""
    return status(hours, exceptions, at)["text"]
