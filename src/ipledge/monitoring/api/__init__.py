"""Monitoring API (T1–T4, M1, M6, O1–O3, O5), one router per area under /api/v1/monitoring/…"""

from ninja import Router

from . import cases, findings, impact, plans, reports, targets

router = Router(tags=["monitoring"])
router.add_router("", targets.router)
router.add_router("", findings.router)
router.add_router("", plans.router)
router.add_router("", impact.router)
router.add_router("", reports.router)
router.add_router("", cases.router)
