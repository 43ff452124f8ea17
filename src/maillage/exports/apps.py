from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "maillage.exports"
    label = "exports"
    verbose_name = "Exports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from maillage.exports import versions

        versions.connect_signals()
