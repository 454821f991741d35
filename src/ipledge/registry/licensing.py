"""Recorded licence contracts (许可合同备案): the service that records one, and the selectors that read them.

A licence of a pledged right needs the pledgee's consent (民法典第四百四十四条第二款); an open licence (开放许可)
of a pledged patent likewise (专利法实施细则 2023 第八十六条). A licence-revenue pledge (许可收益权质押) names a
recorded licence that is current on the filing date (`current_licence_exists`).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet

from ipledge.core.audit import insert_validated, record_event, snapshot
from ipledge.core.context import business_date
from ipledge.core.models import User
from ipledge.core.scoping import Action

from .choices import IPKind
from .models import Enterprise, IPRight, LicenceContract, LicenceKind

OPEN_LICENCE_LICENSEE = "开放许可（不特定被许可人）"


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _right_region(right: IPRight) -> str:
    owner = right.owners.select_related("enterprise").filter(enterprise__isnull=False).first()
    return owner.enterprise.region_code if owner and owner.enterprise else ""


# Services


@transaction.atomic
def licence_record(
    *,
    right: IPRight,
    licensee_name: str,
    licence_kind: str,
    record_no: str,
    start_on: datetime.date,
    end_on: datetime.date,
    acting_user: User,
    licensee: Enterprise | None = None,
    royalty_terms: str = "",
    pledgee_consent: bool = False,
) -> LicenceContract:
    """Record a licence contract of `right`, by a user who may change the right.

    Refused (field `right`, rule `pledged_without_consent`) while the right is under an active pledge unless the
    pledgee's consent is recorded.
    """
    from ipledge.registration.models import PledgedRight  # registration imports the registry models

    if not IPRight.objects.restrict(acting_user, Action.CHANGE).filter(pk=right.pk).exists():
        raise PermissionDenied("only users who may change the right record its licences")
    locked = IPRight.objects.select_for_update().get(pk=right.pk)
    if licence_kind not in LicenceKind.values:
        raise _error("licence_kind", "许可类型无效。", "invalid_choice")
    if licence_kind == LicenceKind.OPEN and locked.kind != IPKind.PATENT:
        raise _error("licence_kind", "开放许可仅适用于专利（专利法第五十条）。", "open_licence_patent_only")
    if start_on is not None and end_on is not None and end_on < start_on:
        raise _error("end_on", "许可期限止不能早于许可期限起。", "end_before_start")
    pledge = (
        PledgedRight.objects.filter(ip_right=locked, is_active=True).select_related("registration__pledgee").first()
    )
    if pledge is not None and not pledgee_consent:
        kind_label = "开放许可" if licence_kind == LicenceKind.OPEN else "许可他人使用"
        raise _error(
            "right",
            f"该知识产权已出质（质押登记号{pledge.registration.registration_no}，质权人"
            f"{pledge.registration.pledgee.name}），未经质权人同意不得{kind_label}（民法典第四百四十四条第二款）。",
            "pledged_without_consent",
        )
    name = (licensee_name or "").strip()
    if not name and licensee is not None:
        name = licensee.name
    if not name and licence_kind == LicenceKind.OPEN:
        name = OPEN_LICENCE_LICENSEE
    licence = LicenceContract(
        ip_right=locked,
        licensee_name=name,
        licensee=licensee,
        licence_kind=licence_kind,
        record_no=(record_no or "").strip(),
        start_on=start_on,
        end_on=end_on,
        royalty_terms=(royalty_terms or "").strip(),
        recorded_on=business_date(),
        pledgee_consent=pledgee_consent,
    )
    insert_validated(licence)
    record_event(
        acting_user=acting_user,
        action="licence_contract.record",
        instance=licence,
        region_code=_right_region(locked),
        new=snapshot(licence),
        extra={
            "right": locked.number,
            "pledge": pledge.registration.registration_no if pledge is not None else None,
        },
    )
    return licence


# Selectors


def licence_list(*, user: Any, right: IPRight | None = None) -> QuerySet[LicenceContract]:
    """Licences the user may see (those of the rights it may see), newest first."""
    qs = LicenceContract.objects.restrict(user, Action.VIEW).select_related("ip_right", "licensee")
    if right is not None:
        qs = qs.filter(ip_right=right)
    return qs


def current_licence_exists(*, right: IPRight, record_no: str, on: datetime.date) -> bool:
    """Whether `record_no` names a recorded licence of `right` in force on `on` (for the filer's validation,
    which runs for banks that cannot see the registry, so this check is deliberately unscoped)."""
    record_no = (record_no or "").strip()
    if not record_no:
        return False
    return LicenceContract.objects.filter(
        ip_right=right, record_no=record_no, start_on__lte=on, end_on__gte=on
    ).exists()
