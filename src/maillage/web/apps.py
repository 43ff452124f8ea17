from pathlib import Path

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "maillage.web"
    verbose_name = "Interface web"

    def ready(self) -> None:
        from django.conf import settings

        from maillage.i18n import compile_catalogues
        from maillage.web import checks  # noqa: F401 - registers the deployment checks

        # the French catalogue (plural forms) compiled into the data folder, if it changed
        compile_catalogues(Path(settings.LOCALE_PATHS[0]))
