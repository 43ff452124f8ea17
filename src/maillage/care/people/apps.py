from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "maillage.care.people"
    label = "people"
    verbose_name = "Données personnelles (soins)"
    default_auto_field = "django.db.models.BigAutoField"

    def worker_starting(self) -> None:
        """Called by each worker as it starts (:func:`maillage.exports.tasks.run_worker`):
        the nightly retention run is scheduled."""
        from maillage.care.people.tasks import ensure_scheduled

        ensure_scheduled()
