"""Collateral-disposal pages (质物处置), mounted at /disposal/; the public auction listing under /disposal/public/."""

from django.urls import path

from . import views

app_name = "disposal"

urlpatterns = [
    path("", views.case_list, name="case_list"),
    path("open/", views.open_case, name="open"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    # One POST route per case action: /disposal/cases/<pk>/<action>/ (names and forms in views.CASE_ACTIONS).
    *(
        path(f"cases/<int:pk>/{name}/", views.case_action, {"action": name}, name=f"case_{name}")
        for name in views.CASE_ACTIONS
    ),
    path("auctions/", views.session_list, name="session_list"),
    path("auctions/new/", views.session_create, name="session_create"),
    path("auctions/<int:pk>/", views.session_detail, name="session_detail"),
    path("auctions/<int:pk>/lots/new/", views.lot_create, name="lot_create"),
    path("lots/<int:pk>/", views.lot_detail, name="lot_detail"),
    path("lots/<int:pk>/register/", views.lot_register, name="lot_register"),
    path("lots/<int:pk>/bid/", views.lot_bid, name="lot_bid"),
    path("lots/<int:pk>/close/", views.lot_close, name="lot_close"),
    path("registrations/<int:pk>/deposit/", views.registration_deposit, name="registration_deposit"),
    path("public/auctions/", views.public_auctions, name="public_auctions"),
]
