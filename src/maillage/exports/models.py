"""The data version: one counter that every write which can change an export bumps."""

from __future__ import annotations

import uuid

from django.db import models


def _stamp() -> str:
    return uuid.uuid4().hex


class DataVersion(models.Model):
    """A single row (pk 1). Imports bump it inside their transaction (a failed import leaves it
    as it was) and so does every write to the directory's search change log, which published
    edits and reindexes go through: an export built for an older counter is never served."""

    counter = models.PositiveBigIntegerField(default=0)
    # Random per database: a recreated database counting from 0 again never matches old files.
    stamp = models.CharField(max_length=32, default=_stamp)
    changed = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"data version {self.counter}"
