"""Deployment checks of our own, run by ``maillage check --deploy`` beside Django's.

Django's ``check --deploy`` knows cookies, HSTS and the secret key's shape; these know how
maillage is configured (the ``MAILLAGE_*`` variables of ``docs/deploy.md``) and say, in French,
which variable to set. Registered with ``deploy=True``: they run only with ``--deploy``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks

DEPLOY_DOC = "voir docs/deploy.md"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def _sqlite_path() -> Path | None:
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("sqlite3"):
        return None
    return Path(str(db["NAME"]))


def _inside(path: Path, folder: str) -> bool:
    try:
        path.resolve().relative_to(Path(folder).resolve())
    except ValueError:
        return False
    return True


@checks.register("maillage", deploy=True)
def deployment_checks(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []

    def error(code: str, msg: str, hint: str) -> None:
        errors.append(checks.Error(msg, hint=f"{hint} ({DEPLOY_DOC})", id=f"maillage.{code}"))

    if settings.DEBUG:
        error(
            "E001",
            "Le mode débogage est actif : les pages d'erreur montreraient le code et les réglages.",
            "Retirez MAILLAGE_DEBUG de l'environnement du serveur",
        )
    if not os.environ.get("MAILLAGE_SECRET_KEY"):
        error(
            "E002",
            "La clé secrète est celle générée dans le dossier de données, pas une clé fournie "
            "par l'environnement du serveur.",
            "Définissez MAILLAGE_SECRET_KEY (50 caractères aléatoires ou plus)",
        )
    hosts = set(settings.ALLOWED_HOSTS)
    if "*" in hosts:
        error(
            "E003",
            "MAILLAGE_ALLOWED_HOSTS accepte n'importe quel nom d'hôte (« * »).",
            "Donnez le ou les noms du site, par exemple annuaire.cpts-exemple.fr",
        )
    elif not hosts - LOOPBACK_HOSTS:
        error(
            "E004",
            "MAILLAGE_ALLOWED_HOSTS ne contient que la machine locale : le site public ne "
            "répondrait pas sous son nom.",
            "Ajoutez le nom du site à MAILLAGE_ALLOWED_HOSTS",
        )
    if not getattr(settings, "HTTPS", False):
        error(
            "E005",
            "MAILLAGE_HTTPS n'est pas activé : cookies sans l'attribut Secure, pas de HSTS.",
            "Servez le site en HTTPS derrière un proxy inverse et définissez MAILLAGE_HTTPS=1",
        )
    proxies = list(getattr(settings, "TRUSTED_PROXIES", []))
    if getattr(settings, "HTTPS", False) and not proxies:
        error(
            "E006",
            "MAILLAGE_HTTPS=1 sans MAILLAGE_TRUSTED_PROXIES : l'adresse du proxy serait prise "
            "pour celle de chaque client (une seule adresse pour la limitation des connexions) "
            "et l'en-tête X-Forwarded-Proto serait ignoré.",
            "Donnez l'adresse du proxy inverse dans MAILLAGE_TRUSTED_PROXIES, par exemple "
            "127.0.0.1",
        )
    if any(p.strip() in ("0.0.0.0/0", "::/0", "*") for p in proxies):
        error(
            "E007",
            "MAILLAGE_TRUSTED_PROXIES fait confiance à toutes les adresses : n'importe quel "
            "client pourrait choisir l'adresse vue par la limitation des connexions.",
            "Ne listez que les adresses de vos proxys inverses",
        )
    sqlite = _sqlite_path()
    if sqlite is not None:
        temp_dirs = {tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"}
        if any(_inside(sqlite, d) for d in temp_dirs):
            error(
                "E008",
                f"La base SQLite est dans un dossier temporaire ({sqlite}) : elle peut être "
                "effacée au redémarrage.",
                "Définissez MAILLAGE_HOME vers un dossier durable et sauvegardé, ou utilisez "
                "PostgreSQL avec MAILLAGE_DATABASE_URL",
            )
    from maillage.accounts.psc import configuration_problems  # Pro Santé Connect, if set

    for code, msg, hint in configuration_problems():
        error(code, msg, hint)
    return errors
