"""Data exchange pages, mounted at /integration/: 信易贷 partners, the outbound queue with its dead letters, what was
received, enterprises' sharing consent, and bulk import / export of the main entities."""

from .views import bulk, exchange

app_name = "integration"

urlpatterns = [
    *exchange.urlpatterns,
    *bulk.urlpatterns,
]
