"""Screening pages, one module per area; each module exports its `urlpatterns` (joined in `screening.urls`)."""
