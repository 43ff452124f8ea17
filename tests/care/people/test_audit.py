"""Every read and write of personal data is in the audit log, with its purpose; the log is
exported as CSV by ``maillage audit export``."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from maillage import cli
from maillage.accounts.models import AuditEvent, Role
from maillage.care.people import audit, permissions
from maillage.care.people.models import Person
from maillage.care.people.services import (
    create_person,
    find_persons,
    get_person,
    has_consent,
    record_consent,
    update_person,
    withdraw_consent,
)

from .conftest import TRAITS


def _events() -> list[tuple]:
    return list(
        AuditEvent.objects.order_by("pk").values_list("action", "target_type", "purpose", "details")
    )


def test_each_read_and_write_is_audited(db, registries, make_user):
    operator = make_user("operatrice", Role.OPERATOR)
    permissions.register_person_rule(lambda user, role, obj, action: role == Role.OPERATOR)

    person = create_person(operator, "booking", **TRAITS)
    consent = record_consent(person, "reminders", True, "phone", operator)
    update_person(operator, person, "booking", phone="01 99 00 99 99", used_first_name="Mina")
    get_person(operator, person.pk, "booking")
    found = find_persons(
        operator, "caller_search", birth_name="zorg", birth_date=dt.date(1941, 2, 17)
    )
    withdraw_consent(person, "reminders", operator)

    assert found == [person]
    assert not has_consent(person, "reminders")
    assert _events() == [
        ("create", "people.person", "booking", {}),
        ("create", "people.consent", "consent", {"person": person.pk, "consent": "reminders"}),
        ("update", "people.person", "booking", {"fields": ["phone"]}),
        ("view", "people.person", "booking", {}),
        ("view", "people.person", "caller_search", {"ids": [person.pk]}),
        ("update", "people.person", "consent", {"consent": "reminders", "withdrawn": [consent.pk]}),
    ]
    assert set(AuditEvent.objects.values_list("user__username", flat=True)) == {"operatrice"}


def test_reading_without_the_right_is_refused_and_not_logged_as_a_view(db, registries, make_user):
    person = create_person(None, "booking", **TRAITS)
    coordinator = make_user("coord", Role.COORDINATOR)
    with pytest.raises(PermissionDenied):
        get_person(coordinator, person.pk, "booking")
    assert find_persons(coordinator, "caller_search", birth_name="ZORG") == []
    assert not AuditEvent.objects.filter(action="view").exists()


def test_details_never_carry_personal_data(db):
    person = create_person(None, "booking", **TRAITS)
    for value in ("Zorgbelin", "1941-02-17", "+33199001234", "01 99 00 12 34", ["Mina"]):
        with pytest.raises(ValueError, match="never personal data"):
            audit.record(None, "view", person, "booking", note=value)
    with pytest.raises(ValueError, match="purpose"):
        audit.record(None, "view", person, "Réservation de Mme Zorgbelin")
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(None, "read", person, "booking")


def test_a_list_is_one_event_with_its_ids(db):
    people = [create_person(None, "test", **TRAITS) for _ in range(3)]
    AuditEvent.objects.all().delete()
    event = audit.record_list(None, people, "nurse_day", day="monday")
    assert AuditEvent.objects.count() == 1
    assert event.details == {"day": "monday", "ids": [p.pk for p in people]}
    assert audit.record_list(None, [], "nurse_day") is None


def test_bad_input_is_refused_with_french_sentences(db):
    with pytest.raises(ValueError, match="n'est pas un numéro de téléphone valide"):
        create_person(None, "booking", **{**TRAITS, "phone": "12"})
    with pytest.raises(ValueError, match="sexe"):
        create_person(None, "booking", **{**TRAITS, "sex": "X"})
    with pytest.raises(ValueError, match="dans le futur"):
        create_person(None, "booking", **{**TRAITS, "birth_date": dt.date(2099, 1, 1)})
    assert not Person.objects.exists() and not AuditEvent.objects.exists()


def test_audit_export_csv(db, tmp_path, capsys, make_user):
    operator = make_user("operatrice", Role.OPERATOR)
    old = audit.record(operator, "view", None, "booking")
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - dt.timedelta(days=40))
    person = create_person(operator, "booking", **TRAITS)
    audit.record(operator, "view", person, "nurse_day", day="today")
    since = (timezone.localdate() - dt.timedelta(days=7)).isoformat()
    output = tmp_path / "journal.csv"

    assert cli.main(["audit", "export", "--since", since, "--output", str(output)]) == 0

    rows = list(csv.DictReader(output.open(encoding="utf-8")))
    assert [(r["user"], r["action"], r["object"], r["purpose"]) for r in rows] == [
        ("operatrice", "create", "people.person", "booking"),
        ("operatrice", "view", "people.person", "nurse_day"),
    ]
    assert rows[0]["object_id"] == str(person.pk)
    assert dt.datetime.fromisoformat(rows[0]["at"]) <= dt.datetime.fromisoformat(rows[1]["at"])
    assert "ZORGBELIN" not in output.read_text() and "Zorgbelin" not in output.read_text()
    assert "2 événements" in capsys.readouterr().err

    # to standard output
    assert cli.main(["audit", "export", "--since", since]) == 0
    out = capsys.readouterr().out
    assert next(csv.reader(io.StringIO(out))) == audit.EXPORT_COLUMNS
    assert len(out.strip().splitlines()) == 3


def test_audit_export_bad_date(capsys):
    assert cli.main(["audit", "export", "--since", "hier"]) == 2
    assert "« hier » n'est pas une date" in capsys.readouterr().err


def test_synthetic_people_get_fiction_numbers_only(db):
    from maillage.care.people.models import is_fiction_phone

    for number in ("01 99 00 12 34", "02 61 91 00 00", "+33 3 53 01 99 99", "06 39 98 12 34"):
        person = create_person(None, "demo", **{**TRAITS, "phone": number})
        assert is_fiction_phone(person.phone), number
    with pytest.raises(ValueError, match="réservé à la fiction par l'ARCEP"):
        create_person(None, "demo", **{**TRAITS, "phone": "03 25 03 12 34"})
    real = create_person(
        None, "booking", **{**TRAITS, "synthetic": False, "phone": "03 25 03 12 34"}
    )
    assert real.phone == "+33325031234" and not is_fiction_phone(real.phone)
    assert not is_fiction_phone("+331990012345")
