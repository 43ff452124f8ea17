"""The register's pages under ``/soins/registre/``:

- a commune's agent: the register of their communes (register a person with their consent,
  confirm, remove), the campaigns, the call screen (next person, outcome);
- a coordinator: open a campaign, its figures (no name), the prefect's list (CSV, audited);
- the administrator: everything.

Every view is behind :func:`maillage.care.people.views.personal_data_required` (login, role,
second factor); objects outside the user's communes answer 404; lists shown are audited; GETs
never write (the audit of reads aside) — the call screen takes a person only on POST.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from maillage.accounts.models import Role
from maillage.accounts.permissions import role_of
from maillage.care.people import audit
from maillage.care.people.models import ConsentChannel
from maillage.care.people.views import personal_data_required
from maillage.care.register.forms import CampaignForm, RegistrationForm
from maillage.care.register.models import CallAssignment, Campaign, Outcome, Registration
from maillage.care.register.personal_data import profile_communes
from maillage.care.register.services import campaigns as campaign_service
from maillage.care.register.services import prefect, reminders
from maillage.care.register.services import registrations as service
from maillage.care.register.services.summary import (
    DUE_DAYS,
    campaign_figures,
    register_figures,
)

AGENTS = [Role.CCAS_AGENT, Role.ADMINISTRATOR]
DUE_WINDOW = dt.timedelta(days=DUE_DAYS)
OPENERS = [Role.CCAS_AGENT, Role.COORDINATOR, Role.ADMINISTRATOR]
PREFECT = [Role.COORDINATOR, Role.ADMINISTRATOR]


def _communes(request: HttpRequest) -> set[str] | None:
    """The user's communes (None for an administrator: all)."""
    if role_of(request.user) == Role.ADMINISTRATOR:
        return None
    return profile_communes(request.user)


def _commune_choices(communes: set[str] | None) -> list[tuple[str, str]]:
    """The communes a user may pick: their own (an administrator: those of the platform's
    default territory, ``MAILLAGE_DEFAULT_TERRITORY``)."""
    from maillage.config import DEFAULT_TERRITORY
    from maillage.territory.models import Commune
    from maillage.territory.services import UnknownTerritory, resolve

    if communes is None:
        try:
            rows = resolve(DEFAULT_TERRITORY).communes.all()
        except UnknownTerritory:
            rows = Commune.objects.none()
    else:
        rows = Commune.objects.filter(code__in=communes)
    return [(c.code, f"{c.name} ({c.code})") for c in rows.order_by("name")[:1000]]


# --- the register -----------------------------------------------------------------------------


@never_cache
@personal_data_required(roles=AGENTS)
@require_http_methods(["GET", "POST"])
def register_list(request: HttpRequest) -> HttpResponse:
    communes = _communes(request)
    form = RegistrationForm(request.POST or None, communes=_commune_choices(communes))
    if request.method == "POST" and form.is_valid():
        try:
            registration = service.register_person(
                request.user, traits=form.traits(), commune_id=form.cleaned_data["commune"],
                details=form.details(), registered_by=form.cleaned_data["registered_by"],
                consent=form.cleaned_data["consent"], channel=ConsentChannel.PROFESSIONAL,
            )  # fmt: skip
        except service.RegisterError as exc:
            form.add_error(None, str(exc))
        except PermissionDenied:
            form.add_error("commune", "Cette commune n'est pas dans votre territoire.")
        else:
            messages.success(request, f"Personne inscrite ({registration}).")
            return redirect("register:list")
    now = timezone.now()
    only_due = request.GET.get("echeance") == "1"
    shown = service.visible(request.user, communes)
    if only_due:
        shown = shown.filter(confirmed_at__lt=service.confirmation_cutoff(now + DUE_WINDOW))
    rows = list(shown.order_by("commune__name", "person__birth_name", "pk")[:500])
    waiting = [(r, service.duplicates(request.user, r))
               for r in service.pending(request.user, communes)[:100]]  # fmt: skip
    seen = [*rows, *(r for r, _ in waiting)]
    audit.record_list(request.user, seen, service.PURPOSE)
    others = [other for _, found in waiting for _, other, _ in found["pairs"]]
    if others:
        audit.record_list(request.user, others, service.PURPOSE, duplicates=True)
    return render(
        request, "register/list.html",
        {"form": form, "registrations": reminders.due_rows(rows, now), "pending": waiting,
         "only_due": only_due,
         "no_territory": communes is not None and not communes,
         "figures": register_figures(communes, now) if communes is not None else None},
        status=400 if request.method == "POST" else 200,
    )  # fmt: skip


def _registration(request: HttpRequest, pk: int, action: str) -> Registration:
    try:
        return service.get(request.user, pk, action)
    except (Registration.DoesNotExist, PermissionDenied):
        raise Http404("inscription inconnue") from None


@personal_data_required(roles=AGENTS)
@require_POST
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        service.confirm(request.user, _registration(request, pk, "update"))
    except service.RegisterError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Inscription confirmée pour un an.")
    return redirect("register:list")


DECISIONS = {
    "validate": (service.validate, "Demande validée : la personne est inscrite au registre."),
    "join": (service.join_existing, "Demande jointe à l'inscription existante, reconfirmée."),
    "refuse": (service.refuse, "Demande refusée."),
}


