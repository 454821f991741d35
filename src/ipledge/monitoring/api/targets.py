"""Monitoring API: targets (being built)."""

from ninja import Router

router = Router()
