"""The discharge letters' pages (thin: the logic is in ``services/``):

- the hospital referent's, under ``/soins/sorties/``: list, form, CSV import with its column
  mapping, overdue letters;
- the indicators page and its CSV/XLSX export (referent: their hospitals; coordinator: the
  hospitals of their territories; figures only);
- the GP's, under ``/pro/lettres-de-sortie/``: their patients' letters, acknowledged in one
  click; and the signed link of the MSSanté message, ``/lettre-de-sortie/<token>/`` (GET shows a
  confirmation page, only POST acknowledges).

Every personal page is behind ``personal_data_required``; objects outside the user's scope
answer 404; lists shown are audited; a GET never writes (the audit of reads aside).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from maillage.accounts.models import Role
from maillage.care.letters.forms import DischargeForm, MappingForm, UploadForm
from maillage.care.letters.models import Discharge, ImportDraft, NoticeStatus
from maillage.care.letters.personal_data import hospitals_of
from maillage.care.letters.services import discharges as service
from maillage.care.letters.services import export, imports, notices
from maillage.care.letters.services.summary import hospital_rows
from maillage.care.people import flags
from maillage.care.people.views import personal_data_required
from maillage.directory.models import Organization

REFERENTS = [Role.HOSPITAL, Role.ADMINISTRATOR]
FIGURES = [Role.HOSPITAL, Role.COORDINATOR, Role.ADMINISTRATOR]
GPS = [Role.PROFESSIONAL]


def _hospitals(request: HttpRequest) -> QuerySet[Organization]:
    if request.user.is_superuser or request.user.profile.role == Role.ADMINISTRATOR:
        return Organization.objects.filter(kind="hopital").order_by("name")
    return Organization.objects.filter(pk__in=hospitals_of(request.user)).order_by("name")


# --- hospital referent ------------------------------------------------------------------------


@never_cache
@personal_data_required(roles=REFERENTS)
def discharge_list(request: HttpRequest) -> HttpResponse:
    shown = service.listed(request.user)
    for d in shown:  # the acknowledgement link to put in the letter's MSSanté message
        if d.gp_id is not None and d.acknowledged_at is None:
            d.link = request.build_absolute_uri(
                reverse("letters:link", args=[service.signed_token(d)])
            )
    return render(
        request,
        "letters/list.html",
        {"discharges": shown, "no_hospital": not _hospitals(request).exists()},
    )


@never_cache
@personal_data_required(roles=REFERENTS)
@require_http_methods(["GET", "POST"])
def new_discharge(request: HttpRequest) -> HttpResponse:
    form = DischargeForm(request.POST or None, hospitals=_hospitals(request))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                person = service.new_person(form.person_traits())
                service.record_discharge(request.user, person, form.discharge_values())
            except ValueError as exc:
                form.add_error(None, str(exc))
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, "Sortie enregistrée.")
                return redirect("letters:list")
        status = 400
    return render(request, "letters/form.html", {"form": form}, status=status)


@never_cache
@personal_data_required(roles=REFERENTS)
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None, hospitals=_hospitals(request))
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                draft = imports.upload(
                    request.user, form.cleaned_data["hospital"], upload.name, upload.read()
                )
            except imports.ImportRefused as exc:
                form.add_error("file", f"{upload.name} : {exc}")
            else:
                return redirect("letters:import_mapping", pk=draft.pk)
        return render(request, "letters/import.html", {"form": form}, status=400)
    return render(request, "letters/import.html", {"form": form})


@never_cache
@personal_data_required(roles=REFERENTS)
@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        draft = imports.get_draft(request.user, pk)
    except ImportDraft.DoesNotExist:
        raise Http404 from None
    columns = imports.header(draft.content)
    rows = max(draft.content.strip().count("\n"), 0)
    context = {"draft": draft, "columns": columns, "rows": rows, "errors": []}
    if request.method == "GET":
        form = MappingForm(initial=imports.guess_mapping(columns), columns=columns)
        return render(request, "letters/mapping.html", {**context, "form": form})
    form = MappingForm(request.POST, columns=columns)
    if form.is_valid():
        try:
            outcome = imports.run(request.user, draft, form.mapping())
        except imports.ImportRefused as exc:
            context["errors"] = [str(exc)]
        else:
            if not outcome.errors:
                messages.success(request, f"{outcome.filename} : {outcome.counts()}.")
                return redirect("letters:list")
            context["errors"] = [f"{draft.filename}, {e}" for e in outcome.errors[:200]]
            context["more_errors"] = max(len(outcome.errors) - 200, 0)
    return render(request, "letters/mapping.html", {**context, "form": form}, status=400)


@personal_data_required(roles=REFERENTS)
@require_POST
def send_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Envoyer l'avis au médecin traitant": the MSSanté notice queued (sent in the
    background)."""
    try:
        notice = notices.request(request.user, pk)
    except Discharge.DoesNotExist:
        raise Http404 from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("letters:list")
    if notice.status == NoticeStatus.SENT:
        messages.info(request, "L'avis a déjà été envoyé au médecin traitant.")
    else:
        messages.success(request, "L'avis au médecin traitant part par MSSanté.")
    return redirect("letters:list")


