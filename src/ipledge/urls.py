from django.urls import include, path

from ipledge.api import api

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("", include("ipledge.core.urls")),
    path("registry/", include("ipledge.registry.urls")),
    # Registration routes carry their own prefixes: /pledges/… for signed-in users, /public/pledges/ for anyone.
    path("", include("ipledge.registration.urls")),
    path("lending/indicators/", include("ipledge.lending.indicator_urls")),
    path("lending/", include("ipledge.lending.urls")),
    path("valuation/", include("ipledge.valuation.urls")),
    path("compensation/", include("ipledge.compensation.urls")),
    path("disposal/", include("ipledge.disposal.urls")),
    path("screening/", include("ipledge.screening.urls")),
    path("market/", include("ipledge.market.urls")),
    path("monitoring/", include("ipledge.monitoring.urls")),
    path("showcase/", include("ipledge.monitoring.urls_showcase")),
    path("portal/", include("ipledge.portal.urls")),
    path("integration/", include("ipledge.integration.urls")),
    path("exchange/v1/", include("ipledge.integration.urls_receiver")),
]
