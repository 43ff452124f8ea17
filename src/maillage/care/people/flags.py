"""Short notes that one care app shows beside a person on another's professional pages,
without the two importing each other: the register, for instance, lets a patient's carers read
"Inscrite au registre de Saint-Dizier" on the GP's and the nurse's pages, and nothing more.

A provider is ``provider(user, persons) -> {person id: [text, …]}``; it applies its own rules
(who may know what) and audits what it reveals. A page calls :func:`annotate` with the persons
it already shows (its own scope checked) and reads ``person.care_flags``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from maillage.care.people.models import Person

Provider = Callable[[Any, list[Person]], dict[int, list[str]]]
_providers: list[Provider] = []


def register(provider: Provider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def annotate(user: Any, persons: Iterable[Person]) -> None:
    """Set ``care_flags`` (a list of short French texts, often empty) on each person."""
    persons = [p for p in persons if p is not None]
    unique = list({p.pk: p for p in persons}.values())
    flags: dict[int, list[str]] = {}
    for provider in _providers:
        for pk, texts in provider(user, unique).items():
            flags.setdefault(pk, []).extend(texts)
    for person in persons:
        person.care_flags = flags.get(person.pk, [])
