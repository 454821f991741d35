"""Placeholder filled by this issue's work."""

from ninja import Router

router = Router()
