"""The one object-level check for personal data: ``can_access(user, obj, action)``.

Each care app registers a rule per model (``register(Booking, rule)``) saying who may do what
on one of its objects, e.g. for scheduling: an operator the sites they serve, a nurse her sites,
a GP the bookings addressed to them, a coordinator aggregates only. A rule is a plain function
``rule(user, role, obj, action) -> bool`` given the user's role (``accounts.Role`` value). The
module decides what every rule shares:

- no access for anonymous users, users without a role, or inactive accounts;
- an administrator may do anything;
- an object whose model has no rule is refused (a new model is closed until its app says);
- a :class:`~maillage.care.people.models.Person` is accessible when at least one registered
  *person rule* says so (each app that refers to people answers for its own references:
  ``register_person_rule``).

Actions: "view", "create", "update", "delete", "export", "erase".
A coordinator seeing aggregates only means: their rules answer False for every object; the
activity pages count rows without opening them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models

from maillage.accounts.models import Role
from maillage.accounts.permissions import role_of

ACTIONS = ("view", "create", "update", "delete", "export", "erase")

Rule = Callable[[Any, str, Any, str], bool]

_rules: dict[type[models.Model], Rule] = {}
_person_rules: list[Rule] = []


def register(model: type[models.Model], rule: Rule) -> None:
    """The rule of ``model``'s objects (one per model; registering again replaces it)."""
    _rules[model] = rule


def register_person_rule(rule: Rule) -> None:
    """A rule that may grant access to a Person (e.g. "a nurse sees the people booked at her
    sites"). Any rule saying True grants it."""
    if rule not in _person_rules:
        _person_rules.append(rule)


def registered(model: type[models.Model]) -> Rule | None:
    for klass in model.__mro__:
        if klass in _rules:
            return _rules[klass]
    return None


def can_access(user: Any, obj: Any, action: str) -> bool:
    """May ``user`` do ``action`` on the personal data ``obj``?"""
    from maillage.care.people.models import Person

    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if user is None or not getattr(user, "is_active", False):
        return False
    role = role_of(user)
    if role is None:
        return False
    if role == Role.ADMINISTRATOR:
        return True
    if isinstance(obj, Person):
        return any(rule(user, role, obj, action) for rule in _person_rules)
    rule = registered(type(obj))
    if rule is None:
        return False
    return bool(rule(user, role, obj, action))
