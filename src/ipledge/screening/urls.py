"""Credit-screening pages (授信白名单), mounted at /screening/."""

from .views import banking, records, scorecards, whitelists

app_name = "screening"

urlpatterns = [
    *records.urlpatterns,
    *scorecards.urlpatterns,
    *whitelists.urlpatterns,
    *banking.urlpatterns,
]
