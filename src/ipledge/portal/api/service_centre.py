"""One-stop park service centre API (一站式服务中心, S2): the centre's summary for a park and the service requests.

The summary answers 404 to anyone who may not open the park's centre (members, the park's administration and the
government of its region may). A member enterprise submits a request (400 `not_member` on `park_id` otherwise); the
park's administration accepts, completes or rejects it (`response` required to reject; `stale` on an old version).
Schema names carry the prefix `ServiceReq…` / `ServiceCentre…`.
"""

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.pagination import paginate

from ipledge.core.apikit import MAX_ID, ApiError, Paginated, caller, error_responses, require
from ipledge.core.context import business_date
from ipledge.core.schemas import InputSchema
from ipledge.core.scoping import Action
from ipledge.registry.models import Park

from .. import selectors_service_centre as selectors
from ..models import ServiceRequest
from ..services import service_requests as services

router = Router(tags=["portal"])

WRITE_ERRORS = error_responses(400, 403, 404)
READ_ERRORS = error_responses(403, 404)
ParkId = Path(..., ge=1, le=MAX_ID)
RequestId = Path(..., ge=1, le=MAX_ID)


class ServiceReqOut(Schema):
    id: int
    reference: str
    park_id: int
    park_name: str
    enterprise_id: int
    enterprise_name: str
    kind: str
    kind_label: str
    subject: str
    detail: str
    status: str
    status_label: str
    response: str
    accepted_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    created_at: datetime.datetime
    version: int

    @staticmethod
    def resolve_park_name(obj: ServiceRequest) -> str:
        return obj.park.name

    @staticmethod
    def resolve_enterprise_name(obj: ServiceRequest) -> str:
        return obj.enterprise.name

    @staticmethod
    def resolve_kind_label(obj: ServiceRequest) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_status_label(obj: ServiceRequest) -> str:
        return str(obj.get_status_display())


class ServiceReqFilter(Schema):
    status: str | None = Field(None, pattern=r"^(submitted|accepted|completed|rejected)$")
    kind: str | None = Field(None, pattern=r"^(valuation|financing|filing|policy|other)$")
    park: int | None = Field(None, ge=1, le=MAX_ID, description="Only this park's requests")


class ServiceReqCreateIn(InputSchema):
    park_id: int = Field(..., ge=1, le=MAX_ID)
    kind: str = Field(..., pattern=r"^(valuation|financing|filing|policy|other)$")
    subject: str = Field(..., max_length=200)
    detail: str = Field("", max_length=4000)


class ServiceReqActionIn(InputSchema):
    response: str = Field("", max_length=4000, description="办理意见; required to reject")
    version: int | None = Field(None, ge=1, description="The version you saw; an older one is refused as stale.")


class ServiceCentreItemOut(Schema):
    type: str
    id: int
    label: str
    status: str
    status_label: str


class ServiceCentreMatchOut(Schema):
    demand_id: int
    demand_reference: str
    product_id: int
    product_name: str
    bank_name: str
    score: Decimal
    annual_rate: Decimal | None


class ServiceCentrePolicyOut(Schema):
    id: int
    title: str
    kind: str
    issuing_body: str


class ServiceCentreEventOut(Schema):
    id: int
    title: str
    event_date: datetime.date
    place: str
    status: str


class ServiceCentreOut(Schema):
    park_id: int
    park_name: str
    role: str = Field(..., description="enterprise, park_admin or government")
    enterprise_id: int | None
    matches: list[ServiceCentreMatchOut]
    status: list[ServiceCentreItemOut]
    policies: list[ServiceCentrePolicyOut]
    events: list[ServiceCentreEventOut]
    counts: dict[str, int] | None


