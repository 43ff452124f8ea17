"""Activity of the care sites as the seeds count it: per site and month, a chart over time,
communes of residence on a map, CSV and XLSX exports. Aggregates only (coordinators see them;
nurses and operators see their sites'): no name, no personal data, nothing audited as personal
data since none is read here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from maillage.care.scheduling.models import Site
from maillage.care.scheduling.services import activity as service
from maillage.territory.models import Commune


def _period(request: HttpRequest) -> tuple[dt.date | None, dt.date | None, str]:
    """``?depuis=AAAA-MM`` and ``?jusqu_a=AAAA-MM`` (included); a French error otherwise."""

    def month(name: str) -> dt.date | None:
        value = request.GET.get(name, "").strip()
        if not value:
            return None
        return dt.date.fromisoformat(f"{value}-01")

    try:
        start, last = month("depuis"), month("jusqu_a")
    except ValueError:
        return None, None, "Mois illisible : écrivez-le AAAA-MM (par exemple 2019-11)."
    end = None
    if last is not None:
        end = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    if start and end and end <= start:
        return None, None, "La fin de la période précède son début."
    return start, end, ""


def _context(request: HttpRequest) -> tuple[dict[str, Any], int]:
    allowed = service.sites_for(request.user, Site.objects.filter(active=True))
    slug = request.GET.get("site", "")
    sites = [s for s in allowed if s.slug == slug] if slug else allowed
    start, end, error = _period(request)
    if slug and not sites:
        error = "Ce site n'existe pas ou ne fait pas partie de vos sites."
    if error:
        return {"error": error, "allowed": allowed, "sites": []}, 400
    activity = service.compute(sites, start, end)
    return {
        "allowed": allowed,
        "sites": sites,
        "slug": slug,
        "activity": activity,
        "error": "",
    }, 200


#: Months of the monthly table when no period is chosen.
TABLE_MONTHS = 12


def _refused(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "people/forbidden.html",
        {"message": "Votre rôle ne donne pas accès à l'activité des sites de soins."},
        status=403,
    )


@require_GET
@login_required
def activity_page(request: HttpRequest) -> HttpResponse:
    if _role_refused(request):
        return _refused(request)
    context, status = _context(request)
    context["section"] = "activity"
    if status == 200:
        activity = context["activity"]
        monthly = activity.monthly.sort_values(["month", "site"], ascending=[False, True])
        if not (request.GET.get("depuis") or request.GET.get("jusqu_a")):
            # without a period the table shows the last 12 months (the chart, the totals and
            # the exports keep them all)
            recent = sorted(monthly["month"].unique())[-TABLE_MONTHS:]
            context["months_limited"] = len(recent) < monthly["month"].nunique()
            monthly = monthly[monthly["month"].isin(recent)]
        bands = [b for b, _, _ in service.care_activity.AGE_BANDS]
        context["months"] = [
            {
                **row,
                "site_name": activity.site_names.get(row["site"], row["site"]),
                "band_values": [row[b] for b in bands],
            }
            for row in monthly.to_dict("records")
        ]
        context["totals"] = [
            {**row, "site_name": activity.site_names.get(row["site"], row["site"])}
            for row in activity.totals.to_dict("records")
        ]
        context["chart"] = service.acts_chart_svg(activity.monthly, activity.site_names)
        context["map"] = _map(activity)
        context["bands"] = [b for b, _, _ in service.care_activity.AGE_BANDS]
        context["query"] = request.GET.urlencode()
    return render(request, "scheduling/staff/activity.html", context, status=status)


def _role_refused(request: HttpRequest) -> bool:
    from maillage.accounts.models import Role
    from maillage.accounts.permissions import role_of

    return role_of(request.user) not in (
        Role.COORDINATOR, Role.ADMINISTRATOR, Role.NURSE, Role.OPERATOR,
    )  # fmt: skip


def _map(activity: service.Activity) -> str:
    from maillage.observatory.report.svgmap import choropleth_svg

    shown = service.communes_shown(activity.residence)
    if not shown:
        return ""
    communes = Commune.objects.filter(pk__in=list(shown)).only("code", "name", "geometry")
    shapes = {c.code: c.geometry for c in communes if c.geometry}
    names = {c.code: c.name for c in communes}
    if not shapes:
        return ""
    top = max(shown.values())
    breaks = sorted({max(1, round(top * f)) for f in (0.05, 0.2, 0.5)})
    return choropleth_svg(
        shapes,
        {code: float(n) for code, n in shown.items()},
        [float(b) for b in breaks],
        "Actes par commune de résidence",
        "Actes",
        names=names,
        labels=[max(shown, key=shown.get)],
        value_format=lambda v: "n.d." if v is None else f"{v:.0f}",
        note=f"Communes de moins de {service.MIN_ACTS_SHOWN} actes non montrées.",
    )


def _export(request: HttpRequest, kind: str) -> HttpResponse:
    if _role_refused(request):
        return _refused(request)
    context, status = _context(request)
    if status != 200:
        return HttpResponse(context["error"], status=400, content_type="text/plain; charset=utf-8")
    activity = context["activity"]
    stamp = timezone.localdate().isoformat()
    suffix = "-synthetique" if activity.synthetic else ""
    if kind == "csv":
        response = HttpResponse(
            service.to_csv(activity).encode("utf-8-sig"), content_type="text/csv; charset=utf-8"
        )
    else:
        response = HttpResponse(
            service.to_xlsx(activity),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = (
        f'attachment; filename="activite-soins-{stamp}{suffix}.{kind}"'
    )
    return response


@require_GET
@login_required
def activity_csv(request: HttpRequest) -> HttpResponse:
    return _export(request, "csv")


@require_GET
@login_required
def activity_xlsx(request: HttpRequest) -> HttpResponse:
    return _export(request, "xlsx")
