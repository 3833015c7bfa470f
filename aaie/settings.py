"""AAIE settings, all from the environment (documented in the README).

Development defaults are safe and need nothing: SQLite under var/, a Redis the run command
starts, the Qwen3-0.6B model. With AAIE_DEBUG=0 there are no fallbacks for secrets.
"""

from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from aaie.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("AAIE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("AAIE_DEBUG", True)

SECRET_KEY = env_str("AAIE_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("AAIE_SECRET_KEY must be set when AAIE_DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("AAIE_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("AAIE_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "grading",
]

MIDDLEWARE = [
    # Before anything reads a body: an oversized request is refused unread.
    "aaie.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "aaie.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before sessions: rewrites their cookie for LMS frames after it is set (grading/lti).
    "grading.lti.middleware.LtiFrameMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login unless its view says otherwise (login page only).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Links in emails sent while serving a request use its address unless AAIE_SITE_URL is set.
    "grading.site.SiteUrlMiddleware",
]

ROOT_URLCONF = "aaie.urls"
WSGI_APPLICATION = "aaie.wsgi.application"

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
                "grading.context_processors.roles",
            ],
        },
    },
]

# SQLite under var/ unless DATABASE_URL names another database (PostgreSQL in production).
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("AAIE_DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that Celery worker processes started by the tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    # IMMEDIATE: a transaction takes the write lock when it begins, so worker processes and the
    # web wait for each other (up to the timeout) instead of failing with "database is locked".
    # WAL with synchronous=NORMAL: readers do not wait for the writer, and a commit does not wait
    # for the disk (a power cut may lose the last commits, never corrupt the file); the pipeline
    # benchmark graded 2.2 to 2.8 times faster on SQLite with it (BENCHMARKS.md).
    # mmap: pages are read from the OS's file cache, shared by every process, instead of
    # through each connection's 2 MB page cache. Submission texts and reasoning traces spill
    # into overflow pages that a dashboard query steps through for every row; with the file
    # mapped such a query over a class of 1,000 ran 7 times faster.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA mmap_size=268435456;"
        ),
    }
    VAR_DIR.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (grading/throttle.py), on the login page and the admin's alike: this many
