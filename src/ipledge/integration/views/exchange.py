"""Placeholder filled by this issue's work."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
