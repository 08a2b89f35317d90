"""Clozup settings, read from the environment (see `.env.example`).

One module for every environment: values switch behaviour, there are no
per-environment settings files. `DEBUG` off means production hardening on.
"""

from pathlib import Path
from urllib.parse import unquote

import environ
from csp.constants import NONE, SELF

from clozup.beat import SCHEDULE as BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")

INSTALLED_APPS = [
    "clozup.apps.ClozupConfig",
    "clozup.apps.ClozupAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # allauth's passkey and session lists load it.
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.microsoft",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    "axes",
    "clozup.signin.apps.SigninConfig",
    "audit.apps.AuditConfig",
    "crm.apps.CrmConfig",
    "compliance.apps.ComplianceConfig",
    "assist.apps.AssistConfig",
]

MIDDLEWARE = [
    "clozup.middleware.RequestIdMiddleware",
    "clozup.middleware.HealthCheckMiddleware",
    "clozup.middleware.RefuseNulCharactersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "clozup.middleware.SignInFormActionMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "clozup.signin.clerk.middleware.ClerkAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "axes.middleware.AxesMiddleware",
    "clozup.middleware.TenancyMiddleware",
    "clozup.middleware.SignInPolicyMiddleware",
    "clozup.middleware.ReadOnlyOrganizationMiddleware",
]

ROOT_URLCONF = "clozup.urls"
WSGI_APPLICATION = "clozup.wsgi.application"

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
                "clozup.context_processors.tenancy",
            ],
        },
    },
]

# Database. DATABASE_URL is the app role: not a superuser, no BYPASSRLS, owns
# nothing. MIGRATION_DATABASE_URL is the owner role that runs migrations; the
# web and worker processes do not need it and should not be given it.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgres:///clozup"),
}
if env.str("MIGRATION_DATABASE_URL", default=""):
    DATABASES["owner"] = env.db_url("MIGRATION_DATABASE_URL")

for _database in DATABASES.values():
    # A socket directory may be given percent-encoded in the URL's host part.
    _database["HOST"] = unquote(_database["HOST"])
    _database["ENGINE"] = "django.db.backends.postgresql"
    _database["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    _database["CONN_HEALTH_CHECKS"] = True
    _database["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "clozup.User"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="clozup"),
    }
}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# A message a worker took but never acknowledged (the worker died) is handed
# out again after this many seconds; it must exceed the longest job.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
}
CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE
# Workers log through LOGGING below (JSON with the context fields), not
# Celery's own plain-text format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Sign-in. "local" is django-allauth (passwords, codes, links, passkeys, MFA,
# Google, Microsoft, OpenID Connect, SAML); "clerk" verifies Clerk session
# tokens and stores no password at all. See docs/decisions.md, issue #5.
AUTH_PROVIDER = env.str("AUTH_PROVIDER", default="local")
CLERK_MODE = AUTH_PROVIDER == "clerk"

AUTHENTICATION_BACKENDS = [
    # Refuses a locked-out email before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {
        "NAME": f"{_VALIDATORS}.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    # Django's list of 20,000 passwords most seen in breaches.
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "crm:home"

ACCOUNT_ADAPTER = "clozup.signin.adapters.AccountAdapter"
ACCOUNT_FORMS = {
    "login": "clozup.signin.forms.LoginForm",
    "request_login_code": "clozup.signin.forms.RequestLoginCodeForm",
}
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
# Passwordless: a one-time code by email, which the same email also carries
# as a link that works only in the browser that asked for it.
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = env.int("LOGIN_CODE_TIMEOUT", default=5 * 60)
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_REAUTHENTICATION_TIMEOUT = env.int("REAUTHENTICATION_TIMEOUT", default=5 * 60)
ACCOUNT_REAUTHENTICATION_METHODS = {"password", "code", "mfa"}

MFA_ADAPTER = "clozup.signin.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = "Clozup"

USERSESSIONS_ADAPTER = "clozup.signin.adapters.UserSessionsAdapter"
# Last seen is written by SignInPolicyMiddleware at most once a minute, not by
# allauth on every request.
USERSESSIONS_TRACK_ACTIVITY = False

SOCIALACCOUNT_ADAPTER = "clozup.signin.adapters.SocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS: dict = {}
if env.str("GOOGLE_CLIENT_ID", default=""):
    SOCIALACCOUNT_PROVIDERS["google"] = {
        "APPS": [
            {
                "client_id": env.str("GOOGLE_CLIENT_ID"),
                "secret": env.str("GOOGLE_CLIENT_SECRET"),
            }
        ],
        "SCOPE": ["openid", "email", "profile"],
        # Google vouches for the addresses it reports as verified.
        "EMAIL_AUTHENTICATION": True,
    }
if env.str("MICROSOFT_CLIENT_ID", default=""):
    SOCIALACCOUNT_PROVIDERS["microsoft"] = {
        "APPS": [
            {
                "client_id": env.str("MICROSOFT_CLIENT_ID"),
                "secret": env.str("MICROSOFT_CLIENT_SECRET"),
                "settings": {
                    "tenant": env.str("MICROSOFT_TENANT", default="organizations")
                },
            }
        ],
    }
if env.str("OIDC_SERVER_URL", default=""):
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": "oidc",
                "name": env.str("OIDC_NAME", default="Single sign-on"),
                "client_id": env.str("OIDC_CLIENT_ID"),
                "secret": env.str("OIDC_CLIENT_SECRET"),
                "settings": {"server_url": env.str("OIDC_SERVER_URL")},
            }
        ],
    }

