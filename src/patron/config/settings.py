"""Settings for every environment, read from the environment.

One module rather than a base/local/production split: the differences are a handful of
environment variables (DATABASE_URL, SECRET_KEY, DEBUG, EMAIL_*, PATRON_*), documented in
docs/configuration.md.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import django_stubs_ext
import phonenumbers
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from patron.config import secret_key
from patron.config.database import database_from_url, pooler_settings
from patron.config.env import env_bool, env_float, env_int, env_json, env_list, env_str
from patron.core.throttle import parse_rate

# Lets model fields be written with generic parameters (typed for mypy) at run time.
django_stubs_ext.monkeypatch()

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# Repository root when run from a clone (src/patron/config/settings.py -> ../../..).
BASE_DIR = PACKAGE_DIR.parent.parent
DATA_DIR = Path(env_str("PATRON_DATA_DIR", str(BASE_DIR / "data")))

DEBUG = env_bool("PATRON_DEBUG", False)
TESTING = env_bool("PATRON_TESTING", False)
# Signs the survey, unsubscribe and comment links. Production sets it (serve, worker and
# check --deploy refuse to run without it, see patron.cli); elsewhere a random key made once in
# the data folder (patron.config.secret_key).
_configured_key = secret_key.from_environment(os.environ)
PATRON_SECRET_KEY_CONFIGURED = bool(_configured_key)
SECRET_KEY = _configured_key or secret_key.local_key(DATA_DIR)
ALLOWED_HOSTS = env_list("PATRON_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("PATRON_CSRF_TRUSTED_ORIGINS", "")
# The public address links for outside the app start with (emails, public links, QR codes). When
# it is not set, the address `patron serve` listens on, else the request's (patron.core.base_url).
PATRON_BASE_URL = env_str("PATRON_BASE_URL", "").rstrip("/")

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
    "patron.sales",
    "patron.generator",
    "patron.insights",
    "patron.feedback",
    "patron.ingest",
    "patron.imports",
    "patron.campaigns",
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
    "patron.core.audit.AuditMiddleware",
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

DATABASES = {"default": database_from_url(env_str("DATABASE_URL", "") or None, DATA_DIR)}
# Behind PgBouncer in transaction mode (docs/deploy.md): no server-side cursors, no prepared statements.
PATRON_DB_POOLER = pooler_settings(DATABASES["default"], env_str("PATRON_DB_POOLER", ""))
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
AXES_FAILURE_LIMIT = env_int("PATRON_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("PATRON_LOGIN_COOLOFF_MINUTES", 15, minimum=0))
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
TIME_ZONE = env_str("PATRON_TIME_ZONE", "Asia/Shanghai")

# Money: every total, score and chart is in the base currency; an order or cost event in another
# currency is converted at the rate of its date (the latest rate on or before that date, at most
# PATRON_RATE_MAX_AGE_DAYS older), and refused when there is none. See commerce/currency.py.
PATRON_BASE_CURRENCY = env_str(
    "PATRON_BASE_CURRENCY", "CNY", pattern=r"[A-Z]{3}", meaning="a three-letter ISO 4217 code such as CNY"
)
PATRON_RATE_MAX_AGE_DAYS = env_int("PATRON_RATE_MAX_AGE_DAYS", 7, minimum=0, maximum=366)
# Phones are stored in E.164 (customers/phones.py); a number typed without a country code is of
# this country (ISO 3166-1 alpha-2), and a search typed without one tries it too.
PATRON_PHONE_REGION = env_str(
    "PATRON_PHONE_REGION", "CN", pattern=r"[A-Z]{2}", meaning="a two-letter ISO 3166-1 country code such as CN"
)
if PATRON_PHONE_REGION not in phonenumbers.SUPPORTED_REGIONS:
    raise ImproperlyConfigured(f"PATRON_PHONE_REGION {PATRON_PHONE_REGION!r} is not a country with phone numbers")
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
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "patron.core.mail.SMTPBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
# Seconds an SMTP connection waits for the server: a server that stops answering fails the send
# (recorded on the invitation) instead of holding the worker for ever.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 60, minimum=1)
DEFAULT_FROM_EMAIL = env_str("PATRON_FROM_EMAIL", "Patron <patron@localhost>")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"

# Behind a TLS-terminating proxy (docs/configuration.md): the proxy says which scheme the
# browser used in X-Forwarded-Proto (and must overwrite any such header the client sent); plain
# http is redirected to https, browsers are told to use https only (HSTS), and cookies travel
# over https only.
HTTPS = env_bool("PATRON_HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env_int("PATRON_HSTS_SECONDS", 365 * 24 * 3600, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("PATRON_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("PATRON_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = True

# GET /healthz fails (503) when the newest worker heartbeat is older than this many seconds, or
# the last finished scoring run older than this many hours (0: not checked). docs/deploy.md.
PATRON_HEALTH_WORKER_MAX_AGE_SECONDS = env_int("PATRON_HEALTH_WORKER_MAX_AGE_SECONDS", 120, minimum=0)
PATRON_HEALTH_SCORING_MAX_AGE_HOURS = env_int("PATRON_HEALTH_SCORING_MAX_AGE_HOURS", 26, minimum=0)
# Who the audit log names when no request or job says: `patron` sets "cli" before Django starts.
PATRON_AUDIT_SOURCE = env_str("PATRON_AUDIT_SOURCE", "")

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
PATRON_PAGE_SIZE = env_int("PATRON_PAGE_SIZE", 25, minimum=1, maximum=500)

# Surveys and feedback (docs/feedback.md).
PATRON_SURVEY_FATIGUE_DAYS = env_int("PATRON_SURVEY_FATIGUE_DAYS", 90, minimum=0)
PATRON_INVITATION_VALID_DAYS = env_int("PATRON_INVITATION_VALID_DAYS", 30, minimum=1)
PATRON_FOLLOW_UP_SLA_HOURS = env_int("PATRON_FOLLOW_UP_SLA_HOURS", 48, minimum=1)
PATRON_COMMENT_MAX_CHARS = env_int("PATRON_COMMENT_MAX_CHARS", 5000, minimum=1)
PATRON_KIOSK_RESET_SECONDS = env_int("PATRON_KIOSK_RESET_SECONDS", 6, minimum=1)
PATRON_SURVEY_MAX_QUESTIONS = env_int("PATRON_SURVEY_MAX_QUESTIONS", 4, minimum=1)
# Answers per client address on the public answer pages: "answers/seconds", 0 for no limit.
PATRON_ANSWER_RATE_LIMIT = env_str("PATRON_ANSWER_RATE_LIMIT", "30/60")
try:
    parse_rate(PATRON_ANSWER_RATE_LIMIT)
except ValueError:
    raise ImproperlyConfigured(
        f"PATRON_ANSWER_RATE_LIMIT must look like 30/60, not {PATRON_ANSWER_RATE_LIMIT!r}"
    ) from None
# Dotted path of f(text, language) -> float in [-1, 1] for the follow-up rules; empty: none.
PATRON_SENTIMENT_FUNCTION = env_str(
    "PATRON_SENTIMENT_FUNCTION", "patron.feedback.comments.sentiment", keep_empty=True
)

# The REST API's batch endpoints and outbound webhooks (docs/api.md).
PATRON_API_MAX_BATCH_ITEMS = env_int("PATRON_API_MAX_BATCH_ITEMS", 10000, minimum=1)
PATRON_API_MAX_BATCH_BYTES = env_int("PATRON_API_MAX_BATCH_BYTES", 64 * 1024 * 1024, minimum=1)
PATRON_WEBHOOK_RETRY_SECONDS = env_float("PATRON_WEBHOOK_RETRY_SECONDS", 60.0)
PATRON_WEBHOOK_MAX_ATTEMPTS = env_int("PATRON_WEBHOOK_MAX_ATTEMPTS", 8, minimum=1)
PATRON_WEBHOOK_TIMEOUT = env_float("PATRON_WEBHOOK_TIMEOUT", 10.0)

# Imports up to this size run inside the request; larger ones go to the worker.
PATRON_IMPORT_INLINE_MAX_BYTES = env_int("PATRON_IMPORT_INLINE_MAX_BYTES", 256 * 1024, minimum=0)

# PostgreSQL server-side prepared statements for the statements every survey click runs.
PATRON_DB_PREPARE = env_bool("PATRON_DB_PREPARE", True)

# The analytics core reads it itself (it imports no Django); checked here so a bad value stops
# the start instead of the first scoring run.
PATRON_DUCKDB_THREADS = env_int("PATRON_DUCKDB_THREADS", 1, minimum=1)

# Services per value class (insights.entitlements); JSON {"class": ["service", ...]}, empty: the
# built-in rules.
PATRON_SERVICE_RULES = env_json("PATRON_SERVICE_RULES", None)

PATRON_LOG_LEVEL = env_str(
    "PATRON_LOG_LEVEL",
    "WARNING",
    pattern=r"DEBUG|INFO|WARNING|ERROR|CRITICAL",
    meaning="one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": PATRON_LOG_LEVEL},
}
