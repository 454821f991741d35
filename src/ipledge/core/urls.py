from django.contrib.auth import views as auth_views
from django.urls import path

from . import health, views, views_account

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", views.set_language_public, name="set_language_public"),
    path("audit/", views.audit_log, name="audit_log"),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<uuid:pk>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
    path("settings/api-calls/", views.api_calls, name="api_calls"),
    path("settings/users/", views.users, name="users"),
    path("settings/users/new/", views.user_create_view, name="user_create"),
    # Access hardening: my account, the login's second step, account security for admins.
    path("login/verify/", views_account.login_verify, name="login_verify"),
    path("account/", views_account.account, name="account"),
    path("account/password/", views_account.account_password, name="account_password"),
    path("account/two-factor/start/", views_account.account_otp_start, name="account_otp_start"),
    path("account/two-factor/confirm/", views_account.account_otp_confirm, name="account_otp_confirm"),
    path("account/two-factor/disable/", views_account.account_otp_disable, name="account_otp_disable"),
    path("account/sessions/end/", views_account.account_sessions_end, name="account_sessions_end"),
    path("settings/users/security/", views_account.user_security, name="user_security"),
    path("settings/users/<int:pk>/unlock/", views_account.user_unlock, name="user_unlock"),
    path("settings/users/<int:pk>/sessions/end/", views_account.user_sessions_end, name="user_sessions_end"),
    path("settings/users/<int:pk>/two-factor/reset/", views_account.user_otp_reset, name="user_otp_reset"),
]
