"""Monitoring API: plans (being built)."""

from ninja import Router

router = Router()
