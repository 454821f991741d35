"""Monitoring pages: reports (being built)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
