"""Users' roles and the audit log.

Four roles (DESIGN.md): anonymous (no account), professional, coordinator, administrator. A
professional is linked to their own directory entry; a coordinator to the territories they
maintain. Every read and write of personal or pro-only data goes to ``AuditEvent``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    PROFESSIONAL = "professional", "Professionnel de santé"
    COORDINATOR = "coordinator", "Coordinateur"
    ADMINISTRATOR = "administrator", "Administrateur"


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    role = models.CharField("rôle", max_length=16, choices=Role.choices)
    practitioner = models.ForeignKey(
        "directory.Practitioner",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="profiles",
        verbose_name="fiche du professionnel",
    )
    organizations = models.ManyToManyField(
        "directory.Organization", blank=True, related_name="profiles"
    )
    territories = models.ManyToManyField(
        "territory.Territory",
        blank=True,
        related_name="coordinators",
        help_text="Territoires dont le coordinateur tient l'annuaire (vide : tous).",
    )

    class Meta:
        verbose_name = "profil"

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class AuditEvent(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32)  # view, propose, publish, reject, import…
    target_type = models.CharField(max_length=40)
    target_id = models.CharField(max_length=40, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = "événement du journal"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.target_type}"
