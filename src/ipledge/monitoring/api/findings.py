"""Monitoring API: findings (being built)."""

from ninja import Router

router = Router()
