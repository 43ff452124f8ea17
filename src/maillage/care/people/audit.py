"""Every read and write of personal data, in the audit log (``accounts.AuditEvent``).

The care apps call :func:`record` for one object (a booking opened, a person updated) and
:func:`record_list` for a list (one event listing the ids shown). An event says who, when,
which action on which object, and for what purpose; its details carry ids and field names only,
never the data itself (a name, a phone number, a date of birth): :func:`record` refuses values
that are not ids, numbers, booleans or short codes.

``maillage audit export --since DATE`` writes the log as CSV (:func:`export_csv`).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable
from typing import IO, Any

from django.db import models

from maillage.accounts.models import AuditEvent

ACTIONS = ("view", "create", "update", "delete", "export", "erase", "anonymise")
# field names, purposes, codes: lower-case ASCII starting with a letter (so that no date, phone
# number or identifier made of digits passes as a "code")
_CODE = re.compile(r"^[a-z_][a-z0-9_.:\-]{0,63}$")


def _check_detail(key: str, value: Any) -> None:
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, str) and _CODE.match(value):
        return
    if isinstance(value, list | tuple) and all(
        v is None or isinstance(v, bool | int) or (isinstance(v, str) and _CODE.match(v))
        for v in value
    ):
        return
    raise ValueError(
        f"audit detail {key!r}: only ids, numbers, booleans and lower-case codes "
        "(never personal data)"
    )


def _check_purpose(purpose: str) -> None:
    if not (purpose and len(purpose) <= 40 and _CODE.match(purpose)):
        raise ValueError(f"audit purpose must be a short lower-case code, not {purpose!r}")


def _user(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def event(
    user: Any, action: str, obj: models.Model | None, purpose: str, **details: Any
) -> AuditEvent:
    """The event :func:`record` saves, checked but not saved yet."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    _check_purpose(purpose)
    for key, value in details.items():
        _check_detail(key, value)
    return AuditEvent(
        user=_user(user),
        action=action,
        target_type=obj._meta.label_lower if obj is not None else "",
        target_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        purpose=purpose,
        details=details,
    )


def record(
    user: Any, action: str, obj: models.Model | None, purpose: str, **details: Any
) -> AuditEvent:
    """One event: ``user`` (None or anonymous for the public and background tasks) did
    ``action`` on ``obj`` for ``purpose`` (a short code: "booking", "nurse_day", "retention",
    "access_request"…)."""
    recorded = event(user, action, obj, purpose, **details)
    recorded.save(force_insert=True)
    return recorded


def record_list(
    user: Any,
    objects: Iterable[models.Model],
    purpose: str,
    action: str = "view",
    **details: Any,
) -> AuditEvent | None:
    """One event for a list shown or exported (``details["ids"]``: the ids listed). Nothing
    is recorded for an empty list. Pass the evaluated list the page shows, not a new query."""
    objects = list(objects)
    if not objects:
        return None
    model = type(objects[0])
    ids = [obj.pk for obj in objects]
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    for key, value in details.items():
        _check_detail(key, value)
    _check_purpose(purpose)
    return AuditEvent.objects.create(
        user=_user(user),
        action=action,
        target_type=model._meta.label_lower,
        target_id="",
        purpose=purpose,
        details={**details, "ids": ids},
    )


EXPORT_COLUMNS = ["at", "user", "action", "object", "object_id", "purpose", "details"]


def export_csv(since: dt.datetime, out: IO[str], until: dt.datetime | None = None) -> int:
    """Write the audit log from ``since`` (oldest first) as CSV: who, when, action, object,
    purpose. Returns the number of rows."""
    import json

    events = AuditEvent.objects.filter(at__gte=since).select_related("user").order_by("at", "pk")
    if until is not None:
        events = events.filter(at__lt=until)
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for event in events.iterator(chunk_size=2000):
        writer.writerow(
            [
                event.at.isoformat(),
                event.user.get_username() if event.user else "",
                event.action,
                event.target_type,
                event.target_id,
                event.purpose,
                json.dumps(event.details, ensure_ascii=False, sort_keys=True),
            ]
        )
        count += 1
    return count
