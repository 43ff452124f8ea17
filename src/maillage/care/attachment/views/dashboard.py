"""The coordinator's dashboard of the waiting list (``/soins/medecin-traitant/tableau-de-bord/``)
and its CSV/XLSX exports: figures of the coordinator's communes only, aggregates (no name, so
nothing personal is read or audited). The numbers are those of ``maillage care summary``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from maillage.accounts.models import Role
from maillage.care.attachment.models import AttachmentRequest, GpCapacity
from maillage.care.attachment.personal_data import coordinator_communes
from maillage.care.attachment.services import dashboard as service
from maillage.care.people.views import personal_data_required

COORDINATORS = [Role.COORDINATOR, Role.ADMINISTRATOR]


def _communes(request: HttpRequest) -> set[str]:
    """The coordinator's communes; an administrator's: every commune with a request or a
    capacity."""
    if request.user.is_superuser or request.user.profile.role == Role.ADMINISTRATOR:
        # not every commune of France (too many parameters for one query): those concerned
        return set(AttachmentRequest.objects.values_list("commune_id", flat=True)) | set(
            GpCapacity.objects.values_list("location__commune_id", flat=True)
        )
    return coordinator_communes(request.user)


@never_cache
@require_GET
@personal_data_required(roles=COORDINATORS)
def dashboard_page(request: HttpRequest) -> HttpResponse:
    communes = _communes(request)
    board = service.compute(communes, timezone.now())
    band = request.GET.get("priorite", "")
    if band not in {b["key"] for b in board.bands}:
        band = ""
    return render(request, "attachment/staff/dashboard.html", {
        "board": board, "band": band, "map": service.map_svg(board, communes, band),
        "no_territory": not communes, "official_missing": service.OFFICIAL_SOURCE_MISSING,
        "total_labels": service.TOTAL_LABELS,
        "band_label": next((b["label"] for b in board.bands if b["key"] == band), ""),
    })  # fmt: skip


def _export(request: HttpRequest, kind: str) -> HttpResponse:
    board = service.compute(_communes(request), timezone.now())
    stamp = timezone.localdate().isoformat()
    suffix = "-synthetique" if board.synthetic else ""
    if kind == "csv":
        response = HttpResponse(
            service.to_csv(board).encode("utf-8-sig"), content_type="text/csv; charset=utf-8"
        )
    else:
        response = HttpResponse(
            service.to_xlsx(board),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = (
        f'attachment; filename="medecin-traitant-{stamp}{suffix}.{kind}"'
    )
    return response


@never_cache
@require_GET
@personal_data_required(roles=COORDINATORS)
def dashboard_csv(request: HttpRequest) -> HttpResponse:
    return _export(request, "csv")


@never_cache
@require_GET
@personal_data_required(roles=COORDINATORS)
def dashboard_xlsx(request: HttpRequest) -> HttpResponse:
    return _export(request, "xlsx")
