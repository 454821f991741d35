"""Yearly enterprise figures (企业年度经营数据, `EnterpriseFinancials`): R&D spending (研发投入), revenue (营业收入),
jobs (从业人员), patents held and implemented (有效 / 已实施专利), one row per enterprise and year.

Three ways in, one rule set:
- an enterprise enters its own figures (`financials_create` / `financials_update`, source 企业填报); an IP office may
  enter or correct figures of enterprises registered in its region;
- a follow-up survey (跟踪调查) answer writes its mapped figures (`financials_record_survey`, source 跟踪调查, the
  response linked), called by `market.services.surveys.response_submit` inside the response's transaction: only the
  answered figures change, an existing row keeps its other figures.

Rules (each error names the field): the year lies between `EARLIEST_YEAR` and the current year; amounts ≥ 0; counts
≥ 0; implemented patents ≤ patents held (checked on the merged row); at least one figure.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core.audit import audited_create, audited_update
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.models import User
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.models import Enterprise

from ..choices import FinancialsSource
from ..models import EnterpriseFinancials

# Figures before 2000 predate IP-pledge financing at any scale; nothing to compare against.
EARLIEST_YEAR = 2000
MONEY_FIGURES = ("rd_spending", "revenue")
COUNT_FIGURES = ("employees", "patents_held", "patents_implemented")
FIGURES = MONEY_FIGURES + COUNT_FIGURES
# Guards a typo (an amount in fen typed as yuan) without refusing the largest groups: ¥10 trillion.
MONEY_MAX = Decimal("10000000000000")
COUNT_MAX = 10_000_000


def _actor(user: User | None) -> User | None:
    return user if user is not None and user.pk else None


def writable_enterprises(user: Any, action: str = Action.ADD) -> QuerySet[Enterprise]:
    """Enterprises whose yearly figures the user may enter (`action` add) or correct (change): an enterprise its
    own, an IP office those registered in its region, the platform all (mirrors `EnterpriseFinancials.scope_q`)."""
    scope = scope_for(user)
    if scope is None or not scope.may(action):
        return Enterprise.objects.none()
    if scope.is_platform:
        return Enterprise.objects.all()
    if scope.kind == OrganisationKind.ENTERPRISE:
        return Enterprise.objects.filter(organisation_id=scope.organisation_id)
    if scope.kind == OrganisationKind.IP_OFFICE:
        region = scope.region_q("region_code")
        return Enterprise.objects.filter(region) if region is not None else Enterprise.objects.none()
    return Enterprise.objects.none()


def _to_millisecond(moment: datetime.datetime) -> datetime.datetime:
    # The API's JSON carries milliseconds only, so the version a client echoes back is compared at that precision.
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _check(values: Mapping[str, Any], year: int | None) -> None:
    """Field rules on a row's merged figures (raises one ValidationError naming every broken field)."""
    errors: dict[str, list[ValidationError]] = {}

    def add(field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code, params=params))

    if year is not None:
        latest = business_date().year
        if isinstance(year, bool) or not isinstance(year, int) or not EARLIEST_YEAR <= year <= latest:
            add(
                "year",
                _("年度应在%(earliest)s年到%(latest)s年之间。"),
                "year_range",
                {"earliest": EARLIEST_YEAR, "latest": latest},
            )
    for field in MONEY_FIGURES:
        value = values.get(field)
        if value is None:
            continue
        amount = value.amount if isinstance(value, Money) else None
        if amount is None:
            add(field, _("金额格式不正确。"), "invalid")
        elif amount < 0:
            add(field, _("金额不能为负。"), "negative")
        elif amount > MONEY_MAX:
            add(field, _("金额超出合理范围（不超过10万亿元），请检查单位。"), "too_large")
    for field in COUNT_FIGURES:
        value = values.get(field)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            add(field, _("请填写整数。"), "invalid")
        elif value < 0:
            add(field, _("不能为负数。"), "negative")
        elif value > COUNT_MAX:
            add(field, _("数值超出合理范围。"), "too_large")
    held, implemented = values.get("patents_held"), values.get("patents_implemented")
    if (
        isinstance(held, int)
        and isinstance(implemented, int)
        and "patents_held" not in errors
        and "patents_implemented" not in errors
        and implemented > held
    ):
        add(
            "patents_implemented",
            _("已实施专利数不能超过有效专利数（%(held)s）。"),
            "implemented_gt_held",
            {"held": held},
        )
    if not any(values.get(field) is not None for field in FIGURES):
        add(NON_FIELD_ERRORS, _("请至少填写一项经营数据。"), "no_figures")
    if errors:
        raise ValidationError(errors)  # type: ignore[arg-type]


