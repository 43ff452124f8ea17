from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "maillage.care.scheduling"
    label = "scheduling"
    verbose_name = "Agendas et rendez-vous"

    def ready(self) -> None:
        from maillage.care.scheduling import personal_data
        from maillage.care.scheduling.fhir import capability
        from maillage.directory.fhir import views as directory_fhir

        directory_fhir.register_capability(capability.resources)
        personal_data.register()
