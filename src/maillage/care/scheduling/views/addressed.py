"""The GP's page in the professional space (``/pro/mes-patients/``): the bookings of their
patients at the CPTS's teleconsultation rooms and the people sent to them as médecin relais,
with the outcome of each visit and its report, which the GP acknowledges from here.

Thin views over :mod:`..services.addressed`; professionals only, second factor required as on
every care page; the list shown is audited (purpose "gp_addressed"), the acknowledgement too.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from maillage.accounts.models import Role
from maillage.care.people import audit, flags
from maillage.care.people.views import personal_data_required
from maillage.care.scheduling.services import addressed
from maillage.care.scheduling.services.booking import BookingError, NotAllowed

GP_ROLES = (Role.PROFESSIONAL,)


@require_GET
@personal_data_required(roles=GP_ROLES)
def addressed_page(request: HttpRequest) -> HttpResponse:
    linked = addressed.practitioner_id_of(request.user) is not None
    rows = addressed.addressed_bookings(request.user)
    audit.record_list(request.user, rows.bookings, addressed.PURPOSE)
    flags.annotate(request.user, [b.person for b in rows.bookings])  # e.g. on a register
    return render(
        request,
        "scheduling/gp/addressed.html",
        {
            "linked": linked,
            "upcoming": rows.upcoming,
            "past": rows.past,
            "past_days": addressed.PAST_DAYS,
            # what the professional space's navigation (directory/pro/base_pro.html) reads
            "section": "addressed",
            "has_entry": linked,
            "gp_page": linked,
            "role_label": Role.PROFESSIONAL.label,
        },
    )


@require_POST
@personal_data_required(roles=GP_ROLES)
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        addressed.acknowledge_report(pk, request.user)
        messages.success(request, "Réception du compte rendu confirmée.")
    except NotAllowed as exc:  # not theirs, or unknown: the same answer
        return render(request, "people/forbidden.html", {"message": str(exc)}, status=403)
    except BookingError as exc:
        messages.error(request, str(exc))
    return redirect(f"{reverse('care_gp:addressed')}#rdv-{pk}")
