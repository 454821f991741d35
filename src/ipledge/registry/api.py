"""Registry API: parks, enterprises and IP rights.

Reads start from the registry selectors (`restrict(user, "view")`); one object comes from `scoped_get`, so an
object of another organisation answers 404 exactly like a missing one. Writes check the role may create or change
this kind of object at all (else 403), resolve every reference in the body within the caller's scope (else 400
`not_found` naming the field), call the service, and check the result still lies within the caller's scope before
the transaction commits (else 403 `out_of_scope` and nothing is saved).
"""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest
from ninja import Path, Query, Router, Status
from ninja.pagination import paginate

from ipledge.core import privacy
from ipledge.core.apikit import (
    MAX_ID,
    ApiError,
    Paginated,
    caller,
    ensure_in_scope,
    error_item,
    error_responses,
    require,
    resolve,
)
from ipledge.core.choices import OrganisationKind
from ipledge.core.identifiers import VALIDATORS
from ipledge.core.models import Organisation, Region
from ipledge.core.money import Money
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get

from . import licensing, selectors, services
from .choices import IPKind
from .models import Enterprise, IPRight, IPRightOwner, LicenceContract, Park, ParkMembership
from .schemas import (
    EnterpriseFilter,
    EnterpriseIn,
    EnterpriseOut,
    EnterprisePatch,
    IPRightFilter,
    IPRightIn,
    IPRightOut,
    IPRightPatch,
    LicenceIn,
    LicenceOut,
    ParkFilter,
    ParkIn,
    ParkOut,
    ParkPatch,
)

router = Router(tags=["registry"])

WRITE_ERRORS = error_responses(400, 403, 404, 409)


def _check_identifier(kind: str, value: str, field: str) -> str:
    """Canonical form of an identifier, or 400 naming the field and the broken rule (in Chinese and English)."""
    result = VALIDATORS[kind](value)
    if not result.valid:
        raise ApiError(400, result.rule or "invalid", result.message_zh or "号码无效。", result.message, field=field)
    assert result.canonical is not None
    return result.canonical


