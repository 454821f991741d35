"""Measures services (工作措施): the rows of the measures overview table (工作措施一览表) that IP offices and park
administrations keep about what their province, city or park did for IP pledge financing.

Who: an IP office (知识产权局) records measures of regions inside its jurisdiction; a park administration (园区管委会)
records measures of the parks it runs (the measure's region is then the park's). The filing organisation
(`owner_org`) and the offices above it in the region change or delete them. The platform and jobs (no user) may
do anything, naming the filing organisation themselves.

Every write validates the whole input first (each error names its field and rule) and audits in the same
transaction; an update locks the row so two editors cannot interleave.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ipledge.core.audit import audited_create, audited_update, record_event, snapshot
from ipledge.core.choices import OrganisationKind
from ipledge.core.models import Organisation, Region, User
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.models import Park

from ..choices import MeasureCategory, MeasureStatus
from ..models import MeasureEntry

MAX_TITLE = 200
MAX_BODY = 128
MAX_DOCUMENT_NO = 64
# Every field a caller may set; `region_code` follows `region` and `created_by`/`owner_org` are set by the service.
EDITABLE_FIELDS = (
    "region",
    "park",
    "category",
    "title",
    "issuing_body",
    "document_no",
    "started_on",
    "ended_on",
    "status",
    "description",
    "results",
    "is_public",
)
WRITER_KINDS = (OrganisationKind.IP_OFFICE, OrganisationKind.PARK_ADMIN)


def _error(field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params)})


def _merge(errors: list[ValidationError]) -> ValidationError:
    merged: dict[str, list[ValidationError]] = {}
    for exc in errors:
        for name, items in exc.error_dict.items():
            merged.setdefault(name, []).extend(items)
    return ValidationError(merged)


def may_write_measures(user: Any) -> bool:
    """Whether the user may record measures at all (an IP office or park administration with a writing role)."""
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return False
    return scope.is_platform or scope.kind in WRITER_KINDS


def _require_writer(user: User | None) -> None:
    if user is None:
        return
    if not may_write_measures(user):
        raise PermissionDenied("only an IP office or a park administration records measures")


def _text(values: dict[str, Any], name: str, label: Any, limit: int | None, required: bool) -> str:
    value = str(values.get(name) or "").strip()
    if required and not value:
        raise _error(name, _("请填写%(label)s。"), "required", {"label": label})
    if limit is not None and len(value) > limit:
        raise _error(name, _("%(label)s不能超过%(max)s个字符。"), "max_length", {"label": label, "max": limit})
    return value


def _check_reach(user: User | None, region: Region | None, park: Park | None) -> list[ValidationError]:
    """The region and park must lie where the user acts: an IP office's jurisdiction, a park admin's own parks."""
    scope = scope_for(user) if user is not None else None
    if scope is None or scope.is_platform:
        return []
    errors: list[ValidationError] = []
    if scope.kind == OrganisationKind.IP_OFFICE:
        prefix = scope.region_prefix
        if region is not None and (prefix is None or not region.code.startswith(prefix)):
            errors.append(_error("region", _("该地区不在本机关辖区内。"), "out_of_region"))
    elif scope.kind == OrganisationKind.PARK_ADMIN:
        if park is None:
            errors.append(_error("park", _("园区管委会填报的措施须指定本园区。"), "required"))
        elif park.administering_org is None or not park.administering_org.tree_path.startswith(scope.org_tree_path):
            errors.append(_error("park", _("只能填报本机构管理的园区的措施。"), "not_own_park"))
    return errors


def _clean(values: dict[str, Any], *, user: User | None) -> dict[str, Any]:
    """All fields checked together; one ValidationError naming every bad field."""
    errors: list[ValidationError] = []
    clean: dict[str, Any] = {}
    for name, label, limit, required in (
        ("title", _("措施名称"), MAX_TITLE, True),
        ("issuing_body", _("实施单位"), MAX_BODY, True),
        ("document_no", _("文号"), MAX_DOCUMENT_NO, False),
        ("description", _("主要内容"), None, True),
        ("results", _("取得成效"), None, False),
    ):
        try:
            clean[name] = _text(values, name, label, limit, required)
        except ValidationError as exc:
            errors.append(exc)
    category = values.get("category") or ""
    if category not in MeasureCategory.values:
        errors.append(_error("category", _("请选择有效的措施类别。"), "invalid_choice"))
    clean["category"] = category
    status = values.get("status") or MeasureStatus.ONGOING
    if status not in MeasureStatus.values:
        errors.append(_error("status", _("请选择有效的状态。"), "invalid_choice"))
    clean["status"] = status
    started_on = values.get("started_on")
    ended_on = values.get("ended_on")
    if not isinstance(started_on, datetime.date):
        errors.append(_error("started_on", _("请填写实施日期。"), "required"))
    if ended_on is not None and not isinstance(ended_on, datetime.date):
        errors.append(_error("ended_on", _("截止日期格式不正确。"), "invalid"))
    elif isinstance(started_on, datetime.date) and ended_on is not None and ended_on < started_on:
        errors.append(_error("ended_on", _("截止日期不能早于实施日期。"), "before_start"))
    if status == MeasureStatus.COMPLETED and ended_on is None:
        errors.append(_error("ended_on", _("已完成的措施须填写截止日期。"), "required_when_completed"))
    clean["started_on"] = started_on
    clean["ended_on"] = ended_on
    clean["is_public"] = bool(values.get("is_public"))
    park: Park | None = values.get("park")
    region: Region | None = values.get("region")
    if region is None and park is not None:
        region = park.region  # a park's measure sits in the park's region unless a wider one is named
    if region is None:
        errors.append(_error("region", _("请选择地区。"), "required"))
    elif park is not None and not park.region.code.startswith(region.prefix):
        errors.append(_error("park", _("园区不在所选地区内。"), "park_outside_region"))
    errors.extend(_check_reach(user, region, park))
    if errors:
        raise _merge(errors)
    clean["park"] = park
    clean["region"] = region
    assert region is not None
    clean["region_code"] = region.code
    return clean


@transaction.atomic
def measure_create(
    *,
    region: Region | None,
    category: str,
    title: str,
    issuing_body: str,
    started_on: datetime.date | None,
    description: str,
    acting_user: User | None,
    park: Park | None = None,
    document_no: str = "",
    ended_on: datetime.date | None = None,
    status: str = MeasureStatus.ONGOING,
    results: str = "",
    is_public: bool = False,
    owner_org: Organisation | None = None,
) -> MeasureEntry:
    """Record one measure; the filing organisation is the user's own (the platform or a job must name one)."""
    _require_writer(acting_user)
    values = {
        "region": region,
        "park": park,
        "category": category,
        "title": title,
        "issuing_body": issuing_body,
        "document_no": document_no,
        "started_on": started_on,
        "ended_on": ended_on,
        "status": status,
        "description": description,
        "results": results,
        "is_public": is_public,
    }
    clean = _clean(values, user=acting_user)
    own_org = getattr(acting_user, "organisation", None) if acting_user is not None else None
    scope = scope_for(acting_user) if acting_user is not None else None
    if owner_org is None or (scope is not None and not scope.is_platform):
        owner_org = own_org  # only the platform or a job files on another organisation's behalf
    if owner_org is None:
        raise _error("owner_org", _("请指定填报单位。"), "required")
    measure = MeasureEntry(
        **clean, owner_org=owner_org, created_by=acting_user if acting_user is not None and acting_user.pk else None
    )
    return audited_create(instance=measure, acting_user=acting_user, action="measure.create")


