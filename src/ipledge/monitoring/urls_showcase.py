"""Public showcase (成效展示) of key parks' measures and results and the published typical cases: no login (O6)."""

from .views import showcase

app_name = "showcase"

urlpatterns = [*showcase.urlpatterns]
