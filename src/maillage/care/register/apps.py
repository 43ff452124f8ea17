from django.apps import AppConfig


class RegisterConfig(AppConfig):
    name = "maillage.care.register"
    label = "register"
    verbose_name = "Registre des personnes vulnérables"

    def ready(self) -> None:
        from maillage.care.register import personal_data

        personal_data.register()
