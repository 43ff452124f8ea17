"""A small OpenID Connect provider for the tests, shaped like Pro Santé Connect.

It runs in a thread on 127.0.0.1 (``http.server``) and serves what a PSC client uses: the
discovery document under a Keycloak-like realm path, ``/auth`` (authorization: redirects back
with a code, or first shows a page with a button when ``interactive``), ``/token`` (client
secret, code, redirect URI and PKCE verifier checked; an RS256 ID token with the nonce),
``/userinfo`` (a signed JWT, as PSC answers, or JSON), ``/certs`` (the JWKS) and ``/logout``.

The claims are PSC's (``SubjectNameID`` = "8" + RPPS, ``SubjectRefPro.exercices``,
``given_name``, ``family_name``…). Knobs let a test break one thing at a time: sign with a key
that is not published, change a claim of the ID token, answer userinfo for someone else.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

REALM = "/auth/realms/esante-wallet"


def psc_claims(rpps: str | None, given: str = "Camille", family: str = "Martin") -> dict:
    """Userinfo claims as PSC sends them for an RPPS professional (``rpps=None``: a test
    identity without RPPS, whose national identifier is not "8" + 11 digits)."""
    national_id = f"8{rpps}" if rpps else "ANS20231122132732"
    return {
        "sub": f"f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:{national_id}",
        "SubjectNameID": national_id,
        "preferred_username": national_id,
        "given_name": given,
        "family_name": family,
        "codeCivilite": "M",
        "SubjectRefPro": {
            "codeCivilite": "M",
            "exercices": [
                {
                    "codeProfession": "10",
                    "codeCategorieProfessionnelle": "C",
                    "nomDexercice": family,
                    "prenomDexercice": given,
                    "codeSavoirFaire": "SM54",
                    "activities": [{"codeModeExercice": "L", "codeSecteurDactivite": "SA07"}],
                }
            ],
        },
        "SubjectRole": ["10^1.2.250.1.213.1.1.5.5"],
        "Palier_Authentification": "APPPRIP3^1.2.250.1.213.1.5.1.1.1",
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class LocalOpenIDProvider:
    def __init__(self, client_id: str = "maillage-test", client_secret: str | None = None):
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.wrong_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "psc-test-" + secrets.token_hex(4)
        # what the next login returns, and the knobs
        self.claims: dict = psc_claims("10003461033")
        self.interactive = False
        self.userinfo_as_jwt = True
        self.sign_with_wrong_key: set[str] = set()  # "id_token", "userinfo"
        self.id_token_overrides: dict[str, Any] = {}
        self.userinfo_overrides: dict[str, Any] = {}
        # what happened
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        self.logout_requests: list[dict[str, str]] = []
        self._codes: dict[str, dict] = {}
        self._access_tokens: dict[str, dict] = {}
        self._server: ThreadingHTTPServer | None = None

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> LocalOpenIDProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                provider._handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                provider._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def issuer(self) -> str:
        return self.base + REALM

    def discovery(self) -> dict:
        oidc = self.issuer + "/protocol/openid-connect"
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.base + "/auth",
            "token_endpoint": oidc + "/token",
            "userinfo_endpoint": oidc + "/userinfo",
            "end_session_endpoint": oidc + "/logout",
            "jwks_uri": oidc + "/certs",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "userinfo_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "scope_all"],
            "acr_values_supported": ["eidas1"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        }

    def jwks(self) -> dict:
        numbers = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.kid,
                    "n": _b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                    "e": _b64(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
                }
            ]
        }

    def _sign(self, claims: dict, what: str) -> str:
        key = self.wrong_key if what in self.sign_with_wrong_key else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})

    # --- HTTP ---------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        form: dict[str, str] = {}
        if method == "POST":
            length = int(handler.headers.get("Content-Length") or 0)
            body = handler.rfile.read(length).decode()
            form = {k: v[-1] for k, v in parse_qs(body).items()}
        oidc = REALM + "/protocol/openid-connect"
        routes = {
            ("GET", REALM + "/.well-known/openid-configuration"): self._discovery,
            ("GET", "/auth"): self._authorize,
            ("POST", "/auth"): self._authorize_confirmed,
            ("POST", oidc + "/token"): self._token,
            ("GET", oidc + "/userinfo"): self._userinfo,
            ("GET", oidc + "/certs"): self._certs,
            ("GET", oidc + "/logout"): self._logout,
        }
        route = routes.get((method, url.path))
        if route is None:
            return self._send(handler, 404, {"error": "not_found"})
        return route(handler, query, form)

    @staticmethod
    def _send(handler, status: int, body: Any, content_type: str = "application/json",
              headers: dict | None = None) -> None:  # fmt: skip
        data = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode()
        )  # fmt: skip
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _discovery(self, handler, query, form) -> None:
        self._send(handler, 200, self.discovery())

    def _certs(self, handler, query, form) -> None:
        self._send(handler, 200, self.jwks())

    def _authorize(self, handler, query, form) -> None:
        self.authorize_requests.append(query)
        problem = self._check_authorize(query)
        if problem:
            return self._send(handler, 400, {"error": "invalid_request", "detail": problem})
        if self.interactive:  # the page where PSC would ask for the CPS card or e-CPS
            fields = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in query.items()
            )
            page = (
                "<!doctype html><html lang='fr'><link rel='icon' href='data:,'>"
                "<title>Pro Santé Connect (test)</title>"
                "<h1>Pro Santé Connect — fournisseur de test</h1>"
                f"<p>Identité : {html.escape(self.claims.get('given_name', ''))} "
                f"{html.escape(self.claims.get('family_name', ''))}</p>"
                f"<form method='post' action='/auth'>{fields}"
                "<button id='valider' type='submit'>Valider avec ma e-CPS</button></form>"
            )
            return self._send(handler, 200, page, "text/html; charset=utf-8")
        return self._redirect_with_code(handler, query)

    def _authorize_confirmed(self, handler, query, form) -> None:
        problem = self._check_authorize(form)
        if problem:
            return self._send(handler, 400, {"error": "invalid_request", "detail": problem})
        return self._redirect_with_code(handler, form)

    def _check_authorize(self, query: dict) -> str | None:
        if query.get("response_type") != "code":
            return "response_type"
        if query.get("client_id") != self.client_id:
            return "client_id"
        if not query.get("redirect_uri") or not query.get("state"):
            return "redirect_uri/state"
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return "pkce"
        return None

    def _redirect_with_code(self, handler, query: dict) -> None:
        code = secrets.token_urlsafe(24)
        self._codes[code] = {"claims": dict(self.claims), "query": dict(query)}
        target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
        self._send(handler, 302, b"", "text/plain", {"Location": target})

    def _token(self, handler, query, form) -> None:
        self.token_requests.append(form)
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = handler.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id != self.client_id or secret != self.client_secret:
            return self._send(handler, 401, {"error": "invalid_client"})
        grant = self._codes.pop(form.get("code", ""), None)  # a code is used once
        if grant is None or form.get("grant_type") != "authorization_code":
            return self._send(handler, 400, {"error": "invalid_grant"})
        asked = grant["query"]
        if form.get("redirect_uri") != asked["redirect_uri"]:
            return self._send(handler, 400, {"error": "invalid_grant", "detail": "redirect_uri"})
        verifier = form.get("code_verifier", "")
        if _b64(hashlib.sha256(verifier.encode()).digest()) != asked["code_challenge"]:
            return self._send(handler, 400, {"error": "invalid_grant", "detail": "pkce"})
        now = int(time.time())
        claims = grant["claims"]
        id_token = {
            "iss": self.issuer,
            "sub": claims["sub"],
            "aud": self.client_id,
            "azp": self.client_id,
            "iat": now,
            "exp": now + 120,
            "auth_time": now,
            "nonce": asked.get("nonce"),
            "acr": "eidas1",
            **self.id_token_overrides,
        }
        access_token = secrets.token_urlsafe(24)
        self._access_tokens[access_token] = claims
        self._send(
            handler,
            200,
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 120,
                "id_token": self._sign(id_token, "id_token"),
                "scope": asked.get("scope", ""),
            },
        )

    def _userinfo(self, handler, query, form) -> None:
        token = handler.headers.get("Authorization", "").removeprefix("Bearer ")
        claims = self._access_tokens.get(token)
        if claims is None:
            return self._send(handler, 401, {"error": "invalid_token"})
        claims = {**claims, **self.userinfo_overrides}
        if self.userinfo_as_jwt:
            signed = {"iss": self.issuer, "aud": self.client_id, "iat": int(time.time()), **claims}
            return self._send(handler, 200, self._sign(signed, "userinfo"), "application/jwt")
        return self._send(handler, 200, claims)

    def _logout(self, handler, query, form) -> None:
        self.logout_requests.append(query)
        target = query.get("post_logout_redirect_uri")
        if target:
            return self._send(handler, 302, b"", "text/plain", {"Location": target})
        return self._send(handler, 200, "Déconnecté de Pro Santé Connect", "text/plain")