# Brute-force protection (django-axes): a sign-in email is locked for the
# cool-off period after this many failures, whether or not an account exists.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.int("LOGIN_COOLOFF_MINUTES", default=15) / 60
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_CALLABLE = "clozup.signin.lockout.username_from_credentials"
AXES_CLIENT_IP_CALLABLE = "clozup.lib.http.client_ip_for_axes"
AXES_CLIENT_STR_CALLABLE = "clozup.signin.lockout.describe_client"
AXES_LOCKOUT_TEMPLATE = "account/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["password", "login", "email"]
# Per address, failures are throttled by allauth's rate limits, from the
# client IP that TRUSTED_PROXIES vouch for.
LOGIN_FAILURE_LIMIT_PER_IP = env.int("LOGIN_FAILURE_LIMIT_PER_IP", default=30)
ACCOUNT_RATE_LIMITS = {
    "login_failed": f"{LOGIN_FAILURE_LIMIT_PER_IP}/{AXES_COOLOFF_TIME * 3600:.0f}s/ip",
}
# axes.W006 asks for lockout by IP as well; per address, failures are
# throttled by the allauth rate limit above instead, so that one office
# behind one address is not locked out by a few of its people's typos.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
# Proxies (addresses or networks) whose X-Forwarded-For is believed. A header
# from anyone else is ignored and REMOTE_ADDR is the client.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# Clerk (AUTH_PROVIDER=clerk).
CLERK_ISSUER = env.str("CLERK_ISSUER", default="")
CLERK_JWKS_URL = env.str(
    "CLERK_JWKS_URL",
    default=f"{CLERK_ISSUER.rstrip('/')}/.well-known/jwks.json" if CLERK_ISSUER else "",
)
CLERK_AUTHORIZED_PARTIES = env.list("CLERK_AUTHORIZED_PARTIES", default=[])
CLERK_LEEWAY_SECONDS = env.int("CLERK_LEEWAY_SECONDS", default=5)
CLERK_WEBHOOK_SECRET = env.str("CLERK_WEBHOOK_SECRET", default="")
CLERK_SIGN_IN_URL = env.str("CLERK_SIGN_IN_URL", default="")
if CLERK_MODE:
    LOGIN_URL = CLERK_SIGN_IN_URL

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# The longest any session lives; an organization may choose shorter ones.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=2 * 3600)
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# Transport security. With DEBUG off every one of these is on, so that
# `manage.py check --deploy` passes with production settings.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 63072000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy: only our own origin, and no inline script or style
# anywhere (templates carry none: scripts and styles are static files).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
        "upgrade-insecure-requests": not DEBUG,
    },
}
# Only a proxy we run may tell us the request was HTTPS; see docs/deployment.md.
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default="") or None
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves static files from the app's own process, straight from the
# source folders (no collectstatic step to forget).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / ".data")))

# Files. `storages["private"]` (and the default storage) encrypts every file
# with a per-file key wrapped by its organization's data key; `backups` holds
# database backups wrapped by the key ring, in a location of its own (on S3:
# another bucket, in another region). S3 credentials come from the usual AWS
# sources (instance role, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).
STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="local")
BACKUP_STORAGE_BACKEND = env.str("BACKUP_STORAGE_BACKEND", default="local")


def _sse(prefix: str) -> dict[str, str]:
    kms_key = env.str(f"{prefix}_SSE_KMS_KEY_ID", default="")
    if kms_key:
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key}
    return {"ServerSideEncryption": "AES256"}


