from django.urls import path

from . import views

app_name = "registry"

urlpatterns = [
    path("parks/", views.park_list_view, name="park_list"),
    path("parks/new/", views.park_create_view, name="park_create"),
    path("parks/<int:pk>/", views.park_detail, name="park_detail"),
    path("parks/<int:pk>/edit/", views.park_edit, name="park_edit"),
    path("enterprises/", views.enterprise_list_view, name="enterprise_list"),
    path("enterprises/new/", views.enterprise_create_view, name="enterprise_create"),
    path("enterprises/<int:pk>/", views.enterprise_detail, name="enterprise_detail"),
    path("enterprises/<int:pk>/edit/", views.enterprise_edit, name="enterprise_edit"),
    path("ip-rights/", views.ipright_list_view, name="ipright_list"),
    path("ip-rights/new/", views.ipright_create_view, name="ipright_create"),
    path("ip-rights/new/kind-fields/", views.ipright_kind_fields, name="ipright_kind_fields"),
    path("ip-rights/<int:pk>/", views.ipright_detail, name="ipright_detail"),
    path("ip-rights/<int:pk>/edit/", views.ipright_edit, name="ipright_edit"),
    path("ip-rights/<int:pk>/licences/new/", views.licence_create_view, name="licence_create"),
    path("import/", views.import_view, name="import"),
    path("import/template/<slug:kind>.xlsx", views.import_template, name="import_template"),
    path("import/errors/<str:token>.xlsx", views.import_errors, name="import_errors"),
]
