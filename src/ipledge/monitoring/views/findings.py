"""Monitoring pages: findings (being built)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
