"""Pledge registration routes, mounted at the site root so that the public query lives under /public/."""

from django.urls import path

from . import views

app_name = "registration"

urlpatterns = [
    path("pledges/", views.filing_list_view, name="filing_list"),
    path("pledges/new/", views.filing_create_view, name="filing_create"),
    path("pledges/bulk/", views.bulk_filing_view, name="bulk_filing"),
    path("pledges/bulk/template.xlsx", views.bulk_template_view, name="bulk_template"),
    path("pledges/bulk/errors/<str:token>.xlsx", views.bulk_errors_view, name="bulk_errors"),
    path("pledges/awaiting-confirmation/", views.awaiting_confirmation_view, name="awaiting_confirmation"),
    path("pledges/examination/", views.examination_queue_view, name="examination_queue"),
    path("pledges/<int:pk>/", views.filing_detail, name="filing_detail"),
    path("pledges/<int:pk>/confirm/", views.filing_confirm_view, name="filing_confirm"),
    path("pledges/<int:pk>/withdraw/", views.filing_withdraw_view, name="filing_withdraw"),
    path("pledges/<int:pk>/resubmit/", views.filing_resubmit_view, name="filing_resubmit"),
    path("pledges/<int:pk>/decide/", views.filing_decide_view, name="filing_decide"),
    path("pledges/<int:pk>/documents/", views.document_upload, name="document_upload"),
    path("pledges/documents/<int:pk>/download/", views.document_download, name="document_download"),
    path("pledges/registrations/", views.registration_list_view, name="registration_list"),
    path("pledges/registrations/<int:pk>/", views.registration_detail, name="registration_detail"),
    path("pledges/registrations/<int:pk>/cancel/", views.registration_cancel, name="registration_cancel"),
    path("pledges/registrations/<int:pk>/change/", views.registration_change, name="registration_change"),
    path("pledges/registrations/<int:pk>/notice.docx", views.registration_notice, name="registration_notice"),
    path("pledges/alerts/", views.alerts_view, name="alerts"),
    path("pledges/alerts/<int:pk>/read/", views.alert_read, name="alert_read"),
    path("pledges/figures/", views.figures_view, name="figures"),
    path("public/pledges/", views.public_query, name="public_query"),
    path("pledges/calendar/", views.calendar_view, name="calendar"),
    path("pledges/calendar/<int:pk>/remove/", views.calendar_remove, name="calendar_remove"),
]
