"""Identity vigilance through scheduling: the same person booking twice is one Person; a near
match is flagged, never merged by itself; the review screen merges (every reference re-pointed,
all or nothing, audited) or marks two different people, for staff who see both persons only."""

from __future__ import annotations

import html
import logging

import pytest
from django.db import connection, transaction

from maillage.accounts.models import AuditEvent, Role
from maillage.care.people import identity
from maillage.care.people.models import Consent, Person, PossibleDuplicate
from maillage.care.scheduling import personal_data
from maillage.care.scheduling.models import Booking, Slot
from maillage.care.scheduling.services.booking import book

from .booking_fixtures import *  # noqa: F403 (the fixtures)
from .booking_fixtures import FORM, room_slots, verified_client

pytestmark = pytest.mark.django_db

WEB = {
    "birth_name": "Zorgbelin", "first_names": "Philomène Adélaïde", "birth_date": "1941-02-07",
    "sex": "F", "phone": "03 53 01 00 42",
}  # fmt: skip
SECRETS = ("Zorgbelin", "ZORGBELIN", "ZORGBELLIN", "Philomène", "1941-02-07", "07/02/1941",
           "+33353010042", "03 53 01 00 42", "mina.zorgbelin")  # fmt: skip


def text(response) -> str:
    return html.unescape(response.content.decode())


def flagged_pair(room) -> tuple[PossibleDuplicate, Booking, Booking]:
    """Two bookings at ``room``: one under the right name, one under a typo (flagged)."""
    first, second, *_ = room_slots(room)
    right = book(first, WEB, channel="web", consents={"reminders": True}).booking
    typo = book(second, {**WEB, "birth_name": "Zorgbellin"}, channel="web").booking
    return PossibleDuplicate.objects.get(), right, typo


def test_a_web_then_a_phone_booking_is_one_person_found_under_one_identity(room, operator):
    first, *_ = room_slots(room)
    web = book(first, WEB, channel="web").booking
    Person.objects.filter(pk=web.person_id).update(identity_status="validated")
    client = verified_client(operator)
    phone_form = {**FORM, "birth_name": "ZORGBELIN", "first_names": "philomene",
                  "birth_date": "07/02/1941", "phone": "03 53 01 00 43"}  # fmt: skip
    slot = room_slots(room)[1]
    assert client.post(f"/soins/operateur/creneaux/{slot.pk}/reserver/", phone_form).status_code
    assert Person.objects.count() == 1 and Booking.objects.count() == 2
    person = Person.objects.get()
    assert set(Booking.objects.values_list("person", flat=True)) == {person.pk}
    # status never lowered; the operator's newer phone and the new e-mail taken
    assert person.identity_status == "validated"
    assert (person.phone, person.email) == ("+33353010043", "mina.zorgbelin@example.org")
    reused = AuditEvent.objects.get(
        user=operator, target_type="people.person", action="update", details__identity="reused"
    )
    assert reused.details["identity"] == "reused"
    assert reused.details["fields"] == ["email", "phone"]
    # a third booking from the public web page with yet another phone: the phone stays
    book(room_slots(room)[2], {**WEB, "phone": "03 53 01 00 44"}, channel="web")
    person.refresh_from_db()
    assert Person.objects.count() == 1 and person.phone == "+33353010043"
    # the operator's search by name (written differently) finds all three under one person
    found = text(
        client.get(
            "/soins/operateur/appelants/",
            {"c-birth_name": "zorg-belin", "c-birth_date": "07/02/1941"},
        )
    )
    assert found.count("ZORGBELIN Philomène") == 3
    assert not PossibleDuplicate.objects.exists()


