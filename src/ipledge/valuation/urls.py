"""Valuation pages, mounted at /valuation/."""

from django.urls import path

from . import views

app_name = "valuation"

urlpatterns = [
    path("", views.valuation_list, name="list"),
    path("<int:pk>/", views.valuation_detail, name="detail"),
    path("<int:pk>/report.docx", views.valuation_report, name="report"),
    path("<int:pk>/submit/", views.valuation_submit, name="submit"),
    path("<int:pk>/sign-off/", views.valuation_sign_off, name="sign_off"),
    path("rights/<int:pk>/", views.right_valuation, name="right"),
    path("bundles/new/", views.bundle_create, name="bundle_create"),
    path("bundles/<int:pk>/revalue/", views.bundle_revalue, name="bundle_revalue"),
    path("batches/", views.batch_list, name="batches"),
    path("batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("policy/", views.pledge_policy, name="policy"),
    path("enterprises/<int:pk>/", views.enterprise_score, name="enterprise"),
    path("model/", views.model_card, name="model"),
]
