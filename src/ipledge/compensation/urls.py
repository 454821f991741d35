"""Risk-compensation pages (风险补偿), mounted at /compensation/."""

from django.urls import path

from . import views

app_name = "compensation"

urlpatterns = [
    path("", views.fund_list, name="fund_list"),
    path("funds/new/", views.fund_create, name="fund_create"),
    path("funds/<int:pk>/", views.fund_detail, name="fund_detail"),
    path("funds/<int:pk>/edit/", views.fund_edit, name="fund_edit"),
    path("funds/<int:pk>/contribution/", views.contribution_record, name="contribution_record"),
    path("funds/<int:pk>/stress/", views.stress_request, name="stress_request"),
    path("funds/<int:pk>/ledger/", views.fund_ledger, name="fund_ledger"),
    path("funds/<int:pk>/schemes/new/", views.scheme_create, name="scheme_create"),
    path("schemes/<int:pk>/versions/new/", views.version_create, name="version_create"),
    path("versions/<int:pk>/submit/", views.version_submit, name="version_submit"),
    path("versions/<int:pk>/approve/", views.version_approve, name="version_approve"),
    path("versions/<int:pk>/reject/", views.version_reject, name="version_reject"),
    path("stress-runs/<int:pk>/", views.stress_run_detail, name="stress_run_detail"),
    path("entries/<int:pk>/reverse/", views.entry_reverse, name="entry_reverse"),
    path("enrolments/", views.enrolment_list, name="enrolment_list"),
    path("enrolments/new/", views.enrolment_create, name="enrolment_create"),
    path("enrolments/<int:pk>/", views.enrolment_detail, name="enrolment_detail"),
    path("enrolments/<int:pk>/claim/", views.enrolment_claim, name="enrolment_claim"),
    path("enrolments/<int:pk>/release/", views.enrolment_release, name="enrolment_release"),
    path("claims/", views.claim_list, name="claim_list"),
    path("claims/<int:pk>/", views.claim_detail, name="claim_detail"),
    # One POST route per claim action: /compensation/claims/<pk>/<action>/ (names and forms in views.CLAIM_ACTIONS).
    *(
        path(f"claims/<int:pk>/{name}/", views.claim_action, {"action": name}, name=f"claim_{name}")
        for name in views.CLAIM_ACTIONS
    ),
    path("payments/", views.payment_list, name="payment_list"),
    path("payments/<int:pk>/pay/", views.payment_pay, name="payment_pay"),
]
