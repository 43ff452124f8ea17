"""The public request to be on a commune's register of vulnerable people, with no account
(``/registre/``): the person, a relative or a professional fills the form; the request waits
"to be validated" by the commune's agents and the page gives its reference. Bad input answers
the form again with French messages (400), nothing half-written
(:func:`~maillage.care.register.services.registrations.request_registration` works in one
transaction). A link may name the commune: ``/registre/?commune=52448``. The link of a
confirmation reminder (``/registre/confirmer/<token>/``) confirms for another year."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from maillage.care.people import audit
from maillage.care.register.forms import PublicRegistrationForm
from maillage.care.register.models import Registration
from maillage.care.register.services import registrations as service
from maillage.care.register.services import reminders


def _communes() -> list[str]:
    from maillage.territory.models import Commune

    codes = service.communes_with_register()
    return list(
        Commune.objects.filter(code__in=codes).order_by("name").values_list("name", flat=True)
    )


@never_cache
@require_http_methods(["GET", "POST"])
def request_form(request: HttpRequest) -> HttpResponse:
    initial = {}
    wanted = request.GET.get("commune", "")[:10]
    if wanted.isdigit():
        from maillage.territory.models import Commune

        commune = Commune.objects.filter(code=wanted).first()
        if commune is not None:
            initial["commune"] = commune.name
    form = PublicRegistrationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = service.request_registration(
                traits=form.traits(), commune_id=data["commune"].code, details=form.details(),
                registered_by=data["registered_by"], consent=data["consent"],
                requester_name=data.get("requester_name", ""),
                requester_phone=data.get("requester_phone", ""),
            )  # fmt: skip
        except service.RegisterError as exc:
            form.add_error(None, str(exc))
        else:
            return render(
                request, "register/public/done.html",
                {"reference": created.reference, "commune": data["commune"].name,
                 "self": data["registered_by"] == "self"},
            )  # fmt: skip
    return render(
        request, "register/public/request.html", {"form": form, "communes": _communes()},
        status=400 if request.method == "POST" else 200,
    )  # fmt: skip


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link of a reminder: GET shows what it confirms (commune, reference, due date; no
    name) and a button; POST confirms for another year. A GET writes nothing but its audit."""
    try:
        registration, current = reminders.by_token(token)
    except Registration.DoesNotExist:
        raise Http404("lien inconnu ou inscription retirée") from None
    done = False
    if request.method == "POST" and current:
        registration = reminders.confirm_by_token(token)
        done = True
    else:
        audit.record(None, "view", registration, "register_confirmation", channel="link")
    return render(
        request, "register/public/confirm.html",
        {"registration": registration, "current": current, "done": done,
         "due_on": reminders.due_on(registration)},
    )  # fmt: skip
