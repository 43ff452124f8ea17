"""Django settings for maillage.

One settings module for every deployment; what differs comes from the environment:

- ``MAILLAGE_DATABASE_URL``: a database URL (``postgres://user@host:5432/db``). Unset, maillage
  uses the embedded SQLite database ``maillage.sqlite3`` in the data folder (see
  :mod:`maillage.paths`), in WAL mode so that the web server and the CLI can share it.
- ``MAILLAGE_SECRET_KEY``: required when ``MAILLAGE_DEBUG`` is off and the server is public;
  the embedded default generates one per data folder and keeps it there.
- ``MAILLAGE_ALLOWED_HOSTS``: comma-separated host names (default: loopback only).
- ``MAILLAGE_HTTPS=1``: the site is served over HTTPS (behind a reverse proxy that terminates
  TLS): Secure cookies, HSTS (``MAILLAGE_HSTS_SECONDS``, default one year;
  ``MAILLAGE_HSTS_INCLUDE_SUBDOMAINS=1``, ``MAILLAGE_HSTS_PRELOAD=1``), the proxy's
  ``X-Forwarded-Proto`` header, and ``MAILLAGE_SSL_REDIRECT=1`` to redirect plain HTTP.
  An explicit ``MAILLAGE_SECRET_KEY`` is then required.
- ``MAILLAGE_TRUSTED_PROXIES``: comma-separated addresses or networks (``127.0.0.1``,
  ``10.0.0.0/8``) of the reverse proxies; only from them are ``X-Forwarded-For`` and
  ``X-Forwarded-Proto`` believed (:mod:`maillage.web.proxy`), so that login throttling and the
  audit log see the real client. See ``docs/deploy.md``.
- ``MAILLAGE_TILE_URL``: an optional XYZ tile URL for deployments that are online; unset, maps
  show commune polygons only (no request leaves the machine).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from maillage.paths import data_home

BASE_DIR = Path(__file__).resolve().parent
DATA_HOME = data_home()


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


DEBUG = _flag("MAILLAGE_DEBUG")
HTTPS = _flag("MAILLAGE_HTTPS")
# Keys that must never sign a production cookie: Django's template value and obvious stand-ins.
WEAK_SECRET_PREFIXES = ("django-insecure", "changeme", "change-me", "secret", "dev")


def _secret_key() -> str:
    key = os.environ.get("MAILLAGE_SECRET_KEY", "").strip()
    if key:
        if not DEBUG and (len(key) < 50 or key.lower().startswith(WEAK_SECRET_PREFIXES)):
            raise ImproperlyConfigured(
                "MAILLAGE_SECRET_KEY est trop faible (au moins 50 caractères aléatoires, par "
                "exemple : python -c 'import secrets; print(secrets.token_urlsafe(50))')."
            )
        return key
    if HTTPS and not DEBUG:
        raise ImproperlyConfigured(
            "MAILLAGE_HTTPS=1 demande une clé explicite : définissez MAILLAGE_SECRET_KEY "
            "(voir docs/deploy.md)."
        )
    key_file = DATA_HOME / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
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
    "django_tasks",
    "django_tasks_db",
    "maillage.web",
    "maillage.accounts",
    "maillage.territory",
    "maillage.directory",
    "maillage.observatory",
    "maillage.exports",
    # two-factor login (TOTP) for the roles that see personal data (maillage.care.people.views)
    "django_otp",
    "django_otp.plugins.otp_totp",
    "maillage.care.people",
    "maillage.care.scheduling",
    "maillage.care.attachment",
    "maillage.care.letters",
    "maillage.care.register",
]

# The cache holds the rate-limit counters (maillage.web.ratelimit). The default is Django's
# local-memory cache: right for the one process of ``maillage serve``. A site served by several
# processes or machines shares one Redis: MAILLAGE_CACHE_URL=redis://127.0.0.1:6379/0.
if os.environ.get("MAILLAGE_CACHE_URL"):
    _cache_url = os.environ["MAILLAGE_CACHE_URL"]
    if not _cache_url.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            "MAILLAGE_CACHE_URL doit être une adresse Redis (redis://hôte:port/base, rediss:// "
            f"ou unix://) : « {_cache_url} » n'en est pas une."
        )
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "maillage",
        }
    }

# Background work (export builds…): Django's task framework with its database backend, worked
# off by a thread of ``maillage serve`` in the embedded default and by ``maillage worker``
# processes in deployments (docs/architecture.md, "Exports").
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Care scheduling: slots are generated this many weeks ahead (maillage.care.scheduling).
MAILLAGE_SLOT_HORIZON_WEEKS = int(os.environ.get("MAILLAGE_SLOT_HORIZON_WEEKS", "8"))

MIDDLEWARE = [
    "maillage.web.proxy.TrustedProxyMiddleware",  # first: every later layer sees the real client
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the second factor
    "maillage.accounts.twofactor.SecondFactorMiddleware",  # operators, nurses: code first
    "maillage.web.ratelimit.RateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "maillage.web.middleware.ContentSecurityPolicyMiddleware",
    "maillage.care.people.middleware.CareKeyErrorMiddleware",  # a lost key: 503, not 500
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # login throttling first
    "django.contrib.auth.backends.ModelBackend",
    # Pro Santé Connect (OpenID Connect): active only when MAILLAGE_PSC_* are set
    "maillage.accounts.psc.ProSanteConnectBackend",
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


def _sqlite_options() -> dict:
    """SQLite beside a live site: WAL (readers never wait for the writer, nor it for them);
    every write transaction takes the write lock when it begins (IMMEDIATE), so two writers
    queue in SQLite's busy handler instead of one failing on upgrade; a writer waits up to
    ``MAILLAGE_SQLITE_TIMEOUT`` seconds (default 20), then the request answers 503 "réessayez"
    (:mod:`maillage.web.errors`). Long imports do not hold the lock: see :mod:`maillage.shadow`."""
    return {
        "timeout": float(os.environ.get("MAILLAGE_SQLITE_TIMEOUT", "20")),
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }


def _database() -> dict:
    url = os.environ.get("MAILLAGE_DATABASE_URL")
    if url:
        db = dj_database_url.parse(url, conn_max_age=60)
        if db["ENGINE"].endswith("sqlite3"):
            db["CONN_MAX_AGE"] = 0
            db["OPTIONS"] = {**_sqlite_options(), **db.get("OPTIONS", {})}
        return db
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_HOME / "maillage.sqlite3"),
        "OPTIONS": _sqlite_options(),
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
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},  # ANSSI: at least 12 characters for a password alone
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]  # the interface is written in French only
TIME_ZONE = "Europe/Paris"
USE_I18N = True
# The French catalogue (plural forms), compiled from src/maillage/locale by maillage.i18n
LOCALE_PATHS = [DATA_HOME / "locale"]
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
CSRF_FAILURE_VIEW = "maillage.web.errors.csrf_failure"  # a French page in the site's layout
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- HTTPS deployments (docs/deploy.md) ---------------------------------------------------------
TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("MAILLAGE_TRUSTED_PROXIES", "").split(",") if p.strip()
]
if HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = _flag("MAILLAGE_SSL_REDIRECT")
    SECURE_HSTS_SECONDS = int(os.environ.get("MAILLAGE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("MAILLAGE_HSTS_INCLUDE_SUBDOMAINS")
    SECURE_HSTS_PRELOAD = _flag("MAILLAGE_HSTS_PRELOAD")
    if not SECURE_HSTS_PRELOAD:  # browsers' preload list is a commitment: an option, not a default
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    # Believed only when the request comes from a trusted proxy: TrustedProxyMiddleware drops
    # the header from anyone else, so a client cannot claim HTTPS over plain HTTP.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = [
        f"https://*{h}" if h.startswith(".") else f"https://{h}" for h in ALLOWED_HOSTS if h != "*"
    ]

MAILLAGE_TILE_URL = os.environ.get("MAILLAGE_TILE_URL", "")

# Personal data of the care apps (maillage.care.people.retention): anonymised after N months.
MAILLAGE_CARE_RETENTION_MONTHS = int(os.environ.get("MAILLAGE_CARE_RETENTION_MONTHS", "12"))
# The issuer shown in authenticator apps beside the account name (TOTP enrolment).
OTP_TOTP_ISSUER = "maillage"
# An administrator removes a lost device in /admin/, but never sees its secret.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Per-client rate limits (maillage.web.ratelimit): (name, path regex, requests, seconds), per
# anonymous IP (REMOTE_ADDR); logged-in users get MAILLAGE_RATE_LIMIT_USER_FACTOR times more.
# Counters live in the default cache: the local-memory cache of the one server process, or a
# shared cache (CACHES) when several processes serve the site. Generous for people, tight for
# scripts hammering the expensive endpoints. MAILLAGE_RATE_LIMITS_ENABLED=0 turns them off.
MAILLAGE_RATE_LIMITS_ENABLED = os.environ.get("MAILLAGE_RATE_LIMITS_ENABLED", "1") != "0"
MAILLAGE_RATE_LIMIT_USER_FACTOR = 5
MAILLAGE_RATE_LIMITS = [
    # search: the API, the page, its map, and FHIR searches (a booking, POST
    # /fhir/Appointment, is not one: it counts in "api" below)
    (
        "search",
        r"^/(api/directory/search|annuaire/(carte\.json)?$|fhir/(?!metadata|Appointment)[A-Za-z]+/?$)",
        60,
        60,
    ),
    # whole-territory exports and reports: seconds of work each when not cached
    ("export", r"^/(api/territories/[^/]+/fhir-bundle|territoires/[^/]+/diagnostic\.)", 10, 60),
    # "signaler une erreur": anonymous proposals
    ("report", r"^/annuaire/signaler/", 20, 300),
    # comparisons: up to four diagnostics each when not cached
    ("compare", r"^/territoires/comparer(/|\.json)$", 20, 60),
    ("fhir_bundle", r"^/fhir/Bundle/?$", 10, 60),
    # password reset requests: each one may send an e-mail
    ("password_reset", r"^/mot-de-passe-oublie/$", 10, 300),
    # public booking: each form sent may create a person and send an SMS and an e-mail
    ("booking", r"^/rendez-vous/.+/(reserver|liste-attente|annuler|deplacer|confirmer)/$", 20, 600),
    # public request for a médecin traitant: each form sent creates a person
    ("attachment", r"^/medecin-traitant/$", 20, 600),
    ("register", r"^/registre/$", 20, 600),
    # the rest of the API and the FHIR server
    ("api", r"^/(api|fhir)/", 300, 60),
]
if os.environ.get("MAILLAGE_RATE_LIMITS"):  # the same list as JSON, to tune a deployment
    import json

    MAILLAGE_RATE_LIMITS = [tuple(rule) for rule in json.loads(os.environ["MAILLAGE_RATE_LIMITS"])]

# E-mail (password reset, notifications to professionals). With MAILLAGE_SMTP_HOST, Django's
# SMTP backend; without it, each message is written as a file in <data folder>/courriels/ (a
# demo or a test reads them there; nothing is sent and nothing goes to the logs).
DEFAULT_FROM_EMAIL = os.environ.get("MAILLAGE_EMAIL_FROM", "maillage <ne-pas-repondre@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The sender of the discharge letters' notices to GPs' MSSanté mailboxes (an MSSanté operator
# accepts only its own addresses); unset, DEFAULT_FROM_EMAIL.
MAILLAGE_MSSANTE_FROM = os.environ.get("MAILLAGE_MSSANTE_FROM") or None
EMAIL_SUBJECT_PREFIX = "[maillage] "
if os.environ.get("MAILLAGE_SMTP_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["MAILLAGE_SMTP_HOST"]
    EMAIL_PORT = int(os.environ.get("MAILLAGE_SMTP_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("MAILLAGE_SMTP_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("MAILLAGE_SMTP_PASSWORD", "")
    EMAIL_USE_SSL = EMAIL_PORT == 465
    EMAIL_USE_TLS = not EMAIL_USE_SSL and os.environ.get("MAILLAGE_SMTP_TLS", "1") != "0"
    EMAIL_TIMEOUT = 15
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = DATA_HOME / "courriels"
PASSWORD_RESET_TIMEOUT = 2 * 3600  # a reset link works for two hours
# SMS of the care bookings (maillage.care.scheduling.sms): "file" (one file per message in
# <data folder>/sms/, the default: nothing leaves the machine), "console", or a dotted path.
MAILLAGE_SMS_BACKEND = os.environ.get("MAILLAGE_SMS_BACKEND", "file")
MAILLAGE_SMS_FILE_PATH = Path(os.environ.get("MAILLAGE_SMS_FILE_PATH", DATA_HOME / "sms"))
# Waiting list: how long the link of a freed slot offered to a person stays valid (hours).
MAILLAGE_WAITLIST_OFFER_HOURS = int(os.environ.get("MAILLAGE_WAITLIST_OFFER_HOURS", "2"))
# The site's public address, for links in e-mails sent outside a request (reminders).
MAILLAGE_SITE_URL = os.environ.get("MAILLAGE_SITE_URL", "http://127.0.0.1:8000")

# Login with Pro Santé Connect (maillage.accounts.psc, docs/deploy.md): the provider's issuer
# (or its discovery document's URL) and the client declared at ANS. All set: the button shows.
MAILLAGE_PSC_ISSUER = os.environ.get("MAILLAGE_PSC_ISSUER", "")
MAILLAGE_PSC_DISCOVERY_URL = os.environ.get("MAILLAGE_PSC_DISCOVERY_URL", "")
MAILLAGE_PSC_CLIENT_ID = os.environ.get("MAILLAGE_PSC_CLIENT_ID", "")
MAILLAGE_PSC_CLIENT_SECRET = os.environ.get("MAILLAGE_PSC_CLIENT_SECRET", "")

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
