"""Encryption at rest of free-text health fields (a booking's reason, a nurse's notes…).

:class:`EncryptedTextField` stores its text as a Fernet token (AES-128-CBC + HMAC-SHA256, from
``cryptography``); the database never holds the text nor the key. The keys come from:

- ``MAILLAGE_CARE_KEYS``: comma-separated Fernet keys, the first one current (deployments keep
  them in their secret store);
- else the file ``<data folder>/keys/care.keys`` (one key a line, first current, mode 0600),
  created with one new key on first use (the embedded default).

Reading tries every key (``MultiFernet``), so a rotation (:func:`rotate_keys`, ``maillage keys
rotate``) adds a new current key, then re-encrypts every encrypted field of every installed
model in one transaction. Keep the key file with the backups of the database, apart from them:
a database without its keys has its encrypted fields unreadable, which is the point.

Encrypted values cannot be searched: every lookup but ``isnull`` is refused.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models

ENV_KEYS = "MAILLAGE_CARE_KEYS"
TOKEN_PREFIX = "gAAAA"  # every Fernet token starts with version byte 0x80 + timestamp


class CareKeyError(ImproperlyConfigured):
    """The encryption keys are missing, malformed or do not open the stored data. Its message
    is a French sentence for the administrator; pages show it instead of a 500."""


def key_file() -> Path:
    from maillage.paths import data_home

    return data_home() / "keys" / "care.keys"


def _parse(text: str, origin: str) -> list[bytes]:
    keys = [k.strip() for k in text.replace("\n", ",").split(",") if k.strip()]
    if not keys:
        raise CareKeyError(f"Aucune clé de chiffrement des données de santé dans {origin}.")
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise CareKeyError(
                f"Clé de chiffrement des données de santé invalide dans {origin} : une clé "
                "Fernet fait 44 caractères base64 (maillage keys generate en crée une)."
            ) from None
    return [k.encode() for k in keys]


def _write_keys(path: Path, keys: list[bytes]) -> None:
    """Write the key file atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(k.decode() for k in keys) + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


_lock = threading.Lock()
_cache: dict[Any, MultiFernet] = {}


def load_keys() -> list[bytes]:
    """The keys, current first (see the module's docstring for where they come from)."""
    env = os.environ.get(ENV_KEYS, "").strip()
    if env:
        return _parse(env, f"la variable {ENV_KEYS}")
    path = key_file()
    with _lock:
        if not path.exists():
            try:
                _write_keys(path, [Fernet.generate_key()])
            except OSError as exc:
                raise CareKeyError(
                    f"Impossible de créer le fichier des clés de chiffrement {path} "
                    f"({exc.strerror}) : donnez les clés par {ENV_KEYS} ou rendez le dossier "
                    "de données accessible en écriture."
                ) from None
    try:
        text = path.read_text()
    except OSError as exc:
        raise CareKeyError(
            f"Le fichier des clés de chiffrement {path} est illisible ({exc.strerror})."
        ) from None
    return _parse(text, f"le fichier {path}")


def keyring() -> MultiFernet:
    """The MultiFernet of the current keys (cached while the environment and file stay)."""
    env = os.environ.get(ENV_KEYS, "").strip()
    path = key_file()
    try:
        stat = path.stat()
        marker = (env, str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino)
    except OSError:
        marker = (env, str(path), None, None, None)
    ring = _cache.get(marker)
    if ring is None:
        ring = MultiFernet([Fernet(k) for k in load_keys()])
        _cache.clear()
        _cache[marker] = ring
    return ring


def encrypt(text: str) -> str:
    return keyring().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return keyring().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError):
        raise CareKeyError(
            "Les données chiffrées ne peuvent pas être lues avec les clés actuelles : la clé "
            "qui les a chiffrées manque (MAILLAGE_CARE_KEYS ou le fichier des clés du dossier "
            "de données). Restaurez-la ; rien n'a été modifié."
        ) from None


class EncryptedTextField(models.TextField):
    """Text encrypted in the database (see the module's docstring). An empty string stays
    empty (it reveals only that nothing was written)."""

    description = "Texte chiffré"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def get_lookup(self, lookup_name: str):  # type: ignore[override]
        if lookup_name != "isnull":
            raise FieldError(
                f"{self.model.__name__}.{self.name} est chiffré : on ne peut pas y chercher "
                f"({lookup_name})."
            )
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name: str):  # type: ignore[override]
        raise FieldError(f"{self.model.__name__}.{self.name} est chiffré : pas de transformation.")


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every installed model with encrypted fields, and their names (concrete fields only)."""
    from django.apps import apps

    found = []
    for model in apps.get_models(include_auto_created=True):
        names = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, EncryptedTextField) and f.model is model
        ]
        if names:
            found.append((model, names))
    return found


def reencrypt_all() -> int:
    """Re-encrypt every encrypted field of every installed model with the current key, in one
    transaction; returns the number of rows rewritten."""
    from django.db import transaction

    ring = keyring()
    rows = 0
    with transaction.atomic():
        for model, names in encrypted_fields():
            # the stored tokens, not the text: MultiFernet.rotate re-encrypts without decoding
            for pk, *tokens in list(_raw_rows(model, names)):
                new = {}
                for name, token in zip(names, tokens, strict=True):
                    if token:
                        try:
                            new[name] = ring.rotate(token.encode("ascii")).decode("ascii")
                        except InvalidToken:
                            decrypt(token)  # raises the French CareKeyError
                if new:
                    _raw_update(model, pk, new)
                    rows += 1
    return rows


def _raw_rows(model: type[models.Model], names: list[str]):
    from django.db import connections, router

    connection = connections[router.db_for_read(model)]
    quote = connection.ops.quote_name
    columns = [model._meta.get_field(n).column for n in names]
    sql = "SELECT {}, {} FROM {}".format(
        quote(model._meta.pk.column),
        ", ".join(quote(c) for c in columns),
        quote(model._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        yield from cursor.fetchall()


def _raw_update(model: type[models.Model], pk: Any, values: dict[str, str]) -> None:
    from django.db import connections, router

    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    columns = [model._meta.get_field(n).column for n in values]
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(model._meta.db_table),
        ", ".join(f"{quote(c)} = %s" for c in columns),
        quote(model._meta.pk.column),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values.values(), pk])


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def rotate_keys(*, drop_old: bool = False) -> int:
    """Add a new current key and re-encrypt everything with it (one transaction). The older
    keys stay in the file (backups of the database still open) unless ``drop_old``, which
    removes them once the re-encryption is committed. With ``MAILLAGE_CARE_KEYS`` the keys
    belong to the deployment's secret store: put a new key first there (``maillage keys
    generate``), then ``maillage keys rotate`` re-encrypts."""
    if os.environ.get(ENV_KEYS, "").strip():
        return reencrypt_all()
    path = key_file()
    old = load_keys()
    new = Fernet.generate_key()
    _write_keys(path, [new, *old])
    rows = reencrypt_all()
    if drop_old:
        _write_keys(path, [new])
    return rows
