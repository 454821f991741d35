"""Monitoring pages: plans (being built)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
