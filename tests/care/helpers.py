"""What the care apps' tests share: a test client past the second factor, and, for browser
tests, a shell on the served database and the TOTP code of a device's key."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from django.contrib.auth.models import User
from django.test import Client

HOST = {"HTTP_HOST": "127.0.0.1"}


def verified_client(user: User) -> Client:
    """A client logged in as ``user`` who has passed the second factor (a confirmed TOTP
    device verified in this session, as django-otp's login does)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client = Client(**HOST)
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


def manage_shell(env: dict, code: str) -> dict:
    """Run ``code`` with ``maillage manage shell`` against the served database and return the
    JSON of its last line. The server's worker may be loading the demo history just after the
    first start (SQLite: one writer), so a "database is locked" is waited out (the setups are
    idempotent) rather than failing the test."""
    for _ in range(12):
        done = subprocess.run(
            [sys.executable, "-m", "maillage.cli", "manage", "shell", "-c", code],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode == 0 or "database is locked" not in done.stderr:
            break
        time.sleep(5)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def totp_code(key: str) -> str:
    """The current code of a TOTP device's hexadecimal key (what the phone would show)."""
    from binascii import unhexlify

    from django_otp.oath import TOTP

    return f"{TOTP(unhexlify(key)).token():06d}"
