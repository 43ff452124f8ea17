from django.contrib import admin
from django.utils import timezone

from maillage.accounts.models import ApiToken, AuditEvent, Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "practitioner")
    list_filter = ("role",)
    raw_id_fields = ("practitioner",)
    filter_horizontal = ("territories", "organizations")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "user", "action", "target_type", "target_id", "purpose")
    list_filter = ("action", "target_type", "purpose")
    readonly_fields = ("at", "user", "action", "target_type", "target_id", "purpose", "details")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created by ``maillage token create`` (shown once); here they are listed and
    revoked, never shown."""

    list_display = ("prefix", "user", "name", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    fields = ("prefix", "user", "name", "created_at", "revoked_at")
    readonly_fields = ("prefix", "user", "name", "created_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Révoquer les jetons choisis")
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} jeton(s) révoqué(s).")