def _lock(measure: MeasureEntry, user: User | None, action: str) -> MeasureEntry:
    rows = MeasureEntry.objects.select_for_update(of=("self",))
    if user is not None:
        rows = rows.restrict(user, action)
    locked = rows.select_related("region", "park", "park__region", "park__administering_org").filter(pk=measure.pk)
    found = locked.first()
    if found is None:
        raise PermissionDenied("the measure is outside the user's reach")
    return found


@transaction.atomic
def measure_update(*, measure: MeasureEntry, data: dict[str, Any], acting_user: User | None) -> MeasureEntry:
    """Change the fields named in `data` (any of `EDITABLE_FIELDS`); the rest stay as they are."""
    _require_writer(acting_user)
    unknown = sorted(set(data) - set(EDITABLE_FIELDS))
    if unknown:
        raise _error(unknown[0], _("该字段不能修改。"), "not_editable")
    locked = _lock(measure, acting_user, Action.CHANGE)
    current = {name: getattr(locked, name) for name in EDITABLE_FIELDS}
    if "park" in data and "region" not in data and data["park"] is not None:
        current["region"] = None  # moving to another park moves the measure to that park's region
    clean = _clean({**current, **data}, user=acting_user)
    return audited_update(instance=locked, data=clean, acting_user=acting_user, action="measure.update")


@transaction.atomic
def measure_delete(*, measure: MeasureEntry, acting_user: User | None) -> None:
    _require_writer(acting_user)
    locked = _lock(measure, acting_user, Action.DELETE)
    before = snapshot(locked)
    record_event(acting_user=acting_user, action="measure.delete", instance=locked, old=before)
    locked.delete()
