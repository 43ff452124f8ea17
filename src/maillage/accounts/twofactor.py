"""Two-factor login (TOTP, RFC 6238) with django-otp, for the roles that see personal data.

- Enrolment (``/compte/double-authentification/``): the page shows a new secret as a QR code
  (segno, inline SVG: no image service) and as text; the secret travels signed in the form, so
  that the GET writes nothing; the device is created, confirmed, when the user types a code the
  app computed from it.
- Verification (``/connexion/code/``): after the password, operators and nurses, and anyone
  with a confirmed device, type the current code; professionals and coordinators without one
  are asked only when they open a care page
  (:func:`maillage.care.people.views.personal_data_required`).

A login through Pro Santé Connect counts as the second factor (``session["auth_method"]``).
"""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import quote, urlencode

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from maillage.accounts.models import Role
from maillage.accounts.permissions import role_of

#: Roles asked for their second factor right after the password.
ALWAYS_TWO_FACTOR = (Role.OPERATOR, Role.NURSE, Role.CCAS_AGENT, Role.HOSPITAL)
SETUP_SALT = "maillage.accounts.twofactor.setup"
SETUP_MAX_AGE = 15 * 60  # seconds to type the first code


def confirmed_devices(user: Any) -> list:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return list(TOTPDevice.objects.filter(user=user, confirmed=True))


def otpauth_uri(username: str, key_hex: str) -> str:
    """The ``otpauth://`` URI that authenticator apps read from the QR code."""
    issuer = getattr(settings, "OTP_TOTP_ISSUER", "maillage")
    secret = base64.b32encode(bytes.fromhex(key_hex)).decode("ascii").rstrip("=")
    label = quote(f"{issuer}:{username}")
    query = urlencode({"secret": secret, "issuer": issuer, "digits": 6, "period": 30})
    return f"otpauth://totp/{label}?{query}"


def _next(request: HttpRequest, default: str = "") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    if default:
        return default
    if request.user.is_authenticated:
        from maillage.accounts.permissions import home_of

        return home_of(request.user)[0]
    return settings.LOGIN_REDIRECT_URL


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code à 6 chiffres",
        max_length=10,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (code.isdigit() and len(code) == 6):
            raise forms.ValidationError("Le code fait 6 chiffres.")
        return code


class LoginView(auth_views.LoginView):
    """Django's login, then the code for those who need it at once."""

    template_name = "accounts/login.html"

    def get_default_redirect_url(self) -> str:
        """Without a ``next``, each role starts on its own page (operators on the phone
        booking screen, nurses on their day)."""
        from maillage.accounts.permissions import home_of

        if self.request.user.is_authenticated:
            return home_of(self.request.user)[0]
        return super().get_default_redirect_url()

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        if self.request.session.get("auth_method") == "psc":
            return response
        needs = role_of(user) in ALWAYS_TWO_FACTOR or confirmed_devices(user)
        if not needs:
            return response
        name = "accounts:otp_verify" if confirmed_devices(user) else "accounts:otp_setup"
        return redirect(f"{reverse(name)}?{urlencode({'next': self.get_success_url()})}")


@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP device (one per user: an administrator removes a lost one)."""
    import segno
    from django_otp import login as otp_login
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    target = _next(request)
    if confirmed_devices(request.user):
        return redirect(f"{reverse('accounts:otp_verify')}?{urlencode({'next': target})}")
    form = CodeForm(request.POST or None)
    key_hex = None
    error = ""
    if request.method == "POST":
        try:
            key_hex = signing.loads(
                request.POST.get("setup", ""),
                salt=f"{SETUP_SALT}:{request.user.pk}",
                max_age=SETUP_MAX_AGE,
            )
        except signing.BadSignature:
            error = "Le délai d'inscription a expiré : scannez le nouveau code ci-dessous."
            key_hex = None
        if key_hex and form.is_valid():
            totp = TOTP(bytes.fromhex(key_hex), step=30, digits=6)
            code = int(form.cleaned_data["code"])
            if totp.verify(code, tolerance=1):
                device = TOTPDevice.objects.create(
                    user=request.user, name="Application d'authentification", key=key_hex,
                    confirmed=True, last_t=totp.t(),
                )  # fmt: skip
                otp_login(request, device)
                return redirect(target)
            error = "Ce code ne correspond pas : vérifiez l'heure du téléphone et réessayez."
    if key_hex is None:
        key_hex = secrets.token_hex(20)
    uri = otpauth_uri(request.user.get_username(), key_hex)
    context = {
        "form": form,
        "error": error,
        "next": target,
        "setup": signing.dumps(key_hex, salt=f"{SETUP_SALT}:{request.user.pk}"),
        "qr_svg": segno.make(uri, error="m").svg_inline(scale=4, title="Code QR d'inscription"),
        "secret": " ".join(
            base64.b32encode(bytes.fromhex(key_hex)).decode().rstrip("=")[i : i + 4]
            for i in range(0, 32, 4)
        ),
    }
    status = 400 if (error or form.errors) else 200
    return render(request, "accounts/otp_setup.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    """Type the current code of the enrolled device."""
    from django_otp import login as otp_login

    target = _next(request)
    devices = confirmed_devices(request.user)
    if not devices:
        return redirect(f"{reverse('accounts:otp_setup')}?{urlencode({'next': target})}")
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        for device in devices:
            allowed, _ = device.verify_is_allowed()
            if not allowed:
                error = "Trop d'essais : attendez quelques secondes avant de réessayer."
                break
            if device.verify_token(form.cleaned_data["code"]):
                otp_login(request, device)
                return redirect(target)
        else:
            error = "Code incorrect ou expiré."
    status = 400 if (error or form.errors) else 200
    return render(
        request,
        "accounts/otp_verify.html",
        {"form": form, "error": error, "next": target},
        status=status,
    )


def second_factor_done(request: HttpRequest) -> bool:
    """Whether this session passed strong authentication (TOTP verified, or PSC login)."""
    if request.session.get("auth_method") == "psc":
        return True
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


class SecondFactorMiddleware:
    """Operators and nurses are logged in only once their code is typed: until then, every page
    but the code, enrolment and logout pages leads to the code page (without it, a nurse who
    left the code page would browse the professional space on her password alone).

    Requests authenticated by an API token carry no session user and are not concerned.
    """

    #: URL names reachable before the second factor.
    OPEN = ("accounts:otp_verify", "accounts:otp_setup", "accounts:logout")

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and role_of(user) in ALWAYS_TWO_FACTOR
            and not second_factor_done(request)
            and not request.path.startswith((settings.STATIC_URL or "/static/", "/media/"))
            and request.path not in {reverse(name) for name in self.OPEN}
        ):
            name = "accounts:otp_verify" if confirmed_devices(user) else "accounts:otp_setup"
            return redirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
