from django.apps import AppConfig


class AttachmentConfig(AppConfig):
    name = "maillage.care.attachment"
    label = "attachment"
    verbose_name = "Recherche de médecin traitant"

    def ready(self) -> None:
        from maillage.care.attachment import personal_data

        personal_data.register()
