"""Fixtures of the personal-data tests: users of each role, and encryption keys of their own."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User

from maillage.accounts.models import Profile, Role

PASSWORD = "x-Un-Long-Mot-De-Passe-42"


@pytest.fixture(autouse=True)
def care_keys(tmp_path, monkeypatch) -> Path:
    """Each test has its own key file (<data folder>/keys/care.keys), created on first use."""
    home = tmp_path / "home"
    monkeypatch.setenv("MAILLAGE_HOME", str(home))
    monkeypatch.delenv("MAILLAGE_CARE_KEYS", raising=False)
    return home / "keys" / "care.keys"


@pytest.fixture
def make_user(db):
    def make(name: str, role: str | None, **extra) -> User:
        user = User.objects.create_user(name, password=PASSWORD, **extra)
        if role is not None:
            user.profile = Profile.objects.create(user=user, role=role)
        return user

    return make


@pytest.fixture
def admin_user(make_user) -> User:
    return make_user("dpo", Role.ADMINISTRATOR)


TRAITS = {
    "birth_name": "Zorgbelin",
    "first_names": "Philomène Adélaïde",
    "used_first_name": "Mina",
    "birth_date": "1941-02-17",
    "sex": "F",
    "phone": "01 99 00 12 34",  # ARCEP's range reserved for fiction
    "email": "mina.zorgbelin@example.org",
    "notes": "malentendante, appeler sa fille",
    "synthetic": True,
}


# --- a care app's record referring to people, as scheduling's bookings will -------------------


def _define_visit() -> type:
    from django.db import models

    from maillage.care.people.models import Person

    class Visit(models.Model):
        """A test-only record of a care app: refers to a Person, carries ``anonymised_at``
        and a free-text field, as :mod:`maillage.care.people.retention` asks."""

        person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
        at = models.DateTimeField()
        reason = models.TextField(blank=True)
        anonymised_at = models.DateTimeField(null=True)

        class Meta:
            app_label = "people"
            db_table = "test_people_visit"

        def __str__(self) -> str:
            return f"Visite n° {self.pk}"

    return Visit


def _unregister(model: type) -> None:
    from django.apps import apps

    apps.all_models[model._meta.app_label].pop(model._meta.model_name, None)
    apps.clear_cache()


@pytest.fixture(scope="session")
def _visit_model(django_db_setup, django_db_blocker):
    """Define the test model and create its table once, outside any transaction (SQLite
    cannot change its schema inside one); it stays registered only during the tests asking."""
    from django.db import connection

    model = _define_visit()
    _unregister(model)
    with django_db_blocker.unblock():
        if model._meta.db_table not in connection.introspection.table_names():
            with connection.schema_editor() as editor:
                editor.create_model(model)
    return model


@pytest.fixture
def visit_table(_visit_model, db):
    from django.apps import apps

    apps.register_model("people", _visit_model)
    apps.clear_cache()
    yield _visit_model
    _unregister(_visit_model)


@pytest.fixture
def registries(monkeypatch):
    """Empty registries for the test (what the test registers goes away after it)."""
    from maillage.care.people import permissions, retention

    monkeypatch.setattr(retention, "_handlers", [])
    monkeypatch.setattr(retention, "_access_parts", {})
    monkeypatch.setattr(retention, "_erasers", [])
    monkeypatch.setattr(permissions, "_rules", {})
    monkeypatch.setattr(permissions, "_person_rules", [])
