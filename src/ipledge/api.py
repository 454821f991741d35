"""The REST API at /api/v1/ (django-ninja).

Every operation needs authentication (an API key or a session, see `ipledge.core.apikit`); the OpenAPI document
(`/api/v1/openapi.json`) and its Swagger UI (`/api/v1/docs`, assets served locally from ninja's static files) are
public, since they describe the interface and hold no data. Every error answers in one shape, `ErrorOut`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, transaction
from django.http import Http404, HttpRequest, HttpResponseBase
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI, Router
from ninja.openapi.docs import Swagger
from ninja.renderers import JSONRenderer

from ipledge.compensation.api import router as compensation_router
from ipledge.core.api import router as core_router
from ipledge.core.apikit import AUTH, error_item, error_response, install_error_handlers, request_context
from ipledge.core.context import current_request_id
from ipledge.core.net import client_ip
from ipledge.core.services import api_call_record
from ipledge.disposal.api import router as disposal_router
from ipledge.integration.api import router as integration_router
from ipledge.lending.api import router as lending_router
from ipledge.lending.indicator_api import router as lending_indicator_router
from ipledge.market.api import router as market_router
from ipledge.monitoring.api import router as monitoring_router
from ipledge.portal.api import router as portal_router
from ipledge.registration.api import router as registration_router
from ipledge.registry.api import router as registry_router
from ipledge.screening.api import router as screening_router
from ipledge.valuation.api import router as valuation_router

DESCRIPTION = """\
知识产权质押融资平台 API. Authenticate with an organisation API key (`Authorization: Bearer ipk_…` or
`X-API-Key: ipk_…`) or, from the browser, with the session cookie plus the `X-CSRFToken` header on writes.

Every error has the shape `{"errors": [{"field", "rule", "message", "message_en"}], "request_id"}`:
400 a domain rule was broken, 401 not authenticated, 403 your role cannot do this at all, 404 not found or
outside your scope (the same answer), 409 conflict, 422 the request does not match the schema, 429 the API key
went over its per-minute limit (`rule: "throttled"`; wait `Retry-After` seconds). Every call is recorded with its
key (or session user), status and duration; an organisation's administrators read them at `/api-calls`.
Money is a decimal string in yuan (`"35000000.00"`); dates are ISO 8601. Lists take `page` and `page_size`
(default 50, at most 500).
"""


class Utf8JSONRenderer(JSONRenderer):
    """JSON with Chinese text as UTF-8 rather than \\u escapes (the content type already says charset=utf-8)."""

    json_dumps_params = {"ensure_ascii": False}


# The interface's own description is not a call on anyone's data: not recorded in ApiCall.
UNRECORDED_URL_NAMES = frozenset({"openapi-json", "openapi-view"})

logger = logging.getLogger("ipledge.api")


def record_call(request: HttpRequest, status_code: int, started: float) -> None:
    """Write the call's ApiCall row; never fails the request (a lost record is logged instead)."""
    key = getattr(request, "api_key", None)
    user = None
    if key is None:
        user = getattr(request, "auth_user", None) or getattr(request, "user", None)
        if user is not None and not getattr(user, "is_authenticated", False):
            user = None
    try:
        # A savepoint when inside a transaction (ATOMIC_REQUESTS, tests), so a failed insert cannot poison it.
        with transaction.atomic(savepoint=True):
            api_call_record(
                api_key=key,
                user=user,
                method=request.method or "",
                path=request.path,
                status_code=status_code,
                duration_ms=round((time.perf_counter() - started) * 1000),
                request_id=current_request_id(),
                client_ip=client_ip(request),
            )
    except DatabaseError:
        logger.exception("could not record API call %s %s", request.method, request.path)


class IpledgeAPI(NinjaAPI):
    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                pattern.callback = self._wrap_view(pattern.callback, record=pattern.name not in UNRECORDED_URL_NAMES)
        return urls

    def _wrap_view(
        self, view: Callable[..., HttpResponseBase], *, record: bool = True
    ) -> Callable[..., HttpResponseBase]:
        """Django-level view wrapper: no login redirect, the answers ninja gives outside its exception handlers
        (405 on a known path, 404 on the bare root) in the error shape too, and one ApiCall row per call.

        The row is written here, after the handler has returned and any transaction of its own has ended, so a
        write that failed and rolled back is still recorded (with its error status)."""

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            started = time.perf_counter()
            response = self._answer(view, request, *args, **kwargs)
            if record:
                record_call(request, response.status_code, started)
            return response

        # The API authenticates by itself (API keys have no session), so Django's LoginRequiredMiddleware must not
        # redirect its requests to the login page; unauthenticated calls get a 401 from the API instead.
        wrapper.login_required = False  # type: ignore[attr-defined]
        wrapper.csrf_exempt = getattr(view, "csrf_exempt", False)  # type: ignore[attr-defined]
        return wrapper

    def _answer(
        self, view: Callable[..., HttpResponseBase], request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return self.on_exception(request, Http404(""))
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/json"):
            allow = response.get("Allow", "")
            response = error_response(
                self,
                request,
                405,
                [
                    error_item(
                        None,
                        "method_not_allowed",
                        f"不支持此请求方法，可用：{allow}。",
                        f"Method not allowed; use {allow}.",
                    )
                ],
            )
            response["Allow"] = allow
        return response


api = IpledgeAPI(
    title="ipledge API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=AUTH,
    renderer=Utf8JSONRenderer(),
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
)
install_error_handlers(api)
api.add_decorator(request_context, mode="view")
api.add_router("", core_router)
api.add_router("", registry_router)
api.add_router("", registration_router)
api.add_router("", lending_router)
api.add_router("", lending_indicator_router)
api.add_router("", valuation_router)
api.add_router("", compensation_router)
api.add_router("", disposal_router)
api.add_router("", screening_router)
api.add_router("", market_router)
api.add_router("", monitoring_router)
api.add_router("", portal_router)
api.add_router("", integration_router)

# Unknown paths under /api/v1/ answer 404 in the error shape too (instead of Django's HTML page); kept last.
fallback = Router()


@fallback.api_operation(["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", auth=None, include_in_schema=False)
def unknown_path(request: HttpRequest, rest: str) -> None:
    raise Http404("")


api.add_router("", fallback)
