"""The priority weights in force: the newest version the CPTS saved, else the shipped
``data/priority.yaml``; and saving a new version (checked, nothing saved when wrong)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from maillage.analytics.attachment import Weights, weights_from_mapping
from maillage.care.people import audit

DATA_FILE = Path(__file__).resolve().parents[1] / "data" / "priority.yaml"


@cache
def shipped_mapping() -> dict[str, Any]:
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


def current() -> Weights:
    from maillage.care.attachment.models import WeightsVersion

    latest = WeightsVersion.objects.order_by("-at", "-pk").first()
    return weights_from_mapping(latest.data if latest else shipped_mapping())


def save(user: Any, data: dict[str, Any]) -> Weights:
    """A new version of the weights (WeightsError in French when they make no sense)."""
    from maillage.care.attachment.models import WeightsVersion

    weights = weights_from_mapping(data)
    with transaction.atomic():
        version = WeightsVersion.objects.create(data=weights.as_mapping(), by=user)
        audit.record(user, "update", version, "attachment_weights")
    return weights
