"""Placeholder until the products area lands (replaced whole by its module)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
