"""Django settings for maillage.

One settings module for every deployment; what differs comes from the environment:

- ``MAILLAGE_DATABASE_URL``: a database URL (``postgres://user@host:5432/db``). Unset, maillage
  uses the embedded SQLite database ``maillage.sqlite3`` in the data folder (see
  :mod:`maillage.paths`), in WAL mode so that the web server and the CLI can share it.
- ``MAILLAGE_SECRET_KEY``: required when ``MAILLAGE_DEBUG`` is off and the server is public;
  the embedded default generates one per data folder and keeps it there.
- ``MAILLAGE_ALLOWED_HOSTS``: comma-separated host names (default: loopback only).
- ``MAILLAGE_TILE_URL``: an optional XYZ tile URL for deployments that are online; unset, maps
  show commune polygons only (no request leaves the machine).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

from maillage.paths import data_home

BASE_DIR = Path(__file__).resolve().parent
DATA_HOME = data_home()


def _secret_key() -> str:
    if os.environ.get("MAILLAGE_SECRET_KEY"):
        return os.environ["MAILLAGE_SECRET_KEY"]
    key_file = DATA_HOME / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("MAILLAGE_DEBUG", "") == "1"
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("MAILLAGE_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "axes",
    "maillage.web",
    "maillage.accounts",
    "maillage.territory",
    "maillage.directory",
    "maillage.observatory",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "maillage.web.ratelimit.RateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "maillage.web.middleware.ContentSecurityPolicyMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # login throttling first
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours: 15 minutes locked after 5 failures
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
LOGIN_URL = "/connexion/"
LOGIN_REDIRECT_URL = "/pro/"
LOGOUT_REDIRECT_URL = "/"

ROOT_URLCONF = "maillage.urls"
WSGI_APPLICATION = "maillage.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "maillage.web.context.site",
            ],
        },
    },
]


def _database() -> dict:
    url = os.environ.get("MAILLAGE_DATABASE_URL")
    if url:
        return dj_database_url.parse(url, conn_max_age=60)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_HOME / "maillage.sqlite3"),
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        # a file, so that `pytest --reuse-db` keeps the imported test data between runs
        "TEST": {"NAME": str(DATA_HOME / "test_maillage.sqlite3")},
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]  # the interface is written in French only
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

MEDIA_ROOT = DATA_HOME / "media"
MEDIA_URL = "/media/"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600  # a working day; then log in again
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_SAVE_EVERY_REQUEST = False
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

MAILLAGE_TILE_URL = os.environ.get("MAILLAGE_TILE_URL", "")

# Per-client rate limits (maillage.web.ratelimit): (name, path regex, requests, seconds), per
# anonymous IP (REMOTE_ADDR); logged-in users get MAILLAGE_RATE_LIMIT_USER_FACTOR times more.
# Counters live in the default cache: the local-memory cache of the one server process, or a
# shared cache (CACHES) when several processes serve the site. Generous for people, tight for
# scripts hammering the expensive endpoints. MAILLAGE_RATE_LIMITS_ENABLED=0 turns them off.
MAILLAGE_RATE_LIMITS_ENABLED = os.environ.get("MAILLAGE_RATE_LIMITS_ENABLED", "1") != "0"
MAILLAGE_RATE_LIMIT_USER_FACTOR = 5
MAILLAGE_RATE_LIMITS = [
    # search: the API, the page, its map, and FHIR searches
    (
        "search",
        r"^/(api/directory/search|annuaire/(carte\.json)?$|fhir/(?!metadata)[A-Za-z]+/?$)",
        60,
        60,
    ),
    # whole-territory exports and reports: seconds of work each when not cached
    ("export", r"^/(api/territories/[^/]+/fhir-bundle|territoires/[^/]+/diagnostic\.)", 10, 60),
    ("fhir_bundle", r"^/fhir/Bundle/?$", 10, 60),
    # the rest of the API and the FHIR server
    ("api", r"^/(api|fhir)/", 300, 60),
]
if os.environ.get("MAILLAGE_RATE_LIMITS"):  # the same list as JSON, to tune a deployment
    import json

    MAILLAGE_RATE_LIMITS = [tuple(rule) for rule in json.loads(os.environ["MAILLAGE_RATE_LIMITS"])]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"maillage": {"level": "INFO"}},
}


def _xstatic_dirs() -> list[tuple[str, str]]:
    """Leaflet and its marker-cluster plugin, served from their PyPI packages (no CDN)."""
    import xstatic.pkg.leaflet
    import xstatic.pkg.leaflet_markercluster

    return [
        ("vendor/leaflet", xstatic.pkg.leaflet.BASE_DIR),
        ("vendor/leaflet-markercluster", xstatic.pkg.leaflet_markercluster.BASE_DIR),
    ]


STATICFILES_DIRS = _xstatic_dirs()
