"""What every API module shares: authentication, the one error shape, pagination and scope helpers.

Authentication (tried in this order, the first that answers wins):
- `Authorization: Bearer ipk_…` or `X-API-Key: ipk_…`: a per-organisation API key. The request then runs as an
  unsaved principal user carrying the key's organisation and role (`api_key_principal`), so `restrict()` scopes it
  exactly like a person of that organisation, and audit events record the key id. A presented key that is
  unknown, revoked or expired answers 401 at once; it never falls back to the session.
- The Django session cookie, with Django's CSRF check on unsafe methods (POST, PATCH …) for logged-in users.

Status codes: 400 a rule of the domain was broken (Django ValidationError from a service, a bad identifier, a
reference to something outside your scope); 401 not authenticated; 403 your role or organisation cannot do this
kind of action at all (or CSRF failed); 404 the object does not exist *or* lies outside your scope (the same
answer on purpose); 409 a uniqueness conflict or a lost race; 422 the request does not match the schema.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import translation
from django.utils.functional import Promise
from ninja import Field, NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import PaginationBase
from ninja.security import APIKeyCookie, APIKeyHeader, HttpBearer
from ninja.utils import check_csrf

from . import ratelimit
from .context import api_key_id_var, current_request_id
from .models import User
from .schemas import ErrorOut
from .scoping import Action, scope_for
from .services import api_key_authenticate, api_key_principal

logger = logging.getLogger("ipledge.api")

M = TypeVar("M", bound=models.Model)

PAGE_SIZE = 50
MAX_ID = 2**63 - 1  # largest BigAutoField value; larger ids would overflow the database driver
MAX_INT = 2**31 - 1  # PositiveIntegerField on PostgreSQL
MAX_PAGE_SIZE = 500


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def error_item(field: str | None, rule: str, message: str, message_en: str | None = None) -> dict[str, Any]:
    return {"field": field, "rule": rule, "message": message, "message_en": message_en or message}


class ApiError(Exception):
    """An error answered in the one error shape; raise it from handlers and auth classes."""

    def __init__(
        self,
        status: int,
        rule: str,
        message: str,
        message_en: str | None = None,
        *,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.errors = errors or [error_item(field, rule, message, message_en)]
        self.headers = headers or {}
        super().__init__(message)


def not_found_ref(field: str, label_zh: str, label_en: str) -> ApiError:
    """A reference in the request body that does not exist or lies outside the caller's scope."""
    return ApiError(
        400,
        "not_found",
        f"{label_zh}不存在或不在您的权限范围内。",
        f"{label_en} does not exist or is outside your scope.",
        field=field,
    )


def error_responses(*codes: int) -> dict[int, type[Schema]]:
    """OpenAPI `response=` entries for the error answers an endpoint can give (401, 422 and 429 always: any call
    may carry a key, and every key is rate-limited)."""
    return {code: ErrorOut for code in sorted({401, 422, 429, *codes})}


def error_response(api: NinjaAPI, request: HttpRequest, status: int, errors: list[dict[str, Any]]) -> HttpResponse:
    response = api.create_response(request, {"errors": errors, "request_id": current_request_id()}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="ipledge"'
    return response


_HTTP_RULES: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "请求无法解析。", "The request could not be parsed."),
    401: ("unauthenticated", "请先登录或提供有效的 API 密钥。", "Sign in or send a valid API key."),
    403: ("forbidden", "您无权执行此操作。", "You are not allowed to do this."),
    404: ("not_found", "对象不存在或无权访问。", "Not found, or outside your scope."),
    405: ("method_not_allowed", "不支持此请求方法。", "Method not allowed."),
    409: ("conflict", "数据冲突，请刷新后重试。", "Conflict: reload and try again."),
    429: ("throttled", "请求过于频繁，请稍后再试。", "Too many requests; try again later."),
}

