"""Market API (S3 S4 S6), one router per area under /api/v1/market/…"""

from ninja import Router

from . import demands, events, products, surveys

router = Router(tags=["market"])
router.add_router("", products.router)
router.add_router("", demands.router)
router.add_router("", surveys.router)
router.add_router("", events.router)
