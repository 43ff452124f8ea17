"""``Idempotency-Key``: a retried write returns its first answer.

:func:`once` runs ``action`` (which returns ``(status, body, headers)``) at most once per
``(owner, key)`` that commits: the action's writes and the key's row, holding the answer, are
one transaction, and the row's unique index decides. A retry runs the action again, but its
INSERT of the key fails (at once when the first request has committed; PostgreSQL's unique
index makes it wait while the first is still running, SQLite's write lock serialises them):
its own writes are rolled back and the first answer is read and replayed. A new key, the
common case, costs one INSERT and no read. The same key with another request body
is a client error (:class:`KeyReused`, 422). Answers with a 5xx status are not kept (the retry
runs again).
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
    try:
        with transaction.atomic():
            status, body, headers = action()
            if status >= 500:
                transaction.set_rollback(True)
                return status, body, headers
            IdempotencyKey.objects.create(
                owner=owner,
                key=key,
                request_hash=fingerprint,
                status=status,
                response=json.loads(json.dumps(body)),
                headers=headers,
            )
            return status, body, headers
    except IntegrityError:
        # a request with this key committed first (its writes stand, ours are rolled back)
        stored = _stored(owner, key, fingerprint)
        if stored is None:
            raise  # another constraint than the key's
        return stored


def _stored(owner: str, key: str, fingerprint: str) -> Answer | None:
    row = IdempotencyKey.objects.filter(owner=owner, key=key).first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise KeyReused(
            "cette Idempotency-Key a déjà servi pour une autre requête : utilisez une nouvelle clé"
        )
    return row.status, row.response, dict(row.headers)