def _storage(kind: str, backend: str, prefix: str, local_dir: Path, region: str):
    if backend == "s3":
        return {
            "BACKEND": f"clozup.lib.storage.S3{kind}Storage",
            "OPTIONS": {
                "bucket_name": env.str(f"{prefix}_BUCKET", default=""),
                "region_name": env.str(f"{prefix}_REGION", default=region),
                "endpoint_url": env.str(f"{prefix}_ENDPOINT_URL", default="") or None,
                "object_parameters": _sse(prefix),
                "file_overwrite": False,
                "default_acl": None,
            },
        }
    return {
        "BACKEND": f"clozup.lib.storage.Local{kind}Storage",
        "OPTIONS": {
            "location": str(local_dir),
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }


_PRIVATE_STORAGE = _storage(
    "Private", STORAGE_BACKEND, "S3", DATA_DIR / "files", region="eu-west-1"
)
STORAGES = {
    "default": _PRIVATE_STORAGE,
    "private": _PRIVATE_STORAGE,
    "backups": _storage(
        "Backup",
        BACKUP_STORAGE_BACKEND,
        "BACKUP_STORAGE",
        Path(env.str("BACKUP_STORAGE_DIR", default=str(DATA_DIR / "backups"))),
        region="eu-central-1",
    ),
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}

# Backups: `manage.py backup` runs pg_dump as BACKUP_DATABASE_URL, a role that
# reads every row (superuser or BYPASSRLS; only its credentials and host are
# used, the database is DATABASE_URL's). Backups older than the retention are
# removed nightly. PG_BIN_DIR points at client tools when the machine's are
# older than the server (clozup.lib.postgres_tools).
BACKUP_DATABASE_URL = env.str("BACKUP_DATABASE_URL", default="")
BACKUP_RETENTION_DAYS = env.int("BACKUP_RETENTION_DAYS", default=30)
PG_BIN_DIR = env.str("PG_BIN_DIR", default="")

# Outgoing webhooks go to https URLs on public addresses only; tests and
# private deployments may allow private networks.
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool(
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False
)


# AI assist: an OpenAI-compatible chat completions API. An organization may set
# its own provider in the Admin Panel; these are the default. Plain http is
# refused except to a loopback address with DEBUG on (tests switch it on too).
AI_BASE_URL = env.str("AI_BASE_URL", default="")
AI_MODEL = env.str("AI_MODEL", default="")
AI_API_KEY = env.str("AI_API_KEY", default="")
AI_CONNECT_TIMEOUT = env.float("AI_CONNECT_TIMEOUT", default=5.0)
AI_READ_TIMEOUT = env.float("AI_READ_TIMEOUT", default=20.0)
AI_TOTAL_TIMEOUT = env.float("AI_TOTAL_TIMEOUT", default=30.0)
AI_MAX_RETRIES = env.int("AI_MAX_RETRIES", default=2)
AI_MAX_OUTPUT_TOKENS = env.int("AI_MAX_OUTPUT_TOKENS", default=600)
AI_ALLOW_LOOPBACK_HTTP = DEBUG


UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=25 * 1024 * 1024)
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=100 * 1024 * 1024)
# Rows per imported file: a job holds a file's cleaned rows in memory, and a
# worker must not run out of it (about 1 KiB per row).
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=500_000)
# Django refuses larger request bodies held in memory; files stream to disk.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The key ring for application-level encryption: `ID:KEY` entries, newest
# first (`python manage.py generate_encryption_key ID` makes one). The newest
# encrypts, all decrypt. Never in the repository; see docs/operations.md.
ENCRYPTION_KEYS = env.list("ENCRYPTION_KEYS", default=[])

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Clozup <no-reply@clozup.example>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Campaign emails name this mailbox in List-Unsubscribe, beside the https link.
UNSUBSCRIBE_MAILTO = env.str("UNSUBSCRIBE_MAILTO", default="unsubscribe@clozup.example")
# Published on the security page and in /.well-known/security.txt (RFC 9116).
SECURITY_CONTACT_EMAIL = env.str(
    "SECURITY_CONTACT_EMAIL", default="security@clozup.example"
)
PRIVACY_CONTACT_EMAIL = env.str(
    "PRIVACY_CONTACT_EMAIL", default="privacy@clozup.example"
)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "clozup.lib.logging.ContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
            },
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["context"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
    },
}

# Error reporting to Sentry or any Sentry-compatible service, when configured.
# No personal data: no request bodies, cookies, user emails or IPs leave.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    from clozup.lib.sentry import scrub_event

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        before_send=scrub_event,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
