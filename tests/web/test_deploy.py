"""Production settings: `maillage check --deploy`, and the real client behind a proxy."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from maillage.web.proxy import client_address, parse_networks

DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
PRODUCTION_VARS = (
    "MAILLAGE_DEBUG", "MAILLAGE_SECRET_KEY", "MAILLAGE_ALLOWED_HOSTS", "MAILLAGE_HTTPS",
    "MAILLAGE_SSL_REDIRECT", "MAILLAGE_HSTS_SECONDS", "MAILLAGE_HSTS_INCLUDE_SUBDOMAINS",
    "MAILLAGE_HSTS_PRELOAD", "MAILLAGE_TRUSTED_PROXIES", "MAILLAGE_DATABASE_URL",
)  # fmt: skip


def documented_env() -> dict[str, str]:
    """The environment block of docs/deploy.md (the one after ``<!-- deploy-env -->``)."""
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"<!-- deploy-env -->\s*```sh\n(.*?)```", text, re.S)
    assert block, "docs/deploy.md lost its reference environment block"
    env = {}
    for line in block.group(1).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    return env


def run_check(tmp_path: Path, extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_VARS}
    env.update(extra)
    env["MAILLAGE_HOME"] = str(tmp_path / "home")  # the documented /var/lib/maillage is root's
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "maillage.cli", "check", "--deploy"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_check_deploy_fails_with_the_defaults(tmp_path):
    result = run_check(tmp_path, {})
    assert result.returncode != 0
    assert "MAILLAGE_HTTPS n'est pas activé" in result.stderr
    assert "MAILLAGE_SECRET_KEY" in result.stderr
    assert "MAILLAGE_ALLOWED_HOSTS ne contient que la machine locale" in result.stderr
    assert "Vérification échouée" in result.stderr


def test_check_deploy_passes_with_the_documented_environment(tmp_path):
    env = documented_env()
    assert env["MAILLAGE_HTTPS"] == "1" and env["MAILLAGE_TRUSTED_PROXIES"]
    result = run_check(tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "aucune erreur" in result.stderr


@pytest.mark.parametrize(
    "change, message",
    [
        ({"MAILLAGE_TRUSTED_PROXIES": ""}, "MAILLAGE_HTTPS=1 sans MAILLAGE_TRUSTED_PROXIES"),
        ({"MAILLAGE_TRUSTED_PROXIES": "0.0.0.0/0"}, "fait confiance à toutes les adresses"),
        ({"MAILLAGE_ALLOWED_HOSTS": "*"}, "n'importe quel nom d'hôte"),
        ({"MAILLAGE_DEBUG": "1"}, "Le mode débogage est actif"),
        ({"MAILLAGE_DATABASE_URL": ""}, "dossier temporaire"),  # SQLite in pytest's tmp_path
    ],
)
def test_check_deploy_names_each_missing_piece(tmp_path, change, message):
    result = run_check(tmp_path, {**documented_env(), **change})
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(
    "key", ["", "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdef", "court"]
)
def test_https_refuses_to_start_without_a_real_secret_key(tmp_path, key):
    result = run_check(tmp_path, {**documented_env(), "MAILLAGE_SECRET_KEY": key})
    assert result.returncode != 0
    assert "MAILLAGE_SECRET_KEY" in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_client_address_takes_the_right_most_untrusted_hop():
    proxies = parse_networks(["127.0.0.1", "10.0.0.0/8"])
    # A client that writes its own X-Forwarded-For: our proxy appends the real address.
    assert client_address("127.0.0.1", "6.6.6.6, 203.0.113.5", proxies) == "203.0.113.5"
    # Two of our proxies in a row: skip both.
    assert client_address("127.0.0.1", "203.0.113.5, 10.1.2.3", proxies) == "203.0.113.5"
    # Not from a proxy: the header is not read at all.
    assert client_address("198.51.100.7", "203.0.113.5", proxies) == "198.51.100.7"
    assert client_address("127.0.0.1", "", proxies) == "127.0.0.1"


def failed_logins(client: Client, n: int, meta) -> None:
    for i in range(n):
        response = client.post(
            "/connexion/", {"username": "proxied", "password": "mauvais"}, **meta(i)
        )
        # the form again with its error; the fifth failure from one address locks it (axes)
        assert response.status_code == (200 if i < 4 else 429), i


def can_log_in(**meta) -> bool:
    client = Client()
    response = client.post(
        "/connexion/", {"username": "proxied", "password": "Un-mot-de-passe-solide-42"}, **meta
    )
    return response.status_code == 302 and "_auth_user_id" in client.session


@pytest.mark.django_db
@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_spoofed_forwarded_for_from_an_untrusted_peer_does_not_change_the_throttled_address():
    from axes.models import AccessAttempt

    get_user_model().objects.create_user("proxied", password="Un-mot-de-passe-solide-42")
    client = Client()
    # A direct client (not our proxy) sends a different X-Forwarded-For with every attempt.
    failed_logins(
        client, 5,
        meta=lambda i: {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": f"203.0.113.{i}"},
    )  # fmt: skip
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}
    # Locked, even with the right password and yet another spoofed address.
    assert not can_log_in(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="192.0.2.99")


@pytest.mark.django_db
@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_forwarded_for_from_a_trusted_proxy_is_the_throttled_address():
    from axes.models import AccessAttempt

    get_user_model().objects.create_user("proxied", password="Un-mot-de-passe-solide-42")
    client = Client()
    # Through our proxy, one client fails five times (and tries to spoof the left of the header).
    failed_logins(
        client, 5,
        meta=lambda i: {"REMOTE_ADDR": "127.0.0.1",
                        "HTTP_X_FORWARDED_FOR": f"6.6.6.{i}, 203.0.113.5"},
    )  # fmt: skip
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}
    # That client is locked out; another client behind the same proxy is not.
    assert not can_log_in(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert can_log_in(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.6")


@override_settings(
    TRUSTED_PROXIES=["127.0.0.1"], SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")
)
def test_forwarded_proto_is_believed_only_from_a_trusted_proxy():
    from django.http import HttpResponse

    from maillage.web.proxy import TrustedProxyMiddleware

    seen = {}

    def view(request):
        seen["secure"] = request.is_secure()
        seen["addr"] = request.META["REMOTE_ADDR"]
        return HttpResponse()

    from django.test import RequestFactory

    middleware = TrustedProxyMiddleware(view)
    rf = RequestFactory()
    middleware(rf.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_PROTO="https"))
    assert seen == {"secure": False, "addr": "198.51.100.7"}
    middleware(
        rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_PROTO="https",
               HTTP_X_FORWARDED_FOR="203.0.113.5")
    )  # fmt: skip
    assert seen == {"secure": True, "addr": "203.0.113.5"}
