"""No personal data in the logs: a whole cycle (create, consent, find, read, access request,
erase, pages) with every logger at DEBUG, and none of the name, phone or birth date appears."""

from __future__ import annotations

import logging

from maillage.accounts.models import Role
from maillage.care.people import permissions, retention
from maillage.care.people.services import (
    create_person,
    find_persons,
    get_person,
    record_consent,
    update_person,
)

from .conftest import TRAITS

SECRETS = (
    "Zorgbelin", "ZORGBELIN", "Philomène", "Adélaïde", "1941-02-17", "17/02/1941",
    "0199001234", "01 99 00 12 34", "+33199001234", "mina.zorgbelin", "malentendante",
)  # fmt: skip


def test_a_create_erase_cycle_logs_no_personal_data(
    client, caplog, registries, make_user, admin_user
):
    caplog.set_level(logging.DEBUG)
    for name in ("maillage", "django", "django.request", "django.db.backends", "django_otp"):
        caplog.set_level(logging.DEBUG, logger=name)
    operator = make_user("operatrice", Role.OPERATOR)
    permissions.register_person_rule(lambda user, role, obj, action: role == Role.OPERATOR)

    person = create_person(operator, "booking", **TRAITS)
    record_consent(person, "teleconsultation", True, "phone", operator)
    update_person(operator, person, "booking", used_name="Zorgbelin-Martin")
    get_person(operator, person.pk, "booking")
    find_persons(operator, "caller_search", birth_name="Zorgbelin")
    logging.getLogger("maillage.test").debug("a person: %s (%r)", person, person)
    retention.access_request(person, admin_user)

    client.force_login(admin_user)
    session = client.session
    session["auth_method"] = "psc"
    session.save()
    url = f"/soins/personnes/{person.pk}/"
    assert client.get(url + "donnees.json", HTTP_HOST="127.0.0.1").status_code == 200
    client.force_login(operator)  # a refused request is logged by Django (403): no name in it
    assert client.get(url + "effacer/", HTTP_HOST="127.0.0.1").status_code == 302
    client.force_login(admin_user)
    session = client.session
    session["auth_method"] = "psc"
    session.save()
    assert client.post(url + "effacer/", HTTP_HOST="127.0.0.1").status_code == 200
    retention.anonymise_expired()

    assert caplog.records, "the loggers did record this cycle"
    text = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {getattr(r, 'request', '')}" for r in caplog.records
    )
    assert f"Personne n° {person.pk}" in text
    for secret in SECRETS:
        assert secret not in text, secret
