"""Service requests at a park's one-stop service centre (一站式服务中心, S2).

Rules decided here:
- An enterprise user submits for its own enterprise, which must be a current member of the park (a `ParkMembership`
  with no `left_on`); otherwise the request is refused naming `park`. Kind one of `ServiceRequestKind`, a subject.
- The reference is `FW<year><6 digits>`.
- The park's administration (`ServiceRequest.scope_q` change) works the queue: accept (submitted → accepted),
  complete (submitted/accepted → completed, with an optional response) or reject (submitted/accepted → rejected,
  response required).
- Every write locks the row, checks `expected_version` (code "stale"), bumps the version and is audited in the same
  transaction.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from ipledge.core.audit import insert_validated, record_event, snapshot
from ipledge.core.context import business_date, business_now
from ipledge.core.models import User
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.models import Park, ParkMembership

from ..choices import ServiceRequestKind, ServiceRequestStatus
from ..models import ServiceRequest
from .consultations import asker_enterprise

REFERENCE_PREFIX = "FW"
REFERENCE_ATTEMPTS = 50
MAX_SUBJECT = 200
MAX_DETAIL = 4000
MAX_RESPONSE = 4000


def _error(field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params)})


def _actor(user: User | None) -> User | None:
    return user if user is not None and user.pk else None


def next_reference(year: int) -> str:
    """The next free reference of the year: FW2026000123."""
    prefix = f"{REFERENCE_PREFIX}{year}"
    last = (
        ServiceRequest.objects.filter(reference__startswith=prefix, reference__regex=rf"^{prefix}[0-9]{{6}}$")
        .order_by("-reference")
        .values_list("reference", flat=True)
        .first()
    )
    serial = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{serial:06d}"


def _insert_with_reference(request: ServiceRequest, year: int) -> ServiceRequest:
    for _attempt in range(REFERENCE_ATTEMPTS):
        request.reference = next_reference(year)
        try:
            with transaction.atomic():
                insert_validated(request)
        except ValidationError as exc:
            if "reference" not in getattr(exc, "error_dict", {}):
                raise
        except IntegrityError:
            if not ServiceRequest.objects.filter(reference=request.reference).exists():
                raise
        else:
            return request
        request.pk = None
        request._state.adding = True
    raise _error("reference", _("受理编号生成冲突，请重试。"), "reference_conflict")


def is_current_member(*, park: Park, enterprise_id: int) -> bool:
    return ParkMembership.objects.filter(park=park, enterprise_id=enterprise_id, left_on__isnull=True).exists()


@transaction.atomic
def service_request_create(
    *,
    actor: User,
    park: Park,
    kind: str,
    subject: str,
    detail: str = "",
    today: datetime.date | None = None,
) -> ServiceRequest:
    """An enterprise asks its park's service centre for something."""
    scope = scope_for(actor)
    if scope is None or not scope.may(Action.ADD) or ServiceRequest.scope_q(scope, Action.ADD) is None:
        raise PermissionDenied(_("只有企业用户可以提交园区服务事项。"))
    enterprise = asker_enterprise(actor)
    if enterprise is None or enterprise.organisation is None:
        raise _error("enterprise", _("您的账户未关联企业，不能提交服务事项。"), "no_enterprise")
    if not is_current_member(park=park, enterprise_id=enterprise.pk):
        raise _error("park", _("贵企业不是该园区的在园企业，不能向其提交服务事项。"), "not_member")
    if kind not in ServiceRequestKind.values:
        raise _error("kind", _("请选择有效的事项类型。"), "invalid_choice")
    subject = (subject or "").strip()
    if not subject:
        raise _error("subject", _("请填写标题。"), "required")
    if len(subject) > MAX_SUBJECT:
        raise _error("subject", _("标题不能超过 %(max)s 字。"), "max_length", {"max": MAX_SUBJECT})
    detail = (detail or "").strip()
    if len(detail) > MAX_DETAIL:
        raise _error("detail", _("说明不能超过 %(max)s 字。"), "max_length", {"max": MAX_DETAIL})
    request = ServiceRequest(
        park=park,
        enterprise=enterprise,
        enterprise_org=enterprise.organisation,
        region_code=park.region.code if park.region_id else enterprise.region_code,
        kind=kind,
        subject=subject,
        detail=detail,
        created_by=_actor(actor),
    )
    _insert_with_reference(request, (today or business_date()).year)
    record_event(acting_user=actor, action="service_request.create", instance=request, new=snapshot(request))
    return request