@personal_data_required(roles=AGENTS)
@require_POST
def decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    """Validate, join to the existing registration, or refuse a public request."""
    act, done = DECISIONS[decision]
    try:
        act(request.user, _registration(request, pk, "update"))
    except service.RegisterError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return redirect("register:list")


@personal_data_required(roles=AGENTS)
@require_POST
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        service.remove(request.user, _registration(request, pk, "delete"))
    except service.RegisterError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "La personne est retirée du registre.")
    return redirect("register:list")


# --- campaigns --------------------------------------------------------------------------------


@never_cache
@personal_data_required(roles=OPENERS)
@require_http_methods(["GET", "POST"])
def campaigns(request: HttpRequest) -> HttpResponse:
    communes = _communes(request)
    territories = [(t.slug, f"{t.name} ({t.communes.count()} communes)")
                   for t in campaign_service.territories_for(request.user)]  # fmt: skip
    form = CampaignForm(
        request.POST or None, communes=_commune_choices(communes), territories=territories
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = campaign_service.open_campaign(
                request.user, data["kind"], data["level"], set(data["communes"]),
                max_attempts=data["max_attempts"], territory=data.get("territory") or "",
            )  # fmt: skip
        except service.RegisterError as exc:
            form.add_error(None, str(exc))
        except PermissionDenied:
            form.add_error(None, "Ces communes ne sont pas dans votre territoire.")
        else:
            messages.success(request, "Campagne ouverte : les appels peuvent commencer.")
            return redirect("register:campaign", pk=campaign.pk)
    rows = [(c, campaign_figures(c)) for c in campaign_service.campaigns_for(request.user)]
    return render(
        request, "register/campaigns.html", {"form": form, "campaigns": rows},
        status=400 if request.method == "POST" else 200,
    )  # fmt: skip


def _campaign(request: HttpRequest, pk: int) -> Campaign:
    campaign = get_object_or_404(Campaign, pk=pk)
    communes = _communes(request)
    if communes is not None and not campaign.scope_communes() & communes:
        raise Http404("campagne inconnue")
    return campaign


@never_cache
@personal_data_required(roles=OPENERS)
@require_http_methods(["GET", "POST"])
def campaign_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The live dashboard (counts for everyone; the home-visit list for agents)."""
    campaign = _campaign(request, pk)
    if request.method == "POST" and request.POST.get("close"):
        campaign_service.close_campaign(request.user, campaign)
        messages.success(request, "Campagne close.")
        return redirect("register:campaign", pk=campaign.pk)
    visits: list[CallAssignment] = []
    if role_of(request.user) in AGENTS:
        visits = campaign_service.home_visits(campaign, _communes(request))
        audit.record_list(request.user, visits, campaign_service.PURPOSE)
    return render(
        request, "register/campaign.html",
        {"campaign": campaign, "figures": campaign_figures(campaign), "visits": visits,
         "is_agent": role_of(request.user) in AGENTS},
    )  # fmt: skip


@never_cache
@personal_data_required(roles=AGENTS)
@require_http_methods(["GET", "POST"])
def call(request: HttpRequest, pk: int) -> HttpResponse:
    """The agent's call screen: POST takes (or keeps) the next person; GET shows the call the
    agent holds, taking none."""
    campaign = _campaign(request, pk)
    if request.method == "POST":
        campaign_service.next_call(request.user, campaign)
        return redirect("register:call", pk=campaign.pk)
    held = (
        CallAssignment.objects.select_related("registration__person", "registration__commune")
        .filter(campaign=campaign, agent=request.user, outcome__in=("pending", "not_reached"),
                escalated=False).order_by("pk").first()
    )  # fmt: skip
    if held is not None:
        audit.record(request.user, "view", held, campaign_service.PURPOSE,
                     registration=held.registration_id)  # fmt: skip
    return render(
        request, "register/call.html",
        {"campaign": campaign, "call": held, "outcomes": Outcome.choices[1:],
         "figures": campaign_figures(campaign)},
    )  # fmt: skip


@personal_data_required(roles=AGENTS)
@require_POST
def outcome(request: HttpRequest, pk: int, call: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    assignment = CallAssignment.objects.filter(campaign=campaign, pk=call).select_related(
        "registration").first()  # fmt: skip
    if assignment is None:
        raise Http404("appel inconnu")
    try:
        campaign_service.record_outcome(
            assignment, request.POST.get("outcome", ""), request.POST.get("note", "")[:1000],
            request.user,
        )  # fmt: skip
    except PermissionDenied:
        raise Http404("appel inconnu") from None
    except service.RegisterError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Résultat enregistré.")
    return redirect("register:call", pk=campaign.pk)


# --- the prefect's list -----------------------------------------------------------------------

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@personal_data_required(roles=PREFECT)
def prefect_list(request: HttpRequest, fmt: str = "csv") -> HttpResponse:
    """The nominative list the prefect may ask for (CSV or XLSX), audited as an export."""
    table = prefect.rows(request.user, _communes(request), fmt)
    body = prefect.to_csv(table) if fmt == "csv" else prefect.to_xlsx(table)
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="registre-personnes-vulnerables.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response
