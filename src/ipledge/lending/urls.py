"""Loan pages, mounted at /lending/ (the indicator dashboards live under /lending/indicators/)."""

from django.urls import path

from . import views

app_name = "lending"

urlpatterns = [
    path("", views.loan_list, name="loan_list"),
    path("export.xlsx", views.loan_export, name="loan_export"),
    path("apply/", views.loan_apply_view, name="loan_apply"),
    path("credit-plans/", views.credit_plans, name="credit_plans"),
    path("npl-reports/", views.npl_reports, name="npl_reports"),
    path("<int:pk>/", views.loan_detail, name="loan_detail"),
    path("<int:pk>/schedule.xlsx", views.loan_schedule_export, name="loan_schedule_export"),
    path("<int:pk>/audit/", views.loan_audit, name="loan_audit"),
    # One POST route per lifecycle action: /lending/<pk>/<action>/ (names and forms in views.ACTIONS).
    *(
        path(f"<int:pk>/{name.replace('_', '-')}/", views.loan_action, {"action": name}, name=f"loan_{name}")
        for name in views.ACTIONS
    ),
]
