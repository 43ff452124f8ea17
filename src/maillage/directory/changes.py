"""Change proposals and merge imports: how the directory is kept alive by its users.

A professional proposes a change to their own entry; a coordinator publishes or rejects it. An
import from another directory (CSV/XLSX with a column mapping, or a FHIR Bundle) is staged as a
``MergeImport`` with its duplicate matches, reviewed on screen, and only then written.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ChangeProposal(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "en attente"
        PUBLISHED = "published", "publiée"
        REJECTED = "rejected", "refusée"

    target_type = models.CharField(max_length=40)  # "practitioner", "organization", "location"…
    target_id = models.BigIntegerField()
    changes = models.JSONField(help_text="field -> proposed value")
    previous = models.JSONField(default=dict, help_text="field -> value when proposed")
    comment = models.TextField("commentaire", blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposals"
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reviews",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        verbose_name = "proposition de modification"

    def __str__(self) -> str:
        return f"{self.target_type} {self.target_id} ({self.get_status_display()})"


class MergeImport(models.Model):
    class Status(models.TextChoices):
        STAGED = "staged", "à examiner"
        APPLIED = "applied", "appliqué"
        CANCELLED = "cancelled", "annulé"

    source_name = models.CharField(max_length=250)
    source_format = models.CharField(max_length=8)  # csv, xlsx, fhir
    # The file is not kept: its header and cells are, so that the mapping can be changed and
    # the analysis re-run without uploading again (see maillage.directory.imports.merge).
    headers = models.JSONField(default=list, help_text="source column names, in file order")
    source_rows = models.JSONField(
        default=list, help_text='[{"line": n, "cells": [...]}] as read from the file'
    )
    mapping = models.JSONField(default=dict, help_text="maillage field -> source column")
    rows = models.JSONField(default=list, help_text="staged rows with their match decisions")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.STAGED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="merge_imports"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    result = models.JSONField(default=dict, blank=True, help_text="counts written by apply")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "import à fusionner"

    def __str__(self) -> str:
        return self.source_name
