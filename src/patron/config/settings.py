"""Settings for every environment, read from the environment.

One module rather than a base/local/production split: the differences are a handful of
environment variables (DATABASE_URL, SECRET_KEY, DEBUG, EMAIL_*, PATRON_*), documented in
docs/configuration.md.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import django_stubs_ext
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from patron.config import secret_key
from patron.config.database import database_from_url, pooler_settings

# Lets model fields be written with generic parameters (typed for mypy) at run time.
django_stubs_ext.monkeypatch()

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# Repository root when run from a clone (src/patron/config/settings.py -> ../../..).
BASE_DIR = PACKAGE_DIR.parent.parent
DATA_DIR = Path(os.environ.get("PATRON_DATA_DIR", BASE_DIR / "data"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


DEBUG = _env_bool("PATRON_DEBUG", False)
TESTING = _env_bool("PATRON_TESTING", False)
# Signs the survey, unsubscribe and comment links. Production sets it (serve, worker and
# check --deploy refuse to run without it, see patron.cli); elsewhere a random key made once in
# the data folder (patron.config.secret_key).
_configured_key = secret_key.from_environment(os.environ)
PATRON_SECRET_KEY_CONFIGURED = bool(_configured_key)
SECRET_KEY = _configured_key or secret_key.local_key(DATA_DIR)
ALLOWED_HOSTS = [h for h in os.environ.get("PATRON_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("PATRON_CSRF_TRUSTED_ORIGINS", "").split(",") if o]
PATRON_BASE_URL = os.environ.get("PATRON_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "patron.core",
    "patron.customers",
    "patron.commerce",
    "patron.engagement",
    "patron.generator",
    "patron.insights",
    "patron.feedback",
    "patron.ingest",
    "patron.imports",
    "patron.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "patron.config.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: throttles repeated failed logins.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "patron.config.urls"
WSGI_APPLICATION = "patron.config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "patron.web.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL"), DATA_DIR)}
# Behind PgBouncer in transaction mode (docs/deploy.md): no server-side cursors, no prepared statements.
PATRON_DB_POOLER = pooler_settings(DATABASES["default"], os.environ.get("PATRON_DB_POOLER", ""))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 is deliberately slow; the tests that check hashing ask for it explicitly.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("PATRON_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("PATRON_LOGIN_COOLOFF_MINUTES", "15")))
# Lock the username from that address, so one user's typos do not lock a whole office.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

FORMAT_MODULE_PATH = ["patron.formats"]
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("zh-hans", "简体中文"),
    ("zh-hant", "繁體中文"),
]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "django_language"
TIME_ZONE = os.environ.get("PATRON_TIME_ZONE", "Asia/Shanghai")

# Money: every total, score and chart is in the base currency; an order or cost event in another
# currency is converted at the rate of its date (the latest rate on or before that date, at most
# PATRON_RATE_MAX_AGE_DAYS older), and refused when there is none. See commerce/currency.py.
PATRON_BASE_CURRENCY = os.environ.get("PATRON_BASE_CURRENCY", "CNY")
if not re.fullmatch(r"[A-Z]{3}", PATRON_BASE_CURRENCY):
    raise ImproperlyConfigured(
        f"PATRON_BASE_CURRENCY must be a three-letter ISO 4217 code such as CNY, not {PATRON_BASE_CURRENCY!r}"
    )
_rate_age = os.environ.get("PATRON_RATE_MAX_AGE_DAYS", "7")
if not _rate_age.isdigit() or int(_rate_age) > 366:
    raise ImproperlyConfigured(f"PATRON_RATE_MAX_AGE_DAYS must be a whole number of days from 0 to 366, not {_rate_age!r}")
PATRON_RATE_MAX_AGE_DAYS = int(_rate_age)
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/echarts", BASE_DIR / "node_modules" / "echarts" / "dist"),
]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Django's SMTP backend with a hook at SMTP's point of no return (survey invitations go once).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "patron.core.mail.SMTPBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
# Seconds an SMTP connection waits for the server: a server that stops answering fails the send
# (recorded on the invitation) instead of holding the worker for ever.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "60"))
DEFAULT_FROM_EMAIL = os.environ.get("PATRON_FROM_EMAIL", "Patron <patron@localhost>")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"

# Behind a TLS-terminating proxy (docs/configuration.md): the proxy says which scheme the
# browser used in X-Forwarded-Proto (and must overwrite any such header the client sent); plain
# http is redirected to https, browsers are told to use https only (HSTS), and cookies travel
# over https only.
HTTPS = _env_bool("PATRON_HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    try:
        SECURE_HSTS_SECONDS = int(os.environ.get("PATRON_HSTS_SECONDS", str(365 * 24 * 3600)))
    except ValueError as exc:
        raise ImproperlyConfigured("PATRON_HSTS_SECONDS must be a whole number of seconds") from exc
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("PATRON_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _env_bool("PATRON_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = True

# GET /healthz fails (503) when the newest worker heartbeat is older than this many seconds, or
# the last finished scoring run older than this many hours (0: not checked). docs/deploy.md.
def _env_count(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    if not value.isdigit():
        raise ImproperlyConfigured(f"{name} must be a whole number (0 or more), not {value!r}")
    return int(value)


PATRON_HEALTH_WORKER_MAX_AGE_SECONDS = _env_count("PATRON_HEALTH_WORKER_MAX_AGE_SECONDS", 120)
PATRON_HEALTH_SCORING_MAX_AGE_HOURS = _env_count("PATRON_HEALTH_SCORING_MAX_AGE_HOURS", 26)

# Content-Security-Policy (django-csp): scripts, styles and everything else only from the app's
# own origin; no inline script, event handler attribute or style anywhere (templates keep theirs
# in static files, chart data travels in json_script blocks, which are data, not script).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Pagination and page sizes used by lists and the timeline.
PATRON_PAGE_SIZE = 25

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PATRON_LOG_LEVEL", "WARNING")},
}
