"""The demo's register: a CCAS agent of Saint-Dizier and six synthetic people of that commune,
idempotent, fiction phones only, within the agent's scope and nobody else's."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from maillage.care.people.models import is_fiction_phone
from maillage.care.people.permissions import can_access
from maillage.care.register.models import Registration
from maillage.demo.accounts import CCAS_USERNAME, ensure_demo_accounts
from maillage.demo.register import load_demo_register

from .conftest import SAINT_DIZIER


def test_the_demo_register_is_synthetic_idempotent_and_scoped(demo_db, tmp_path, monkeypatch):
    monkeypatch.setenv("MAILLAGE_HOME", str(tmp_path))
    ensure_demo_accounts()
    assert load_demo_register() == 6
    assert load_demo_register() == 0
    rows = list(Registration.objects.select_related("person"))
    assert len(rows) == 6 and all(r.synthetic and r.person.synthetic for r in rows)
    assert all(is_fiction_phone(r.person.phone) and r.commune_id == SAINT_DIZIER for r in rows)
    users = get_user_model().objects
    agent = users.get(username=CCAS_USERNAME)
    assert agent.profile.role == "ccas_agent"
    assert all(can_access(agent, r, "view") for r in rows)
    operator = users.get(username="operateur.cpts")
    assert not any(can_access(operator, r, "view") for r in rows)
