from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "maillage.care.people"
    label = "people"
    verbose_name = "Données personnelles (soins)"
    default_auto_field = "django.db.models.BigAutoField"
