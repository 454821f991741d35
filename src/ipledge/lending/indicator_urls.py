from django.urls import path

from . import indicator_views

app_name = "lending_indicators"
urlpatterns = [
    # GET; `?format=xlsx` downloads every table, `&table=<name>` one of them.
    path("", indicator_views.indicator_dashboard, name="dashboard"),
]
