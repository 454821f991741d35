from django.urls import include, path

from ipledge.api import api

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("", include("ipledge.core.urls")),
    path("registry/", include("ipledge.registry.urls")),
]
