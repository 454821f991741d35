"""Market pages (产品资源库, 融资项目库, 常态化调查, 银企对接), mounted at /market/."""

from .views import demands, events, products, surveys

app_name = "market"

urlpatterns = [
    *products.urlpatterns,
    *demands.urlpatterns,
    *surveys.urlpatterns,
    *events.urlpatterns,
]
