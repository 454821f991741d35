"""Portal API (S6, M1, S2) under /api/v1/portal/…"""

from ninja import Router

from . import consultations, policies, service_centre

router = Router(tags=["portal"])
router.add_router("", policies.router)
router.add_router("", consultations.router)
router.add_router("", service_centre.router)
