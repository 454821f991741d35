"""Settings driven by the environment (12-factor, django-environ).

SQLite is the embedded default so `make demo` needs nothing installed; set DATABASE_URL for PostgreSQL.
"""

from pathlib import Path

import environ

PACKAGE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = PACKAGE_DIR.parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost"]),
    SECRET_KEY=(str, "dev-insecure-key-change-me-in-production-ipledge"),
    IPLEDGE_DATA_DIR=(str, str(PROJECT_DIR / "var")),
)
environ.Env.read_env(PROJECT_DIR / ".env")

DEBUG = env("DEBUG")
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
DATA_DIR = Path(env("IPLEDGE_DATA_DIR"))
DATA_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "simple_history",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "ipledge.core",
    "ipledge.registry",
    "ipledge.registration",
    "ipledge.lending",
    "ipledge.valuation",
    "ipledge.compensation",
    "ipledge.disposal",
    "ipledge.screening",
    "ipledge.market",
    "ipledge.monitoring",
    "ipledge.portal",
    "ipledge.integration",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ipledge.core.middleware.PlatformLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # A user with a confirmed TOTP device reaches nothing but /login/verify/ until the code is given.
    "ipledge.core.security.OTPRequiredMiddleware",
    "ipledge.core.middleware.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lock-out raised by its backend into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ipledge.urls"
WSGI_APPLICATION = "ipledge.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "ipledge.core.context_processors.navigation",
            ],
        },
    },
]

# SQLite: WAL lets readers proceed during a write; IMMEDIATE takes the write lock at BEGIN so two writers
# queue on the busy timeout instead of failing with "database is locked" on lock upgrade.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'ipledge.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Three of four character classes (lower, upper, digit, symbol), as 等保 2.0 assessments expect.
    {"NAME": "ipledge.core.security.ComplexityValidator", "OPTIONS": {"min_classes": 3}},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600
CSRF_COOKIE_SAMESITE = "Lax"

# django-axes: the first backend counts failed logins and refuses a locked account or address.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("IPLEDGE_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("IPLEDGE_LOGIN_COOLOFF_HOURS", default=0.5)
# Lock the account name and the address together, so one address cannot lock out every account by guessing.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Proxies in front of the app that append to X-Forwarded-For (nginx alone: 1); see ipledge.core.net.
IPLEDGE_PROXY_COUNT = env.int("IPLEDGE_PROXY_COUNT", default=0)
# A CA bundle for 信易贷 partners whose HTTPS certificates come from a private CA (docs/exchange.md); empty: system CAs.
IPLEDGE_EXCHANGE_CA_BUNDLE = env("IPLEDGE_EXCHANGE_CA_BUNDLE", default="") or None
AXES_CLIENT_IP_CALLABLE = "ipledge.core.net.client_ip"
AXES_VERBOSE = False
# Our zh-hans page saying when to retry and to ask an administrator (who unlocks at /settings/users/security/).
AXES_LOCKOUT_CALLABLE = "ipledge.core.security.lockout_response"
# Two-factor codes: django-otp doubles the wait after each wrong code (1 s, 2 s, 4 s …).
OTP_TOTP_ISSUER = "ipledge"
OTP_TOTP_THROTTLE_FACTOR = 1

# Security headers. The Content-Security-Policy allows no inline script: every script is a file under /static/.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Bootstrap components and ECharts set style attributes at run time.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Uploads: bounded in size; larger bodies are refused before a view sees them.
DATA_UPLOAD_MAX_MEMORY_SIZE = 25 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o640

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": DATA_DIR / "media"}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Money: one rounding rule for the whole platform (see ipledge.core.money).
MONEY_ROUNDING = "ROUND_HALF_UP"

# Background tasks (batch revaluation): the database backend works on SQLite and PostgreSQL, and any number of
# `ipledge db_worker` processes on any host take tasks from it. `make demo` starts one worker beside the server.
TASKS = {"default": {"BACKEND": env("IPLEDGE_TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")}}

# The cache holds the API keys' rate-limit counters (ipledge.core.ratelimit). LocMem counts per process; several
# workers or servers share one count only with a shared backend: CACHE_URL=dbcache://ipledge_cache (after
# `ipledge createcachetable`) or redis://host:6379/1.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://ipledge")}

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"
NINJA_PAGINATION_PER_PAGE = 50

# Logs: text for a developer's terminal, one JSON object per line in production (IPLEDGE_LOG_FORMAT=json);
# every record carries the request id. IPLEDGE_REQUEST_LOG=true adds one line per request (on in production).
LOG_FORMAT = env("IPLEDGE_LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "ipledge.core.logs.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "ipledge.request": {"level": "INFO" if env.bool("IPLEDGE_REQUEST_LOG", default=False) else "WARNING"},
        # The request line above already says it; Django's own would repeat every 4xx.
        "django.request": {"level": "ERROR"},
    },
}
