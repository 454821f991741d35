"""Monitoring API: impact (being built)."""

from ninja import Router

router = Router()