def _locked(request: ServiceRequest, actor: User) -> ServiceRequest:
    locked = (
        ServiceRequest.objects.restrict(actor, Action.CHANGE)
        .select_for_update(of=("self",))
        .filter(pk=request.pk)
        .first()
    )
    if locked is None:
        raise PermissionDenied(_("只有该园区的管理机构可以办理园区服务事项。"))
    return locked


def _transition(
    request: ServiceRequest,
    *,
    actor: User,
    expected_version: int | None,
    allowed: tuple[str, ...],
    to_status: str,
    action: str,
    changes: dict[str, Any],
) -> ServiceRequest:
    request = _locked(request, actor)
    if expected_version is not None and expected_version != request.version:
        raise _error(
            "version",
            _("该事项已被他人修改（当前版本 %(current)s），请刷新后重试。"),
            "stale",
            {"current": request.version},
        )
    if request.status not in allowed:
        raise _error(
            "status",
            _("事项当前状态为“%(status)s”，不能执行此操作。"),
            "invalid_status",
            {"status": request.get_status_display()},
        )
    changes = {**changes, "status": to_status, "handled_by": _actor(actor)}
    old = {k: getattr(request, k) for k in changes} | {"version": request.version}
    updated = ServiceRequest.objects.filter(pk=request.pk, version=request.version).update(
        **changes, version=request.version + 1, updated_at=business_now()
    )
    if updated != 1:
        raise _error("version", _("该事项已被他人修改，请刷新后重试。"), "stale", {"current": request.version})
    request.refresh_from_db()
    new = {k: getattr(request, k) for k in changes} | {"version": request.version}
    record_event(acting_user=actor, action=f"service_request.{action}", instance=request, old=old, new=new)
    return request


def _response(response: str, *, required: bool) -> str:
    response = (response or "").strip()
    if required and not response:
        raise _error("response", _("请填写办理意见（不予受理须说明理由）。"), "required")
    if len(response) > MAX_RESPONSE:
        raise _error("response", _("办理意见不能超过 %(max)s 字。"), "max_length", {"max": MAX_RESPONSE})
    return response


@transaction.atomic
def service_request_accept(
    *, actor: User, request: ServiceRequest, expected_version: int | None = None
) -> ServiceRequest:
    """受理: the park's staff take the request up."""
    return _transition(
        request,
        actor=actor,
        expected_version=expected_version,
        allowed=(ServiceRequestStatus.SUBMITTED,),
        to_status=ServiceRequestStatus.ACCEPTED,
        action="accept",
        changes={"accepted_at": business_now()},
    )


@transaction.atomic
def service_request_complete(
    *, actor: User, request: ServiceRequest, response: str = "", expected_version: int | None = None
) -> ServiceRequest:
    """办结: done, with what was done."""
    now = business_now()
    changes: dict[str, Any] = {"response": _response(response, required=False), "closed_at": now}
    if request.accepted_at is None:
        changes["accepted_at"] = now
    return _transition(
        request,
        actor=actor,
        expected_version=expected_version,
        allowed=(ServiceRequestStatus.SUBMITTED, ServiceRequestStatus.ACCEPTED),
        to_status=ServiceRequestStatus.COMPLETED,
        action="complete",
        changes=changes,
    )


@transaction.atomic
def service_request_reject(
    *, actor: User, request: ServiceRequest, response: str, expected_version: int | None = None
) -> ServiceRequest:
    """不予受理: refused, with the reasons."""
    return _transition(
        request,
        actor=actor,
        expected_version=expected_version,
        allowed=(ServiceRequestStatus.SUBMITTED, ServiceRequestStatus.ACCEPTED),
        to_status=ServiceRequestStatus.REJECTED,
        action="reject",
        changes={"response": _response(response, required=True), "closed_at": business_now()},
    )
