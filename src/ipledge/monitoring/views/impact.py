"""Monitoring pages: impact (being built)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
