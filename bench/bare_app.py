"""The load test's baseline: a bare Django project with one JSON view, no database and no middleware.

Served by the same gunicorn settings as ipledge (`gunicorn bare_app:application` from `bench/`), it measures what
Django and the WSGI server cost on this machine, so ipledge's figures can be read as a ratio to it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, JsonResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only-not-secret",  # noqa: S106 - a throwaway baseline bound to loopback
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
    USE_TZ=True,
)


def hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, "items": [{"id": i, "name": f"item {i}"} for i in range(10)]})


urlpatterns = [path("", hello)]
application = get_wsgi_application()
