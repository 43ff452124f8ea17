from django.apps import AppConfig


class RegisterConfig(AppConfig):
    name = "maillage.care.register"
    label = "register"
    verbose_name = "Registre des personnes vulnérables"

    def ready(self) -> None:
        from maillage.care.register import personal_data

        personal_data.register()

    def worker_starting(self) -> None:
        """Each worker, as it starts, schedules the nightly removal of unconfirmed entries."""
        from maillage.care.register.tasks import ensure_scheduled

        ensure_scheduled()
