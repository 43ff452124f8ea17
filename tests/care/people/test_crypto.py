"""Free-text health fields are encrypted at rest with keys kept outside the database."""

from __future__ import annotations

import html
import os
import stat

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.db import connection

from maillage.care.people import crypto
from maillage.care.people.models import Person
from maillage.care.people.services import create_person

from .conftest import TRAITS


def _raw(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT notes FROM people_person WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_the_column_holds_a_token_not_the_text(db, care_keys):
    person = create_person(None, "test", **TRAITS)
    raw = _raw(person.pk)
    assert TRAITS["notes"] not in raw and "malentendante" not in raw
    assert raw.startswith(crypto.TOKEN_PREFIX)
    assert Person.objects.get(pk=person.pk).notes == TRAITS["notes"]
    # the key file was created on first use, readable by its owner only
    assert care_keys.exists()
    assert stat.S_IMODE(care_keys.stat().st_mode) == 0o600
    assert len(care_keys.read_text().split()) == 1


def test_an_empty_text_stays_empty_and_null_lookups_work(db):
    person = create_person(None, "test", **{**TRAITS, "notes": ""})
    assert _raw(person.pk) == ""
    assert Person.objects.filter(notes__isnull=False, pk=person.pk).exists()


@pytest.mark.parametrize("lookup", ["notes", "notes__icontains", "notes__startswith"])
def test_encrypted_text_cannot_be_searched(db, lookup):
    with pytest.raises(FieldError, match="chiffré"):
        Person.objects.filter(**{lookup: "malentendante"}).exists()


def test_rotation_changes_the_stored_bytes_and_keeps_the_data_readable(db, care_keys):
    person = create_person(None, "test", **TRAITS)
    other = create_person(None, "test", **{**TRAITS, "notes": "fauteuil roulant"})
    before = _raw(person.pk), _raw(other.pk)
    old_key = care_keys.read_text().split()[0]

    rows = crypto.rotate_keys()

    assert rows >= 2
    keys = care_keys.read_text().split()
    assert len(keys) == 2 and keys[1] == old_key, "new key first, the old one kept"
    after = _raw(person.pk), _raw(other.pk)
    assert after[0] != before[0] and after[1] != before[1]
    # encrypted with the new key: the new key alone opens them
    assert Fernet(keys[0]).decrypt(after[0].encode()).decode() == TRAITS["notes"]
    assert Person.objects.get(pk=other.pk).notes == "fauteuil roulant"

    crypto.rotate_keys(drop_old=True)
    assert len(care_keys.read_text().split()) == 1
    assert Person.objects.get(pk=person.pk).notes == TRAITS["notes"]
    assert stat.S_IMODE(care_keys.stat().st_mode) == 0o600


def test_keys_from_the_environment(db, care_keys, monkeypatch):
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("MAILLAGE_CARE_KEYS", f"{key},{Fernet.generate_key().decode()}")
    person = create_person(None, "test", **TRAITS)
    assert Fernet(key).decrypt(_raw(person.pk).encode()).decode() == TRAITS["notes"]
    assert not care_keys.exists(), "no key file when the environment gives the keys"


def test_a_missing_key_is_a_clear_french_error(db, monkeypatch):
    person = create_person(None, "test", **TRAITS)
    monkeypatch.setenv("MAILLAGE_CARE_KEYS", Fernet.generate_key().decode())  # another key
    with pytest.raises(crypto.CareKeyError, match="la clé qui les a chiffrées manque"):
        Person.objects.get(pk=person.pk)


def test_a_malformed_key_is_a_clear_french_error(db, monkeypatch):
    monkeypatch.setenv("MAILLAGE_CARE_KEYS", "pas-une-clé")
    with pytest.raises(crypto.CareKeyError, match="Clé de chiffrement .* invalide"):
        create_person(None, "test", **TRAITS)
    assert not Person.objects.exists()


def test_a_missing_key_gives_a_503_page_not_a_500(client, admin_user, monkeypatch):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    person = create_person(None, "test", **TRAITS)
    client.force_login(admin_user)
    session = client.session
    session["auth_method"] = "psc"  # strong authentication: no TOTP needed for this test
    session.save()
    url = f"/soins/personnes/{person.pk}/donnees.json"
    assert client.get(url, HTTP_HOST="127.0.0.1").status_code == 200
    monkeypatch.setenv("MAILLAGE_CARE_KEYS", Fernet.generate_key().decode())
    response = client.get(url, HTTP_HOST="127.0.0.1")
    assert response.status_code == 503
    page = html.unescape(response.content.decode())
    assert "Données momentanément illisibles" in page and "Rien n'a été modifié" in page
    assert TRAITS["birth_name"] not in page
    assert not TOTPDevice.objects.exists()


def test_the_key_file_is_private(db, care_keys):
    crypto.encrypt("x")
    assert stat.S_IMODE(care_keys.parent.stat().st_mode) == 0o700
    assert os.stat(care_keys).st_uid == os.getuid()


def test_a_key_file_that_cannot_be_created_is_a_clear_french_error(db, care_keys):
    care_keys.parent.parent.mkdir(parents=True, exist_ok=True)
    care_keys.parent.write_text("not a folder")  # <data folder>/keys is a file: no key file
    with pytest.raises(crypto.CareKeyError, match="Impossible de créer le fichier des clés"):
        create_person(None, "test", **TRAITS)
    assert not Person.objects.exists()


def test_the_keys_commands(db, care_keys, capsys, monkeypatch):
    from maillage import cli

    person = create_person(None, "test", **TRAITS)
    before = _raw(person.pk)
    assert cli.main(["keys", "rotate"]) == 0
    assert "lignes rechiffrées" in capsys.readouterr().err
    assert _raw(person.pk) != before and len(care_keys.read_text().split()) == 2
    assert cli.main(["keys", "generate"]) == 0
    Fernet(capsys.readouterr().out.strip())  # a valid key, for MAILLAGE_CARE_KEYS
    monkeypatch.setenv("MAILLAGE_CARE_KEYS", Fernet.generate_key().decode())  # the wrong key
    assert cli.main(["keys", "rotate"]) == 2
    assert "la clé qui les a chiffrées manque" in capsys.readouterr().err
    monkeypatch.delenv("MAILLAGE_CARE_KEYS")
    assert Person.objects.get(pk=person.pk).notes == TRAITS["notes"], "nothing was changed"
