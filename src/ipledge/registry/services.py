"""Registry services (登记簿写入): parks, enterprises, park memberships and IP rights with their owners.

Each service validates, writes and records its audit event in one transaction; derived fields (registration
region from the USCC, size class, patent type and term end) are computed here, never typed in by hand.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ipledge.core import privacy
from ipledge.core.audit import audited_create, audited_update, insert_validated, record_event, snapshot
from ipledge.core.identifiers import (
    VALIDATORS,
    IdentifierError,
    parse_patent_application_number,
    patent_type_from_number,
    uscc_region_code,
    validate_uscc,
)
from ipledge.core.models import Region, User
from ipledge.core.money import Money
from ipledge.core.regions import candidate_codes

from .choices import IPKind, PatentType
from .models import Enterprise, IPRight, IPRightOwner, Park, ParkMembership
from .rules import patent_term_end, size_class

IP_NUMBER_VALIDATOR = {
    IPKind.PATENT: "patent-no",
    IPKind.TRADEMARK: "trademark-no",
    IPKind.COPYRIGHT: "copyright-no",
    IPKind.IC_LAYOUT: "ic-layout-no",
}

ENTERPRISE_FIELDS = (
    "name",
    "industry_section",
    "industry_division",
    "established_on",
    "employees",
    "revenue",
    "total_assets",
    "is_high_tech",
    "is_specialised",
    "organisation",
    "legal_representative",
    "legal_representative_id_number",
    "contact_phone",
)
PARK_FIELDS = ("name", "level", "kind", "region", "administering_org", "is_key_park", "nbs_code")
IP_RIGHT_FIELDS = (
    "title",
    "legal_status",
    "filing_date",
    "grant_date",
    "valid_from",
    "term_end",
    "main_ipc",
    "annual_fee_paid_until",
    "claims_count",
    "forward_citations",
    "backward_citations",
    "family_size",
    "nice_classes",
    "renewal_count",
    "work_kind",
    "created_on",
    "first_published_on",
    "suspended",
    "preserved",
    "invalidation_pending",
)


def field_error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


# Parks


@transaction.atomic
def park_create(*, acting_user: User | None, **data: Any) -> Park:
    park = Park(**{k: v for k, v in data.items() if k in PARK_FIELDS})
    return audited_create(instance=park, acting_user=acting_user, action="park.create")


@transaction.atomic
def park_update(*, park: Park, data: Mapping[str, Any], acting_user: User) -> Park:
    return audited_update(
        instance=park,
        data={k: v for k, v in data.items() if k in PARK_FIELDS},
        acting_user=acting_user,
        action="park.update",
    )


# Enterprises


def normalise_uscc(value: str) -> str:
    result = validate_uscc(value)
    if not result.valid:
        raise field_error("uscc", result.message_zh or "统一社会信用代码无效", result.rule or "invalid")
    assert result.canonical is not None
    return result.canonical


def region_for_uscc(uscc: str) -> Region | None:
    codes = candidate_codes(uscc_region_code(uscc))
    found = {r.code: r for r in Region.objects.filter(code__in=codes)}
    return next((found[c] for c in codes if c in found), None)


def _derive_enterprise(enterprise: Enterprise) -> None:
    # Personal data is checked and normalised on every write path (form, API, import): see core.privacy.
    enterprise.legal_representative = (enterprise.legal_representative or "").strip()
    enterprise.legal_representative_id_number = privacy.normalise_id_number(enterprise.legal_representative_id_number)
    enterprise.contact_phone = privacy.normalise_phone(enterprise.contact_phone)
    region = region_for_uscc(enterprise.uscc)
    enterprise.registration_region = region
    enterprise.region_code = region.code if region else ""
    revenue_wan = enterprise.revenue.amount / 10000 if isinstance(enterprise.revenue, Money) else None
    assets_wan = enterprise.total_assets.amount / 10000 if isinstance(enterprise.total_assets, Money) else None
    try:
        result = size_class(
            industry_section=enterprise.industry_section,
            industry_division=enterprise.industry_division or None,
            employees=enterprise.employees,
            revenue_wan=revenue_wan,
            assets_wan=assets_wan,
        )
    except ValueError as exc:
        field = "industry_division" if enterprise.industry_division else "industry_section"
        raise field_error(field, f"行业分类无效：{exc}", "industry") from exc
    enterprise.size_class = result.size or ""


@transaction.atomic
def enterprise_create(
    *,
    uscc: str,
    acting_user: User | None,
    park: Park | None = None,
    joined_on: datetime.date | None = None,
    **data: Any,
) -> Enterprise:
    canonical = normalise_uscc(uscc)
    if Enterprise.objects.filter(uscc=canonical).exists():
        raise field_error("uscc", "该统一社会信用代码的企业已登记。", "unique")
    enterprise = Enterprise(uscc=canonical, **{k: v for k, v in data.items() if k in ENTERPRISE_FIELDS})
    _derive_enterprise(enterprise)
    audited_create(instance=enterprise, acting_user=acting_user, action="enterprise.create")
    if park is not None:
        membership_add(
            enterprise=enterprise, park=park, joined_on=joined_on or timezone.localdate(), acting_user=acting_user
        )
    return enterprise


@transaction.atomic
def enterprise_update(*, enterprise: Enterprise, data: Mapping[str, Any], acting_user: User | None) -> Enterprise:
    changes = {k: v for k, v in data.items() if k in ENTERPRISE_FIELDS}
    return audited_update(
        instance=enterprise,
        data=changes,
        derive=_derive_enterprise,
        acting_user=acting_user,
        action="enterprise.update",
    )


@transaction.atomic
def membership_add(
    *,
    enterprise: Enterprise,
    park: Park,
    joined_on: datetime.date,
    acting_user: User | None,
    left_on: datetime.date | None = None,
) -> ParkMembership:
    overlapping = ParkMembership.objects.filter(enterprise=enterprise, park=park, left_on__isnull=True)
    if left_on is None and overlapping.exists():
        raise field_error("park", "该企业已在此园区内。", "already_member")
    membership = ParkMembership(enterprise=enterprise, park=park, joined_on=joined_on, left_on=left_on)
    return audited_create(instance=membership, acting_user=acting_user, action="park_membership.create")


@transaction.atomic
def membership_end(*, membership: ParkMembership, left_on: datetime.date, acting_user: User) -> ParkMembership:
    return audited_update(
        instance=membership, data={"left_on": left_on}, acting_user=acting_user, action="park_membership.end"
    )


# IP rights


def normalise_ip_number(kind: str, number: str) -> str:
    validator_key = IP_NUMBER_VALIDATOR.get(kind)  # type: ignore[call-overload]
    if validator_key is None:
        raise field_error("kind", "知识产权类型无效。", "choice")
    result = VALIDATORS[validator_key](number)
    if not result.valid:
        raise field_error("number", result.message_zh or "号码无效", result.rule or "invalid")
    assert result.canonical is not None
    return result.canonical


def _derive_ip_right(right: IPRight) -> None:
    if right.kind != IPKind.PATENT:
        right.patent_type = ""
        return
    try:
        parsed = parse_patent_application_number(right.number)
    except IdentifierError as exc:  # already validated; keep the error shape anyway
        raise field_error("number", exc.message_zh, exc.rule) from exc
    right.patent_type = PatentType(patent_type_from_number(parsed))
    if right.filing_date is not None:
        right.term_end = patent_term_end(patent_type=right.patent_type, filing_date=right.filing_date)
        right.valid_from = right.valid_from or right.grant_date


def _validate_owners(owners: Sequence[Mapping[str, Any]]) -> None:
    if not owners:
        raise field_error("owners", "至少需要一个权利人。", "required")
    total = sum((Decimal(str(o.get("share", 100))) for o in owners), Decimal(0))
    if total > 100:
        raise field_error("owners", f"权利人份额合计不能超过100%（当前{total}%）。", "share_total")
    enterprises = [o["enterprise"].pk for o in owners if o.get("enterprise") is not None]
    if len(enterprises) != len(set(enterprises)):
        raise field_error("owners", "同一企业不能重复登记为权利人。", "duplicate_owner")


@transaction.atomic
def ip_right_create(
    *, kind: str, number: str, title: str, owners: Sequence[Mapping[str, Any]], acting_user: User | None, **data: Any
) -> IPRight:
    """Register an IP right with its owners; `owners` items have `enterprise` or `holder_name`, and `share`."""
    canonical = normalise_ip_number(kind, number)
    if IPRight.objects.filter(kind=kind, number=canonical).exists():
        raise field_error("number", "该号码的知识产权已登记。", "unique")
    _validate_owners(owners)
    right = IPRight(kind=kind, number=canonical, title=title, **{k: v for k, v in data.items() if k in IP_RIGHT_FIELDS})
    _derive_ip_right(right)
    insert_validated(right)
    created_owners = [
        IPRightOwner(
            right=right,
            enterprise=o.get("enterprise"),
            holder_name=o.get("holder_name", ""),
            share=Decimal(str(o.get("share", 100))),
        )
        for o in owners
    ]
    for owner in created_owners:
        owner.full_clean(validate_constraints=False)  # the table's constraints are enforced by the INSERT
    IPRightOwner.objects.bulk_create(created_owners)
    region = next((o["enterprise"].region_code for o in owners if o.get("enterprise") is not None), "")
    record_event(
        acting_user=acting_user,
        action="ip_right.create",
        instance=right,
        region_code=region,
        new={**snapshot(right), "owners": [str(o) for o in created_owners]},
    )
    return right


@transaction.atomic
def ip_right_transfer(
    *,
    right: IPRight,
    acting_user: User | None,
    reason: str,
    to_enterprise: Enterprise | None = None,
    to_name: str = "",
) -> IPRight:
    """Record a change of holder (权利转移), e.g. a pledged right sold when the pledge is enforced; the old holders'
    rows go to history. Callers decide who may do it (the disposal services: the pledgee bank after the sale)."""
    if to_enterprise is None and not to_name.strip():
        raise field_error("to_name", "请指定受让人。", "required")
    before = [str(o) for o in right.owners.all()]
    region = next((o.enterprise.region_code for o in right.owners.all() if o.enterprise is not None), "")
    right.owners.all().delete()
    owner = IPRightOwner(right=right, enterprise=to_enterprise, holder_name="" if to_enterprise else to_name.strip())
    insert_validated(owner)
    record_event(
        acting_user=acting_user,
        action="ip_right.transfer",
        instance=right,
        region_code=region,
        old={"owners": before},
        new={"owners": [str(owner)]},
        extra={"reason": reason},
    )
    return right


@transaction.atomic
def ip_right_update(*, right: IPRight, data: Mapping[str, Any], acting_user: User | None) -> IPRight:
    changes = {k: v for k, v in data.items() if k in IP_RIGHT_FIELDS}
    if "number" in data and data["number"] != right.number:
        changes["number"] = normalise_ip_number(right.kind, data["number"])
    owner = right.owners.select_related("enterprise").filter(enterprise__isnull=False).first()
    return audited_update(
        instance=right,
        data=changes,
        derive=_derive_ip_right,
        acting_user=acting_user,
        action="ip_right.update",
        region_code=owner.enterprise.region_code if owner and owner.enterprise else "",
    )
