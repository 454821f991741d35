"""Credit-screening API (授信白名单, W1 W2 W4), one router per area under /api/v1/screening/…"""

from ninja import Router

from . import banking, records, scorecards, whitelists

router = Router(tags=["screening"])
router.add_router("", records.router)
router.add_router("", scorecards.router)
router.add_router("", whitelists.router)
router.add_router("", banking.router)
