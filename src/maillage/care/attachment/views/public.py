"""The public request for a médecin traitant, with no account: the form, then a confirmation
with the request's reference. Bad input answers the form again with French messages (400),
nothing half-written (:func:`~maillage.care.attachment.services.requests.create_request` works
in one transaction)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from maillage.care.attachment.forms import RequestForm
from maillage.care.attachment.services.requests import AttachmentError, create_request
from maillage.care.people.models import ConsentChannel


@never_cache
@require_http_methods(["GET", "POST"])
def request_form(request: HttpRequest) -> HttpResponse:
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = create_request(
                None, traits=form.traits(), commune_id=form.cleaned_data["commune"].code,
                criteria=form.criteria(), channel=ConsentChannel.WEB, consent=True,
            )  # fmt: skip
        except AttachmentError as exc:
            form.add_error(None, str(exc))
        else:
            return render(request, "attachment/public/done.html", {"reference": created.reference})
    return render(
        request,
        "attachment/public/request.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )
