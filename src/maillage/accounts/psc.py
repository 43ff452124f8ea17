"""Login with Pro Santé Connect (PSC), the national identity of health professionals.

PSC is an OpenID Connect provider run by the Agence du numérique en santé (ANS): a professional
authenticates with a CPS card or the e-CPS app, and PSC tells the site who they are. maillage
uses the maintained client ``mozilla-django-oidc`` (authorization code flow with state, nonce
and PKCE, ID token signature checked against the provider's published keys) and adds what is
specific to PSC:

- the request asks ``scope=openid scope_all`` and ``acr_values=eidas1`` (PSC's level);
- the userinfo answer may be a signed JWT (``application/jwt``): its signature, issuer and
  subject are checked like the ID token's;
- ``SubjectNameID`` is the national identifier of the professional: ``8`` followed by the
  11-digit RPPS number for RPPS professionals (``0`` + ADELI for the others, sandbox test
  identities have their own shape). The RPPS number finds the directory's entry
  (``Practitioner.rpps``); the first login creates a professional account linked to it
  (``Profile``), later logins find that account. An account of another role is never taken
  over; an unknown RPPS or a token without one logs nobody in and says why, in French.

Configuration (``docs/deploy.md``): ``MAILLAGE_PSC_ISSUER`` (or ``MAILLAGE_PSC_DISCOVERY_URL``),
``MAILLAGE_PSC_CLIENT_ID`` and ``MAILLAGE_PSC_CLIENT_SECRET``, given by ANS when the service is
declared. All three set: the feature is on; none: off, and the button is hidden; some only:
off, and ``maillage check --deploy`` says which is missing.

accounts imports no domain app: the directory's practitioner model is reached through the
``Profile.practitioner`` foreign key, as the rest of accounts does.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth import views as auth_views
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from maillage.accounts.models import Profile, Role
from maillage.accounts.permissions import audit

log = logging.getLogger(__name__)

#: The session key other parts of maillage read to know how the user authenticated.
AUTH_METHOD_KEY = "auth_method"
DEFAULT_SCOPES = "openid scope_all"
DEFAULT_ACR_VALUES = "eidas1"
SIGN_ALGORITHM = "RS256"
METADATA_TTL = 3600  # seconds a discovery document is kept
TIMEOUT = 10  # seconds for every call to the provider
#: ``SubjectNameID`` of an RPPS professional: "8" + the 11-digit RPPS number.
RPPS_PREFIX = "8"

LOGIN_URL_NAME = "accounts:login"
CALLBACK_URL_NAME = "accounts:psc_callback"

MESSAGES = {
    "no_rpps": (
        "Pro Santé Connect n'a pas transmis de numéro RPPS pour ce compte : la connexion par "
        "Pro Santé Connect est réservée aux professionnels inscrits au RPPS. Connectez-vous "
        "avec votre identifiant et votre mot de passe."
    ),
    "unknown_rpps": (
        "Votre numéro RPPS {rpps} ne correspond à aucune fiche de l'annuaire. Demandez au "
        "coordinateur de votre territoire d'ajouter votre fiche, ou connectez-vous avec votre "
        "identifiant et votre mot de passe."
    ),
    "other_role": (
        "Un compte qui n'est pas un compte de professionnel existe déjà pour ce numéro RPPS : "
        "il n'a pas été modifié. Connectez-vous avec son identifiant et son mot de passe, ou "
        "demandez à un administrateur de vous relier à votre fiche."
    ),
    "inactive": "Votre compte est désactivé : adressez-vous à un administrateur.",
    "invalid": (
        "La réponse de Pro Santé Connect n'a pas pu être vérifiée : personne n'a été connecté. "
        "Recommencez ; si cela se reproduit, prévenez un administrateur."
    ),
    "expired": (
        "Cette demande de connexion a expiré ou ne vient pas de ce site : personne n'a été "
        "connecté. Cliquez de nouveau sur « Se connecter avec Pro Santé Connect »."
    ),
    "cancelled": "La connexion avec Pro Santé Connect a été annulée : personne n'a été connecté.",
    "unavailable": (
        "Pro Santé Connect ne répond pas pour le moment : réessayez dans quelques minutes, ou "
        "connectez-vous avec votre identifiant et votre mot de passe."
    ),
}


class PscRefused(Exception):
    """A PSC login that must not log anybody in; ``message`` is for the user (French)."""

    def __init__(self, reason: str, message: str, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.details = details


class PscUnavailable(Exception):
    """The provider could not be reached or answered something that is not OpenID Connect."""


# --- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PscConfig:
    issuer: str
    discovery_url: str
    client_id: str
    client_secret: str
    scopes: str
    acr_values: str

    @property
    def enabled(self) -> bool:
        return bool(self.discovery_url and self.client_id and self.client_secret)

    def missing(self) -> list[str]:
        """Names of the variables still to set (empty when complete or when none is set)."""
        needed = {
            "MAILLAGE_PSC_ISSUER": bool(self.discovery_url),
            "MAILLAGE_PSC_CLIENT_ID": bool(self.client_id),
            "MAILLAGE_PSC_CLIENT_SECRET": bool(self.client_secret),
        }
        if not any(needed.values()):
            return []
        return [name for name, present in needed.items() if not present]


def config() -> PscConfig:
    """The PSC settings (``MAILLAGE_PSC_*`` in settings, read from the environment)."""
    issuer = (getattr(settings, "MAILLAGE_PSC_ISSUER", "") or "").strip().rstrip("/")
    discovery = (getattr(settings, "MAILLAGE_PSC_DISCOVERY_URL", "") or "").strip()
    if not discovery and issuer:
        discovery = issuer + "/.well-known/openid-configuration"
    return PscConfig(
        issuer=issuer,
        discovery_url=discovery,
        client_id=(getattr(settings, "MAILLAGE_PSC_CLIENT_ID", "") or "").strip(),
        client_secret=(getattr(settings, "MAILLAGE_PSC_CLIENT_SECRET", "") or "").strip(),
        scopes=getattr(settings, "MAILLAGE_PSC_SCOPES", "") or DEFAULT_SCOPES,
        acr_values=getattr(settings, "MAILLAGE_PSC_ACR_VALUES", DEFAULT_ACR_VALUES) or "",
    )


def enabled() -> bool:
    """Whether the PSC login is offered (complete configuration)."""
    return config().enabled


def configuration_problems() -> list[tuple[str, str, str]]:
    """(code, message, hint) for each problem of the PSC configuration, in French; used by
    ``maillage check --deploy`` (web/checks.py)."""
    conf = config()
    problems = []
    missing = conf.missing()
    if missing:
        problems.append(
            (
                "E020",
                "Pro Santé Connect est à moitié configuré : il manque "
                + ", ".join(missing)
                + ". Le bouton « Se connecter avec Pro Santé Connect » reste masqué.",
                "Définissez les trois variables données par l'ANS (émetteur, identifiant et "
                "secret du client), ou aucune pour ne pas proposer Pro Santé Connect",
            )
        )
    for name, url in (
        ("MAILLAGE_PSC_ISSUER", conf.issuer),
        ("MAILLAGE_PSC_DISCOVERY_URL", getattr(settings, "MAILLAGE_PSC_DISCOVERY_URL", "")),
    ):
        if url and not url.startswith("https://"):
            problems.append(
                (
                    "E021",
                    f"{name} n'est pas une adresse https:// ({url}) : les jetons de Pro Santé "
                    "Connect passeraient en clair.",
                    "Donnez l'adresse https:// de Pro Santé Connect publiée par l'ANS",
                )
            )
    return problems


def form_action_origins() -> list[str]:
    """Origins the logout form may be redirected to (the Content-Security-Policy's
    ``form-action``): PSC's, when configured. Its ``end_session_endpoint`` is on the issuer's
    host (``auth.esante.gouv.fr``); browsers check the redirect of a form against the list."""
    conf = config()
    if not conf.enabled:
        return []
    origins = []
    for url in (conf.issuer, conf.discovery_url):
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
        if origin and origin not in origins:
            origins.append(origin)
    return origins


_metadata_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def provider_metadata(conf: PscConfig | None = None) -> dict[str, Any]:
    """The provider's discovery document (endpoints, keys), kept for an hour.

    Raises :class:`PscUnavailable` when it cannot be read or lacks an endpoint, and when its
    ``issuer`` is not the configured one (OpenID Connect Discovery, section 4.3)."""
    conf = conf or config()
    cached = _metadata_cache.get(conf.discovery_url)
    if cached and time.monotonic() - cached[0] < METADATA_TTL:
        return cached[1]
    try:
        response = requests.get(conf.discovery_url, timeout=TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise PscUnavailable(f"discovery document unreadable: {type(exc).__name__}") from exc
    needed = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    if not isinstance(document, dict) or not all(document.get(k) for k in needed):
        raise PscUnavailable("discovery document without the OpenID Connect endpoints")
    if conf.issuer and document["issuer"].rstrip("/") != conf.issuer:
        raise PscUnavailable("discovery document of another issuer")
    _metadata_cache[conf.discovery_url] = (time.monotonic(), document)
    return document


def forget_metadata() -> None:
    """Drop the cached discovery documents (tests, or after a provider's change)."""
    _metadata_cache.clear()


# --- linking a PSC identity to an account ------------------------------------------------------


def rpps_from_claims(claims: dict[str, Any]) -> str | None:
    """The RPPS number in PSC's ``SubjectNameID`` ("8" + 11 digits), or None."""
    national_id = str(claims.get("SubjectNameID") or "").strip()
    rpps = national_id[len(RPPS_PREFIX) :]
    if national_id.startswith(RPPS_PREFIX) and len(rpps) == 11 and rpps.isdigit():
        return rpps
    return None


def _practitioner_model() -> Any:
    return Profile._meta.get_field("practitioner").related_model


def link_user(claims: dict[str, Any]) -> Any:
    """The professional account of the person PSC authenticated, created on first login.

    Raises :class:`PscRefused` (nobody logged in, a French message) when the claims carry no
    RPPS number, when no directory entry has it, or when the only account for it is not a
    professional's or is disabled."""
    rpps = rpps_from_claims(claims)
    if rpps is None:
        raise PscRefused("no_rpps", MESSAGES["no_rpps"])
    practitioner = _practitioner_model().objects.filter(rpps=rpps).first()
    if practitioner is None:
        raise PscRefused("unknown_rpps", MESSAGES["unknown_rpps"].format(rpps=rpps), rpps=rpps)
    User = get_user_model()
    with transaction.atomic():
        profile = (
            Profile.objects.select_related("user")
            .filter(role=Role.PROFESSIONAL, practitioner=practitioner, user__is_superuser=False)
            .order_by("pk")
            .first()
        )
        if profile is not None:
            user = profile.user
        else:
            username = f"psc-{rpps}"
            user = User.objects.filter(username=username).first()
            own = getattr(user, "profile", None) if user is not None else None
            if user is not None and (
                user.is_superuser or own is None or own.role != Role.PROFESSIONAL
            ):
                raise PscRefused("other_role", MESSAGES["other_role"], rpps=rpps)
            if user is None:
                user = User(
                    username=username,
                    first_name=str(claims.get("given_name") or "")[:150],
                    last_name=str(claims.get("family_name") or "")[:150],
                )
                user.set_unusable_password()  # this account logs in through PSC only
                user.save()
                Profile.objects.create(user=user, role=Role.PROFESSIONAL, practitioner=practitioner)
            else:  # our own account for this RPPS, whose entry link was lost: link it again
                own.practitioner = practitioner
                own.save(update_fields=["practitioner"])
    if not user.is_active:
        raise PscRefused("inactive", MESSAGES["inactive"], rpps=rpps)
    user.psc_practitioner = practitioner
    return user


# --- the OpenID Connect client (mozilla-django-oidc, configured from PscConfig) ---------------


def _client_settings(conf: PscConfig) -> dict[str, Any]:
    """mozilla-django-oidc's settings, derived from maillage's (its names stay out of
    settings.py, so that an unconfigured site carries none of them)."""
    return {
        "OIDC_RP_CLIENT_ID": conf.client_id,
        "OIDC_RP_CLIENT_SECRET": conf.client_secret,
        "OIDC_RP_SIGN_ALGO": SIGN_ALGORITHM,
        "OIDC_RP_SCOPES": conf.scopes,
        "OIDC_AUTH_REQUEST_EXTRA_PARAMS": (
            {"acr_values": conf.acr_values} if conf.acr_values else {}
        ),
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": True,
        "OIDC_STORE_ID_TOKEN": True,  # the id_token_hint of the logout at PSC
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_TIMEOUT": TIMEOUT,
        "OIDC_VERIFY_SSL": True,
        "OIDC_AUTHENTICATION_CALLBACK_URL": CALLBACK_URL_NAME,
        "OIDC_REDIRECT_FIELD_NAME": "next",
        "LOGIN_REDIRECT_URL": settings.LOGIN_REDIRECT_URL,
        "LOGIN_REDIRECT_URL_FAILURE": LOGIN_URL_NAME,
    }


class ProSanteConnectBackend(OIDCAuthenticationBackend):
    """Authenticates the callback of a PSC login; never a user name and password.

    Django instantiates every backend for every login, password logins included: nothing is
    read from the provider until the PSC callback calls :meth:`authenticate` with its nonce
    (a user name and password do not fit this signature, so Django skips this backend)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: D107 - see the class
        self.UserModel = get_user_model()

    def get_settings(self, attr: str, *args: Any) -> Any:  # type: ignore[override]
        values = _client_settings(config())
        if attr in values:
            return values[attr]
        return OIDCAuthenticationBackend.get_settings(attr, *args)

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        nonce: str | None = None,
        code_verifier: str | None = None,
    ) -> Any:
        conf = config()
        if nonce is None or request is None or not conf.enabled:
            return None
        metadata = provider_metadata(conf)
        self.issuer = metadata["issuer"]
        self.OIDC_OP_TOKEN_ENDPOINT = metadata["token_endpoint"]
        self.OIDC_OP_USER_ENDPOINT = metadata.get("userinfo_endpoint")
        self.OIDC_OP_JWKS_ENDPOINT = metadata["jwks_uri"]
        self.OIDC_RP_CLIENT_ID = conf.client_id
        self.OIDC_RP_CLIENT_SECRET = conf.client_secret
        self.OIDC_RP_SIGN_ALGO = SIGN_ALGORITHM
        self.OIDC_RP_IDP_SIGN_KEY = None
        return super().authenticate(request, nonce=nonce, code_verifier=code_verifier)

    def retrieve_matching_jwk(self, token: str) -> Any:
        """The provider's published key that signed ``token`` (by ``kid``, RS256 only)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation("PSC token is not a JWT") from exc
        if header.get("alg") != SIGN_ALGORITHM:
            raise SuspiciousOperation("PSC token signed with an unexpected algorithm")
        response = requests.get(self.OIDC_OP_JWKS_ENDPOINT, timeout=TIMEOUT)
        response.raise_for_status()
        keys = [
            k
            for k in response.json().get("keys", [])
            if k.get("kty") == "RSA" and k.get("use", "sig") == "sig"
        ]
        kid = header.get("kid")
        if kid is not None:
            keys = [k for k in keys if k.get("kid") == kid]
        if len(keys) != 1:
            raise SuspiciousOperation("no single published key matches the PSC token")
        return jwt.PyJWK(keys[0], algorithm=SIGN_ALGORITHM)

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, dates and level of
        authentication (``acr``, when the token states it) hold."""
        try:
            claims = jwt.decode(
                payload,
                key,
                algorithms=[SIGN_ALGORITHM],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=self.issuer,
                leeway=60,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"PSC ID token refused: {type(exc).__name__}") from exc
        asked = config().acr_values.split()
        if asked and "acr" in claims and claims["acr"] not in asked:
            raise SuspiciousOperation("PSC ID token of a lower level than asked (acr)")
        return claims

    def get_userinfo(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """PSC's userinfo, JSON or a signed JWT; its subject must be the ID token's."""
        if not self.OIDC_OP_USER_ENDPOINT:
            raise SuspiciousOperation("PSC publishes no userinfo endpoint")
        response = requests.get(
            self.OIDC_OP_USER_ENDPOINT,
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=TIMEOUT,
        )
        response.raise_for_status()
        if response.headers.get("content-type", "").lower().startswith("application/jwt"):
            token = response.text.strip()
            key = self.retrieve_matching_jwk(token)
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[SIGN_ALGORITHM],
                    options={"verify_aud": False, "verify_iss": False},
                )
            except jwt.PyJWTError as exc:
                raise SuspiciousOperation(f"PSC userinfo refused: {type(exc).__name__}") from exc
            if "iss" in claims and claims["iss"] != self.issuer:
                raise SuspiciousOperation("PSC userinfo from another issuer")
            audience = claims.get("aud")
            if audience is not None and self.OIDC_RP_CLIENT_ID not in (
                audience if isinstance(audience, list) else [audience]
            ):
                raise SuspiciousOperation("PSC userinfo for another client")
        else:
            try:
                claims = response.json()
            except ValueError as exc:
                raise SuspiciousOperation("PSC userinfo is not JSON") from exc
        if not isinstance(claims, dict) or claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("PSC userinfo of another subject than the ID token")
        return claims

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        return link_user(self.get_userinfo(access_token, id_token, payload))


def _login_page(request: HttpRequest, message: str | None = None) -> HttpResponse:
    if message:
        messages.error(request, message)
    return HttpResponseRedirect(reverse(LOGIN_URL_NAME))


class LoginStartView(OIDCAuthenticationRequestView):
    """``/connexion/psc/``: sends the browser to PSC with state, nonce and PKCE challenge."""

    def __init__(self, **kwargs: Any) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get_settings(self, attr: str, *args: Any) -> Any:  # type: ignore[override]
        values = _client_settings(config())
        if attr in values:
            return values[attr]
        return OIDCAuthenticationRequestView.get_settings(attr, *args)

    def get(self, request: HttpRequest) -> HttpResponse:
        conf = config()
        if not conf.enabled:
            raise Http404("Pro Santé Connect n'est pas configuré sur ce site.")
        try:
            metadata = provider_metadata(conf)
        except PscUnavailable as exc:
            log.warning("Pro Santé Connect unavailable: %s", exc)
            return _login_page(request, MESSAGES["unavailable"])
        self.OIDC_OP_AUTH_ENDPOINT = metadata["authorization_endpoint"]
        self.OIDC_RP_CLIENT_ID = conf.client_id
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """``/connexion/psc/retour/``: PSC's answer; logs the professional in or says why not."""

    def get_settings(self, attr: str, *args: Any) -> Any:  # type: ignore[override]
        values = _client_settings(config())
        if attr in values:
            return values[attr]
        return OIDCAuthenticationCallbackView.get_settings(attr, *args)

    @property
    def failure_url(self) -> str:
        return reverse(LOGIN_URL_NAME)

    def _refuse(self, reason: str, message: str, **details: Any) -> HttpResponse:
        audit(None, "login_refused", None, method="psc", reason=reason, **details)
        if self.request.user.is_authenticated:
            logout(self.request)
        self.request.session.pop("oidc_id_token", None)  # stored before the refusal
        return _login_page(self.request, message)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not enabled():
            raise Http404("Pro Santé Connect n'est pas configuré sur ce site.")
        if request.GET.get("error"):
            states = request.session.get("oidc_states", {})
            if states.pop(request.GET.get("state"), None) is not None:  # no replay of it
                request.session.modified = True
            return self._refuse("cancelled", MESSAGES["cancelled"], error=request.GET["error"])
        state = request.GET.get("state")
        if not request.GET.get("code") or state not in request.session.get("oidc_states", {}):
            return self._refuse("bad_state", MESSAGES["expired"])
        try:
            return super().get(request)
        except PscRefused as refused:
            return self._refuse(refused.reason, refused.message, **refused.details)
        except SuspiciousOperation as exc:
            log.warning("Pro Santé Connect answer refused: %s", exc)
            return self._refuse("invalid", MESSAGES["invalid"])
        except (requests.RequestException, PscUnavailable, ValueError) as exc:
            log.warning("Pro Santé Connect call failed: %s", type(exc).__name__)
            return self._refuse("unavailable", MESSAGES["unavailable"])

    def login_failure(self) -> HttpResponse:
        """No user came back: the claims did not verify (mozilla-django-oidc catches that)."""
        return self._refuse("invalid", MESSAGES["invalid"])

    def login_success(self) -> HttpResponse:
        response = super().login_success()
        self.request.session[AUTH_METHOD_KEY] = "psc"
        audit(self.user, "login", getattr(self.user, "psc_practitioner", None), method="psc")
        return response


def end_session_url(request: HttpRequest) -> str | None:
    """Where to send the browser to close the PSC session too, after a PSC login (RP-initiated
    logout: ``end_session_endpoint`` with ``id_token_hint``), or None."""
    if request.session.get(AUTH_METHOD_KEY) != "psc" or not enabled():
        return None
    try:
        endpoint = provider_metadata().get("end_session_endpoint")
    except PscUnavailable:
        return None
    if not endpoint:
        return None
    params = {
        "post_logout_redirect_uri": request.build_absolute_uri(settings.LOGOUT_REDIRECT_URL),
        "client_id": config().client_id,
    }
    id_token = request.session.get("oidc_id_token")
    if id_token:
        params["id_token_hint"] = id_token
    return f"{endpoint}?{urlencode(params)}"


class LogoutView(auth_views.LogoutView):
    """Django's logout; after a PSC login, the PSC session is closed as well."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        end_session = end_session_url(request)  # read before the session is flushed
        response = super().post(request, *args, **kwargs)
        if end_session and response.status_code in (301, 302):
            return HttpResponseRedirect(end_session)
        return response
