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
    # care roles (maillage.care): they see personal data, behind a second factor
    OPERATOR = "operator", "Opérateur téléphonique"
    NURSE = "nurse", "Infirmier·ère"
    # a town's social service (CCAS): the register of vulnerable people of its communes
    # (Profile.territories), and the calls of alert campaigns
    CCAS_AGENT = "ccas_agent", "Agent communal (CCAS)"
    # a hospital's referent for discharge letters: its hospital(s) (Profile.organizations)
    HOSPITAL = "hospital", "Référent hospitalier"


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
    # why personal data was read or written (care apps: "booking", "nurse_day", "retention"…)
    purpose = models.CharField("finalité", max_length=40, blank=True, default="")

    class Meta:
        ordering = ["-at"]
        verbose_name = "événement du journal"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.target_type}"


class ApiToken(models.Model):
    """A bearer token for scripts and partner platforms (``maillage token create``). Only the
    SHA-256 digest of the token is stored: the token itself is shown once, at creation. A token
    acts as its user, with the user's role; revoking it keeps the row (who had what, when)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField("nom", max_length=80, blank=True)
    prefix = models.CharField("début du jeton", max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    revoked_at = models.DateTimeField("révoqué le", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "jeton d'API"
        verbose_name_plural = "jetons d'API"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
