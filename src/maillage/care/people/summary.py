"""The care apps' figures for scripts: ``maillage care summary TERRITORY --format json``.

Each care app registers one part (``register(key, part)`` in its ``ready()``), a plain function
``part(communes: set[str], now: datetime) -> dict`` that counts its own records of the people
or places in those communes (INSEE codes) and returns JSON-serialisable figures: numbers,
shares (0..1) and names of places, never a person. The same functions feed the apps'
dashboards and exports, so a page and the command show the same numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.utils import timezone

Part = Callable[[set[str], dt.datetime], dict[str, Any]]
_parts: dict[str, Part] = {}


def register(key: str, part: Part) -> None:
    _parts[key] = part


def summary(communes: set[str], now: dt.datetime | None = None) -> dict[str, dict[str, Any]]:
    """Every registered part, by key, for the communes ``communes``."""
    now = now or timezone.now()
    return {key: part(communes, now) for key, part in sorted(_parts.items())}