# Pydantic error types (422) → Chinese message templates; English comes from pydantic itself.
_PYDANTIC_ZH: dict[str, str] = {
    "missing": "此字段为必填项。",
    "extra_forbidden": "不允许此字段。",
    "string_type": "应为字符串。",
    "string_too_short": "长度不能少于{min_length}个字符。",
    "string_too_long": "长度不能超过{max_length}个字符。",
    "string_pattern_mismatch": "格式不正确。",
    "int_type": "应为整数。",
    "int_parsing": "应为整数。",
    "int_from_float": "应为整数。",
    "bool_type": "应为布尔值（true/false）。",
    "bool_parsing": "应为布尔值（true/false）。",
    "date_type": "应为日期（YYYY-MM-DD）。",
    "date_parsing": "应为日期（YYYY-MM-DD）。",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）。",
    "date_from_datetime_inexact": "应为日期（YYYY-MM-DD）。",
    "datetime_type": "应为带时区的日期时间（ISO 8601）。",
    "datetime_parsing": "应为带时区的日期时间（ISO 8601）。",
    "datetime_from_date_parsing": "应为带时区的日期时间（ISO 8601）。",
    "enum": "取值无效，应为：{expected}。",
    "literal_error": "取值无效，应为：{expected}。",
    "greater_than": "应大于{gt}。",
    "greater_than_equal": "不能小于{ge}。",
    "less_than": "应小于{lt}。",
    "less_than_equal": "不能大于{le}。",
    "list_type": "应为数组。",
    "dict_type": "应为对象。",
    "model_type": "应为对象。",
    "model_attributes_type": "应为对象。",
    "json_invalid": "请求体不是有效的 JSON。",
    "uuid_parsing": "应为 UUID。",
    "uuid_type": "应为 UUID。",
    "too_short": "元素数量不能少于{min_length}个。",
    "too_long": "元素数量不能超过{max_length}个。",
}


def _pydantic_item(err: Mapping[str, Any]) -> dict[str, Any]:
    loc = [str(part) for part in err.get("loc", ())]
    # ninja prefixes the parameter source ("body", "query", "path"); request bodies also carry the parameter name.
    if loc and loc[0] in ("body", "query", "path", "header", "cookie", "form", "file"):
        source, loc = loc[0], loc[1:]
        if source == "body":
            loc = loc[1:]  # the handler's parameter name; an error on the body as a whole has no field
    field = ".".join(loc) or None
    rule = str(err.get("type", "invalid"))
    message_en = str(err.get("msg", "Invalid input"))
    ctx = err.get("ctx") or {}
    template = ctx.get("message_zh") or _PYDANTIC_ZH.get(rule)
    if template is None:
        message = f"输入无效：{message_en}"
    else:
        try:
            message = template.format(**ctx)
        except (KeyError, IndexError, ValueError):
            message = template.split("{")[0].rstrip("：，") + "。"
    return error_item(field, rule, message, message_en)


def _localise(message: Any, params: Mapping[str, Any] | None, language: str) -> str:
    """A Django ValidationError message rendered in one language (message ids are our zh-hans source strings)."""
    with translation.override(language):
        text = str(message) if isinstance(message, Promise) else translation.gettext(str(message))
        if params:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                text = text % {k: str(v) if isinstance(v, Promise) else v for k, v in params.items()}
    return text


def django_validation_items(exc: DjangoValidationError) -> list[dict[str, Any]]:
    pairs: list[tuple[str | None, DjangoValidationError]] = []
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            field = None if name == NON_FIELD_ERRORS else name
            pairs.extend((field, e) for e in errors)
    else:
        pairs.extend((None, e) for e in exc.error_list)
    return [
        error_item(
            field, e.code or "invalid", _localise(e.message, e.params, "zh-hans"), _localise(e.message, e.params, "en")
        )
        for field, e in pairs
    ]


_CONFLICT_CODES = frozenset({"unique", "unique_together", "unique_for_date"})


