from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "maillage.web"
    verbose_name = "Interface web"

    def ready(self) -> None:
        from maillage.web import checks  # noqa: F401 - registers the deployment checks
