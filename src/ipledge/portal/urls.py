"""Portal pages (公共服务门户), mounted at /portal/: the public home, product display, policy library and FAQ (no
login), and for signed-in users the policy management, consultations and each park's one-stop service centre."""

from .views import consultations, home, policies, service_centre

app_name = "portal"

urlpatterns = [
    *home.urlpatterns,
    *policies.urlpatterns,
    *consultations.urlpatterns,
    *service_centre.urlpatterns,
]