def install_error_handlers(api: NinjaAPI) -> None:
    """Route every exception a handler can raise into the one error shape."""

    @api.exception_handler(ApiError)
    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        response = error_response(api, request, exc.status, exc.errors)
        for name, value in exc.headers.items():
            response[name] = value
        return response

    @api.exception_handler(NinjaValidationError)
    def on_schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        return error_response(api, request, 422, [_pydantic_item(e) for e in exc.errors])

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        rule, zh, en = _HTTP_RULES.get(exc.status_code, ("error", "请求失败。", str(exc)))
        return error_response(api, request, exc.status_code, [error_item(None, rule, zh, en)])

    @api.exception_handler(Http404)
    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        what = str(exc.args[0]) if exc.args and exc.args[0] else ""
        zh = f"{what}不存在或无权访问。" if what else _HTTP_RULES[404][1]
        return error_response(api, request, 404, [error_item(None, "not_found", zh, _HTTP_RULES[404][2])])

    @api.exception_handler(DjangoValidationError)
    def on_django_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        items = django_validation_items(exc)
        status = 409 if items and all(i["rule"] in _CONFLICT_CODES for i in items) else 400
        return error_response(api, request, status, items)

    @api.exception_handler(PermissionDenied)
    def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        _, zh, en = _HTTP_RULES[403]
        return error_response(api, request, 403, [error_item(None, "forbidden", str(exc) or zh, en)])

    @api.exception_handler(IntegrityError)
    def on_integrity(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
        logger.warning("integrity error answered 409: %s", exc)
        _, zh, en = _HTTP_RULES[409]
        return error_response(api, request, 409, [error_item(None, "conflict", zh, en)])

    @api.exception_handler(Exception)
    def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        if settings.DEBUG:
            raise exc
        logger.exception("unhandled API error", exc_info=exc)
        return error_response(
            api,
            request,
            500,
            [
                error_item(
                    None, "server_error", "服务器内部错误，请稍后重试。", "Internal server error; try again later."
                )
            ],
        )


# ---------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------


def _authenticate_key(request: HttpRequest, secret: str) -> User:
    key = api_key_authenticate(secret.strip())
    if key is None:
        raise ApiError(
            401, "invalid_api_key", "API 密钥无效、已吊销或已过期。", "The API key is unknown, revoked or expired."
        )
    principal = api_key_principal(key)
    request.auth_user = principal  # type: ignore[attr-defined]
    request.api_key = key  # type: ignore[attr-defined]
    # Reset by `request_context` when the request ends; audit events written meanwhile record the key.
    api_key_id_var.set(str(key.pk))
    decision = ratelimit.hit(str(key.pk), key.rate_limit_per_minute)
    if not decision.allowed:
        raise ApiError(
            429,
            "throttled",
            f"请求过于频繁：此密钥每分钟最多 {decision.limit} 次，请 {decision.retry_after} 秒后再试。",
            f"Too many requests: this key allows {decision.limit} per minute; retry in {decision.retry_after} s.",
            headers={"Retry-After": str(decision.retry_after)},
        )
    return principal


class ApiKeyBearer(HttpBearer):
    """`Authorization: Bearer ipk_…`"""

    def authenticate(self, request: HttpRequest, token: str) -> User:
        return _authenticate_key(request, token)


class ApiKeyHeader(APIKeyHeader):
    """`X-API-Key: ipk_…`"""

    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        if not key:
            return None
        return _authenticate_key(request, key)


class SessionAuth(APIKeyCookie):
    """Django's session cookie. CSRF is checked only once we know a session user is there, so an anonymous
    request answers 401 (not a CSRF 403) and a logged-in browser must send X-CSRFToken on unsafe methods."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        from .security import session_is_otp_verified  # local: keeps this edit inside the session auth

        if not session_is_otp_verified(request, user):
            raise ApiError(
                401,
                "otp_required",
                "该会话尚未完成双因素认证：请先在浏览器中输入验证码。",
                "This session has not passed two-factor verification: enter the code in the browser first.",
            )
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request) is not None:
            raise ApiError(
                403,
                "csrf",
                "CSRF 校验失败：请在请求头 X-CSRFToken 中提供令牌。",
                "CSRF check failed: send the token in the X-CSRFToken header.",
            )
        request.auth_user = user  # type: ignore[attr-defined]
        return user  # type: ignore[no-any-return]


AUTH = [ApiKeyBearer(), ApiKeyHeader(), SessionAuth()]


def request_context(run: Callable[..., Any]) -> Callable[..., Any]:
    """Operation decorator (mode "view"): the API-key context variable never outlives the request."""

    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        token = api_key_id_var.set(None)
        try:
            return run(request, *args, **kwargs)
        finally:
            api_key_id_var.reset(token)

    return wrapper


def caller(request: HttpRequest) -> User:
    """The user the request acts as: the session user or the API key's principal."""
    return request.auth_user  # type: ignore[attr-defined,no-any-return]


def idempotency_key(request: HttpRequest, body_key: str) -> str:
    """The `Idempotency-Key` header, else the body's key; at most 64 characters."""
    key = (request.headers.get("Idempotency-Key") or body_key or "").strip()
    if len(key) > 64:
        raise ApiError(
            400,
            "max_length",
            "幂等键不能超过64个字符。",
            "The idempotency key exceeds 64 characters.",
            field="idempotency_key",
        )
    return key


def renamed_fields(exc: DjangoValidationError, fields: dict[str, str]) -> DjangoValidationError:
    """A service error on a model field (`loan`) named as the request body names it (`loan_id`)."""
    if not hasattr(exc, "error_dict"):
        return exc
    return DjangoValidationError({fields.get(name, name): errors for name, errors in exc.error_dict.items()})


def organisation_or_400(pk: int | None, field: str, label_zh: str, label_en: str) -> Any:
    """The organisation a request body names by id (None when it names none); an unknown id is a 400 on `field`."""
    from .models import Organisation

    if pk is None:
        return None
    org = Organisation.objects.filter(pk=pk).first()
    if org is None:
        raise ApiError(400, "not_found", f"{label_zh}不存在。", f"{label_en} does not exist.", field=field)
    return org


def region_or_400(code: str | None, field: str) -> Any:
    """The administrative region a request names by its 6-digit code (None when it names none); an unknown code is a
    400 on `field`."""
    from .models import Region

    if code is None:
        return None
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise ApiError(
            400, "not_found", f"地区代码 {code} 不存在。", f"Region code {code} does not exist.", field=field
        )
    return region


def forbidden(zh: str, en: str) -> ApiError:
    return ApiError(403, "forbidden", zh, en)


# ---------------------------------------------------------------------------
# Pagination
# ---------------------------------------------------------------------------


class PageQuery(PaginationBase.Input):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class Page(PaginationBase.Output):
    items: list[Any]
    count: int = Field(..., description="Number of items on all pages.")
    page: int
    page_size: int
    pages: int = Field(..., description="Number of pages (0 when there are no items).")


class Paginated(PaginationBase):
    """Page-number pagination: `?page=1&page_size=50` (at most 500); answers items with count, page and pages."""

    Input = PageQuery  # type: ignore[assignment]  # ninja declares these as nested classes
    Output = Page  # type: ignore[assignment]

    def paginate_queryset(self, queryset: Any, pagination: Any, request: HttpRequest, **params: Any) -> Any:
        if isinstance(queryset, models.QuerySet):
            ordering = list(queryset.query.order_by or queryset.model._meta.ordering or [])
            if "pk" not in ordering and "-pk" not in ordering:
                queryset = queryset.order_by(*ordering, "pk")  # a stable order, so pages never overlap
        size = pagination.page_size
        count = self._items_count(queryset)
        offset = (pagination.page - 1) * size
        return {
            "items": queryset[offset : offset + size],
            "count": count,
            "page": pagination.page,
            "page_size": size,
            "pages": math.ceil(count / size),
        }


# ---------------------------------------------------------------------------
# Scope helpers for handlers
# ---------------------------------------------------------------------------

ACTION_ZH = {
    Action.VIEW: "查看",
    Action.ADD: "新建",
    Action.CHANGE: "修改",
    Action.DELETE: "删除",
    Action.APPROVE: "审批",
}
MODEL_EN = {
    "park": "park",
    "enterprise": "enterprise",
    "ipright": "IP right",
    "organisation": "organisation",
    "apikey": "API key",
    "apicall": "API call",
    "auditevent": "audit event",
    "region": "region",
    "user": "user",
}


def may(user: Any, model: type[models.Model], action: str) -> bool:
    """Can this user do `action` on *some* object of this model (role allows it and the model grants a scope)?"""
    scope = scope_for(user)
    if scope is None or not scope.may(action):
        return False
    return scope.is_platform or model.scope_q(scope, str(action)) is not None  # type: ignore[attr-defined]


def require(user: Any, model: type[models.Model], action: str) -> None:
    """403 unless the caller's role and organisation allow this kind of action on this model at all."""
    if may(user, model, action):
        return
    name_zh = str(model._meta.verbose_name)
    name_en = MODEL_EN.get(model._meta.model_name or "", model._meta.model_name or "object")
    raise ApiError(
        403,
        "forbidden",
        f"您的角色或机构无权{ACTION_ZH.get(Action(action), action)}{name_zh}。",
        f"Your role or organisation may not {action} {name_en} records.",
    )


def resolve(model: type[M], *, user: Any, action: str, field: str, label_en: str | None = None, **lookup: Any) -> M:
    """A referenced object from a request body, looked up within the caller's scope; else 400 `not_found`."""
    obj = model.objects.restrict(user, action).filter(**lookup).first()  # type: ignore[attr-defined]
    if obj is None:
        name_en = label_en or MODEL_EN.get(model._meta.model_name or "", "object")
        raise not_found_ref(field, str(model._meta.verbose_name), name_en.capitalize())
    return obj  # type: ignore[no-any-return]


def ensure_in_scope(obj: models.Model, *, user: Any, actions: Iterable[str], field: str | None = None) -> None:
    """After a write: the object must still lie within the caller's scope, else raise (rolling the write back)."""
    model = type(obj)
    for action in actions:
        if not model.objects.restrict(user, action).filter(pk=obj.pk).exists():  # type: ignore[attr-defined]
            name_zh = str(model._meta.verbose_name)
            name_en = MODEL_EN.get(model._meta.model_name or "", "object")
            raise ApiError(
                403,
                "out_of_scope",
                f"该{name_zh}将超出您的权限范围，操作未执行。",
                f"The {name_en} would lie outside your scope; nothing was saved.",
                field=field,
            )
