"""The receiving side of the 信易贷 exchange, mounted at /exchange/v1/: signed JSON, no session, no CSRF token (the
HMAC signature authenticates each request; see docs/exchange.md)."""

from .views import receiver

app_name = "exchange"

urlpatterns = [*receiver.urlpatterns]
