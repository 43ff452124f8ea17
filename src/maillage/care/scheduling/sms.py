"""SMS through a small pluggable backend, as Django does for e-mail.

``settings.MAILLAGE_SMS_BACKEND`` names the backend: ``"file"`` (the default: one text file per
message in ``settings.MAILLAGE_SMS_FILE_PATH``, ``<data folder>/sms/``, where a demo or a test
reads them), ``"console"`` (written to the standard output), or the dotted path of a class of
one's own with the same ``send(to, text)`` method (an operator's HTTP gateway). Nothing goes to
the logs: a number and a text are personal data.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
import threading
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

#: An SMS longer than this is refused (about four concatenated messages).
MAX_LENGTH = 600


class SmsError(RuntimeError):
    """The message could not be handed over to the backend."""


class SmsBackend(Protocol):
    def send(self, to: str, text: str) -> None: ...


def _check(to: str, text: str) -> None:
    if not to.startswith("+") or not to[1:].isdigit():
        raise SmsError("numéro de téléphone au format E.164 attendu")
    if not text or len(text) > MAX_LENGTH:
        raise SmsError(f"texte vide ou de plus de {MAX_LENGTH} caractères")


class ConsoleBackend:
    """Writes each message to the standard output (or ``stream``)."""

    _lock = threading.Lock()

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stdout

    def send(self, to: str, text: str) -> None:
        _check(to, text)
        with self._lock:
            self.stream.write(f"--- SMS à {to} ---\n{text}\n---\n")
            self.stream.flush()


class FileBackend:
    """Writes each message to its own file (``<timestamp>-<random>.txt``) in ``path``."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path or settings.MAILLAGE_SMS_FILE_PATH)

    def send(self, to: str, text: str) -> None:
        _check(to, text)
        self.path.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        name = self.path / f"{stamp}-{secrets.token_hex(4)}.txt"
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(f"À : {to}\nDate : {dt.datetime.now(dt.UTC).isoformat()}\n\n{text}\n")


BACKENDS = {"console": ConsoleBackend, "file": FileBackend}


def get_backend() -> SmsBackend:
    name = getattr(settings, "MAILLAGE_SMS_BACKEND", "file")
    klass = BACKENDS.get(name)
    if klass is None:
        try:
            klass = import_string(name)
        except ImportError as exc:
            raise SmsError(f"MAILLAGE_SMS_BACKEND inconnu : {name!r}") from exc
    return klass()


def send_sms(to: str, text: str) -> None:
    """Send one SMS through the configured backend (SmsError when it cannot)."""
    get_backend().send(to, text)
