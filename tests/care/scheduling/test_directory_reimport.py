"""A directory import that removes a practitioner's role keeps the care apps' rows valid."""

from __future__ import annotations

from maillage.directory.imports.common import _delete_ids
from maillage.directory.models import PractitionerRole


def test_removing_a_role_detaches_the_care_rows_that_point_at_it(schedule):
    """The RPPS import deletes the roles no line describes any more with raw SQL; a care site
    and its schedule that pointed at one keep existing, detached (``on_delete=SET_NULL``),
    instead of a broken foreign key that fails the whole import."""
    role = PractitionerRole.objects.filter(active=True).order_by("pk").first()
    site = schedule.site
    site.practitioner_role = role
    site.save(update_fields=["practitioner_role"])
    schedule.practitioner_role = role
    schedule.save(update_fields=["practitioner_role"])

    _delete_ids(PractitionerRole, [role.pk])

    assert not PractitionerRole.objects.filter(pk=role.pk).exists()
    site.refresh_from_db()
    schedule.refresh_from_db()
    assert site.practitioner_role_id is None
    assert schedule.practitioner_role_id is None
