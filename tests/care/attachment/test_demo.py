"""The demo's synthetic waiting list: requests of fictitious people of Haute-Marne (flagged
synthetic, fiction phone numbers), GPs' capacities, one matching run, the demo coordinator's
dashboard not empty, the demo GP's proposals; a second load writes nothing."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.utils import timezone

from maillage.care.attachment.models import AttachmentRequest, GpCapacity, MatchingRun, Proposal
from maillage.care.attachment.personal_data import coordinator_communes
from maillage.care.attachment.services import summary
from maillage.care.people.models import is_fiction_phone
from maillage.directory.models import PractitionerRole


def test_the_demo_waiting_list_is_synthetic_matched_and_loaded_once(demo_db):
    from maillage.demo.accounts import COORDINATOR_USERNAME, demo_gp, ensure_demo_accounts
    from maillage.demo.attachment import load_demo_waiting_list

    ensure_demo_accounts()
    report = load_demo_waiting_list()
    assert report.counts["demandes"] >= 35 and report.counts["capacités"] >= 4
    assert report.counts["propositions"] > 0 and MatchingRun.objects.count() == 1
    requests = AttachmentRequest.objects.select_related("person")
    assert all(r.person.synthetic and is_fiction_phone(r.person.phone) for r in requests)
    assert requests.filter(state="registered").exists() and requests.filter(state="proposed")
    months = {r.created_at.strftime("%Y-%m") for r in requests}
    assert len(months) >= 4  # spread over months: the dashboard's monthly share moves
    gp = demo_gp()
    assert GpCapacity.objects.filter(practitioner=gp).exists()
    assert Proposal.objects.filter(gp__practitioner=gp).exists()  # the demo GP has work
    capacity = GpCapacity.objects.first()
    role = PractitionerRole.objects.get(
        practitioner=capacity.practitioner, location=capacity.location
    )
    assert role.accepts_new_patients is not None  # the directory follows
    coordinator = User.objects.get(username=COORDINATOR_USERNAME)
    communes = coordinator_communes(coordinator)
    figures = summary.waiting_figures(communes, timezone.now())
    assert figures["requests"] == requests.count() and figures["people"] > 0
    assert figures["synthetic"] is True  # demo people: the figures say they are made up
    again = load_demo_waiting_list()
    assert again.counts["demandes"] == 0 and AttachmentRequest.objects.count() == requests.count()


def test_a_demo_load_that_fails_half_way_leaves_nothing(demo_db, monkeypatch):
    """All or nothing: a failure at the matching run undoes the requests and capacities."""
    from maillage.care.attachment.services import matching
    from maillage.demo.attachment import load_demo_waiting_list

    def broken(*args, **kwargs):
        raise RuntimeError("panne pendant le calcul")

    monkeypatch.setattr(matching, "run", broken)
    try:
        load_demo_waiting_list()
    except RuntimeError:
        pass
    assert not AttachmentRequest.objects.exists() and not GpCapacity.objects.exists()