# failures for one account (from any address) lock it out a while; so do this many failures from
# one address (for any usernames).
AAIE_LOGIN_MAX_FAILURES = env_int("AAIE_LOGIN_MAX_FAILURES", 5)
AAIE_LOGIN_MAX_FAILURES_PER_ADDRESS = env_int("AAIE_LOGIN_MAX_FAILURES_PER_ADDRESS", 50)
AAIE_LOGIN_LOCKOUT_SECONDS = env_int("AAIE_LOGIN_LOCKOUT_SECONDS", 15 * 60)
# Password-reset requests: at most this many per email address and per client address a window.
AAIE_PASSWORD_RESET_MAX_PER_EMAIL = env_int("AAIE_PASSWORD_RESET_MAX_PER_EMAIL", 3)
AAIE_PASSWORD_RESET_MAX_PER_ADDRESS = env_int("AAIE_PASSWORD_RESET_MAX_PER_ADDRESS", 20)
AAIE_PASSWORD_RESET_WINDOW_SECONDS = env_int("AAIE_PASSWORD_RESET_WINDOW_SECONDS", 60 * 60)
AUTHENTICATION_BACKENDS = [
    "grading.throttle.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# A cache shared by every web process (so throttling holds across gunicorn workers) when
# AAIE_CACHE_URL names a Redis; else each process keeps its own in memory.
_cache_url = env_str("AAIE_CACHE_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("AAIE_TIME_ZONE", "UTC")
# English only: Django then skips its translation machinery on every page.
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("AAIE_STATIC_ROOT", str(VAR_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("AAIE_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"  # never served directly: originals are private and go through views
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Email: console in development; SMTP settings from the environment in production.
EMAIL_BACKEND = env_str("AAIE_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("AAIE_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("AAIE_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("AAIE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_str("AAIE_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("AAIE_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("AAIE_FROM_EMAIL", "AAIE <aaie@localhost>")
# Absolute links in emails (https://grading.example.edu). Empty: the address of the request being
# served, which the worker's emails (auto-release) do not have: set it in production.
AAIE_SITE_URL = env_str("AAIE_SITE_URL", "")
# Educators (not only admins) may create courses, which they then teach.
AAIE_EDUCATORS_CREATE_COURSES = env_bool("AAIE_EDUCATORS_CREATE_COURSES", False)

# Uploads: per file and per request, checked again by the submission service.
AAIE_MAX_UPLOAD_BYTES = env_int("AAIE_MAX_UPLOAD_BYTES", 2 * 1024 * 1024)
AAIE_MAX_FILES_PER_UPLOAD = env_int("AAIE_MAX_FILES_PER_UPLOAD", 200)
# A ZIP of a class: its own size, and what it may unpack to (members, total, compression ratio).
AAIE_MAX_ZIP_BYTES = env_int("AAIE_MAX_ZIP_BYTES", 50 * 1024 * 1024)
AAIE_MAX_ZIP_MEMBERS = env_int("AAIE_MAX_ZIP_MEMBERS", 1000)
AAIE_MAX_ZIP_TOTAL_BYTES = env_int("AAIE_MAX_ZIP_TOTAL_BYTES", 200 * 1024 * 1024)
AAIE_MAX_ZIP_RATIO = env_int("AAIE_MAX_ZIP_RATIO", 100)
DATA_UPLOAD_MAX_NUMBER_FILES = AAIE_MAX_FILES_PER_UPLOAD
# An upload no light worker has started reading this long after its task was sent is sent again
# by the next poll of its result page (the broker lost the task, or Redis was down).
AAIE_UPLOAD_QUEUED_STALE_SECONDS = env_int("AAIE_UPLOAD_QUEUED_STALE_SECONDS", 120)
# A whole request: a class ZIP, a roster and the form around them. Larger ones are refused before
# the body is read (aaie/middleware.py); the proxy in front should refuse them first (docker/).
AAIE_MAX_REQUEST_BYTES = env_int(
    "AAIE_MAX_REQUEST_BYTES", AAIE_MAX_ZIP_BYTES + AAIE_MAX_UPLOAD_BYTES + 1024 * 1024
)
# Form fields and JSON bodies (files aside) held in memory; files over the upload limit go to
# a temporary file while they are read, not to memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = AAIE_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = AAIE_MAX_UPLOAD_BYTES

# Security headers; production hardening switches on with AAIE_DEBUG=0.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts, styles and everything else from our own origin
# only, nothing inline; no plugins, no framing, forms post only to us.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
# The API's schema and docs: open to anyone in development, to signed-in users in production.
AAIE_API_DOCS_PUBLIC = env_bool("AAIE_API_DOCS_PUBLIC", DEBUG)
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("AAIE_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env_bool("AAIE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("AAIE_HSTS_SECONDS", 60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("AAIE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Joining browsers' preload lists is hard to undo: an operator opts in, we don't.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Load balancers probe over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Celery: Redis carries signals only; the database holds the truth about every run.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
GRADING_QUEUE = "grading"
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"grading.tasks.grade_run": {"queue": GRADING_QUEUE}}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("AAIE_GRADING_SOFT_TIME_LIMIT", 30 * 60)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
# Unacknowledged grading tasks come back after this long; it must outlast the hard limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 5 * 60}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# The grading pipeline's clock (grading/services/pipeline.py). A run is claimed at most
# GRADING_MAX_ATTEMPTS times (transient model errors, lost workers) before it stays failed.
GRADING_MAX_ATTEMPTS = env_int("AAIE_GRADING_MAX_ATTEMPTS", 3)
# First retry after a transient error waits this long; each further retry waits twice as long.
GRADING_RETRY_BACKOFF_SECONDS = env_int("AAIE_GRADING_RETRY_BACKOFF_SECONDS", 10)
# How often a worker process reports itself and the run it is grading.
GRADING_HEARTBEAT_SECONDS = env_int("AAIE_GRADING_HEARTBEAT_SECONDS", 10)
# A running run whose worker has not reported for this long is taken as lost and queued again.
GRADING_RUNNING_STALE_SECONDS = env_int("AAIE_GRADING_RUNNING_STALE_SECONDS", 90)
# A queued run is enqueued again when, this long after it was last enqueued, the broker holds no
# task for it: none waiting, and none handed to a worker within this time (Redis restarted,
# worker lost before starting it). Must exceed the longest retry backoff.
GRADING_QUEUED_STALE_SECONDS = env_int("AAIE_GRADING_QUEUED_STALE_SECONDS", 120)
GRADING_SWEEP_INTERVAL_SECONDS = env_int("AAIE_GRADING_SWEEP_INTERVAL_SECONDS", 60)
# Heartbeats of worker processes not seen for this long are deleted by the sweep.
GRADING_WORKER_FORGET_SECONDS = env_int("AAIE_GRADING_WORKER_FORGET_SECONDS", 24 * 60 * 60)
CELERY_BEAT_SCHEDULE = {
    "sweep-grading-runs": {
        "task": "grading.tasks.sweep_runs",
        "schedule": GRADING_SWEEP_INTERVAL_SECONDS,
        # A sweep nobody ran in time is dropped: the next one does the same work.
        "options": {"expires": GRADING_SWEEP_INTERVAL_SECONDS},
    },
}

# The model used when an assignment names no model profile.
AAIE_DEFAULT_MODEL = {
    "backend": env_str("AAIE_BACKEND", "transformers"),
    "model": env_str("AAIE_MODEL", "Qwen/Qwen3-0.6B"),
    "device": env_str("AAIE_DEVICE", "cpu"),
    "dtype": env_str("AAIE_DTYPE", "auto"),
    "enable_thinking": env_bool("AAIE_ENABLE_THINKING", True),
    "thinking_budget": env_int("AAIE_THINKING_BUDGET", 2048),
    "max_answer_tokens": env_int("AAIE_MAX_ANSWER_TOKENS", 1536),
    "context_limit": env_int("AAIE_CONTEXT_LIMIT", 32768),
    "batch_size": env_int("AAIE_BATCH_SIZE", 8),
}

# The API (grading/api/): token first, so an anonymous call gets 401 with a Token challenge.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],  # uploads: multipart
    "DEFAULT_PAGINATION_CLASS": "grading.api.common.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "grading.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("AAIE_API_RATE_ANON", "60/minute"),
        "user": env_str("AAIE_API_RATE_USER", "600/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AAIE API",
    "DESCRIPTION": "Courses, rubrics, submissions, AI grading runs, reviews and exports. "
    "Authenticate with a session or with `Authorization: Token <key>` (create a key under "
    'API tokens). Every error has the body {"error": {"code", "message", "fields"}}.',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "grading.models.GradingRun.Status",
        "RegradeStatusEnum": "grading.models.RegradeRequest.Status",
        "SubmissionStatusEnum": "grading.api.serializers.STUDENT_STATUSES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "grading.api.errors.add_error_responses",
    ],
}

# AAIE_LOG_FORMAT=json writes one JSON object per line, for log collectors in production.
LOG_FORMAT = env_str("AAIE_LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"AAIE_LOG_FORMAT={LOG_FORMAT!r} is not 'plain' or 'json'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "aaie.json_logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("AAIE_LOG_LEVEL", "INFO")},
}

# LTI 1.3 (grading/lti, docs/lti.md). Nonces and OIDC state live in the cache: with more than one
# web process, AAIE_CACHE_URL must name a Redis they share.
AAIE_LTI_HTTP_TIMEOUT_SECONDS = env_int("AAIE_LTI_HTTP_TIMEOUT_SECONDS", 10)
# A grade the LMS refused for a transient reason is sent again this many times, the first retry
# after AAIE_LTI_PASSBACK_BACKOFF_SECONDS and each further one twice as long after the last.
AAIE_LTI_PASSBACK_MAX_RETRIES = env_int("AAIE_LTI_PASSBACK_MAX_RETRIES", 6)
AAIE_LTI_PASSBACK_BACKOFF_SECONDS = env_int("AAIE_LTI_PASSBACK_BACKOFF_SECONDS", 30)
AAIE_LTI_ROSTER_SYNC_SECONDS = env_int("AAIE_LTI_ROSTER_SYNC_SECONDS", 6 * 60 * 60)
CELERY_IMPORTS = ["grading.lti.tasks"]
CELERY_BEAT_SCHEDULE["lti-sync-rosters"] = {
    "task": "grading.lti.tasks.lti_rosters_sync",
    "schedule": AAIE_LTI_ROSTER_SYNC_SECONDS,
    "options": {"expires": AAIE_LTI_ROSTER_SYNC_SECONDS},
}
