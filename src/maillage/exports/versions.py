"""A cheap stamp of the data an export is built from.

``data_version()`` is one indexed read of one row; :func:`bump` increments it. The import pipeline
(:func:`maillage.imports.run_import`) bumps it inside the import's transaction, and a signal bumps
it whenever a row is added to one of :data:`WATCHED` (the directory's search change log, written
by every published edit, merge and reindex), so apps do not import this module to stay fresh.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save

#: Models whose writes change exported documents (``app_label.ModelName``).
WATCHED = ("directory.SearchChange",)


def data_version() -> str:
    """The current data version: ``<counter>-<database stamp>`` (``0`` before any import)."""
    from maillage.exports.models import DataVersion

    row = DataVersion.objects.filter(pk=1).values_list("counter", "stamp").first()
    return f"{row[0]}-{row[1]}" if row else "0"


def bump() -> str:
    """Increment the data version (inside the caller's transaction, if any)."""
    from maillage.exports.models import DataVersion

    with transaction.atomic():
        if not DataVersion.objects.filter(pk=1).update(counter=F("counter") + 1):
            try:
                with transaction.atomic():
                    DataVersion.objects.create(pk=1, counter=1)
            except IntegrityError:  # created meanwhile by another process
                DataVersion.objects.filter(pk=1).update(counter=F("counter") + 1)
    return data_version()


def _on_write(sender: Any, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    bump()


def connect_signals() -> None:
    for label in WATCHED:
        try:
            model = apps.get_model(label)
        except LookupError:  # the app is not installed: nothing to watch
            continue
        post_save.connect(_on_write, sender=model, dispatch_uid=f"exports-version-{label}")
        post_delete.connect(_on_write, sender=model, dispatch_uid=f"exports-version-del-{label}")
