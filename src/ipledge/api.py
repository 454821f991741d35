"""The REST API at /api/v1/ (django-ninja)."""

from ninja import NinjaAPI

api = NinjaAPI(title="ipledge API", version="1", urls_namespace="api")
