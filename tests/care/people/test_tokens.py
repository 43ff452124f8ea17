"""API tokens: created by ``maillage token create`` (last line), stored hashed, revocable."""

from __future__ import annotations

import json

import pytest
from ninja import NinjaAPI
from ninja.testing import TestClient

from maillage import cli
from maillage.accounts.models import ApiToken, Role
from maillage.accounts.tokens import BearerAuth, authenticate_token

HOST = {"HTTP_HOST": "127.0.0.1"}


def _create(capsys, username: str) -> str:
    assert cli.main(["token", "create", username, "--name", "plateforme SAS"]) == 0
    out = capsys.readouterr()
    assert "n'est affiché qu'une fois" in out.err
    return out.out.strip().splitlines()[-1]


def test_create_auth_and_revoke(client, make_user, capsys):
    make_user("operatrice", Role.OPERATOR)
    token = _create(capsys, "operatrice")
    assert token.startswith("mlg_") and len(token) > 40

    row = ApiToken.objects.get()
    stored = " ".join(str(v) for v in ApiToken.objects.values_list().get())
    assert token not in stored and token[4:] not in stored, "never stored in clear"
    assert row.name == "plateforme SAS" and token.startswith(row.prefix)

    response = client.get("/api/token/", HTTP_AUTHORIZATION=f"Bearer {token}", **HOST)
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "username": "operatrice",
        "role": "operator",
        "role_label": "Opérateur téléphonique",
    }

    assert cli.main(["token", "list"]) == 0
    listing = capsys.readouterr().out
    assert row.prefix in listing and "actif" in listing and token not in listing

    assert cli.main(["token", "revoke", row.prefix]) == 0
    response = client.get("/api/token/", HTTP_AUTHORIZATION=f"Bearer {token}", **HOST)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(response.content)["detail"] == "jeton d'API manquant, invalide ou révoqué"
    assert cli.main(["token", "list", "operatrice"]) == 0
    assert "révoqué le" in capsys.readouterr().out


@pytest.mark.parametrize(
    "header", ["", "Bearer", "Bearer mlg_pas-un-vrai-jeton", "Basic b3A6eA==", "Token mlg_x"]
)
def test_no_valid_token_is_401(client, db, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/api/token/", **extra, **HOST)
    assert response.status_code == 401


def test_a_deactivated_account_loses_its_tokens(client, make_user, capsys):
    user = make_user("infirmiere", Role.NURSE)
    token = _create(capsys, "infirmiere")
    assert authenticate_token(token) == user
    user.is_active = False
    user.save()
    assert authenticate_token(token) is None
    assert (
        client.get("/api/token/", HTTP_AUTHORIZATION=f"Bearer {token}", **HOST).status_code == 401
    )


def test_cli_errors_are_french(db, capsys):
    assert cli.main(["token", "create", "personne"]) == 2
    assert "aucun compte « personne »" in capsys.readouterr().err
    assert cli.main(["token", "revoke", "mlg_abcdef"]) == 2
    assert "aucun jeton actif" in capsys.readouterr().err


def test_ninja_endpoints_use_the_same_tokens(make_user, capsys):
    make_user("operatrice", Role.OPERATOR)
    token = _create(capsys, "operatrice")
    api = NinjaAPI(urls_namespace="test_tokens_api")

    @api.get("/moi", auth=BearerAuth())
    def me(request):
        return {"user": request.auth.get_username(), "same": request.user == request.auth}

    api_client = TestClient(api)
    ok = api_client.get("/moi", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and ok.json() == {"user": "operatrice", "same": True}
    assert api_client.get("/moi").status_code == 401
    ApiToken.objects.update(revoked_at="2026-01-01T00:00:00Z")
    assert api_client.get("/moi", headers={"Authorization": f"Bearer {token}"}).status_code == 401
