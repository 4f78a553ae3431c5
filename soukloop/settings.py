"""Souk Loop settings: one module, every knob from the environment (django-environ).

Defaults are the embedded development set-up (SpatiaLite, local-memory cache, files under
``var/``). Production sets ``DEBUG=false``, ``SECRET_KEY``, ``ALLOWED_HOSTS``,
``DATABASE_URL`` (postgis://) and ``REDIS_URL``; ``manage.py check --deploy`` is then clean.
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

VAR_DIR = Path(env("VAR_DIR", default=str(BASE_DIR / "var")))

# --- Core -------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=True)
_DEV_SECRET_KEY = "django-insecure-souk-loop-development-key-never-use-in-production"  # noqa: S105
SECRET_KEY = env("SECRET_KEY", default=_DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Daphne first: its runserver serves HTTP and WebSockets (ASGI) in development.
    "daphne",
    "accounts.admin_apps.SoukAdminConfig",  # django.contrib.admin with staff two-factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_gis",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "soukloop",
    "accounts",
    "verification",
    "catalog",
    "messaging",
    "streams",
    "payments",
    "auctions",
    "notifications",
    "trust",
    "discovery",
    "channels",
    "realtime",
]

MIDDLEWARE = [
    # First, so that work kept for after the response (soukloop.afterresponse) runs once the
    # response has been sent, after every other middleware has seen it.
    "soukloop.afterresponse.AfterResponseMiddleware",
    "soukloop.logs.RequestLogMiddleware",
    "soukloop.metrics.MetricsMiddleware",
    "soukloop.tracing.TracingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "soukloop.middleware.ApiTimezoneMiddleware",
    "soukloop.middleware.RejectNulQueryMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "soukloop.urls"
WSGI_APPLICATION = "soukloop.wsgi.application"
ASGI_APPLICATION = "soukloop.asgi.application"
# The mobile app calls paths with and without the trailing slash; the routers accept both,
# so CommonMiddleware must never answer a POST with a redirect.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "soukloop" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
# spatialite:///db.sqlite3 (embedded default) or postgis://user:pass@host:5432/soukloop.
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"spatialite:///{BASE_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
_db["ATOMIC_REQUESTS"] = False
_db["CONN_HEALTH_CHECKS"] = True
# Trigram word-similarity cut-off for `q` (PostgreSQL): 0.5 lets one-letter typos through
# ("yezy" scores 0.57 against "Yeezy"; pg_trgm's default 0.6 would miss it). Set per
# connection so the GIN trigram index still serves the `%>` operator.
SEARCH_TRIGRAM_WORD_THRESHOLD = env.float("SEARCH_TRIGRAM_WORD_THRESHOLD", default=0.5)
if "postgis" in _db["ENGINE"] or "postgresql" in _db["ENGINE"]:
    # Without persistent connections every request paid ~35 ms to connect (docs/architecture.md).
    _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    _db.setdefault("OPTIONS", {})
    _db["OPTIONS"].setdefault(
        "options",
        # Parallel workers only add gather wait on our small-result geo queries; JIT
        # compilation added ~30 ms to the first row of every geo/text query (measured at 100k
        # listings) for queries that run in under 1 ms without it.
        "-c max_parallel_workers_per_gather=0 -c jit=off"
        f" -c pg_trgm.word_similarity_threshold={SEARCH_TRIGRAM_WORD_THRESHOLD}",
    )
    # Server-side prepared statements, for the few statements whose plan cannot depend on their
    # values (``soukloop.compiled``: rows by id, a person's own rows); off for a pooler that
    # cannot carry them (PgBouncer in transaction mode before 1.21). Django's own cursors bind on
    # the client and never prepare; psycopg prepares only what asks (a threshold never reached),
    # where Django's default (None) would turn preparing off altogether.
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        _db["OPTIONS"].setdefault("prepare_threshold", 2**31 - 1)
else:
    _db["CONN_MAX_AGE"] = 0
    _db.setdefault("OPTIONS", {}).setdefault("timeout", 20)
    # Tests run on an in-memory copy, one per process (pytest-xdist workers too; left unset,
    # pytest-django would name a per-worker file after this database's absolute path).
    _db.setdefault("TEST", {"NAME": ":memory:"})
IS_POSTGRES = "postgis" in _db["ENGINE"] or "postgresql" in _db["ENGINE"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (Redis when REDIS_URL is set) ----------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# pytest-xdist workers (PYTEST_XDIST_WORKER=gw0, gw1...) each get their own namespace: every
# test empties its cache namespace, which must not be another worker's.
CACHE_KEY_PREFIX = env("CACHE_KEY_PREFIX", default="soukloop") + os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
                "SOCKET_TIMEOUT": env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "soukloop",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }

# --- Auth -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# The admin's sign-in backs off like the API's (accounts/backends.py).
AUTHENTICATION_BACKENDS = ["accounts.backends.BackoffModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# Staff two-factor (django-otp TOTP): the name authenticator apps show; "View site" in the admin.
OTP_TOTP_ISSUER = "Souk Loop"
ADMIN_SITE_URL = env("ADMIN_SITE_URL", default="/api/docs/")

# --- I18n -------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ar", _("Arabic"))]
LOCALE_PATHS = [BASE_DIR / "soukloop" / "locale"]
TIME_ZONE = "Asia/Dubai"
USE_I18N = True
USE_TZ = True

# --- Static, media and private files -----------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "static")))
MEDIA_URL = env("MEDIA_URL", default="/media/")
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Identity documents: never under MEDIA_ROOT, never served by a URL route.
PRIVATE_MEDIA_ROOT = Path(env("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))

STORAGE_BACKEND = env("STORAGE_BACKEND", default="local")  # local | s3
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default=None)
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default=None)
AWS_ACCESS_KEY_ID = env("AWS_ACCESS_KEY_ID", default=None)
AWS_SECRET_ACCESS_KEY = env("AWS_SECRET_ACCESS_KEY", default=None)
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="soukloop-media")
AWS_PRIVATE_BUCKET_NAME = env("AWS_PRIVATE_BUCKET_NAME", default="soukloop-private")
AWS_S3_CUSTOM_DOMAIN = env("AWS_S3_CUSTOM_DOMAIN", default=None)
if STORAGE_BACKEND == "s3":
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": AWS_STORAGE_BUCKET_NAME,
                "querystring_auth": False,
                "file_overwrite": False,
                "custom_domain": AWS_S3_CUSTOM_DOMAIN,
            },
        },
        "private": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": AWS_PRIVATE_BUCKET_NAME,
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": 300,
                "file_overwrite": False,
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
else:
    STORAGES = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
        },
        "private": {
            "BACKEND": "soukloop.storage.PrivateFileSystemStorage",
            "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT), "base_url": None},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
# Public absolute base for media URLs handed to the app (e.g. https://api.soukloop.ae).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
MAX_IMAGE_UPLOAD_BYTES = env.int("MAX_IMAGE_UPLOAD_BYTES", default=10 * 1024 * 1024)
MAX_VIDEO_UPLOAD_BYTES = env.int("MAX_VIDEO_UPLOAD_BYTES", default=200 * 1024 * 1024)
# Checked from the header before decoding (soukloop/images.py); decodes per process are bounded.
MAX_IMAGE_PIXELS = env.int("MAX_IMAGE_PIXELS", default=25_000_000)
MAX_CONCURRENT_IMAGE_DECODES = env.int("MAX_CONCURRENT_IMAGE_DECODES", default=2)
IMAGE_DECODE_WAIT_SECONDS = env.float("IMAGE_DECODE_WAIT_SECONDS", default=10.0)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Outgoing messages ------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(VAR_DIR / "email"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Souk Loop <no-reply@soukloop.ae>")
# Seconds an SMTP connection may wait (Django's default is no limit).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# Seconds a Twilio request may take (the client's default is no limit).
SMS_TIMEOUT_SECONDS = env.int("SMS_TIMEOUT_SECONDS", default=10)
SMS_BACKEND = env("SMS_BACKEND", default="accounts.sms.FileSMSBackend")
SMS_FILE_PATH = env("SMS_FILE_PATH", default=str(VAR_DIR / "sms"))
SMS_SENDER_ID = env("SMS_SENDER_ID", default="SoukLoop")
PUSH_BACKEND = env("PUSH_BACKEND", default="notifications.push.FilePushBackend")
PUSH_FILE_PATH = env("PUSH_FILE_PATH", default=str(VAR_DIR / "push"))

# --- REST framework ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "soukloop.pagination.StandardPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["soukloop.renderers.JSONRenderer"],
    # JSON only: the schema then declares one request content type per body, and generated
    # clients send JSON. Upload endpoints declare multipart themselves.
    "DEFAULT_PARSER_CLASSES": ["soukloop.parsers.SafeJSONParser"],
    "DEFAULT_METADATA_CLASS": "soukloop.metadata.SoukLoopMetadata",
    # Errors are described once (soukloop/schema.py), not as enums per operation.
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    # AnonRateThrottle and UserRateThrottle, both windows in one Redis round trip.
    "DEFAULT_THROTTLE_CLASSES": ["soukloop.throttling.DefaultRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON", default="120/min"),
        "user": env("THROTTLE_USER", default="600/min"),
        "auth": env("THROTTLE_AUTH", default="30/min"),
        "uploads": env("THROTTLE_UPLOADS", default="60/hour"),
        "reports": env("THROTTLE_REPORTS", default="30/hour"),
    },
    # Only our own proxies' X-Forwarded-For entries are believed (soukloop/clientip.py).
    "NUM_PROXIES": env.int("TRUSTED_PROXY_COUNT", default=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
}
DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "soukloop.errors.ExceptionHandler",
    # The contract's error shape holds for unexpected errors too, also while DEBUG is on.
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=30)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    # Access tokens carry a hash of the password hash: a password change or reset kills them
    # at once, not only the refresh tokens (simplejwt >= 5.3).
    "CHECK_REVOKE_TOKEN": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Souk Loop API",
    "DESCRIPTION": "The mobile API of Souk Loop, the hyperlocal marketplace for the UAE.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files come from the package, not a CDN: /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        # ``role`` appears with all four values (profiles) and with the three a person may pick.
        "RoleEnum": "accounts.models.Role.choices",
        "SelfAssignableRoleEnum": "accounts.serializers.SELF_ASSIGNABLE_ROLE_CHOICES",
        # A submission's ``status`` (``none`` before any) is the profile's verification_status.
        "VerificationStatusEnum": "accounts.models.VerificationStatus.choices",
        # trust: a claim's reason and a review's role (the reviewee's side).
        "ClaimReasonEnum": "trust.models.ClaimReason.choices",
        "ReviewRoleEnum": "trust.models.ReviewRole.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "soukloop.schema.describe_errors_once",
        "soukloop.schema.anonymous_means_no_requirement",
        "soukloop.schema.attach_examples",
    ],
}

# --- Security (production values follow DEBUG; `manage.py check --deploy` is clean) -------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=True) else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers and the media server call these over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$", r"^api/v1/streams/hooks/"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Django 5.2 warns (gis.W001) that GDAL < 3.9 support ends in Django 6.0. Debian 12 ships
# 3.6; the warning is about a future upgrade, not this deployment's safety.
# models.W040: SpatiaLite ignores the INCLUDE columns of the newest-first search index (PostgreSQL uses them).
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=["gis.W001", "models.W040"])

# --- Watching it run: /metrics, Sentry (docs/operations.md) ------------------------------
# /metrics answers a Bearer METRICS_TOKEN, or a client address in METRICS_ALLOWED_IPS
# (addresses or networks; the proxy's X-Forwarded-For is read per TRUSTED_PROXY_COUNT).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
METRICS_CELERY_QUEUES = env.list("METRICS_CELERY_QUEUES", default=["celery"])
# Error reports go to Sentry when SENTRY_DSN is set (soukloop/sentry.py scrubs personal data).
SENTRY_DSN = env("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
# OpenTelemetry tracing (soukloop/tracing.py), on when the standard OTLP endpoint variable is set.
OTEL_EXPORTER_OTLP_ENDPOINT = env("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_SERVICE_NAME = env("OTEL_SERVICE_NAME", default="soukloop")

# --- Logging ----------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
# json (one object per line, the production default) or plain (human-readable, development).
LOG_FORMAT = env("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "soukloop.logs.RequestIdFilter"},
        # Access lines (runserver, gunicorn via the root logger) print whole request lines; the
        # media hooks carry the hook secret and publishing keys in query strings: blanked out.
        "redact_stream_secrets": {"()": "streams.logging.RedactStreamSecrets"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "soukloop.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact_stream_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # soukloop.request logs every request; django.request would repeat 4xx/5xx lines
        "soukloop.request": {"level": "INFO"},
        # the twilio client logs every request's URL and headers at INFO
        "twilio.http_client": {"level": "WARNING"},
        "django.server": {
            "handlers": ["console"],
            "level": "INFO",
            "propagate": False,
            "filters": ["redact_stream_secrets"],
        },
    },
}

# --- Product settings (docs/operations.md) ------------------------------------------------------
OTP_TTL_SECONDS = env.int("OTP_TTL_SECONDS", default=600)
OTP_MAX_SENDS_PER_HOUR = env.int("OTP_MAX_SENDS_PER_HOUR", default=3)
OTP_MAX_ATTEMPTS = env.int("OTP_MAX_ATTEMPTS", default=5)
PASSWORD_RESET_TTL_SECONDS = env.int("PASSWORD_RESET_TTL_SECONDS", default=3600)
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=900)

OFFER_TTL_HOURS = env.int("OFFER_TTL_HOURS", default=48)
# An accepted offer holds the listing for its buyer this long; unpaid after that it lapses.
ACCEPTED_OFFER_HOLD_HOURS = env.int("ACCEPTED_OFFER_HOLD_HOURS", default=24)
PAYOUT_HOLD_DAYS = env.int("PAYOUT_HOLD_DAYS", default=3)
CHECKOUT_HOLD_MINUTES = env.int("CHECKOUT_HOLD_MINUTES", default=15)
PLATFORM_FEE_PERCENT_DISCOVER = env.get_value("PLATFORM_FEE_PERCENT_DISCOVER", cast=Decimal, default=Decimal("10"))
PLATFORM_FEE_PERCENT_COMMUNITY = env.get_value("PLATFORM_FEE_PERCENT_COMMUNITY", cast=Decimal, default=Decimal("5"))
# A lot won in a live show's auction.
PLATFORM_FEE_PERCENT_LIVE = env.get_value("PLATFORM_FEE_PERCENT_LIVE", cast=Decimal, default=Decimal("8"))
CURRENCY = "AED"

COMMUNITY_RADIUS_KM = env.float("COMMUNITY_RADIUS_KM", default=5.0)
MAX_SEARCH_RADIUS_KM = env.float("MAX_SEARCH_RADIUS_KM", default=50.0)

STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="sk_test_soukloop_local")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="whsec_soukloop_local")
# Connect events (account.updated, ...) come to their own endpoint, signed with its own secret.
STRIPE_CONNECT_WEBHOOK_SECRET = env("STRIPE_CONNECT_WEBHOOK_SECRET", default="whsec_soukloop_connect_local")
# Points the stripe client at a local stand-in (tests, demos); empty = Stripe's own API.
STRIPE_API_BASE = env("STRIPE_API_BASE", default="http://127.0.0.1:12111")
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
# Stripe accepts only https URLs for onboarding links: these are our own small pages that
# open the app (APP_DEEP_LINK_BASE) when the seller returns from Stripe.
STRIPE_CONNECT_REFRESH_URL = env(
    "STRIPE_CONNECT_REFRESH_URL", default=f"{PUBLIC_BASE_URL.rstrip('/')}/payments/connect/refresh/"
)
STRIPE_CONNECT_RETURN_URL = env(
    "STRIPE_CONNECT_RETURN_URL", default=f"{PUBLIC_BASE_URL.rstrip('/')}/payments/connect/return/"
)
APP_DEEP_LINK_BASE = env("APP_DEEP_LINK_BASE", default="soukloop://stripe/")

RTMP_INGEST_URL = env("RTMP_INGEST_URL", default="rtmp://localhost/live")
HLS_BASE_URL = env("HLS_BASE_URL", default="http://localhost:8080/hls")
MEDIA_HOOK_ALLOWED_IPS = env.list("MEDIA_HOOK_ALLOWED_IPS", default=["127.0.0.1", "::1"])
MEDIA_HOOK_SECRET = env("MEDIA_HOOK_SECRET", default="")
REQUIRE_VERIFICATION_TO_STREAM = env.bool("REQUIRE_VERIFICATION_TO_STREAM", default=True)
STREAM_VIEWER_TTL_SECONDS = env.int("STREAM_VIEWER_TTL_SECONDS", default=60)

# Fernet key(s) for Emirates ID numbers at rest; comma-separated, first one encrypts.
_DEV_FIELD_KEY = "c291a2xvb3AtZGV2LW9ubHktZmllbGQta2V5LTMyYnk="
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[_DEV_FIELD_KEY])
MAX_DOCUMENT_UPLOAD_BYTES = env.int("MAX_DOCUMENT_UPLOAD_BYTES", default=10 * 1024 * 1024)

# --- accounts -----
# Django's reset tokens (single use: they die with the old password hash) live this long.
PASSWORD_RESET_TIMEOUT = PASSWORD_RESET_TTL_SECONDS

# --- streams -------------------------------------------------------------------------------
# Live viewer counts are written to the stream row at most this often (and when it ends).
STREAM_VIEWER_PERSIST_SECONDS = env.int("STREAM_VIEWER_PERSIST_SECONDS", default=15)

# --- verification -----
# Keys the HMAC that finds one Emirates ID on two accounts without decrypting. Set it
# explicitly before rotating SECRET_KEY (empty = derived from SECRET_KEY).
VERIFICATION_DIGEST_KEY = env("VERIFICATION_DIGEST_KEY", default="")

# --- payments -----
# Automatic retries of failed network calls to Stripe (safe: every write carries an idempotency key).
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)

# Sections below are each owned by one area of this round's work (they are kept apart so
# that changes to one do not touch another's lines).

# --- security -----
# How many proxies of ours stand in front of the app and append to X-Forwarded-For (nginx: 1;
# a load balancer in front of nginx: 2). 0: the socket's address is the client (docs/security.md).
TRUSTED_PROXY_COUNT = REST_FRAMEWORK["NUM_PROXIES"]
# Sign-in back-off: after LOGIN_MAX_FAILURES failures on one account from one address, each
# further failure from there doubles the wait (LOGIN_BACKOFF_BASE_SECONDS, capped at
# LOGIN_LOCKOUT_SECONDS). Another address is not affected, so a stranger cannot lock the owner out.
LOGIN_BACKOFF_BASE_SECONDS = env.int("LOGIN_BACKOFF_BASE_SECONDS", default=30)
# One address failing on many accounts (credential stuffing) is slowed the same way from this many.
LOGIN_MAX_FAILURES_PER_SOURCE = env.int("LOGIN_MAX_FAILURES_PER_SOURCE", default=30)
# OTP sends: per account (OTP_MAX_SENDS_PER_HOUR) and per source address.
OTP_MAX_SENDS_PER_SOURCE_PER_HOUR = env.int("OTP_MAX_SENDS_PER_SOURCE_PER_HOUR", default=10)
# SMS pumping: only these countries' numbers get an SMS; a platform-wide hourly budget and one
# per number prefix (country code + 3 digits).
SMS_ALLOWED_COUNTRIES = env.list("SMS_ALLOWED_COUNTRIES", default=["AE"])
SMS_MAX_PER_HOUR = env.int("SMS_MAX_PER_HOUR", default=2000)
SMS_MAX_PER_PREFIX_PER_HOUR = env.int("SMS_MAX_PER_PREFIX_PER_HOUR", default=200)
# Listing hoarding: checkouts a buyer may have open (each holds an item for CHECKOUT_HOLD_MINUTES).
MAX_OPEN_CHECKOUTS = env.int("MAX_OPEN_CHECKOUTS", default=3)
# Trust (docs/trust.md): the seller's time to answer a claim before it goes to moderators,
# claims a buyer may have open at once, and how long after a sale each side may review.
CLAIM_SELLER_RESPONSE_HOURS = env.int("CLAIM_SELLER_RESPONSE_HOURS", default=48)
MAX_OPEN_CLAIMS = env.int("MAX_OPEN_CLAIMS", default=3)
REVIEW_WINDOW_DAYS = env.int("REVIEW_WINDOW_DAYS", default=30)
# Run soukloop.background work inline (tests) instead of on the per-process thread pool.
BACKGROUND_EAGER = env.bool("BACKGROUND_EAGER", default=False)
# How long an Idempotency-Key's first answer is replayed (soukloop/idempotency.py).
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=24)
# A listing's view counts once per viewer (account, or client address) per this window.
PRODUCT_VIEW_WINDOW_SECONDS = env.int("PRODUCT_VIEW_WINDOW_SECONDS", default=6 * 3600)
# Wrong current passwords on change-password before it backs off like sign-in.
PASSWORD_CHANGE_MAX_FAILURES = env.int("PASSWORD_CHANGE_MAX_FAILURES", default=5)

# --- payments: unhappy paths -----
# The Stripe API version every request is made with (and the stand-in answers as).
STRIPE_API_VERSION = env("STRIPE_API_VERSION", default="2026-10-28.endive")
# Stripe's limits for AED: charges from 2.00 to 999,999.99 (8 digits of fils).
PAYMENT_MIN_AMOUNT = Decimal("2.00")
PAYMENT_MAX_AMOUNT = Decimal("999999.99")
# A payout its seller never onboarded to receive is refunded to the buyer after this many days.
UNCLAIMED_PAYOUT_DAYS = env.int("UNCLAIMED_PAYOUT_DAYS", default=60)
# connect/status re-reads the seller's Stripe account when our copy is older than this.
CONNECT_REFRESH_SECONDS = env.int("CONNECT_REFRESH_SECONDS", default=300)

# --- trust: claims and reviews -----

# --- discovery: likes, price drops, saved searches, the personalised Discover -----
# A price cut reaches the people who liked the listing when it is at least this share of the
# old price or at least this amount (AED); once per listing per person per day.
PRICE_DROP_MIN_PERCENT = env.int("PRICE_DROP_MIN_PERCENT", default=5)
PRICE_DROP_MIN_AMOUNT = env.int("PRICE_DROP_MIN_AMOUNT", default=50)
# Saved searches per person, and how often at most one alerts its owner (minutes).
SAVED_SEARCHES_MAX = env.int("SAVED_SEARCHES_MAX", default=20)
SAVED_SEARCH_ALERT_MINUTES = env.int("SAVED_SEARCH_ALERT_MINUTES", default=15)
# Signed-in Discover: re-ranked candidates per snapshot (cached for a scroll's length).
DISCOVER_PERSONAL_CANDIDATES = env.int("DISCOVER_PERSONAL_CANDIDATES", default=300)
DISCOVER_PERSONAL_TTL_SECONDS = env.int("DISCOVER_PERSONAL_TTL_SECONDS", default=900)
# The best-ranked Discover listings (overall and per category) every personal ranking starts
# from are shared between people for this long (0: read for each ranking).
DISCOVER_POOL_SECONDS = env.int("DISCOVER_POOL_SECONDS", default=30)

# --- realtime -----

# --- notifications and background work -----
# Celery (soukloop/celery.py): the broker defaults to REDIS_URL; with neither, tasks run eagerly
# in-process (the embedded default). Results are not kept: tasks write what they did to the
# database (deliveries, their attempts and errors).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves it for another
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# A broker that is down must not hold a request: fail fast and keep the outbox row.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5, "max_retries": 0}
CELERY_TASK_PUBLISH_RETRY = False
# The periodic ops, each also a manage.py command (docs/operations.md).
CELERY_BEAT_SCHEDULE = {
    "close-auctions": {"task": "auctions.tasks.close_auctions", "schedule": 5.0},
    "expire-offers": {"task": "messaging.tasks.expire_offers", "schedule": 60.0},
    "release-checkouts": {"task": "payments.tasks.release_checkouts", "schedule": 60.0},
    "release-payouts": {"task": "payments.tasks.release_payouts", "schedule": 600.0},
    "end-stale-streams": {"task": "streams.tasks.end_stale_streams", "schedule": 300.0},
    "sync-stream-viewers": {"task": "streams.tasks.sync_stream_viewers", "schedule": 30.0},
    "offers-expiring-soon": {"task": "notifications.tasks.offers_expiring_soon", "schedule": 300.0},
    "flush-notification-outbox": {"task": "notifications.tasks.flush_outbox", "schedule": 30.0},
    "percolate-saved-searches": {"task": "discovery.tasks.percolate_saved_searches", "schedule": 60.0},
}
# Deliveries: retried with back-off (NOTIFY_RETRY_BACKOFF_SECONDS doubling) NOTIFY_MAX_ATTEMPTS
# times, then dead (listed in the admin). Pending ones older than NOTIFY_OUTBOX_GRACE_SECONDS
# (the broker was down when they were made) are enqueued again by flush_outbox.
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=5)
NOTIFY_RETRY_BACKOFF_SECONDS = env.int("NOTIFY_RETRY_BACKOFF_SECONDS", default=30)
NOTIFY_OUTBOX_GRACE_SECONDS = env.int("NOTIFY_OUTBOX_GRACE_SECONDS", default=60)
# A delivery being sent is held this long for its worker (notifications.services.
# delivery_attempt: no transaction is open while the provider answers). Longer than every
# provider's timeout (FCM 10 s, SMS_TIMEOUT_SECONDS, EMAIL_TIMEOUT), so that only a worker that
# died leaves it to the next attempt.
NOTIFY_SEND_LEASE_SECONDS = env.int("NOTIFY_SEND_LEASE_SECONDS", default=120)
# A followed seller going live reaches followers in batches of this many per task.
NOTIFY_FANOUT_BATCH = env.int("NOTIFY_FANOUT_BATCH", default=1000)
# Quiet hours hold pushes (never OTPs) until they end, in the user's time zone.
NOTIFY_DEFAULT_TIMEZONE = env("NOTIFY_DEFAULT_TIMEZONE", default="Asia/Dubai")
# Twilio (SMS_BACKEND=accounts.sms.TwilioSMSBackend): the official client; TWILIO_API_BASE only
# for the tests' stand-in. TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID.
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM = env("TWILIO_FROM", default="")
TWILIO_MESSAGING_SERVICE_SID = env("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_API_BASE = env("TWILIO_API_BASE", default="")
# Where Twilio posts delivery statuses (signed with the auth token); empty: no callbacks.
TWILIO_STATUS_CALLBACK_URL = env("TWILIO_STATUS_CALLBACK_URL", default="")
# Firebase Cloud Messaging HTTP v1 (PUSH_BACKEND=notifications.fcm.FCMPushBackend): a service
# account JSON file; FCM_API_BASE only for the tests' stand-in.
FCM_SERVICE_ACCOUNT_FILE = env("FCM_SERVICE_ACCOUNT_FILE", default="")
FCM_PROJECT_ID = env("FCM_PROJECT_ID", default="")
FCM_API_BASE = env("FCM_API_BASE", default="https://fcm.googleapis.com")

# --- observability -----

# --- moderation -----

# --- house -----

# --- the last word: production refuses development defaults (soukloop/production.py) -------
from soukloop.production import refuse_unsafe  # noqa: E402

refuse_unsafe(globals())

# --- realtime (WebSocket gateway, docs/realtime.md) -----
# Redis pub/sub layer when REDIS_URL is set (rooms shared by every ASGI process), else the
# in-memory layer (one process: the embedded default and the test suite).
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{CACHE_KEY_PREFIX}:asgi"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# The WebSocket routes the ASGI application (soukloop/asgi.py) serves, like ROOT_URLCONF.
WEBSOCKET_URLCONF = "realtime.routing"
REALTIME_TICKET_TTL_SECONDS = env.int("REALTIME_TICKET_TTL_SECONDS", default=60)
REALTIME_BACKLOG_EVENTS = env.int("REALTIME_BACKLOG_EVENTS", default=200)
REALTIME_BACKLOG_SECONDS = env.int("REALTIME_BACKLOG_SECONDS", default=600)
REALTIME_MAX_SUBSCRIPTIONS = env.int("REALTIME_MAX_SUBSCRIPTIONS", default=50)
# The serving process's garbage-collector thresholds (soukloop/asgi.py; Python's are 700, 10, 10).
GC_THRESHOLDS = env.list("GC_THRESHOLDS", cast=int, default=[50000, 20, 100])
# Frames queued for a socket that stopped reading before it is closed (1013).
REALTIME_OUTBOX_FRAMES = env.int("REALTIME_OUTBOX_FRAMES", default=500)
# Layer sends a socket process holds while Redis is slow to take them; past this the oldest are
# dropped (they are in the backlog: a reconnecting client replays them).
REALTIME_SENDER_QUEUE = env.int("REALTIME_SENDER_QUEUE", default=50_000)
# A live lot's bids reach each socket as at most one frame (the latest) per this many ms.
REALTIME_COALESCE_MS = env.int("REALTIME_COALESCE_MS", default=200)
# Live-show chat (streams): per-user rate limit, on top of the host's slow mode.
STREAM_CHAT_RATE_MESSAGES = env.int("STREAM_CHAT_RATE_MESSAGES", default=5)
STREAM_CHAT_RATE_SECONDS = env.int("STREAM_CHAT_RATE_SECONDS", default=10)
STREAM_VIEWERS_BROADCAST_SECONDS = env.int("STREAM_VIEWERS_BROADCAST_SECONDS", default=1)

# --- error reports (soukloop/sentry.py): only with SENTRY_DSN -----
if SENTRY_DSN:
    from soukloop.sentry import init as _sentry_init

    _sentry_init(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)

# Live auctions (issue 17): anti-sniping window, the winner's time to pay, unpaid-strike window.
AUCTION_EXTEND_SECONDS = env.int("AUCTION_EXTEND_SECONDS", default=10)
AUCTION_PAY_MINUTES = env.int("AUCTION_PAY_MINUTES", default=30)
AUCTION_UNPAID_STRIKES = env.int("AUCTION_UNPAID_STRIKES", default=2)
# An unpaid lot counts as a strike for this long; a bidder may be notified "outbid" once per lot
# per this many seconds.
AUCTION_STRIKE_DAYS = env.int("AUCTION_STRIKE_DAYS", default=90)
AUCTION_OUTBID_NOTIFY_SECONDS = env.int("AUCTION_OUTBID_NOTIFY_SECONDS", default=10)
# A socket remembers that its person may bid on a lot (not blocked, no strike) this long; a
# block made meanwhile ends it at once (user.access_changed).
AUCTION_BIDDER_CHECK_SECONDS = env.int("AUCTION_BIDDER_CHECK_SECONDS", default=5)
