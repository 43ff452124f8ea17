import logging
from pathlib import Path

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "maillage.web"
    verbose_name = "Interface web"

    def ready(self) -> None:
        from django.conf import settings

        from maillage.i18n import compile_catalogues
        from maillage.web import checks  # noqa: F401 - registers the deployment checks

        # the French catalogue (plural forms) compiled into the data folder, if it changed; a
        # read-only data folder only costs the plural forms ("0 résultats"), never the start
        try:
            compile_catalogues(Path(settings.LOCALE_PATHS[0]))
        except OSError as exc:
            logging.getLogger(__name__).warning(
                "catalogue français non compilé (%s) : accords au pluriel par défaut", exc
            )
