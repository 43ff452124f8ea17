"""The guard of every care page that shows personal data: ``personal_data_required``.

Login, a role allowed to see personal data, and a second factor: a verified TOTP device in this
session (django-otp), or a login through Pro Santé Connect (``session["auth_method"] ==
"psc"``), which is strong authentication by itself. A user without a TOTP device is sent to
enrol one; a user with one, to type its code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from maillage.accounts.models import Role
from maillage.accounts.permissions import role_of
from maillage.accounts.twofactor import second_factor_done

#: Roles that may open care pages at all (each page may narrow it).
CARE_ROLES = (
    Role.OPERATOR,
    Role.NURSE,
    Role.PROFESSIONAL,
    Role.COORDINATOR,
    Role.ADMINISTRATOR,
)


def has_totp_device(user: Any) -> bool:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def _go(request: HttpRequest, name: str) -> HttpResponse:
    return redirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")


def check(request: HttpRequest, roles: Iterable[str] = CARE_ROLES) -> HttpResponse | None:
    """None when the request may see personal data, else the response that leads on (login,
    enrolment, code) or refuses (403, in French)."""
    user = request.user
    if not user.is_authenticated:
        return _go(request, "accounts:login")
    if role_of(user) not in set(roles):
        return render(
            request,
            "people/forbidden.html",
            {"message": "Votre rôle ne donne pas accès à ces données personnelles."},
            status=403,
        )
    if not second_factor_done(request):
        if has_totp_device(user):
            return _go(request, "accounts:otp_verify")
        return _go(request, "accounts:otp_setup")
    return None


def personal_data_required(
    view: Callable[..., HttpResponse] | None = None, *, roles: Iterable[str] = CARE_ROLES
) -> Any:
    """Decorator of care views: ``@personal_data_required`` or
    ``@personal_data_required(roles=[Role.NURSE])``."""
    roles = tuple(roles)

    def decorate(func: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refused = check(request, roles)
            if refused is not None:
                return refused
            return func(request, *args, **kwargs)

        return wrapper

    if view is not None:
        return decorate(view)
    return decorate


class PersonalDataRequiredMixin:
    """The same guard for class-based views (``personal_data_roles`` narrows the roles)."""

    personal_data_roles: Iterable[str] = CARE_ROLES

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = check(request, self.personal_data_roles)
        if refused is not None:
            return refused
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


# --- rights of the person (handled by an administrator, the data protection contact) ---------


def _person_or_403(request: HttpRequest, pk: int, action: str) -> Any:
    from django.http import Http404

    from maillage.care.people.models import Person
    from maillage.care.people.permissions import can_access

    person = Person.objects.filter(pk=pk).first()
    if person is None:
        raise Http404("personne inconnue")
    if not can_access(request.user, person, action):
        return None
    return person


def _refuse(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "people/forbidden.html",
        {"message": "Les demandes d'accès et d'effacement sont traitées par un administrateur."},
        status=403,
    )


@require_http_methods(["GET"])
@personal_data_required
def access_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The person's data as a JSON file (their right of access), audited."""
    import json

    from maillage.care.people.retention import access_request

    person = _person_or_403(request, pk, "export")
    if person is None:
        return _refuse(request)
    data = access_request(person, request.user)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="personne-{person.pk}.json"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@personal_data_required
def erase_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what erasing does; POST: erase (statistics kept), audited."""
    from maillage.care.people.retention import erase

    person = _person_or_403(request, pk, "erase")
    if person is None:
        return _refuse(request)
    if request.method == "POST":
        erase(person, request.user)
        return render(request, "people/erased.html", {"person_id": person.pk})
    return render(request, "people/erase.html", {"person_id": person.pk})


# --- identity vigilance: possible duplicates reviewed by the staff who see both persons -------

#: who reviews possible duplicates (each pair still needs both persons in the user's scope): a
#: commune's agent reviews those of the requests sent to its register
REVIEW_ROLES = (Role.OPERATOR, Role.NURSE, Role.CCAS_AGENT, Role.ADMINISTRATOR)


@require_http_methods(["GET"])
@personal_data_required(roles=REVIEW_ROLES)
def duplicates_view(request: HttpRequest) -> HttpResponse:
    """The open possible duplicates whose two persons the user may see (audited list)."""
    from maillage.care.people.identity import open_pairs

    return render(request, "people/duplicates.html", {"pairs": open_pairs(request.user)})


@require_http_methods(["GET", "POST"])
@personal_data_required(roles=REVIEW_ROLES)
def duplicate_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: both identities side by side (audited reads); POST ``decision=merge`` with
    ``keep=<id>``, or ``decision=different``."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from maillage.care.people import identity
    from maillage.care.people.models import PossibleDuplicate

    refused = {"message": "Vous ne pouvez pas voir ces deux personnes."}
    try:
        pair = identity.get_pair(request.user, pk)
    except PossibleDuplicate.DoesNotExist:
        raise Http404("doublon inconnu") from None
    except PermissionDenied:
        return render(request, "people/forbidden.html", refused, status=403)
    error = ""
    if request.method == "POST":
        decision = request.POST.get("decision", "")
        try:
            if decision == "merge":
                keep = request.POST.get("keep", "")
                if not keep.isdigit():
                    raise identity.MergeError("Choisissez la fiche à conserver.")
                kept = identity.merge(request.user, pair.pk, int(keep))
                return redirect(f"{reverse('people:duplicates')}?fusion={kept.pk}")
            if decision == "different":
                identity.mark_different(request.user, pair.pk)
                return redirect(f"{reverse('people:duplicates')}?differentes={pair.pk}")
            error = "Choisissez « fusionner » ou « personnes différentes »."
        except PermissionDenied:
            return render(request, "people/forbidden.html", refused, status=403)
        except identity.MergeError as exc:
            error = str(exc)
    open_ = pair.status == PossibleDuplicate.Status.OPEN and pair.first and pair.second
    return render(
        request,
        "people/duplicate.html",
        {
            "pair": pair,
            "open": open_,
            "persons": [pair.first, pair.second],
            "rows": _side_by_side(pair.first, pair.second) if open_ else [],
            "keepable": [p.pk for p in identity.keepable(pair)] if open_ else [],
            "error": error,
        },
        status=400 if error else 200,
    )


def _side_by_side(first: Any, second: Any) -> list[tuple[str, str, str, bool]]:
    """(label, first's value, second's value, whether they differ) for the review page."""

    def values(person: Any) -> list[tuple[str, str]]:
        return [
            ("Nom de naissance", person.birth_name),
            ("Prénoms de naissance", person.first_names),
            ("Nom utilisé", person.used_name),
            ("Prénom utilisé", person.used_first_name),
            (
                "Date de naissance",
                person.birth_date.strftime("%d/%m/%Y") if person.birth_date else "",
            ),
            ("Sexe", person.get_sex_display()),
            ("Lieu de naissance (INSEE)", person.birth_place_insee),
            ("Statut de l'identité", person.get_identity_status_display()),
            ("Téléphone", person.phone_display),
            ("Courriel", person.email),
            ("Fiche synthétique (démonstration)", "oui" if person.synthetic else "non"),
            ("Créée le", timezone.localtime(person.created_at).strftime("%d/%m/%Y %H:%M")),
        ]

    return [
        (label, a, b, a != b and label != "Créée le")
        for (label, a), (_, b) in zip(values(first), values(second), strict=True)
    ]
