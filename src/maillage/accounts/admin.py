from django.contrib import admin

from maillage.accounts.models import AuditEvent, Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "practitioner")
    list_filter = ("role",)
    raw_id_fields = ("practitioner",)
    filter_horizontal = ("territories", "organizations")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "user", "action", "target_type", "target_id")
    list_filter = ("action", "target_type")
    readonly_fields = ("at", "user", "action", "target_type", "target_id", "details")
