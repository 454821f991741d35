from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", views.set_language_public, name="set_language_public"),
    path("audit/", views.audit_log, name="audit_log"),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<uuid:pk>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
    path("settings/api-calls/", views.api_calls, name="api_calls"),
    path("settings/users/", views.users, name="users"),
    path("settings/users/new/", views.user_create_view, name="user_create"),
]
