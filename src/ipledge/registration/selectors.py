"""Pledge registration reads; each starts from `restrict(user, action)` except the explicit public lookup."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from ipledge.core.identifiers import VALIDATORS, validate_uscc
from ipledge.core.scoping import Action
from ipledge.registry.models import Enterprise, IPRight

from .choices import FilingStatus
from .models import PledgeFiling, PledgeRegistration

KIND_VALIDATOR = {
    "patent": "patent-no",
    "trademark": "trademark-no",
    "copyright": "copyright-no",
    "ic_layout": "ic-layout-no",
}


def filing_list(*, user: Any) -> QuerySet[PledgeFiling]:
    return PledgeFiling.objects.restrict(user, Action.VIEW).select_related(
        "pledgor", "pledgee", "filed_by_org", "registration"
    )


def examination_queue(*, user: Any) -> QuerySet[PledgeFiling]:
    """Filings awaiting the examiner's decision, the most urgent first."""
    return (
        PledgeFiling.objects.restrict(user, Action.APPROVE)
        .filter(status=FilingStatus.SUBMITTED)
        .select_related("pledgor", "pledgee", "filed_by_org")
        .order_by("due_on", "submitted_on", "pk")
    )


def awaiting_confirmation(*, user: Any) -> QuerySet[PledgeFiling]:
    """Filings an enterprise must confirm as pledgor."""
    organisation_id = getattr(user, "organisation_id", None)
    if organisation_id is None:
        return PledgeFiling.objects.none()
    return filing_list(user=user).filter(status=FilingStatus.AWAITING_PLEDGOR, pledgor__organisation_id=organisation_id)


def registration_list(*, user: Any) -> QuerySet[PledgeRegistration]:
    return PledgeRegistration.objects.restrict(user, Action.VIEW).select_related("pledgor", "pledgee")


def resolve_pledgor(uscc: str) -> Enterprise:
    """The registered enterprise with this USCC, for a filer who holds the pledgor's code from the contract.

    A deliberate exact-key lookup outside `restrict()`: banks do not browse the registry, but a filing names its
    pledgor by USCC, as the paper form does. Only an exact, valid code resolves; nothing is listed.
    """
    result = validate_uscc(uscc)
    if not result.valid:
        raise ValidationError({"pledgor_uscc": ValidationError(result.message_zh or "", code=result.rule)})
    enterprise = Enterprise.objects.filter(uscc=result.canonical).first()
    if enterprise is None:
        raise ValidationError(
            {"pledgor_uscc": ValidationError("平台登记簿中没有该统一社会信用代码的企业。", code="not_found")}
        )
    return enterprise


def resolve_right(*, kind: str, number: str, field: str = "number") -> IPRight:
    """The registered right with this kind and number (exact key, same reasoning as `resolve_pledgor`)."""
    validator = VALIDATORS.get(KIND_VALIDATOR.get(kind, ""))
    if validator is None:
        raise ValidationError({field: ValidationError("知识产权类型无效。", code="choice")})
    result = validator(number)
    if not result.valid:
        raise ValidationError({field: ValidationError(result.message_zh or "", code=result.rule)})
    right = IPRight.objects.filter(kind=kind, number=result.canonical).first()
    if right is None:
        raise ValidationError(
            {field: ValidationError(f"登记簿中没有号码为 {result.canonical} 的权利。", code="not_found")}
        )
    return right
