"""The professional space of the waiting list, under ``/soins/medecin-traitant/``:

- the coordinator's queue (requests of their territories, most urgent first, each priority with
  its explanation), the matching run, the weights;
- a GP's capacity and the proposals addressed to them (accept, decline, then "inscrit·e");
- an operator's or a professional's request typed for a person (channel phone/professional).

Every view is behind :func:`maillage.care.people.views.personal_data_required` (login, role,
second factor); objects outside the user's scope answer 404; lists shown are audited; GETs
never write (the audit of reads aside).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from maillage.accounts.models import Role
from maillage.analytics.attachment import WeightsError
from maillage.care.attachment.forms import CapacityForm, RequestForm, WeightsForm
from maillage.care.attachment.models import AttachmentRequest, GpCapacity, Proposal, State
from maillage.care.attachment.personal_data import coordinator_communes, practitioner_of
from maillage.care.attachment.services import capacity as capacity_service
from maillage.care.attachment.services import matching
from maillage.care.attachment.services import requests as service
from maillage.care.attachment.services import weights as weights_service
from maillage.care.people import audit
from maillage.care.people.models import ConsentChannel
from maillage.care.people.permissions import can_access
from maillage.care.people.views import personal_data_required
from maillage.directory.models import Location

COORDINATORS = [Role.COORDINATOR, Role.ADMINISTRATOR]
GPS = [Role.PROFESSIONAL]
TYPISTS = [Role.OPERATOR, Role.NURSE, Role.PROFESSIONAL, Role.COORDINATOR]


def _communes(request: HttpRequest) -> set[str] | None:
    """The coordinator's communes (None for an administrator: all)."""
    if request.user.is_superuser or request.user.profile.role == Role.ADMINISTRATOR:
        return None
    return coordinator_communes(request.user)


# --- coordinator ------------------------------------------------------------------------------


@never_cache
@personal_data_required(roles=COORDINATORS)
def queue(request: HttpRequest) -> HttpResponse:
    communes = _communes(request)
    state = request.GET.get("etat", "attente")
    rows = AttachmentRequest.objects.select_related("person", "commune")
    if communes is not None:
        rows = rows.filter(commune_id__in=communes)
    if state == "attente":
        rows = rows.filter(state__in=[State.REQUESTED, State.DECLINED, State.EXPIRED])
    elif state in State.values:
        rows = rows.filter(state=state)
    shown = list(rows.order_by("-score", "created_at", "pk")[:200])
    audit.record_list(request.user, shown, service.PURPOSE)
    return render(
        request,
        "attachment/staff/queue.html",
        {
            "requests": shown,
            "state": state,
            "states": State.choices,
            "runs": matching.MatchingRun.objects.all()[:5],
            "capacities": matching.capacities(),
            "no_territory": communes is not None and not communes,
        },
    )


@personal_data_required(roles=COORDINATORS)
@require_POST
def run_matching(request: HttpRequest) -> HttpResponse:
    communes = _communes(request)
    if communes is not None and not communes:
        raise PermissionDenied("Aucun territoire ne vous est attribué.")
    result = matching.run(request.user, communes)
    messages.success(
        request,
        f"{result.proposed} proposition(s) faite(s) pour {result.waiting} personne(s) en attente.",
    )
    return redirect("attachment:queue")


@never_cache
@personal_data_required(roles=COORDINATORS)
@require_http_methods(["GET", "POST"])
def weights_page(request: HttpRequest) -> HttpResponse:
    form = WeightsForm(request.POST or None, weights=weights_service.current())
    if request.method == "POST" and form.is_valid():
        try:
            weights_service.save(request.user, form.mapping())
        except WeightsError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, "Pondérations enregistrées : elles valent pour les nouvelles demandes."
            )
            return redirect("attachment:weights")
    return render(
        request, "attachment/staff/weights.html", {"form": form},
        status=400 if request.method == "POST" else 200,
    )  # fmt: skip


# --- typing a request for someone ------------------------------------------------------------


def _from_booking(request: HttpRequest) -> Any:
    """The teleconsultation booking a nurse comes from ("depuis"), in her scope, or None."""
    from maillage.care.scheduling.models import Booking

    pk = request.POST.get("depuis") or request.GET.get("depuis")
    if not pk:
        return None
    if not str(pk).isdigit() or len(str(pk)) > 12:
        raise Http404("Rendez-vous inconnu")
    booking = Booking.objects.select_related("person__commune").filter(pk=int(pk)).first()
    if booking is None or not can_access(request.user, booking, "view"):
        raise Http404("Rendez-vous inconnu")
    return booking