def test_a_near_match_is_flagged_not_merged(room):
    pair, right, typo = flagged_pair(room)
    assert right.person_id != typo.person_id and Person.objects.count() == 2
    assert (pair.first_id, pair.second_id) == (right.person_id, typo.person_id)
    assert pair.status == "open" and pair.reasons == ["name_typo"]
    assert AuditEvent.objects.filter(
        target_type="people.possibleduplicate", target_id=str(pair.pk), action="create"
    ).exists()
    # inverted day and month: flagged too; another sex: nothing
    swapped = book(room_slots(room)[2], {**WEB, "birth_date": "1941-07-02"}, channel="web")
    # paired with both earlier persons (with the typo one: two reasons)
    assert PossibleDuplicate.objects.filter(second=swapped.booking.person).count() == 2
    reasons = {tuple(r) for r in PossibleDuplicate.objects.values_list("reasons", flat=True)}
    assert {("date_inverted",), ("date_inverted", "name_typo")} <= reasons
    book(room_slots(room)[3], {**WEB, "sex": "M", "birth_name": "Zorgbelin"}, channel="web")
    assert PossibleDuplicate.objects.count() == 3


def test_the_review_screen_merges_every_reference_audited(room, operator):
    pair, right, typo = flagged_pair(room)
    Consent.objects.create(person=typo.person, purpose="teleconsultation", given=True,
                           channel="web")  # fmt: skip
    client = verified_client(operator)
    listing = client.get("/soins/personnes/doublons/")
    assert listing.status_code == 200 and 'data-testid="pair"' in text(listing)
    page = client.get(f"/soins/personnes/doublons/{pair.pk}/")
    assert page.status_code == 200
    assert "ZORGBELIN" in text(page) and "ZORGBELLIN" in text(page)
    # the rows that differ are marked (not by colour alone), the others not
    assert '<tr class="differs"><th>Nom de naissance <span class="small">(diffère)' in text(page)
    assert "<tr><th>Date de naissance</th>" in text(page)
    assert AuditEvent.objects.filter(
        user=operator, action="view", target_type="people.person", details__pair=pair.pk
    ).exists()
    merged = client.post(
        f"/soins/personnes/doublons/{pair.pk}/", {"decision": "merge", "keep": right.person_id}
    )
    assert merged.status_code == 302, text(merged)[:3000]
    assert list(Person.objects.values_list("pk", flat=True)) == [right.person_id]
    assert set(Booking.objects.values_list("person", flat=True)) == {right.person_id}
    assert Consent.objects.filter(person=right.person_id).count() == 2
    pair.refresh_from_db()
    assert (pair.status, pair.kept_id, pair.merged_id) == (
        "merged",
        right.person_id,
        typo.person_id,
    )
    kept = AuditEvent.objects.get(user=operator, action="update", target_id=str(right.person_id))
    assert kept.details["merged"] == typo.person_id and kept.details["moved"] == 2
    assert AuditEvent.objects.filter(
        user=operator, action="delete", target_type="people.person",
        target_id=str(typo.person_id), details__merged_into=right.person_id,
    ).exists()  # fmt: skip
    # done: a second POST is refused in French, nothing listed any more
    again = client.post(
        f"/soins/personnes/doublons/{pair.pk}/", {"decision": "merge", "keep": right.person_id}
    )
    assert again.status_code in (200, 400) and "déjà été traitée" in text(again)
    assert 'data-testid="no-duplicate"' in text(client.get("/soins/personnes/doublons/"))


def test_the_higher_identity_status_is_kept_and_different_people_are_recorded(room, operator):
    pair, right, typo = flagged_pair(room)
    Person.objects.filter(pk=typo.person_id).update(identity_status="qualified")
    client = verified_client(operator)
    url = f"/soins/personnes/doublons/{pair.pk}/"
    lower = client.post(url, {"decision": "merge", "keep": right.person_id})
    assert lower.status_code == 400 and "statut le plus élevé" in text(lower)
    assert Person.objects.count() == 2
    assert client.post(url, {"decision": "nimporte"}).status_code == 400
    assert client.post(url, {"decision": "different"}).status_code == 302
    pair.refresh_from_db()
    assert (pair.status, pair.decided_by) == ("different", operator)
    assert Person.objects.count() == 2
    assert AuditEvent.objects.filter(
        user=operator, target_type="people.possibleduplicate", details__decision="different"
    ).exists()


