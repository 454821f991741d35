from ninja import Router

router = Router(tags=["lending-indicators"])
