"""``Idempotency-Key``: a retried write returns its first answer.

:func:`once` runs ``action`` (which returns ``(status, body, headers)``) at most once per
``(owner, key)``: the key's row is inserted first, in the same transaction as the action's
writes, so a retry that arrives meanwhile waits for it (PostgreSQL's unique index, SQLite's
write lock) and then replays the stored answer. The same key with another request body is a
client error (:class:`KeyReused`, 422). Answers with a 5xx status are not kept (the retry runs
again).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from maillage.care.scheduling.models import IdempotencyKey

Answer = tuple[int, Any, dict[str, str]]
MAX_KEY_LENGTH = 200


class KeyReused(ValueError):
    """The key was used for another request."""


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def once(owner: str, key: str, fingerprint: str, action: Callable[[], Answer]) -> Answer:
    """The answer of ``action``, run once for ``(owner, key)``."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise KeyReused(f"Idempotency-Key doit avoir de 1 à {MAX_KEY_LENGTH} caractères")
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(owner=owner, key=key, request_hash=fingerprint)
        except IntegrityError:
            row = IdempotencyKey.objects.select_for_update().get(owner=owner, key=key)
            if row.request_hash != fingerprint:
                raise KeyReused(
                    "cette Idempotency-Key a déjà servi pour une autre requête : "
                    "utilisez une nouvelle clé"
                ) from None
            if row.status is not None:
                return row.status, row.response, dict(row.headers)
        status, body, headers = action()
        if status >= 500:
            transaction.set_rollback(True)
            return status, body, headers
        row.status, row.response, row.headers = status, json.loads(json.dumps(body)), headers
        row.save(update_fields=["status", "response", "headers"])
        return status, body, headers