def _refuse_nulls(data: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
    """A PATCH may leave a required field out, but not set it to null."""
    nulls = [name for name in required if name in data and data[name] is None]
    if nulls:
        raise ApiError(
            400,
            "null",
            "",
            errors=[error_item(name, "null", "此字段不能为空。", "This field cannot be null.") for name in nulls],
        )
    return data


def _blank(value: str | None) -> str:
    return value or ""


def _region_prefix(code: str) -> str:
    """Significant leading digits of a region code: 110000 → 11, 110100 → 1101, 110108 → 110108."""
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


# ---------------------------------------------------------------------------
# Parks
# ---------------------------------------------------------------------------


def _park_data(user: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Turn a park payload into service arguments, resolving references within the caller's scope."""
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name == "region_code":
            out["region"] = resolve(Region, user=user, action=Action.VIEW, field="region_code", code=value)
        elif name == "administering_org_id":
            # Assigning a park to an administration: one the caller can see, and of the right kind.
            out["administering_org"] = (
                None
                if value is None
                else resolve(
                    Organisation,
                    user=user,
                    action=Action.VIEW,
                    field="administering_org_id",
                    label_en="park administration",
                    pk=value,
                    kind=OrganisationKind.PARK_ADMIN,
                )
            )
        elif name == "nbs_code":
            out[name] = _blank(value)
        else:
            out[name] = value
    return out


def _park(user: Any, pk: int) -> Park:
    return selectors.park_list(user=user).get(pk=pk)


@router.get("/parks", response={200: list[ParkOut], **error_responses(403)}, summary="Parks")
@paginate(Paginated)
def park_list(request: HttpRequest, filters: Query[ParkFilter]) -> QuerySet[Park]:
    user = caller(request)
    require(user, Park, Action.VIEW)
    qs = selectors.park_list(user=user)
    if filters.q:
        qs = qs.filter(name__icontains=filters.q)
    if filters.level:
        qs = qs.filter(level=filters.level)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.region:
        qs = qs.filter(region__code__startswith=_region_prefix(filters.region))
    return qs


@router.get("/parks/{park_id}", response={200: ParkOut, **error_responses(403, 404)}, summary="One park")
def park_detail(request: HttpRequest, park_id: int = Path(..., ge=1, le=MAX_ID)) -> Park:
    user = caller(request)
    require(user, Park, Action.VIEW)
    return scoped_get(Park, user=user, pk=park_id)


@router.post("/parks", response={201: ParkOut, **WRITE_ERRORS}, summary="Create a park (IP offices)")
def park_create(request: HttpRequest, payload: ParkIn) -> Status[Park]:
    user = caller(request)
    require(user, Park, Action.ADD)
    with transaction.atomic():
        park = services.park_create(acting_user=user, **_park_data(user, payload.dict()))
        ensure_in_scope(park, user=user, actions=(Action.ADD, Action.VIEW), field="region_code")
    return Status(201, _park(user, park.pk))


@router.patch("/parks/{park_id}", response={200: ParkOut, **WRITE_ERRORS}, summary="Change a park")
def park_update(request: HttpRequest, payload: ParkPatch, park_id: int = Path(..., ge=1, le=MAX_ID)) -> Park:
    user = caller(request)
    require(user, Park, Action.CHANGE)
    with transaction.atomic():
        park = scoped_get(Park, user=user, pk=park_id, action=Action.CHANGE)
        services.park_update(
            park=park,
            data=_park_data(
                user,
                _refuse_nulls(
                    payload.dict(exclude_unset=True), ("name", "level", "kind", "region_code", "is_key_park")
                ),
            ),
            acting_user=user,
        )
        ensure_in_scope(park, user=user, actions=(Action.CHANGE,))
    return _park(user, park.pk)


# ---------------------------------------------------------------------------
# Enterprises
# ---------------------------------------------------------------------------


def _enterprise_data(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name in ("revenue", "total_assets"):
            out[name] = None if value is None else Money(Decimal(value))
        elif name == "industry_division":
            out[name] = _blank(value)
        else:
            out[name] = value
    return out


_PERSONAL_INPUT = ("legal_representative", "legal_representative_id_number", "contact_phone")


def _check_personal_change(user: Any, enterprise: Enterprise, data: dict[str, Any]) -> None:
    """Personal data is changed only by those who see it in full (core.privacy); others may change the rest."""
    touched = [name for name in privacy.PERSONAL_FIELDS if name in data]
    if touched and not privacy.sees_personal_data(user, enterprise):
        raise ApiError(
            403,
            "personal_data",
            "",
            errors=[
                error_item(
                    name,
                    "personal_data",
                    "您无权修改该企业的个人信息（法定代表人证件号码、联系电话）。",
                    "You may not change this enterprise's personal data (ID number, phone).",
                )
                for name in touched
            ],
        )


def _enterprises(user: Any) -> QuerySet[Enterprise]:
    memberships = ParkMembership.objects.select_related("park").order_by("-joined_on", "pk")
    return selectors.enterprise_list(user=user).prefetch_related(Prefetch("memberships", queryset=memberships))


@router.get("/enterprises", response={200: list[EnterpriseOut], **error_responses(403)}, summary="Enterprises")
@paginate(Paginated)
def enterprise_list(request: HttpRequest, filters: Query[EnterpriseFilter]) -> QuerySet[Enterprise]:
    user = caller(request)
    require(user, Enterprise, Action.VIEW)
    qs = _enterprises(user)
    if filters.q:
        qs = qs.filter(Q(name__icontains=filters.q) | Q(uscc__icontains=filters.q))
    if filters.park is not None:
        qs = qs.filter(pk__in=ParkMembership.objects.filter(park_id=filters.park).values("enterprise_id"))
    if filters.size_class:
        qs = qs.filter(size_class=filters.size_class)
    if filters.industry_section:
        qs = qs.filter(industry_section=filters.industry_section)
    return qs


@router.get(
    "/enterprises/{enterprise_id}", response={200: EnterpriseOut, **error_responses(403, 404)}, summary="One enterprise"
)
def enterprise_detail(request: HttpRequest, enterprise_id: int = Path(..., ge=1, le=MAX_ID)) -> Enterprise:
    user = caller(request)
    require(user, Enterprise, Action.VIEW)
    enterprise = scoped_get(Enterprise, user=user, pk=enterprise_id)
    return _enterprises(user).get(pk=enterprise.pk)


@router.post(
    "/enterprises",
    response={201: EnterpriseOut, **WRITE_ERRORS},
    summary="Register an enterprise, optionally enrolling it in a park",
)
def enterprise_create(request: HttpRequest, payload: EnterpriseIn) -> Status[Enterprise]:
    user = caller(request)
    require(user, Enterprise, Action.ADD)
    data = payload.dict()
    uscc = _check_identifier("uscc", data.pop("uscc"), "uscc")
    park_id, joined_on = data.pop("park_id"), data.pop("joined_on")
    if joined_on is not None and park_id is None:
        raise ApiError(
            400, "requires_park", "填写入园日期时须同时指定园区。", "joined_on needs park_id.", field="joined_on"
        )
    with transaction.atomic():
        park = None if park_id is None else resolve(Park, user=user, action=Action.CHANGE, field="park_id", pk=park_id)
        enterprise = services.enterprise_create(
            uscc=uscc, acting_user=user, park=park, joined_on=joined_on, **_enterprise_data(data)
        )
        ensure_in_scope(enterprise, user=user, actions=(Action.ADD, Action.VIEW), field="park_id")
    return Status(201, _enterprises(user).get(pk=enterprise.pk))


@router.patch(
    "/enterprises/{enterprise_id}", response={200: EnterpriseOut, **WRITE_ERRORS}, summary="Change an enterprise"
)
def enterprise_update(
    request: HttpRequest, payload: EnterprisePatch, enterprise_id: int = Path(..., ge=1, le=MAX_ID)
) -> Enterprise:
    user = caller(request)
    require(user, Enterprise, Action.CHANGE)
    with transaction.atomic():
        enterprise = scoped_get(Enterprise, user=user, pk=enterprise_id, action=Action.CHANGE)
        data = _refuse_nulls(
            payload.dict(exclude_unset=True),
            ("name", "industry_section", "is_high_tech", "is_specialised", *_PERSONAL_INPUT),
        )
        _check_personal_change(user, enterprise, data)
        services.enterprise_update(enterprise=enterprise, data=_enterprise_data(data), acting_user=user)
        ensure_in_scope(enterprise, user=user, actions=(Action.CHANGE,))
    return _enterprises(user).get(pk=enterprise.pk)


# ---------------------------------------------------------------------------
# IP rights
# ---------------------------------------------------------------------------


def _ip_right_data(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name in ("main_ipc", "work_kind"):
            out[name] = _blank(value)
        elif name == "nice_classes":
            out[name] = sorted(set(value or []))
        else:
            out[name] = value
    return out


def _ip_right(user: Any, pk: int) -> IPRight:
    return selectors.ip_right_list(user=user).get(pk=pk)


@router.get("/ip-rights", response={200: list[IPRightOut], **error_responses(403)}, summary="IP rights")
@paginate(Paginated)
def ip_right_list(request: HttpRequest, filters: Query[IPRightFilter]) -> QuerySet[IPRight]:
    user = caller(request)
    require(user, IPRight, Action.VIEW)
    qs = selectors.ip_right_list(user=user)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.legal_status:
        qs = qs.filter(legal_status=filters.legal_status)
    if filters.q:
        qs = qs.filter(Q(number__icontains=filters.q) | Q(title__icontains=filters.q))
    if filters.owner is not None:
        qs = qs.filter(pk__in=IPRightOwner.objects.filter(enterprise_id=filters.owner).values("right_id"))
    return qs


@router.get("/ip-rights/{right_id}", response={200: IPRightOut, **error_responses(403, 404)}, summary="One IP right")
def ip_right_detail(request: HttpRequest, right_id: int = Path(..., ge=1, le=MAX_ID)) -> IPRight:
    user = caller(request)
    require(user, IPRight, Action.VIEW)
    right = scoped_get(IPRight, user=user, pk=right_id)
    return _ip_right(user, right.pk)


@router.post("/ip-rights", response={201: IPRightOut, **WRITE_ERRORS}, summary="Register an IP right with its owners")
def ip_right_create(request: HttpRequest, payload: IPRightIn) -> Status[IPRight]:
    user = caller(request)
    require(user, IPRight, Action.ADD)
    number = _check_identifier(services.IP_NUMBER_VALIDATOR[payload.kind], payload.number, "number")
    fields = _ip_right_data(payload.dict(exclude={"kind", "number", "title", "owners"}, exclude_none=True))
    with transaction.atomic():
        owners: list[dict[str, Any]] = []
        for i, owner in enumerate(payload.owners):
            share = Decimal(owner.share)
            if owner.enterprise_id is not None:
                enterprise = resolve(
                    Enterprise,
                    user=user,
                    action=Action.CHANGE,
                    field=f"owners.{i}.enterprise_id",
                    pk=owner.enterprise_id,
                )
                owners.append({"enterprise": enterprise, "share": share})
            else:
                owners.append({"holder_name": owner.holder_name, "share": share})
        right = services.ip_right_create(
            kind=payload.kind, number=number, title=payload.title, owners=owners, acting_user=user, **fields
        )
        ensure_in_scope(right, user=user, actions=(Action.ADD, Action.VIEW), field="owners")
    return Status(201, _ip_right(user, right.pk))


@router.patch("/ip-rights/{right_id}", response={200: IPRightOut, **WRITE_ERRORS}, summary="Change an IP right")
def ip_right_update(request: HttpRequest, payload: IPRightPatch, right_id: int = Path(..., ge=1, le=MAX_ID)) -> IPRight:
    user = caller(request)
    require(user, IPRight, Action.CHANGE)
    data = _ip_right_data(
        _refuse_nulls(payload.dict(exclude_unset=True), ("number", "title", "legal_status", "renewal_count"))
    )
    with transaction.atomic():
        right = scoped_get(IPRight, user=user, pk=right_id, action=Action.CHANGE)
        if "number" in data:
            data["number"] = _check_identifier(
                services.IP_NUMBER_VALIDATOR[IPKind(right.kind)], data["number"], "number"
            )
        services.ip_right_update(right=right, data=data, acting_user=user)
        ensure_in_scope(right, user=user, actions=(Action.CHANGE,))
    return _ip_right(user, right.pk)


# ---------------------------------------------------------------------------
# Licence contracts (许可合同备案)
# ---------------------------------------------------------------------------


@router.get(
    "/ip-rights/{right_id}/licences",
    response={200: list[LicenceOut], **error_responses(403, 404)},
    summary="Recorded licence contracts of one IP right",
)
@paginate(Paginated)
def licence_list(request: HttpRequest, right_id: int = Path(..., ge=1, le=MAX_ID)) -> QuerySet[LicenceContract]:
    user = caller(request)
    require(user, LicenceContract, Action.VIEW)
    right = scoped_get(IPRight, user=user, pk=right_id)
    return licensing.licence_list(user=user, right=right)


@router.post(
    "/ip-rights/{right_id}/licences",
    response={201: LicenceOut, **WRITE_ERRORS},
    summary="Record a licence contract; refused while the right is pledged unless the pledgee consented",
)
def licence_create(
    request: HttpRequest, payload: LicenceIn, right_id: int = Path(..., ge=1, le=MAX_ID)
) -> Status[LicenceContract]:
    user = caller(request)
    require(user, LicenceContract, Action.ADD)
    data = payload.dict()
    licensee_id = data.pop("licensee_id")
    with transaction.atomic():
        right = scoped_get(IPRight, user=user, pk=right_id, action=Action.CHANGE)
        licensee = (
            None
            if licensee_id is None
            else resolve(Enterprise, user=user, action=Action.VIEW, field="licensee_id", pk=licensee_id)
        )
        licence = licensing.licence_record(right=right, licensee=licensee, acting_user=user, **data)
        ensure_in_scope(licence, user=user, actions=(Action.VIEW, Action.CHANGE))
    return Status(201, licensing.licence_list(user=user).get(pk=licence.pk))
