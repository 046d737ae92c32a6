"""One settings module, driven by environment variables (see .env.example).

With no environment at all this is the embedded default: SQLite in WAL mode and
a filesystem Celery broker, both under var/. PRODUCTION=true switches on the
deployment hardening and requires an explicit SECRET_KEY and ALLOWED_HOSTS.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_names_read, env_path, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("VAR_DIR", BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)

PRODUCTION = env_bool("PRODUCTION", False)
DEBUG = env_bool("DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG=true and PRODUCTION=true cannot be combined")


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    key_file = env_str("SECRET_KEY_FILE")
    if key and key_file:
        raise ImproperlyConfigured("set SECRET_KEY or SECRET_KEY_FILE, not both")
    if key_file:
        try:
            key = Path(key_file).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"SECRET_KEY_FILE={key_file!r}: {exc.strerror}") from None
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("PRODUCTION=true needs SECRET_KEY or SECRET_KEY_FILE")
    # Embedded default only: a key generated once and kept beside the database.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("PRODUCTION=true needs ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",  # its widget templates, for the site's form renderer (core/form_rendering.py)
    "axes",  # login throttling; see the block at the end
    "core",
    "eval_sets",
    "generation",
    "finetune",
    "annotate",
    "judging",
    "reports",
    "hub",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

FORM_RENDERER = "core.form_rendering.SiteFormRenderer"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.roles",
            ],
        },
    },
]

# The same SQLite options however SQLite is chosen (embedded default or DATABASE_URL=sqlite:///...):
# WAL lets readers go on while a rating is written; IMMEDIATE makes a write transaction take the
# lock up front instead of failing late with "database is locked"; the timeout waits for it.
SQLITE_OPTIONS: dict[str, object] = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
_database_url = env_url("DATABASE_URL", schemes=("postgres", "postgresql", "sqlite"))
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        # Connections are per thread in SQLite; keeping them open gains nothing.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
    elif env_bool("DATABASE_PREPARED", True):
        # Server-side binding lets psycopg prepare a statement the connection has run 5 times, so
        # PostgreSQL plans the rating path's statements once per connection instead of at every
        # call (measured: 11 -> 8 ms of database time per rating). A pooler in transaction mode
        # that does not track prepared statements (PgBouncer before 1.21) needs DATABASE_PREPARED=0.
        DATABASES["default"]["OPTIONS"] = {
            "server_side_binding": True,
            "prepare_threshold": 5,
            **DATABASES["default"].get("OPTIONS", {}),
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "db.sqlite3"),
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Applied wherever an account is made or its password set (core.users); the reasons are shown.
AUTH_PASSWORD_VALIDATORS = [
    # 0.8, not Django's 0.7: its quick ratio flags unrelated passphrases that share letters with a
    # long username; 0.8 still refuses the username itself and its close variants.
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"max_similarity": 0.8},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request without it
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Where models, checkpoints and uploaded files live.
MODELS_DIR = env_path("MODELS_DIR", VAR_DIR / "models")
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 20 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES

# --- Celery -----------------------------------------------------------------
_broker_url = env_url("CELERY_BROKER_URL", schemes=("redis", "rediss", "amqp", "filesystem", "memory"))
BROKER_DIR = VAR_DIR / "broker"
if _broker_url is None:
    CELERY_BROKER_URL = "filesystem://"
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_URL = _broker_url
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 24 * 3600}
# Job state lives in our own tables; Celery results would only duplicate it.
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
# Task modules not named tasks.py, which autodiscovery would not find (why: annotate/build_tasks.py).
CELERY_IMPORTS = ("annotate.build_tasks",)
CELERY_TASK_ROUTES = {
    "generation.tasks.*": {"queue": "gpu"},
    "finetune.tasks.*": {"queue": "gpu"},
    "judging.tasks.*": {"queue": "gpu"},  # in-process judges
}
# A GPU job that dies with its worker must run again, and our tasks resume
# rather than repeat, so late acknowledgement is safe.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 23 * 3600, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 24 * 3600, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must exceed CELERY_TASK_SOFT_TIME_LIMIT")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# --- Production hardening ---------------------------------------------------
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusals": {"()": "core.logging.RefusalsAsOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["refusals"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
# What a worker's task prints (tqdm bars of model loading, for one) is chatter, not a warning.
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"

# ---- Served-model generation (issue 15) ----
# Requests kept in flight per worker for a model served elsewhere (vLLM batches them continuously),
# and how long one request may take before the chunk fails (and is resumed by a retry).
GENERATION_SERVED_CONCURRENCY = env_int("GENERATION_SERVED_CONCURRENCY", 8, minimum=1)
GENERATION_SERVED_TIMEOUT = env_int("GENERATION_SERVED_TIMEOUT", 600, minimum=1)
# What a served model may reach and send (issue 25; rules in generation/served_policy.py). Hosts:
# names, *.domain (public addresses only), IP addresses, CIDR networks; none by default, and a
# loopback or private address only when listed exactly. Key variables: names or fnmatch patterns
# (*_API_KEY); none by default, and never one of PLATFORM_ENV_VARS (set at the end of this file).
SERVED_ALLOWED_HOSTS = env_list("SERVED_ALLOWED_HOSTS", [])
SERVED_API_KEY_VARS = env_list("SERVED_API_KEY_VARS", [])

# ---- Webhooks (issue 30; api/webhooks.py) ----
# Where webhooks may be sent, by the served models' rules: host names, *.domain (public addresses
# only), IP addresses, CIDR networks; a loopback or private address only when listed exactly.
# Empty (the default): webhooks are disabled. Deliveries: a whole-request timeout, then retries
# WEBHOOK_RETRY_BASE_SECONDS, twice that, ... until WEBHOOK_MAX_ATTEMPTS attempts in all.
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", [])
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6, minimum=1)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30, minimum=1)

# ---- Login throttling (issue 14, finding 2): django-axes ----
# A handful of wrong passwords locks the account, and separately the address they came from, for
# a while; until then even the right password is refused with the lockout page (429). Every login
# form (raters, researchers, the admin) goes through authenticate(), so one rule covers them all.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out attempt before any check
    # ModelBackend with the user's roles read with the user (one query per request, not two).
    "core.backends.RoleBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own, not the pair
AXES_LOCKOUT_CALLABLE = "core.login_throttle.lockout_response"
# Kept False: a success would also clear the address's count, so an attacker holding any account
# could reset it between guesses at someone else's.
AXES_RESET_ON_SUCCESS = False
# Behind a reverse proxy every request comes from the proxy's address; name how many proxies
# append to X-Forwarded-For so that the client's own address is the one counted.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "core.login_throttle.client_ip"
# No start-up banner on every manage.py command; failures and lockouts are still logged.
AXES_VERBOSE = False

# ---- Longest text accepted at import (issue 14, finding 10) ----
# A response or prompt longer than this is refused with its line named and nothing imported: a
# megabyte answer makes the rating page crawl and is a broken run, not an answer to compare.
MAX_RESPONSE_CHARS = env_int("MAX_RESPONSE_CHARS", 100_000, minimum=1)
MAX_PROMPT_CHARS = env_int("MAX_PROMPT_CHARS", 100_000, minimum=1)

# ---- Content-Security-Policy and the CSRF cookie (issue 14, finding 9): django-csp ----
# Only the site's own files run or style a page: no inline <script>, no style="" attribute, no
# other origin. Figures travel as <script type="application/json"> data drawn by static/core/plots.js,
# and plotly sets its sizes through the DOM, which style-src does not govern. img-src allows data:
# because plotly draws some marks (and its "download as PNG") from data: URLs. The offline HTML
# report is a file opened from disk, not a served page, so it may inline its scripts.
from csp.constants import NONE, SELF  # noqa: E402

INSTALLED_APPS.append("csp")  # registers django-csp's checks of these settings
# Right after SecurityMiddleware, so every answer gets the header, a lockout page or an error page too.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware"
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# The page hands its token to scripts through the form's hidden csrfmiddlewaretoken input, so no
# script needs to read the cookie.
CSRF_COOKIE_HTTPONLY = True

# ---- Sessions and the cache (issue 12, performance) ----
# Every rater call reads the session; cached_db answers it from the cache and writes through to
# the database, so a hit costs no query and a cache loss logs nobody out. With CACHE_URL (Redis,
# shared by every web process) a logout ends the session everywhere at once; without it the cache
# is per process, which suits the embedded default's single process: a site served by several
# processes should set CACHE_URL, else another process may honour a logged-out session from its
# own cache until it expires.
_cache_url = env_url("CACHE_URL", schemes=("redis", "rediss"))
if _cache_url is None:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": env_int("CACHE_MAX_ENTRIES", 20000, minimum=100)},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# ---- The platform's own variables (issue 25, item 2) ----
# Last, so that it holds every variable read above (config/env.py records each name its readers are
# asked for), and those the processes read outside these settings: no served model may send one
# of them as its API key, whatever SERVED_API_KEY_VARS says.
PLATFORM_ENV_VARS = env_names_read() | {
    "DJANGO_SETTINGS_MODULE",
    "POSTGRES_PASSWORD",
    "POSTGRES_USER",
    "POSTGRES_DB",
    "WEB_WORKERS",
    "WEB_THREADS",
    "WEB_TIMEOUT",
}
