from django.apps import AppConfig


class LettersConfig(AppConfig):
    name = "maillage.care.letters"
    label = "letters"
    verbose_name = "Lettres de liaison de sortie"

    def ready(self) -> None:
        from maillage.care.letters import personal_data

        personal_data.register()
