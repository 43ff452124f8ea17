from django.apps import AppConfig


class AttachmentConfig(AppConfig):
    name = "maillage.care.attachment"
    label = "attachment"
    verbose_name = "Recherche de médecin traitant"

    def ready(self) -> None:
        from maillage.care.attachment import personal_data

        personal_data.register()

    def worker_starting(self) -> None:
        """Each worker, as it starts, schedules the nightly expiry of unanswered proposals."""
        from maillage.care.attachment.tasks import ensure_scheduled

        ensure_scheduled()
