"""A site served by several processes shares its rate-limit counters through Redis
(``MAILLAGE_CACHE_URL``); a cache that is down never takes the site with it. Needs the Redis of
CI (127.0.0.1:6379): fails there when it is missing, skips on a machine without one."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import uuid

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

REDIS_URL = os.environ.get("MAILLAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_cache(settings):
    if not _redis_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("Redis (127.0.0.1:6379) is required on CI and is not reachable")
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "maillage",
        }
    }
    return REDIS_URL


def test_two_processes_share_one_budget(redis_cache, settings, tmp_path, demo_db):
    rule = f"shared{uuid.uuid4().hex[:10]}"  # a key of this run's own on the shared Redis
    limits = [[rule, r"^/api/directory/search", 3, 60]]
    settings.MAILLAGE_RATE_LIMITS_ENABLED = True
    settings.MAILLAGE_RATE_LIMITS = [tuple(r) for r in limits]
    other_process = textwrap.dedent(
        """
        import django
        django.setup()
        from django.test import RequestFactory
        from maillage.web.ratelimit import check
        answers = [check(RequestFactory().get("/api/directory/search", {"q": "x"}))
                   for _ in range(3)]
        print([a.status_code if a else None for a in answers])
        """
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "maillage.settings",
        "MAILLAGE_HOME": str(tmp_path / "home"),
        "MAILLAGE_CACHE_URL": redis_cache,
        "MAILLAGE_RATE_LIMITS": json.dumps(limits),
        "MAILLAGE_RATE_LIMITS_ENABLED": "1",
        "MAILLAGE_DATABASE_URL": "",
    }
    done = subprocess.run(
        [sys.executable, "-c", other_process], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[None, None, None]"  # its 3 were allowed

    # This process (the test client: another server process) finds the budget spent.
    answer = Client(HTTP_HOST="127.0.0.1").get("/api/directory/search", {"q": "chaumont"})
    assert answer.status_code == 429
    assert int(answer["Retry-After"]) >= 1


def test_a_cache_that_is_down_lets_requests_through(settings, demo_db, caplog, monkeypatch):
    from maillage.web import ratelimit

    monkeypatch.setattr(
        ratelimit._cache_down_warning, "last", None
    )  # the log says it once a minute
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    settings.MAILLAGE_RATE_LIMITS_ENABLED = True
    settings.MAILLAGE_RATE_LIMITS = [("search", r"^/api/directory/search", 1, 60)]
    client = Client(HTTP_HOST="127.0.0.1")
    for _ in range(3):
        assert client.get("/api/directory/search", {"q": "chaumont"}).status_code == 200
    assert "rate limits not applied" in caplog.text


def test_a_cache_url_that_is_not_redis_is_refused_in_french(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "maillage.settings",
        "MAILLAGE_HOME": str(tmp_path / "home"),
        "MAILLAGE_CACHE_URL": "memcached://127.0.0.1:11211",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "MAILLAGE_CACHE_URL doit être une adresse Redis" in done.stderr