def _unknown(figures: Mapping[str, Any]) -> None:
    unknown = sorted(set(figures) - set(FIGURES))
    if unknown:
        raise ValidationError({unknown[0]: ValidationError(_("该项不能填写。"), code="not_editable")})


@transaction.atomic
def financials_create(
    *,
    enterprise: Enterprise,
    year: int,
    figures: Mapping[str, Any],
    source: str = FinancialsSource.REPORT,
    acting_user: User,
) -> EnterpriseFinancials:
    """An enterprise's figures for a year not yet recorded (`figures`: any of `FIGURES`; money as `Money`)."""
    if not writable_enterprises(acting_user, Action.ADD).filter(pk=enterprise.pk).exists():
        raise PermissionDenied("your organisation may not enter this enterprise's figures")
    _unknown(figures)
    if source not in FinancialsSource.values:
        raise ValidationError({"source": ValidationError(_("来源无效。"), code="invalid_choice")})
    _check(figures, year)
    if EnterpriseFinancials.objects.filter(enterprise=enterprise, year=year).exists():
        raise ValidationError(
            {
                "year": ValidationError(
                    _("该企业%(year)s年度已有经营数据，请修改该条。"), code="duplicate", params={"year": year}
                )
            }
        )
    row = EnterpriseFinancials(
        enterprise=enterprise,
        year=year,
        source=source,
        region_code=enterprise.region_code,
        reported_by=_actor(acting_user),
        **{field: figures.get(field) for field in FIGURES},
    )
    return audited_create(instance=row, acting_user=acting_user, action="enterprisefinancials.create")


@transaction.atomic
def financials_update(
    *,
    financials: EnterpriseFinancials,
    figures: Mapping[str, Any],
    expected_updated_at: datetime.datetime | None = None,
    acting_user: User,
) -> EnterpriseFinancials:
    """Correct a year's figures (only those given; None clears one). `expected_updated_at` (the row's `updated_at`
    as the editor saw it) refuses an edit made over someone else's newer one."""
    allowed = EnterpriseFinancials.objects.restrict(acting_user, Action.CHANGE).filter(pk=financials.pk)
    if not allowed.exists():
        raise PermissionDenied("your organisation may not change these figures")
    _unknown(figures)
    row = EnterpriseFinancials.objects.select_for_update(of=("self",)).get(pk=financials.pk)
    if expected_updated_at is not None and _to_millisecond(row.updated_at) != _to_millisecond(expected_updated_at):
        raise ValidationError({"updated_at": ValidationError(_("该数据已被他人修改，请刷新后重试。"), code="stale")})
    merged = {field: figures.get(field, getattr(row, field)) for field in FIGURES}
    _check(merged, None)
    data: dict[str, Any] = {field: figures[field] for field in figures}
    data["source"] = FinancialsSource.REPORT
    data["survey_response"] = None
    data["reported_by"] = _actor(acting_user)
    return audited_update(instance=row, data=data, acting_user=acting_user, action="enterprisefinancials.update")


@transaction.atomic
def financials_record_survey(
    *,
    enterprise: Enterprise,
    year: int,
    figures: Mapping[str, Any],
    survey_response: Any,
    acting_user: User,
) -> EnterpriseFinancials:
    """Upsert the figures a follow-up answer gave (the survey service has already checked who answers)."""
    _unknown(figures)
    row = EnterpriseFinancials.objects.select_for_update(of=("self",)).filter(enterprise=enterprise, year=year).first()
    merged = {field: figures.get(field, getattr(row, field) if row is not None else None) for field in FIGURES}
    _check(merged, year)
    if row is None:
        created = EnterpriseFinancials(
            enterprise=enterprise,
            year=year,
            source=FinancialsSource.SURVEY,
            survey_response=survey_response,
            region_code=enterprise.region_code,
            reported_by=_actor(acting_user),
            **merged,
        )
        return audited_create(instance=created, acting_user=acting_user, action="enterprisefinancials.survey")
    data = {
        **dict(figures),
        "source": FinancialsSource.SURVEY,
        "survey_response": survey_response,
        "reported_by": _actor(acting_user),
    }
    return audited_update(instance=row, data=data, acting_user=acting_user, action="enterprisefinancials.survey")
