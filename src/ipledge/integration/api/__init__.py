"""Integration API (S5) under /api/v1/integration/…"""

from ninja import Router

from . import bulk, exchange

router = Router(tags=["integration"])
router.add_router("", exchange.router)
router.add_router("", bulk.router)
