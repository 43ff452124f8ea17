from typing import Any

from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "maillage.care.scheduling"
    label = "scheduling"
    verbose_name = "Agendas et rendez-vous"

    def ready(self) -> None:
        from maillage.care.scheduling import personal_data
        from maillage.care.scheduling.models import connect_coordinates
        from maillage.directory.fhir import views as directory_fhir

        directory_fhir.register_capability(_capability_resources)
        personal_data.register()
        connect_coordinates()  # the sites' copy of their coordinates, for the finder
        from maillage.care.scheduling.services import waitlist

        waitlist.register()  # the waiting list's people: rules, retention, access, erasure

    def worker_starting(self) -> None:
        """Each worker, as it starts, schedules the reminders' and the waiting list's runs."""
        from maillage.care.scheduling.booking_tasks import ensure_scheduled

        ensure_scheduled()


def _capability_resources() -> list[dict[str, Any]]:
    """Scheduling's part of the CapabilityStatement, imported when it is asked for: the FHIR
    views it reads from are not needed by every process that sets Django up (a report)."""
    from maillage.care.scheduling.fhir import capability

    return capability.resources()