def _status_items(status: dict[str, list[Any]]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    labels = {
        "valuations": ("valuation", lambda o: str(o)),
        "demands": ("demand", lambda o: o.reference),
        "filings": ("filing", lambda o: f"#{o.pk} {o.pledgee.name}"),
        "loans": ("loan", lambda o: o.reference),
        "service_requests": ("service_request", lambda o: f"{o.reference} {o.subject}"),
    }
    for key, (kind, label) in labels.items():
        items.extend(
            {
                "type": kind,
                "id": obj.pk,
                "label": label(obj),
                "status": str(obj.status),
                "status_label": str(obj.get_status_display()),
            }
            for obj in status.get(key, [])
        )
    return items


@router.get(
    "/portal/parks/{park_id}/service-centre",
    response={200: ServiceCentreOut, **READ_ERRORS},
    summary="A park's one-stop service centre (一站式服务中心): matches, status, policies, events, counts",
)
def service_centre(request: HttpRequest, park_id: int = ParkId) -> dict[str, Any]:
    user = caller(request)
    try:
        park, role = selectors.park_for_centre(user=user, pk=park_id)
    except Park.DoesNotExist as exc:
        raise Http404(Park._meta.verbose_name) from exc
    summary = selectors.centre_summary(user=user, park=park, role=role, today=business_date())
    enterprise = summary["enterprise"]
    return {
        "park_id": park.pk,
        "park_name": park.name,
        "role": role,
        "enterprise_id": enterprise.pk if enterprise is not None else None,
        "matches": [
            {
                "demand_id": m.demand_id,
                "demand_reference": m.demand.reference,
                "product_id": m.product_id,
                "product_name": m.product.name,
                "bank_name": m.product.bank.name,
                "score": m.score,
                "annual_rate": m.annual_rate,
            }
            for m in summary["matches"]
        ],
        "status": _status_items(summary["status"]),
        "policies": [
            {"id": p.pk, "title": p.title, "kind": p.kind, "issuing_body": p.issuing_body} for p in summary["policies"]
        ],
        "events": [
            {"id": e.pk, "title": e.title, "event_date": e.event_date, "place": e.place, "status": e.status}
            for e in summary["events"]
        ],
        "counts": summary["counts"],
    }


@router.get(
    "/portal/service-requests",
    response={200: list[ServiceReqOut], **error_responses(403)},
    summary="Service requests: an enterprise's own, a park administration's queue; filter by status, kind, park",
)
@paginate(Paginated)
def service_request_list(request: HttpRequest, filters: Query[ServiceReqFilter]) -> QuerySet[ServiceRequest]:
    user = caller(request)
    require(user, ServiceRequest, Action.VIEW)
    return selectors.service_request_list(user=user, filters=filters.model_dump())


@router.post(
    "/portal/service-requests",
    response={201: ServiceReqOut, **WRITE_ERRORS},
    summary="Submit a service request to a park the caller's enterprise is a current member of",
)
def service_request_create(request: HttpRequest, payload: ServiceReqCreateIn) -> Status[ServiceRequest]:
    user = caller(request)
    require(user, ServiceRequest, Action.ADD)
    park = Park.objects.select_related("region").filter(pk=payload.park_id).first()
    if park is None:
        raise ApiError(400, "not_found", "园区不存在。", "Park not found.", field="park_id")
    try:
        created = services.service_request_create(
            actor=user, park=park, kind=payload.kind, subject=payload.subject, detail=payload.detail
        )
    except PermissionDenied as exc:
        raise ApiError(403, "forbidden", str(exc), "Only enterprise users may submit service requests.") from exc
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "park" in exc.error_dict:
            exc.error_dict["park_id"] = exc.error_dict.pop("park")
        raise
    return Status(201, selectors.service_request_get(user=user, pk=created.pk))


def _request(user: Any, pk: int) -> ServiceRequest:
    require(user, ServiceRequest, Action.VIEW)
    try:
        return selectors.service_request_get(user=user, pk=pk)
    except ServiceRequest.DoesNotExist as exc:
        raise Http404(ServiceRequest._meta.verbose_name) from exc


def _act(request: HttpRequest, request_id: int, run: Any) -> ServiceRequest:
    user = caller(request)
    service_request = _request(user, request_id)
    require(user, ServiceRequest, Action.CHANGE)
    run(user, service_request)
    return _request(user, request_id)


@router.post(
    "/portal/service-requests/{request_id}/accept",
    response={200: ServiceReqOut, **WRITE_ERRORS},
    summary="Accept (受理) a submitted request (the park's administration)",
)
def service_request_accept(
    request: HttpRequest, payload: ServiceReqActionIn, request_id: int = RequestId
) -> ServiceRequest:
    return _act(
        request,
        request_id,
        lambda user, r: services.service_request_accept(actor=user, request=r, expected_version=payload.version),
    )


@router.post(
    "/portal/service-requests/{request_id}/complete",
    response={200: ServiceReqOut, **WRITE_ERRORS},
    summary="Complete (办结) a request with the response (the park's administration)",
)
def service_request_complete(
    request: HttpRequest, payload: ServiceReqActionIn, request_id: int = RequestId
) -> ServiceRequest:
    return _act(
        request,
        request_id,
        lambda user, r: services.service_request_complete(
            actor=user, request=r, response=payload.response, expected_version=payload.version
        ),
    )


@router.post(
    "/portal/service-requests/{request_id}/reject",
    response={200: ServiceReqOut, **WRITE_ERRORS},
    summary="Reject (不予受理) a request; the response (reasons) is required",
)
def service_request_reject(
    request: HttpRequest, payload: ServiceReqActionIn, request_id: int = RequestId
) -> ServiceRequest:
    return _act(
        request,
        request_id,
        lambda user, r: services.service_request_reject(
            actor=user, request=r, response=payload.response, expected_version=payload.version
        ),
    )
