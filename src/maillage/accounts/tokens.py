"""API tokens: ``Authorization: Bearer <token>`` for scripts and partner platforms.

``maillage token create USERNAME`` prints a new token once (its last line); only its SHA-256
digest is stored (a token is 256 random bits, so a plain hash is as strong as a slow one and
lets each request be checked in one indexed query). A token acts as its user, with the user's
role: what it may do is what the user may do, asked to the same permission checks. Revoking is
immediate (401 on the next request); the row stays, for the record.

For views: :func:`user_from_request` (plain views), :func:`token_required` (a decorator that
answers 401 with ``WWW-Authenticate: Bearer``), :class:`BearerAuth` (django-ninja's ``auth=``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja.security import HttpBearer

from maillage import sql
from maillage.accounts.models import ApiToken

TOKEN_PREFIX = "mlg_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(username: str, name: str = "") -> tuple[ApiToken, str]:
    """A new token for ``username``: (its row, the token in clear — shown once)."""
    User = get_user_model()
    try:
        user = User.objects.get(**{User.USERNAME_FIELD: username})
    except User.DoesNotExist:
        raise LookupError(f"aucun compte « {username} »") from None
    if not user.is_active:
        raise ValueError(f"le compte « {username} » est désactivé")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        user=user, name=name[:80], prefix=token[: len(TOKEN_PREFIX) + 6], digest=_digest(token)
    )
    return row, token


def revoke_token(token_or_prefix: str) -> int:
    """Revoke the token given in full or by its printed prefix; returns how many were revoked
    (a prefix shared by several tokens is refused)."""
    value = token_or_prefix.strip()
    live = ApiToken.objects.filter(revoked_at__isnull=True)
    if value.startswith(TOKEN_PREFIX) and len(value) > 20:
        matches = live.filter(digest=_digest(value))
    else:
        matches = live.filter(prefix=value.rstrip("…."))
    count = matches.count()
    if count > 1:
        raise ValueError(f"plusieurs jetons commencent par « {value} » : donnez le jeton entier")
    if count == 0:
        raise LookupError(f"aucun jeton actif « {value} »")
    return matches.update(revoked_at=timezone.now())


def list_tokens(username: str | None = None) -> list[ApiToken]:
    tokens = ApiToken.objects.select_related("user")
    if username:
        tokens = tokens.filter(user__username=username)
    return list(tokens)


def authenticate_token(token: str) -> Any | None:
    """The active user of a live token, else None."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    # one indexed query on every API request (the digest is unique), written once: the ORM's
    # compilation of this join cost more than the query itself (maillage.sql)
    row = sql.joined_row(
        ((ApiToken, ""), (get_user_model(), "user")),
        "t0.digest = %s AND t0.revoked_at IS NULL AND t1.is_active",
        [_digest(token)],
    )
    return row.user if row is not None else None


def bearer(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def user_from_request(request: HttpRequest) -> Any | None:
    """The user a request's bearer token stands for (None without a valid token)."""
    token = bearer(request)
    return authenticate_token(token) if token else None


def unauthorized(detail: str = "jeton d'API manquant, invalide ou révoqué") -> HttpResponse:
    body = {"detail": detail, "code": "non_authentifie", "fields": None}
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status=401,
        content_type="application/json; charset=utf-8",
    )
    response["WWW-Authenticate"] = 'Bearer realm="maillage"'
    return response


def token_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A plain view that needs a bearer token: ``request.user`` becomes the token's user."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = user_from_request(request)
        if user is None:
            return unauthorized()
        request.user = user
        request.auth_method = "token"
        return view(request, *args, **kwargs)

    return wrapper


class BearerAuth(HttpBearer):
    """``auth=BearerAuth()`` on a django-ninja router or operation (401 otherwise)."""

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        user = authenticate_token(token)
        if user is not None:
            request.user = user
        return user


@token_required
def whoami(request: HttpRequest) -> HttpResponse:
    """``GET /api/token/``: whom a token stands for, and with which role (a partner platform
    checks its token with it)."""
    from maillage.accounts.models import Role
    from maillage.accounts.permissions import role_of

    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    role = role_of(request.user) or ""
    body = {
        "username": request.user.get_username(),
        "role": str(role),
        "role_label": dict(Role.choices).get(role, ""),
    }
    return HttpResponse(
        json.dumps(body, ensure_ascii=False), content_type="application/json; charset=utf-8"
    )
