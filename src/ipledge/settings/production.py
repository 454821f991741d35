"""Production settings: `DJANGO_SETTINGS_MODULE=ipledge.settings.production` (see docs/deployment.md).

Everything secret or site-specific comes from the environment (or `/etc/ipledge/ipledge.env` via the systemd
unit); a missing SECRET_KEY or DATABASE_URL stops the process at start instead of running on a default.
`ipledge check --deploy --fail-level WARNING` passes with these settings (tests/core/test_deploy_settings.py).

Layout assumed: nginx terminates TLS and proxies to gunicorn on several app servers; task workers
(`ipledge db_worker`) run on other machines; all share one PostgreSQL database and one cache (Redis or the
database cache), so login throttling and API rate limits count across servers.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, LOGGING, env

DEBUG = False

SECRET_KEY = env.str("SECRET_KEY", default="")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith(("dev-", "django-insecure")):
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of at least 50 characters.")
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])  # old keys while rotating

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[f"https://{host}" for host in ALLOWED_HOSTS])

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql" and not env.bool(
    "IPLEDGE_ALLOW_SQLITE", default=False
):
    raise ImproperlyConfigured(
        "Production runs on PostgreSQL: set DATABASE_URL=postgres://… (or IPLEDGE_ALLOW_SQLITE=true)."
    )
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# TLS is terminated by nginx, which sets X-Forwarded-Proto; Django trusts it only because nginx overwrites it.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = False
SECURE_SSL_REDIRECT = env.bool("IPLEDGE_SSL_REDIRECT", default=True)
# Load balancers probe over plain HTTP on the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("IPLEDGE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("IPLEDGE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("IPLEDGE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "__Host-ipledge-session"
CSRF_COOKIE_NAME = "__Host-ipledge-csrf"

# Structured logs to stdout, collected by journald (or the container runtime); one line per request.
LOGGING["handlers"]["console"]["formatter"] = env("IPLEDGE_LOG_FORMAT", default="json")  # type: ignore[index]
LOGGING["loggers"]["ipledge.request"]["level"] = "INFO"  # type: ignore[index]

# Sessions, throttling counters and rate limits must be shared by every app server.
CACHES = {"default": env.cache_url("CACHE_URL", default="dbcache://ipledge_cache")}
IPLEDGE_PROXY_COUNT = env.int("IPLEDGE_PROXY_COUNT", default=1)