def _prefill(booking: Any) -> dict[str, Any]:
    """The person's traits and commune, and this teleconsultation counted."""
    person = booking.person
    initial = {
        "birth_name": person.birth_name, "first_names": person.first_names,
        "used_name": person.used_name, "used_first_name": person.used_first_name,
        "birth_date": person.birth_date, "sex": person.sex, "phone": person.phone,
        "email": person.email, "teleconsultations": 1,
    }  # fmt: skip
    if person.commune_id:
        initial["commune"] = f"{person.commune.name}"
    return initial


@never_cache
@personal_data_required(roles=TYPISTS)
@require_http_methods(["GET", "POST"])
def new_request(request: HttpRequest) -> HttpResponse:
    booking = _from_booking(request)
    initial = _prefill(booking) if booking is not None else None
    if booking is not None and request.method == "GET":
        audit.record(request.user, "view", booking.person, service.PURPOSE, prefill=booking.pk)
    form = RequestForm(request.POST or None, initial=initial)
    form.fields["consent"].label = (
        "La personne accepte que ces informations soient utilisées par la CPTS et transmises "
        "au médecin qui lui sera proposé, pour lui trouver un médecin traitant."
    )
    channel = (
        ConsentChannel.PHONE if request.user.profile.role == Role.OPERATOR
        else ConsentChannel.PROFESSIONAL
    )  # fmt: skip
    if request.method == "POST" and form.is_valid():
        try:
            created = service.create_request(
                request.user, traits=form.traits(),
                commune_id=form.cleaned_data["commune"].code, criteria=form.criteria(),
                channel=channel, consent=True,
                synthetic=bool(booking and booking.person.synthetic),
            )  # fmt: skip
        except service.AttachmentError as exc:
            form.add_error(None, str(exc))
        else:
            return render(
                request, "attachment/public/done.html",
                {"reference": created.reference, "staff": True},
            )  # fmt: skip
    return render(
        request, "attachment/staff/new.html", {"form": form, "booking": booking},
        status=400 if request.method == "POST" else 200,
    )  # fmt: skip


# --- GP ---------------------------------------------------------------------------------------


def _practitioner(request: HttpRequest) -> int:
    practitioner = practitioner_of(request.user)
    if practitioner is None:
        raise PermissionDenied("Votre compte n'est lié à aucune fiche de médecin de l'annuaire.")
    return practitioner


@never_cache
@personal_data_required(roles=GPS)
@require_http_methods(["GET", "POST"])
def capacity_page(request: HttpRequest) -> HttpResponse:
    practitioner = _practitioner(request)
    current = GpCapacity.objects.filter(practitioner_id=practitioner).first()
    locations = Location.objects.filter(roles__practitioner_id=practitioner).distinct()
    initial = {"age_groups": ["child", "adult", "senior"]}
    if current is not None:
        initial = {
            "new_patients_per_month": current.new_patients_per_month,
            "location": current.location_id,
            "communes": "\n".join(f"{c.name}" for c in current.communes.all()),
            "radius_km": current.radius_km,
            "age_groups": current.age_group_list,
        }
    form = CapacityForm(request.POST or None, locations=locations, initial=initial)
    if request.method == "POST" and form.is_valid():
        capacity_service.save_capacity(request.user, practitioner, form.cleaned_data)
        messages.success(request, "Votre capacité d'accueil est enregistrée.")
        return redirect("attachment:capacity")
    return render(
        request, "attachment/staff/capacity.html",
        {"form": form, "current": current, "no_location": not locations.exists()},
        status=400 if request.method == "POST" else 200,
    )  # fmt: skip


@never_cache
@personal_data_required(roles=GPS)
def proposals_page(request: HttpRequest) -> HttpResponse:
    practitioner = _practitioner(request)
    shown = list(
        Proposal.objects.filter(gp__practitioner_id=practitioner)
        .select_related("request__person", "request__commune")
        .order_by("state", "-created_at")[:200]
    )
    audit.record_list(request.user, shown, service.PURPOSE)
    return render(request, "attachment/staff/proposals.html", {"proposals": shown})


_DECISIONS = {
    "accepter": (service.accept, "Proposition acceptée : appelez la personne pour la recevoir."),
    "decliner": (service.decline, "Proposition déclinée : la personne reste dans la file."),
    "inscrire": (service.register_patient, "Médecin traitant déclaré : la demande est close."),
}  # fmt: skip


@personal_data_required(roles=GPS)
@require_POST
def decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    if decision not in _DECISIONS:
        raise Http404("Action inconnue")
    proposal = get_object_or_404(Proposal.objects.select_related("gp", "request"), pk=pk)
    if not can_access(request.user, proposal, "update"):
        raise Http404("Proposition inconnue")
    action, done = _DECISIONS[decision]
    try:
        action(request.user, proposal)
    except service.AttachmentError as exc:
        messages.error(request, str(exc))
        return redirect("attachment:proposals")
    messages.success(request, done)
    return redirect("attachment:proposals")
