"""Monitoring pages (行动监测), mounted at /monitoring/; the public showcase of key parks at /showcase/ (no login)."""

from .views import cases, findings, impact, plans, reports, targets

app_name = "monitoring"

urlpatterns = [
    *targets.urlpatterns,
    *findings.urlpatterns,
    *plans.urlpatterns,
    *impact.urlpatterns,
    *reports.urlpatterns,
    *cases.urlpatterns,
]