@never_cache
@personal_data_required(roles=REFERENTS)
def overdue_list(request: HttpRequest) -> HttpResponse:
    shown = service.overdue(request.user)
    return render(
        request, "letters/overdue.html", {"discharges": shown, "days": service.OVERDUE_DAYS}
    )


# --- indicators (figures only) ----------------------------------------------------------------


def _figures(request: HttpRequest) -> tuple[list[dict], list[dict], bool]:
    scope = service.indicator_hospitals(request.user)
    now = timezone.now()
    recent = scope.filter(discharge_at__gt=now - timezone.timedelta(days=365))
    return hospital_rows(scope, now), service.table(recent), recent.filter(synthetic=True).exists()


@never_cache
@personal_data_required(roles=FIGURES)
def indicators_page(request: HttpRequest) -> HttpResponse:
    by_hospital, detail, synthetic = _figures(request)
    recent = service.indicator_hospitals(request.user).filter(
        discharge_at__gt=timezone.now() - timezone.timedelta(days=365)
    )
    return render(
        request,
        "letters/indicators.html",
        {
            "hospitals": by_hospital,
            "groups": service.by_hospital_and_service(
                service.table(recent, ("hospital", "service")), detail
            ),
            "synthetic": synthetic,
            "chart": export.trend_svg(service.table(recent, ("hospital", "month"))),
        },
    )


@personal_data_required(roles=FIGURES)
def indicators_export(request: HttpRequest, fmt: str) -> HttpResponse:
    _, detail, synthetic = _figures(request)
    stamp = timezone.localdate().isoformat()
    if fmt == "csv":
        response = HttpResponse(
            export.to_csv(detail, synthetic), content_type="text/csv; charset=utf-8"
        )
    else:
        response = HttpResponse(
            export.to_xlsx(detail, synthetic),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="lettres-de-sortie-{stamp}.{fmt}"'
    return response


# --- GP ---------------------------------------------------------------------------------------


@never_cache
@personal_data_required(roles=GPS)
def gp_list(request: HttpRequest) -> HttpResponse:
    if service.practitioner_of(request.user) is None:
        raise PermissionDenied("Votre compte n'est pas relié à votre fiche de l'annuaire.")
    shown = service.listed(request.user)
    flags.annotate(request.user, [d.person for d in shown])  # e.g. on a register
    return render(
        request,
        "letters/gp_list.html",
        {
            "discharges": shown,
            # what the professional space's navigation (directory/pro/base_pro.html) reads
            "section": "letters",
            "has_entry": True,
            "gp_page": True,
            "role_label": Role.PROFESSIONAL.label,
        },
    )


@personal_data_required(roles=GPS)
@require_POST
def gp_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        service.acknowledge(request.user, pk)
    except Discharge.DoesNotExist:
        raise Http404 from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("letters:gp_list")
    messages.success(request, "Réception de la lettre de liaison enregistrée.")
    return redirect("letters:gp_list")


@never_cache
@require_http_methods(["GET", "POST"])
def link_acknowledge(request: HttpRequest, token: str) -> HttpResponse:
    """The link of the MSSanté message: no login (the GP's secure mailbox is the proof), no
    name shown; GET confirms, POST acknowledges."""
    try:
        discharge = service.by_token(token)
    except Discharge.DoesNotExist:
        raise Http404 from None
    if request.method == "POST":
        try:
            discharge = service.acknowledge_by_token(token)
        except ValidationError as exc:
            return render(
                request, "letters/link.html", {"discharge": discharge, "error": exc.messages[0]},
                status=400,
            )  # fmt: skip
        return render(request, "letters/link.html", {"discharge": discharge, "done": True})
    return render(request, "letters/link.html", {"discharge": discharge})