def test_a_merge_failing_halfway_changes_nothing(room, operator, monkeypatch):
    pair, right, typo = flagged_pair(room)

    def boom(kept, duplicate):
        raise RuntimeError("une application tombe en panne au milieu de la fusion")

    monkeypatch.setattr(identity, "_mergers", [personal_data.merge_bookings, boom])
    audits = AuditEvent.objects.count()
    with pytest.raises(RuntimeError):
        identity.merge(operator, pair.pk, right.person_id)
    assert Booking.objects.get(pk=typo.pk).person_id == typo.person_id
    assert Person.objects.count() == 2
    pair.refresh_from_db()
    assert pair.status == "open" and AuditEvent.objects.count() == audits
    # an app that did not register its references: the safety net refuses, nothing moved
    monkeypatch.setattr(identity, "_mergers", [])
    with pytest.raises(identity.MergeError, match="scheduling.booking"):
        identity.merge(operator, pair.pk, right.person_id)
    assert Booking.objects.get(pk=typo.pk).person_id == typo.person_id
    assert Person.objects.count() == 2


def test_an_operator_of_another_site_cannot_see_or_merge(room, other_site, make_user):
    pair, right, typo = flagged_pair(room)
    stranger = make_user("operateur2", Role.OPERATOR)
    other_site.staff.add(stranger)
    client = verified_client(stranger)
    assert 'data-testid="pair"' not in text(client.get("/soins/personnes/doublons/"))
    url = f"/soins/personnes/doublons/{pair.pk}/"
    page = client.get(url)
    assert page.status_code == 403 and "ZORGBELIN" not in text(page)
    refused = client.post(url, {"decision": "merge", "keep": right.person_id})
    assert refused.status_code == 403
    assert client.post(url, {"decision": "different"}).status_code == 403
    assert Person.objects.count() == 2 and PossibleDuplicate.objects.get().status == "open"
    # one of the two booked at the stranger's site: still not both, still refused
    book(Slot.objects.get(schedule__site=other_site), typo.person, channel="web")
    assert client.get(url).status_code == 403
    with pytest.raises(Exception, match="accès refusé"):
        identity.merge(stranger, pair.pk, right.person_id)
    assert client.get("/soins/personnes/doublons/999999/").status_code == 404


def test_matching_uses_an_index(room):
    person = Person(birth_name="X", first_names="Y", sex="F")
    query = Person.objects.filter(
        match_key="ZORGBELIN|PHILOMENE", birth_date="1941-02-07", sex="F"
    ).query
    near = Person.objects.filter(birth_date__in=["1941-02-07", "1941-07-02"], sex="F").query
    with transaction.atomic(), connection.cursor() as cursor:
        for q in (query, near):
            sql, params = q.sql_with_params()
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL enable_seqscan = off")  # tiny table: ask for its index
                cursor.execute("EXPLAIN " + sql, params)
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row) for row in cursor.fetchall())
            assert "INDEX" in plan.upper() and "people_person" in plan, plan
    assert person.compute_match_key() == "X|Y"


def test_nothing_personal_is_logged(room, operator, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("maillage", "django", "django.request"):
        caplog.set_level(logging.DEBUG, logger=name)
    pair, right, typo = flagged_pair(room)
    client = verified_client(operator)
    client.get("/soins/personnes/doublons/")
    client.get(f"/soins/personnes/doublons/{pair.pk}/")
    client.post(f"/soins/personnes/doublons/{pair.pk}/", {"decision": "merge", "keep": "x"})
    client.post(
        f"/soins/personnes/doublons/{pair.pk}/", {"decision": "merge", "keep": right.person_id}
    )
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {getattr(r, 'request', '')}" for r in caplog.records
    )
    assert caplog.records
    for secret in SECRETS:
        assert secret not in logged, secret
    details = " ".join(str(e.details) for e in AuditEvent.objects.all())
    for secret in SECRETS:
        assert secret not in details, secret
