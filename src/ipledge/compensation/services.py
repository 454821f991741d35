"""Risk-compensation services (风险补偿): funds, scheme versions, enrolment (入池), claims from filing to clearing,
payments and the ledger, idle-fund alerts and stress tests.

Claim state machine (`ClaimStatus`), the action plan's 前置补偿 + 清算:
    filed (bank) → reviewed (fund operator) → advance_paid (fund reviewer approves; the fund pays its share at once,
    the insurer / guarantor / valuer get payment instructions) → [recoveries recorded] → clearing (final loss shared
    by the scheme, true-up instructions issued) → cleared (every true-up paid);
    filed / reviewed → rejected (fund) | withdrawn (bank).

Rules decided here (documented for the UI and the API):
- A loan is enrolled under the scheme version in force on its first disbursement (or today, before it), and only
  within the version's enrolment window after disbursement; the fund's leverage cap (在池本金 ≤ 规模 × 放大倍数)
  is checked under a lock on the fund row, so two banks enrolling at once cannot both overshoot it.
- The tier of a tiered scheme is chosen by the outstanding principal when the loan became non-performing and is
  kept for clearing, even when recoveries make the final loss smaller (the worked example's ≤ ¥10 m tier).
- Caps (per loan, per enterprise, per year, and the fund's balance when its liability is capped at its total) bind
  the fund's share only; what a cap cuts off stays with the bank. They are frozen on the claim when it is approved.
- The reviewer who approves is never the operator who reviewed (maker-checker, also a database constraint); the
  approval is a conditional update on (pk, status, version), so two reviewers approving at once pay once, and every
  payment carries a unique idempotency key as a second guard.
- Recoveries above the exposure are recorded but not shared (the surplus belongs to the pledgor).
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q, Sum

from ipledge.core.audit import audited_create, audited_update, record_event, save_validated, snapshot
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date, business_now
from ipledge.core.models import Organisation, Region, User
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.lending.choices import LIVE_STATUSES, NON_PERFORMING_CLASSES, CoverKind, LoanStatus
from ipledge.lending.models import ClassificationChange, Loan
from ipledge.lending.services import cover_add
from ipledge.registry.choices import SizeClass
from ipledge.screening.selectors import is_whitelisted

from . import ledger
from .choices import (
    OPEN_ENROLMENT_STATUSES,
    AccountKind,
    ClaimStatus,
    ClaimTrigger,
    EnrolmentStatus,
    EntryKind,
    FundAlertKind,
    FundStatus,
    PartyRole,
    PaymentPurpose,
    PaymentStatus,
    RecoveryKind,
    SchemeStatus,
    SharingMode,
    StressRunStatus,
)
from .engine import clearing as clearing_engine
from .engine import sharing
from .models import (
    Claim,
    Enrolment,
    Fund,
    FundAlert,
    JournalEntry,
    Payment,
    Recovery,
    Scheme,
    SchemeVersion,
    StressRun,
)

PAYER_ROLES = (PartyRole.INSURER, PartyRole.GUARANTOR, PartyRole.VALUER)
REFERENCE_ATTEMPTS = 8


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _actor(user: User | None) -> User | None:
    """The user to store on a row: an API key acts through an unsaved user, recorded in the audit event instead.
    Maker-checker compares the stored ids, so a key (None) can never be both maker and checker: None == None."""
    return user if user is not None and user.pk else None


def _actor_id(user: User) -> int | None:
    return user.pk or None


def _round_fen(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------------------
# Who may do what
# ---------------------------------------------------------------------------


def _require_fund_manager(fund: Fund, user: User, action: str) -> None:
    """A user of the fund manager's tree whose role allows `action` (platform administrators too)."""
    if not Fund.objects.restrict(user, action).filter(pk=fund.pk).exists():
        raise PermissionDenied("only the fund manager's officers may do this")


def _require_bank(loan: Loan, user: User, action: str = Action.CHANGE) -> None:
    scope = scope_for(user)
    if scope is None or not (scope.is_platform or scope.kind == OrganisationKind.BANK):
        raise PermissionDenied("only the lending bank's officers may do this")
    if not Loan.objects.restrict(user, action).filter(pk=loan.pk).exists():
        raise PermissionDenied("only the lending bank's officers may do this")


def _lock_claim(claim: Claim, expected: Iterable[int]) -> Claim:
    """Re-read the claim under a row lock and check its state: the second of two racing officers stops here."""
    locked = Claim.objects.select_for_update().get(pk=claim.pk)
    if locked.status not in set(expected):
        raise _error(
            "status",
            f"代偿申请当前状态为“{locked.get_status_display()}”，不能执行此操作。",
            "invalid_state",
        )
    return locked


def _transition(claim: Claim, *, expected: Iterable[int], **changes: Any) -> None:
    """Conditional update on (pk, status, version): exactly one of two concurrent transitions wins."""
    updated = Claim.objects.filter(pk=claim.pk, status__in=list(expected), version=claim.version).update(
        version=claim.version + 1, updated_at=business_now(), **changes
    )
    if updated != 1:
        raise _error("status", "代偿申请已被他人处理，请刷新后重试。", "stale")
    claim.refresh_from_db()


# ---------------------------------------------------------------------------
# Funds and contributions
# ---------------------------------------------------------------------------


@transaction.atomic
def fund_create(
    *,
    code: str,
    name: str,
    manager: Organisation,
    region: Region,
    capital: Money,
    leverage_cap: Decimal,
    established_on: datetime.date,
    acting_user: User,
    sponsors: Iterable[Organisation] = (),
    liability_capped: bool = True,
    expires_on: datetime.date | None = None,
    idle_days: int = 365,
    idle_utilisation: Decimal = Decimal("0.3"),
) -> Fund:
    scope = scope_for(acting_user)
    if scope is None or not scope.may(Action.ADD):
        raise PermissionDenied("your role cannot create funds")
    if manager.kind != OrganisationKind.FUND_MANAGER:
        raise _error("manager", "管理机构必须是风险补偿基金管理机构。", "kind")
    if not scope.is_platform and not manager.tree_path.startswith(scope.org_tree_path):
        raise PermissionDenied("a fund manager creates its own funds only")
    if expires_on is not None and expires_on <= established_on:
        raise _error("expires_on", "存续期至必须晚于设立日。", "order")
    fund = Fund(  # type: ignore[misc]
        code=code.strip(),
        name=name.strip(),
        manager=manager,
        region=region,
        capital=capital,
        leverage_cap=leverage_cap,
        established_on=established_on,
        liability_capped=liability_capped,
        expires_on=expires_on,
        idle_days=idle_days,
        idle_utilisation=idle_utilisation,
        created_by=_actor(acting_user),
    )
    audited_create(instance=fund, acting_user=acting_user, action="fund.create")
    sponsor_list = list(sponsors)
    if sponsor_list:
        fund.sponsors.set(sponsor_list)
        record_event(
            acting_user=acting_user,
            action="fund.sponsors",
            instance=fund,
            new={"sponsors": [s.pk for s in sponsor_list]},
        )
    return fund


FUND_EDITABLE = (
    "name",
    "capital",
    "leverage_cap",
    "liability_capped",
    "status",
    "expires_on",
    "idle_days",
    "idle_utilisation",
)


@transaction.atomic
def fund_update(*, fund: Fund, data: Mapping[str, Any], acting_user: User) -> Fund:
    _require_fund_manager(fund, acting_user, Action.CHANGE)
    unknown = set(data) - set(FUND_EDITABLE)
    if unknown:
        raise _error(sorted(unknown)[0], "该字段不能修改。", "read_only")
    fund = Fund.objects.select_for_update().get(pk=fund.pk)
    if "leverage_cap" in data or "capital" in data:
        capacity = _capacity_fen(
            Money(data.get("capital", fund.capital)).fen, data.get("leverage_cap", fund.leverage_cap)
        )
        if _covered_fen(fund) > capacity:
            raise _error("leverage_cap", "调整后的规模×放大倍数低于现有在池本金。", "below_covered")
    return audited_update(instance=fund, data=data, acting_user=acting_user, action="fund.update")


@transaction.atomic
def contribution_record(
    *,
    fund: Fund,
    sponsor: Organisation,
    amount: Money,
    paid_on: datetime.date,
    idempotency_key: str,
    acting_user: User,
    reference: str = "",
) -> Payment:
    """A sponsor's capital paid into the fund's account (出资到账): an executed instruction and its entry."""
    _require_fund_manager(fund, acting_user, Action.CHANGE)
    if not fund.sponsors.filter(pk=sponsor.pk).exists():
        raise _error("sponsor", "该机构不是本基金的出资方。", "not_sponsor")
    if amount.fen <= 0:
        raise _error("amount", "出资金额必须大于零。", "positive")
    if paid_on > business_date():
        raise _error("paid_on", "到账日不能晚于今天。", "future_date")
    payment = _instruct(
        fund=fund,
        claim=None,
        purpose=PaymentPurpose.CONTRIBUTION,
        payer_role=PartyRole.SPONSOR,
        payer=sponsor,
        payee_role=PartyRole.FUND,
        payee=fund.manager,
        amount=amount,
        key=idempotency_key,
        acting_user=acting_user,
    )
    if payment.status == PaymentStatus.INSTRUCTED:
        payment = _execute(payment, paid_on=paid_on, reference=reference, acting_user=acting_user)
    return payment


# ---------------------------------------------------------------------------
# Schemes and their versions (maker-checker)
# ---------------------------------------------------------------------------


@transaction.atomic
def scheme_create(*, fund: Fund, code: str, name: str, acting_user: User) -> Scheme:
    _require_fund_manager(fund, acting_user, Action.ADD)
    scheme = Scheme(fund=fund, code=code.strip(), name=name.strip())
    return audited_create(instance=scheme, acting_user=acting_user, action="scheme.create")


VERSION_RULE_FIELDS = (
    "effective_from",
    "ip_only",
    "min_ip_share",
    "covers_ip_share_only",
    "enterprise_sizes",
    "requires_whitelist",
    "region_prefixes",
    "max_principal",
    "max_term_months",
    "enrol_window_days",
    "sharing_mode",
    "sharing_tiers",
    "covers_interest",
    "advance_ratio",
    "cap_per_loan",
    "cap_per_enterprise",
    "cap_per_year",
    "trigger",
    "trigger_days_overdue",
    "requires_collection_evidence",
    "claim_window_days",
    "pledge_before_npl",
    "note",
)


def sharing_rule(version: SchemeVersion) -> sharing.SharingRule:
    return sharing.rule_from_data(version.sharing_tiers, mode=version.sharing_mode)


def _check_rules(rules: Mapping[str, Any]) -> None:
    """Validate what the model's fields cannot: the sharing tiers, the size classes and the region codes."""
    mode = rules.get("sharing_mode", SharingMode.WHOLE)
    try:
        rule = sharing.rule_from_data(rules.get("sharing_tiers") or [], mode=mode)
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise _error("sharing_tiers", f"分担比例格式错误：{exc}", "format") from exc
    problems = sharing.validate_rule(rule)
    if problems:
        first = problems[0]
        raise _error("sharing_tiers", f"分担比例不符合规则（{first.field}）：{first.message}", first.code)
    for size in rules.get("enterprise_sizes") or []:
        if size not in SizeClass.values:
            raise _error("enterprise_sizes", f"企业规模“{size}”无效，可选：{', '.join(SizeClass.values)}。", "choice")
    for prefix in rules.get("region_prefixes") or []:
        if not (isinstance(prefix, str) and prefix.isdigit() and 2 <= len(prefix) <= 6):
            raise _error("region_prefixes", f"地区代码前缀“{prefix}”无效，应为 2–6 位数字。", "format")


@transaction.atomic
def scheme_version_draft(*, scheme: Scheme, rules: Mapping[str, Any], acting_user: User) -> SchemeVersion:
    """A new draft version; it applies to loans only after a different reviewer publishes it."""
    _require_fund_manager(scheme.fund, acting_user, Action.CHANGE)
    unknown = set(rules) - set(VERSION_RULE_FIELDS)
    if unknown:
        raise _error(sorted(unknown)[0], "未知的方案字段。", "unknown")
    if "effective_from" not in rules:
        raise _error("effective_from", "请填写生效日。", "required")
    if "sharing_tiers" not in rules:
        raise _error("sharing_tiers", "请填写分担比例。", "required")
    _check_rules(rules)
    number = (scheme.versions.aggregate(top=Max("number"))["top"] or 0) + 1
    version = SchemeVersion(scheme=scheme, number=number, prepared_by=_actor(acting_user), **rules)
    return audited_create(instance=version, acting_user=acting_user, action="scheme_version.draft")


@transaction.atomic
def scheme_version_submit(*, version: SchemeVersion, acting_user: User) -> SchemeVersion:
    _require_fund_manager(version.scheme.fund, acting_user, Action.CHANGE)
    version = SchemeVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != SchemeStatus.DRAFT:
        raise _error("status", "只有草稿可以提交审批。", "invalid_state")
    return audited_update(
        instance=version,
        data={"status": SchemeStatus.PENDING, "prepared_by": _actor(acting_user)},
        acting_user=acting_user,
        action="scheme_version.submit",
    )


@transaction.atomic
def scheme_version_approve(*, version: SchemeVersion, acting_user: User) -> SchemeVersion:
    """Publish; the previous published version stops the day before this one takes effect."""
    _require_fund_manager(version.scheme.fund, acting_user, Action.APPROVE)
    version = SchemeVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != SchemeStatus.PENDING:
        raise _error("status", "只有待审批的版本可以发布。", "invalid_state")
    if version.prepared_by_id == _actor_id(acting_user):
        raise _error("approved_by", "审批人不能是拟定人（审批分离）。", "maker_is_checker")
    later = version.scheme.versions.filter(status=SchemeStatus.PUBLISHED, effective_from__gte=version.effective_from)
    if later.exists():
        raise _error("effective_from", "已有生效日不早于此版本的已发布版本。", "overlap")
    previous = version.scheme.versions.filter(status=SchemeStatus.PUBLISHED, effective_to__isnull=True).first()
    if previous is not None:
        audited_update(
            instance=previous,
            data={"effective_to": version.effective_from - datetime.timedelta(days=1)},
            acting_user=acting_user,
            action="scheme_version.supersede",
        )
    return audited_update(
        instance=version,
        data={"status": SchemeStatus.PUBLISHED, "approved_by": _actor(acting_user), "approved_at": business_now()},
        acting_user=acting_user,
        action="scheme_version.approve",
    )


@transaction.atomic
def scheme_version_reject(*, version: SchemeVersion, note: str, acting_user: User) -> SchemeVersion:
    _require_fund_manager(version.scheme.fund, acting_user, Action.APPROVE)
    version = SchemeVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != SchemeStatus.PENDING:
        raise _error("status", "只有待审批的版本可以退回。", "invalid_state")
    if not note.strip():
        raise _error("note", "退回必须说明理由。", "required")
    return audited_update(
        instance=version,
        data={"status": SchemeStatus.DRAFT, "note": (version.note + "\n退回：" + note.strip()).strip()},
        acting_user=acting_user,
        action="scheme_version.reject",
    )


def version_in_force(scheme: Scheme, day: datetime.date) -> SchemeVersion | None:
    return (
        scheme.versions.filter(status__in=[SchemeStatus.PUBLISHED, SchemeStatus.RETIRED], effective_from__lte=day)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=day))
        .order_by("-effective_from")
        .first()
    )


# ---------------------------------------------------------------------------
# Enrolment (入池)
# ---------------------------------------------------------------------------


def _capacity_fen(capital_fen: int, leverage_cap: Decimal) -> int:
    return _round_fen(Decimal(capital_fen) * Decimal(leverage_cap))


def _covered_fen(fund: Fund) -> int:
    total = Enrolment.objects.filter(fund=fund, status__in=OPEN_ENROLMENT_STATUSES).aggregate(t=Sum("covered_amount"))
    return ledger.as_fen(total["t"])


def eligibility_problems(*, version: SchemeVersion, loan: Loan, ip_share: Decimal) -> list[tuple[str, str, str]]:
    """Every rule of the version the loan breaks, as (field, message, code); empty when it may be enrolled."""
    problems: list[tuple[str, str, str]] = []
    fund = version.scheme.fund
    if not loan.is_ip_pledge:
        problems.append(("loan", "只有知识产权质押贷款可以入池。", "not_ip_pledge"))
    if version.ip_only and ip_share < 1:
        problems.append(("ip_share", "本方案仅限纯知识产权质押贷款（知识产权占比须为 1）。", "ip_only"))
    if ip_share < version.min_ip_share:
        problems.append(("ip_share", f"知识产权占比须不低于 {version.min_ip_share:.0%}。", "min_ip_share"))
    prefixes = version.region_prefixes or [fund.region.prefix]
    if not any(loan.region_code.startswith(p) for p in prefixes):
        problems.append(("loan", "借款企业登记地不在本方案适用地区。", "region"))
    sizes = version.enterprise_sizes or []
    if sizes and loan.borrower.size_class not in sizes:
        problems.append(("loan", "借款企业规模不符合本方案要求。", "enterprise_size"))
    if version.requires_whitelist and not is_whitelisted(loan.borrower):
        problems.append(("loan", "借款企业不在所在园区现行授信白名单内。", "not_whitelisted"))
    principal = loan.principal or loan.requested_amount
    if version.max_principal is not None and principal > version.max_principal:
        problems.append(("loan", f"贷款本金超过本方案单户上限 {version.max_principal} 元。", "max_principal"))
    term = loan.term_months or loan.requested_term_months
    if version.max_term_months is not None and term > version.max_term_months:
        problems.append(("loan", f"贷款期限超过本方案上限 {version.max_term_months} 个月。", "max_term"))
    return problems


@transaction.atomic
def enrolment_create(
    *,
    loan: Loan,
    scheme: Scheme,
    acting_user: User,
    ip_share: Decimal = Decimal(1),
    insurer: Organisation | None = None,
    guarantor: Organisation | None = None,
    valuer: Organisation | None = None,
) -> Enrolment:
    """The lending bank enrols a loan (入池) under the scheme version in force when the loan was made."""
    _require_bank(loan, acting_user)
    today = business_date()
    if loan.status not in (LoanStatus.APPROVED, LoanStatus.CONTRACTED, LoanStatus.ACTIVE):
        raise _error("loan", "只有已审批、已签约或已放款的贷款可以入池。", "invalid_state")
    if loan.is_non_performing:
        raise _error("loan", "不良贷款不能入池。", "non_performing")
    fund = Fund.objects.select_for_update().get(pk=scheme.fund_id)  # serialises enrolments against the cap
    if fund.status != FundStatus.ACTIVE:
        raise _error("scheme", "该基金当前不接受入池。", "fund_inactive")
    made_on = loan.first_disbursed_on or today
    version = version_in_force(scheme, made_on)
    if version is None:
        raise _error("scheme", f"{made_on} 没有生效的方案版本。", "no_version")
    if loan.first_disbursed_on and (today - loan.first_disbursed_on).days > version.enrol_window_days:
        raise _error("loan", f"须在首次放款后 {version.enrol_window_days} 天内入池。", "enrol_window")
    if not Decimal(0) < ip_share <= Decimal(1):
        raise _error("ip_share", "知识产权占比必须大于 0 且不超过 1。", "range")
    problems = eligibility_problems(version=version, loan=loan, ip_share=ip_share)
    if problems:
        field, message, code = problems[0]
        raise _error(field, message, code)
    rule = sharing_rule(version)
    parties = {PartyRole.INSURER: insurer, PartyRole.GUARANTOR: guarantor, PartyRole.VALUER: valuer}
    kinds = {
        PartyRole.INSURER: OrganisationKind.INSURER,
        PartyRole.GUARANTOR: OrganisationKind.GUARANTOR,
        PartyRole.VALUER: OrganisationKind.VALUER,
    }
    needed = {role for tier in rule.tiers for role, share in tier.shares.items() if share > 0}
    for role, org in parties.items():
        if role in needed and org is None:
            raise _error(str(role), f"本方案由{PartyRole(role).label}分担损失，请指定机构。", "required")
        if org is not None and org.kind != kinds[role]:
            raise _error(str(role), f"所选机构不是{PartyRole(role).label}。", "kind")
    principal = loan.principal or loan.requested_amount
    covered = Money.from_fen(_round_fen(Decimal(principal.fen) * ip_share))
    if _covered_fen(fund) + covered.fen > _capacity_fen(fund.capital.fen, fund.leverage_cap):
        raise _error("loan", "入池后在池本金将超过基金规模×放大倍数上限。", "leverage_cap")
    enrolment = Enrolment(  # type: ignore[misc]
        fund=fund,
        scheme_version=version,
        loan=loan,
        borrower=loan.borrower,
        enrolled_on=today,
        ip_share=ip_share,
        covered_amount=covered,
        insurer=insurer,
        guarantor=guarantor,
        valuer=valuer,
        enrolled_by=_actor(acting_user),
    )
    audited_create(instance=enrolment, acting_user=acting_user, action="enrolment.create")
    tier = rule.tiers[sharing.tier_for(rule, principal.fen)] if _within_tiers(rule, principal.fen) else rule.tiers[-1]
    enrolment.cover = cover_add(
        loan=loan,
        kind=CoverKind.RISK_COMPENSATION,
        provider=fund.manager,
        provider_name=fund.name,
        cover_ratio=Decimal(tier.shares[PartyRole.FUND]),
        acting_user=acting_user,
    )
    enrolment.save(update_fields=["cover"])
    return enrolment


def _within_tiers(rule: sharing.SharingRule, balance_fen: int) -> bool:
    last = rule.tiers[-1].up_to_fen
    return last is None or balance_fen <= last


@transaction.atomic
def enrolment_release(*, enrolment: Enrolment, acting_user: User | None, reason: str) -> Enrolment:
    """Take a loan out of the pool (出池): repaid, renewed, or removed by its bank before any claim."""
    if acting_user is not None:
        _require_bank(enrolment.loan, acting_user)
    enrolment = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise _error("status", "只有在池且未申请代偿的贷款可以出池。", "invalid_state")
    enrolment = audited_update(
        instance=enrolment,
        data={"status": EnrolmentStatus.RELEASED, "released_on": business_date()},
        acting_user=acting_user,
        action="enrolment.release",
    )
    record_event(
        acting_user=acting_user, action="enrolment.release_reason", instance=enrolment, extra={"reason": reason}
    )
    return enrolment


def release_settled_loans(*, acting_user: User | None = None) -> int:
    """Release the enrolments of loans no longer live (paid off, renewed, written off with no claim)."""
    released = 0
    stale = Enrolment.objects.filter(status=EnrolmentStatus.ACTIVE).exclude(
        loan__status__in=list(LIVE_STATUSES) + [LoanStatus.APPROVED, LoanStatus.CONTRACTED]
    )
    for enrolment in stale.select_related("loan"):
        enrolment_release(
            enrolment=enrolment, acting_user=acting_user, reason=f"贷款状态：{enrolment.loan.get_status_display()}"
        )
        released += 1
    return released


# ---------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------


def _new_reference(day: datetime.date) -> str:
    return f"BC{day:%Y%m%d}{secrets.token_hex(3).upper()}"


def _npl_on(loan: Loan, version: SchemeVersion, today: datetime.date) -> datetime.date | None:
    """The day the loan met the claim trigger, or None when it has not."""
    if version.trigger == ClaimTrigger.NON_PERFORMING:
        if loan.classification not in NON_PERFORMING_CLASSES:
            return None
        return _non_performing_since(loan) or loan.classification_since or today
    if loan.days_past_due < version.trigger_days_overdue:
        return None
    return today - datetime.timedelta(days=loan.days_past_due - version.trigger_days_overdue)


def _non_performing_since(loan: Loan) -> datetime.date | None:
    """The first day of the loan's current non-performing spell: a move from 次级 to 可疑 does not restart the
    claim deadline nor move the pledge-before-default check."""
    entered = (
        ClassificationChange.objects.filter(loan=loan, to_class__in=list(NON_PERFORMING_CLASSES))
        .exclude(from_class__in=list(NON_PERFORMING_CLASSES))
        .order_by("-business_day", "-pk")
        .values_list("business_day", flat=True)
        .first()
    )
    return entered


def exposure_fen(*, version: SchemeVersion, ip_share: Decimal, principal_fen: int, interest_fen: int) -> int:
    base = principal_fen + (interest_fen if version.covers_interest else 0)
    if version.covers_ip_share_only:
        return _round_fen(Decimal(base) * ip_share)
    return base


@transaction.atomic
def claim_file(
    *,
    enrolment: Enrolment,
    acting_user: User,
    collection_efforts: str = "",
    unpaid_interest: Money | None = None,
) -> Claim:
    """The lending bank files a claim once the loan meets the scheme's trigger, within its time limit."""
    loan = enrolment.loan
    _require_bank(loan, acting_user)
    enrolment = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise _error("enrolment", "该贷款不在池中或已申请代偿。", "invalid_state")
    loan.refresh_from_db()
    version = enrolment.scheme_version
    today = business_date()
    npl_on = _npl_on(loan, version, today)
    if npl_on is None:
        if version.trigger == ClaimTrigger.NON_PERFORMING:
            raise _error("enrolment", "贷款尚未进入不良（次级及以下），不能申请代偿。", "not_non_performing")
        raise _error("enrolment", f"贷款逾期未满 {version.trigger_days_overdue} 天，不能申请代偿。", "not_overdue")
    if version.claim_window_days is not None and (today - npl_on).days > version.claim_window_days:
        raise _error("enrolment", f"已超过申请时限（不良后 {version.claim_window_days} 天内）。", "claim_window")
    if version.pledge_before_npl:
        registration = loan.pledge_registration
        if registration is None or registration.registered_on > npl_on:
            raise _error("enrolment", "质押登记须不晚于贷款进入不良之日。", "pledge_after_npl")
    efforts = collection_efforts.strip()
    if version.requires_collection_evidence and not efforts:
        raise _error("collection_efforts", "请说明已采取的追偿措施（如起诉、申请执行）。", "required")
    interest = unpaid_interest or Money(0)
    if interest.fen < 0:
        raise _error("unpaid_interest", "欠息不能为负。", "range")
    principal = loan.outstanding_principal
    if principal is None or principal.fen <= 0:
        raise _error("enrolment", "贷款没有未偿本金，不能申请代偿。", "no_balance")
    exposure = exposure_fen(
        version=version, ip_share=enrolment.ip_share, principal_fen=principal.fen, interest_fen=interest.fen
    )
    claim = Claim(  # type: ignore[misc]
        enrolment=enrolment,
        fund=enrolment.fund,
        loan=loan,
        npl_on=npl_on,
        days_past_due=loan.days_past_due,
        outstanding_principal=principal,
        unpaid_interest=interest,
        exposure=Money.from_fen(exposure),
        collection_efforts=efforts,
        filed_by=_actor(acting_user),
        filed_on=today,
    )
    for _attempt in range(REFERENCE_ATTEMPTS):
        claim.reference = _new_reference(today)
        if not Claim.objects.filter(reference=claim.reference).exists():
            break
    try:
        audited_create(instance=claim, acting_user=acting_user, action="claim.file")
    except ValidationError:
        raise
    except IntegrityError as exc:  # the other officer's claim on the same loan committed first
        raise _error("enrolment", "该贷款已有代偿申请。", "duplicate") from exc
    audited_update(
        instance=enrolment, data={"status": EnrolmentStatus.CLAIMED}, acting_user=acting_user, action="enrolment.claim"
    )
    return claim


@transaction.atomic
def claim_withdraw(*, claim: Claim, acting_user: User, note: str = "") -> Claim:
    _require_bank(claim.loan, acting_user)
    claim = _lock_claim(claim, [ClaimStatus.FILED, ClaimStatus.REVIEWED])
    _transition(claim, expected=[ClaimStatus.FILED, ClaimStatus.REVIEWED], status=ClaimStatus.WITHDRAWN)
    _reopen_enrolment(claim, acting_user)
    record_event(
        acting_user=acting_user, action="claim.withdraw", instance=claim, new={"status": claim.status, "note": note}
    )
    return claim


def _reopen_enrolment(claim: Claim, acting_user: User) -> None:
    enrolment = Enrolment.objects.select_for_update().get(pk=claim.enrolment_id)
    audited_update(
        instance=enrolment, data={"status": EnrolmentStatus.ACTIVE}, acting_user=acting_user, action="enrolment.reopen"
    )


@transaction.atomic
def claim_review(*, claim: Claim, acting_user: User, note: str = "") -> Claim:
    """The fund's operator checks the file and recommends it for approval (初审)."""
    _require_fund_manager(claim.fund, acting_user, Action.CHANGE)
    claim = _lock_claim(claim, [ClaimStatus.FILED])
    _transition(
        claim,
        expected=[ClaimStatus.FILED],
        status=ClaimStatus.REVIEWED,
        reviewed_by=_actor(acting_user),
        reviewed_at=business_now(),
        review_note=note.strip(),
    )
    record_event(
        acting_user=acting_user, action="claim.review", instance=claim, new={"status": claim.status, "note": note}
    )
    return claim


@transaction.atomic
def claim_reject(*, claim: Claim, acting_user: User, note: str) -> Claim:
    _require_fund_manager(claim.fund, acting_user, Action.CHANGE)
    if not note.strip():
        raise _error("note", "驳回必须说明理由。", "required")
    claim = _lock_claim(claim, [ClaimStatus.FILED, ClaimStatus.REVIEWED])
    _transition(
        claim,
        expected=[ClaimStatus.FILED, ClaimStatus.REVIEWED],
        status=ClaimStatus.REJECTED,
        decision_note=note.strip(),
    )
    _reopen_enrolment(claim, acting_user)
    record_event(
        acting_user=acting_user, action="claim.reject", instance=claim, new={"status": claim.status, "note": note}
    )
    return claim


def _parties(claim: Claim) -> dict[str, Organisation | None]:
    enrolment = claim.enrolment
    return {
        PartyRole.FUND: None,
        PartyRole.BANK: claim.loan.bank,
        PartyRole.INSURER: enrolment.insurer,
        PartyRole.GUARANTOR: enrolment.guarantor,
        PartyRole.VALUER: enrolment.valuer,
    }


def _committed_fen(claims: Any) -> int:
    return ledger.as_fen(claims.aggregate(t=Sum("fund_committed"))["t"])


def claim_caps(claim: Claim, version: SchemeVersion) -> sharing.Caps:
    """The limits on the fund's share of this claim, excluding what this claim already holds."""
    others = (
        Claim.objects.filter(fund=claim.fund)
        .exclude(pk=claim.pk)
        .exclude(status__in=[ClaimStatus.REJECTED, ClaimStatus.WITHDRAWN])
    )
    enterprise_left = year_left = None
    if version.cap_per_enterprise is not None:
        used = _committed_fen(others.filter(enrolment__borrower_id=claim.enrolment.borrower_id))
        enterprise_left = max(version.cap_per_enterprise.fen - used, 0)
    if version.cap_per_year is not None:
        year = (claim.approved_on or business_date()).year
        used = _committed_fen(others.filter(enrolment__scheme_version__scheme=version.scheme, approved_on__year=year))
        year_left = max(version.cap_per_year.fen - used, 0)
    available = None
    if claim.fund.liability_capped:
        own_advance = ledger.fund_cash_on_claim_fen(claim)
        available = max(ledger.cash_fen(claim.fund) - own_advance, 0)
    return sharing.Caps(
        fund_per_loan_fen=version.cap_per_loan.fen if version.cap_per_loan is not None else None,
        fund_enterprise_remaining_fen=enterprise_left,
        fund_year_remaining_fen=year_left,
        fund_available_fen=available,
    )


def _caps_data(caps: sharing.Caps) -> dict[str, int | None]:
    return {
        "fund_per_loan_fen": caps.fund_per_loan_fen,
        "fund_enterprise_remaining_fen": caps.fund_enterprise_remaining_fen,
        "fund_year_remaining_fen": caps.fund_year_remaining_fen,
        "fund_available_fen": caps.fund_available_fen,
    }


def caps_from(data: Mapping[str, Any]) -> sharing.Caps:
    return sharing.Caps(**{k: data.get(k) for k in _caps_data(sharing.Caps())})


def preview_advance(claim: Claim) -> dict[str, Any]:
    """What approving the claim now would pay (for the reviewer's screen); nothing is written."""
    version = claim.enrolment.scheme_version
    rule = sharing_rule(version)
    caps = claim_caps(claim, version)
    balance = claim.outstanding_principal.fen
    if not _within_tiers(rule, balance):
        return {"error": "balance_above_tiers", "advance": {}, "tier_index": None}
    split = sharing.split_loss(loss_fen=claim.exposure.fen, balance_fen=balance, rule=rule, caps=caps)
    advance = clearing_engine.advance(
        exposure_fen=claim.exposure.fen, balance_fen=balance, rule=rule, caps=caps, advance_ratio=version.advance_ratio
    )
    return {
        "tier_index": split.tier_index,
        "ratios": {k: str(v) for k, v in split.ratios.items()},
        "shares_fen": split.shares_fen,
        "advance": advance,
        "capped_fen": split.capped_fen,
        "cap_reason": split.cap_reason,
        "caps": _caps_data(caps),
    }


@transaction.atomic
def claim_approve(*, claim: Claim, acting_user: User, note: str = "") -> Claim:
    """A fund reviewer approves: the exposure is booked, the fund pays its share in advance at once, and the
    insurer / guarantor / valuer are instructed to pay theirs (先行按比例拨付)."""
    _require_fund_manager(claim.fund, acting_user, Action.APPROVE)
    claim = _lock_claim(claim, [ClaimStatus.REVIEWED])
    if claim.reviewed_by_id == _actor_id(acting_user):
        raise _error("approved_by", "审批人不能是初审人（审批分离）。", "maker_is_checker")
    fund = Fund.objects.select_for_update().get(pk=claim.fund_id)  # one payer of the fund's cash at a time
    version = claim.enrolment.scheme_version
    rule = sharing_rule(version)
    balance = claim.outstanding_principal.fen
    if not _within_tiers(rule, balance):
        raise _error("exposure", "贷款余额超过方案最高分档，不在补偿范围内。", "above_tiers")
    today = business_date()
    claim.approved_on = today
    caps = claim_caps(claim, version)
    split = sharing.split_loss(loss_fen=claim.exposure.fen, balance_fen=balance, rule=rule, caps=caps)
    advance = clearing_engine.advance(
        exposure_fen=claim.exposure.fen, balance_fen=balance, rule=rule, caps=caps, advance_ratio=version.advance_ratio
    )
    parties = _parties(claim)
    terms = {
        "scheme_version": version.pk,
        "mode": version.sharing_mode,
        "tiers": version.sharing_tiers,
        "tier_index": split.tier_index,
        "balance_fen": balance,
        "ratios": {k: str(v) for k, v in split.ratios.items()},
        "advance_ratio": str(version.advance_ratio),
        "caps": _caps_data(caps),
        "cap_reason": split.cap_reason,
        "parties": {role: (org.pk if org is not None else None) for role, org in parties.items()},
        "advance_fen": advance,
    }
    _transition(
        claim,
        expected=[ClaimStatus.REVIEWED],
        status=ClaimStatus.ADVANCE_PAID,
        approved_by=_actor(acting_user),
        approved_on=today,
        decision_note=note.strip(),
        terms=terms,
        advance_total=Money.from_fen(sum(advance.values())),
        fund_committed=Money.from_fen(advance.get(PartyRole.FUND, 0)),
    )
    bank = claim.loan.bank
    ledger.post(
        fund=fund,
        kind=EntryKind.EXPOSURE,
        legs=[
            ledger.Leg(ledger.account(fund, AccountKind.EXPOSURE, PartyRole.BANK, bank), claim.exposure.fen),
            ledger.Leg(ledger.account(fund, AccountKind.LOAN_BOOK, PartyRole.BANK, bank), -claim.exposure.fen),
        ],
        value_date=today,
        memo=f"{claim.reference} 确认代偿敞口",
        acting_user=acting_user,
        claim=claim,
    )
    for role, fen in advance.items():
        payer = fund.manager if role == PartyRole.FUND else parties[role]
        assert payer is not None  # enrolment guarantees a party for every sharing role
        payment = _instruct(
            fund=fund,
            claim=claim,
            purpose=PaymentPurpose.ADVANCE,
            payer_role=role,
            payer=payer,
            payee_role=PartyRole.BANK,
            payee=bank,
            amount=Money.from_fen(fen),
            key=f"{claim.reference}:advance:{role}",
            acting_user=acting_user,
        )
        if role == PartyRole.FUND and payment.status == PaymentStatus.INSTRUCTED:
            _execute(payment, paid_on=today, reference="", acting_user=acting_user)
    record_event(
        acting_user=acting_user,
        action="claim.approve",
        instance=claim,
        new={"status": claim.status, "note": note},
        extra={"terms": terms},
    )
    return claim


@transaction.atomic
def recovery_record(
    *,
    claim: Claim,
    kind: str,
    value_date: datetime.date,
    gross_amount: Money,
    acting_user: User,
    idempotency_key: str,
    costs: Money | None = None,
    source_reference: str = "",
    note: str = "",
) -> Recovery:
    """Money recovered after the advance (disposal proceeds less costs, the borrower's repayment …)."""
    scope = scope_for(acting_user)
    is_manager = Fund.objects.restrict(acting_user, Action.CHANGE).filter(pk=claim.fund_id).exists()
    if not is_manager:
        _require_bank(claim.loan, acting_user)
    if scope is None:
        raise PermissionDenied("not signed in")
    key = idempotency_key.strip()
    if not key:
        raise _error("idempotency_key", "请提供幂等键，以免重复登记。", "required")
    existing = Recovery.objects.filter(claim=claim, idempotency_key=key).first()
    if existing is not None:
        if existing.gross_amount != gross_amount or existing.value_date != value_date:
            raise _error("idempotency_key", "该幂等键已用于另一笔不同的回收。", "idempotency_mismatch")
        return existing
    claim = _lock_claim(claim, [ClaimStatus.ADVANCE_PAID])
    if kind not in RecoveryKind.values:
        raise _error("kind", "回收方式无效。", "choice")
    costs = costs or Money(0)
    if gross_amount.fen <= 0:
        raise _error("gross_amount", "回收金额必须大于零。", "positive")
    if costs.fen < 0 or costs.fen > gross_amount.fen:
        raise _error("costs", "处置费用不能为负，也不能超过回收金额。", "range")
    if value_date > business_date():
        raise _error("value_date", "到账日不能晚于今天。", "future_date")
    if value_date < claim.npl_on:
        raise _error("value_date", "到账日不能早于不良认定日。", "before_npl")
    net = gross_amount - costs
    remaining = claim.exposure.fen - claim.recoveries_total.fen
    applied = Money.from_fen(max(min(net.fen, remaining), 0))
    recovery = Recovery(  # type: ignore[misc]
        claim=claim,
        kind=kind,
        value_date=value_date,
        gross_amount=gross_amount,
        costs=costs,
        net_amount=net,
        applied_amount=applied,
        source_reference=source_reference.strip(),
        note=note.strip(),
        idempotency_key=key,
        recorded_by=_actor(acting_user),
    )
    audited_create(instance=recovery, acting_user=acting_user, action="recovery.record")
    if applied.fen:
        bank = claim.loan.bank
        ledger.post(
            fund=claim.fund,
            kind=EntryKind.RECOVERY,
            legs=[
                ledger.Leg(ledger.account(claim.fund, AccountKind.LOAN_BOOK, PartyRole.BANK, bank), applied.fen),
                ledger.Leg(ledger.account(claim.fund, AccountKind.EXPOSURE, PartyRole.BANK, bank), -applied.fen),
            ],
            value_date=value_date,
            memo=f"{claim.reference} {recovery.get_kind_display()}回收",
            acting_user=acting_user,
            claim=claim,
        )
        _transition(
            claim,
            expected=[ClaimStatus.ADVANCE_PAID],
            recoveries_total=Money.from_fen(claim.recoveries_total.fen + applied.fen),
        )
    return recovery


def paid_by_role(claim: Claim) -> dict[str, int]:
    """Net fen each payer role has paid the bank on this claim (payments executed, reversals netted)."""
    paid: dict[str, int] = {}
    for payment in claim.payments.filter(status=PaymentStatus.PAID):
        if payment.payer_role != PartyRole.BANK:
            paid[payment.payer_role] = paid.get(payment.payer_role, 0) + payment.amount.fen
        else:
            paid[payment.payee_role] = paid.get(payment.payee_role, 0) - payment.amount.fen
    return paid


@transaction.atomic
def claim_clear(*, claim: Claim, acting_user: User, note: str = "") -> Claim:
    """Clearing (清算) once disposal is over: the final loss is shared by the frozen terms, each party's final
    share is booked, and true-up instructions return over-payments or top up under-payments."""
    _require_fund_manager(claim.fund, acting_user, Action.CHANGE)
    claim = _lock_claim(claim, [ClaimStatus.ADVANCE_PAID])
    if claim.payments.filter(purpose=PaymentPurpose.ADVANCE, status=PaymentStatus.INSTRUCTED).exists():
        raise _error("status", "尚有未支付的先行拨付指令，不能清算。", "advance_unpaid")
    fund = Fund.objects.select_for_update().get(pk=claim.fund_id)
    terms = claim.terms
    rule = sharing.rule_from_data(terms["tiers"], mode=terms["mode"])
    caps = caps_from(terms["caps"])
    if fund.liability_capped:
        # The fund's balance now, plus what it already advanced on this claim, bounds its final share.
        fund_paid = paid_by_role(claim).get(PartyRole.FUND, 0)
        caps = sharing.Caps(
            fund_per_loan_fen=caps.fund_per_loan_fen,
            fund_enterprise_remaining_fen=caps.fund_enterprise_remaining_fen,
            fund_year_remaining_fen=caps.fund_year_remaining_fen,
            fund_available_fen=ledger.cash_fen(fund) + fund_paid,
        )
    result = clearing_engine.clear(
        exposure_fen=claim.exposure.fen,
        recoveries_fen=claim.recoveries_total.fen,
        balance_fen=int(terms["balance_fen"]),
        paid_fen=paid_by_role(claim),
        rule=rule,
        caps=caps,
    )
    today = business_date()
    parties = _parties(claim)
    bank = claim.loan.bank
    if result.final_loss_fen:
        legs = [
            ledger.Leg(ledger.account(fund, AccountKind.LOSS, role, parties.get(role)), fen)
            for role, fen in result.split.shares_fen.items()
            if fen
        ]
        legs.append(
            ledger.Leg(ledger.account(fund, AccountKind.EXPOSURE, PartyRole.BANK, bank), -result.final_loss_fen)
        )
        ledger.post(
            fund=fund,
            kind=EntryKind.CLEARING,
            legs=legs,
            value_date=today,
            memo=f"{claim.reference} 清算：最终损失分担",
            acting_user=acting_user,
            claim=claim,
        )
    payments = []
    for n, transfer in enumerate(result.transfers):
        payer = fund.manager if transfer.payer == PartyRole.FUND else parties[transfer.payer]
        payee = fund.manager if transfer.payee == PartyRole.FUND else parties[transfer.payee]
        assert payer is not None and payee is not None
        payments.append(
            _instruct(
                fund=fund,
                claim=claim,
                purpose=PaymentPurpose.TRUE_UP,
                payer_role=transfer.payer,
                payer=payer,
                payee_role=transfer.payee,
                payee=payee,
                amount=Money.from_fen(transfer.fen),
                key=f"{claim.reference}:true-up:{n}:{transfer.payer}:{transfer.payee}",
                acting_user=acting_user,
            )
        )
    status = ClaimStatus.CLEARED if not payments else ClaimStatus.CLEARING
    terms = {
        **terms,
        "clearing": {
            "final_loss_fen": result.final_loss_fen,
            "shares_fen": result.split.shares_fen,
            "paid_fen": result.paid_fen,
            "transfers": [{"payer": t.payer, "payee": t.payee, "fen": t.fen} for t in result.transfers],
            "capped_fen": result.split.capped_fen,
            "cap_reason": result.split.cap_reason,
        },
    }
    _transition(
        claim,
        expected=[ClaimStatus.ADVANCE_PAID],
        status=status,
        final_loss=Money.from_fen(result.final_loss_fen),
        fund_committed=Money.from_fen(result.split.shares_fen.get(PartyRole.FUND, 0)),
        terms=terms,
        cleared_on=today if status == ClaimStatus.CLEARED else None,
    )
    record_event(
        acting_user=acting_user,
        action="claim.clear",
        instance=claim,
        new={"status": claim.status, "final_loss": claim.final_loss, "note": note},
        extra={"clearing": terms["clearing"]},
    )
    if status == ClaimStatus.CLEARED:
        _release_after_clearing(claim, acting_user)
    return claim


def _release_after_clearing(claim: Claim, acting_user: User | None) -> None:
    enrolment = Enrolment.objects.select_for_update().get(pk=claim.enrolment_id)
    audited_update(
        instance=enrolment,
        data={"status": EnrolmentStatus.RELEASED, "released_on": business_date()},
        acting_user=acting_user,
        action="enrolment.release",
    )


# ---------------------------------------------------------------------------
# Payments: instruct once, execute once
# ---------------------------------------------------------------------------


def _instruct(
    *,
    fund: Fund,
    claim: Claim | None,
    purpose: str,
    payer_role: str,
    payer: Organisation,
    payee_role: str,
    payee: Organisation,
    amount: Money,
    key: str,
    acting_user: User,
) -> Payment:
    """Create the instruction under its idempotency key; the same key again returns the first instruction."""
    key = key.strip()
    if not key:
        raise _error("idempotency_key", "请提供幂等键。", "required")
    existing = Payment.objects.filter(fund=fund, idempotency_key=key).first()
    if existing is not None:
        if existing.amount != amount or existing.payer_id != payer.pk or existing.payee_id != payee.pk:
            raise _error("idempotency_key", "该幂等键已用于另一笔不同的划款。", "idempotency_mismatch")
        return existing
    payment = Payment(  # type: ignore[misc]
        fund=fund,
        claim=claim,
        purpose=purpose,
        payer_role=payer_role,
        payer=payer,
        payee_role=payee_role,
        payee=payee,
        amount=amount,
        idempotency_key=key,
        instructed_on=business_date(),
    )
    return audited_create(instance=payment, acting_user=acting_user, action="payment.instruct")


def _execute(payment: Payment, *, paid_on: datetime.date, reference: str, acting_user: User | None) -> Payment:
    """Post the payment's entry; the fund never pays beyond its balance."""
    fund = payment.fund
    if payment.payer_role == PartyRole.FUND and ledger.cash_fen(fund) < payment.amount.fen:
        raise _error("amount", f"基金专户余额不足：需支付 {payment.amount} 元。", "insufficient_balance")
    payer_party = None if payment.payer_role == PartyRole.FUND else payment.payer
    payee_party = None if payment.payee_role == PartyRole.FUND else payment.payee
    fen = payment.amount.fen
    entry = ledger.post(
        fund=fund,
        kind=EntryKind.CONTRIBUTION if payment.purpose == PaymentPurpose.CONTRIBUTION else EntryKind.PAYMENT,
        legs=[
            ledger.Leg(ledger.receiving_account(fund, payment.payee_role, payee_party), fen),
            ledger.Leg(ledger.paying_account(fund, payment.payer_role, payer_party), -fen),
        ],
        value_date=paid_on,
        memo=f"{payment.get_purpose_display()}：{payment.payer.name} → {payment.payee.name}",
        acting_user=acting_user,
        claim=payment.claim,
    )
    updated = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.INSTRUCTED).update(
        status=PaymentStatus.PAID,
        entry=entry,
        paid_on=paid_on,
        paid_by=_actor(acting_user),
        reference=reference.strip(),
    )
    if updated != 1:
        raise _error("status", "该划款指令已支付。", "already_paid")
    payment.refresh_from_db()
    record_event(
        acting_user=acting_user, action="payment.pay", instance=payment, new={"status": payment.status, "entry": entry}
    )
    return payment


@transaction.atomic
def payment_mark_paid(
    *, payment: Payment, acting_user: User, paid_on: datetime.date | None = None, reference: str = ""
) -> Payment:
    """The payer (or the fund manager) confirms an instruction was paid; a cleared claim closes with its last."""
    if not Payment.objects.restrict(acting_user, Action.CHANGE).filter(pk=payment.pk).exists():
        raise PermissionDenied("only the payer or the fund manager confirms a payment")
    Fund.objects.select_for_update().get(pk=payment.fund_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != PaymentStatus.INSTRUCTED:
        raise _error("status", "该划款指令已支付。", "already_paid")
    paid_on = paid_on or business_date()
    if paid_on > business_date():
        raise _error("paid_on", "支付日不能晚于今天。", "future_date")
    payment = _execute(payment, paid_on=paid_on, reference=reference, acting_user=acting_user)
    claim = payment.claim
    settled = (
        claim is not None
        and claim.status == ClaimStatus.CLEARING
        and not claim.payments.filter(purpose=PaymentPurpose.TRUE_UP, status=PaymentStatus.INSTRUCTED).exists()
    )
    if claim is not None and settled:
        claim = _lock_claim(claim, [ClaimStatus.CLEARING])
        _transition(claim, expected=[ClaimStatus.CLEARING], status=ClaimStatus.CLEARED, cleared_on=paid_on)
        record_event(acting_user=acting_user, action="claim.cleared", instance=claim, new={"status": claim.status})
        _release_after_clearing(claim, acting_user)
    return payment


@transaction.atomic
def entry_reverse(*, entry: JournalEntry, reason: str, acting_user: User) -> JournalEntry:
    """Reverse a payment or contribution posted in error; its instruction awaits payment again. Claim bookings
    (exposure, recovery, clearing) follow the claim and are not reversed by hand, nor is anything of a cleared claim."""
    _require_fund_manager(entry.fund, acting_user, Action.APPROVE)
    if not reason.strip():
        raise _error("reason", "冲正必须说明原因。", "required")
    entry = JournalEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.kind not in (EntryKind.PAYMENT, EntryKind.CONTRIBUTION):
        raise _error("entry", "只有划款和出资凭证可以冲正。", "not_reversible")
    if JournalEntry.objects.filter(reverses=entry).exists():
        raise _error("entry", "该凭证已冲正。", "already_reversed")
    if entry.claim is not None and entry.claim.status in (ClaimStatus.CLEARING, ClaimStatus.CLEARED):
        raise _error("entry", "已清算的代偿申请的凭证不能冲正。", "claim_cleared")
    payment = Payment.objects.select_for_update().filter(entry=entry).first()
    returns_fund_cash = payment is not None and payment.payee_role == PartyRole.FUND
    if returns_fund_cash and payment is not None and ledger.cash_fen(entry.fund) < payment.amount.fen:
        raise _error("entry", "冲正后基金专户余额将为负。", "insufficient_balance")
    reversal = ledger.reverse(entry=entry, value_date=business_date(), reason=reason.strip(), acting_user=acting_user)
    if payment is not None:
        before = snapshot(payment, ["status", "entry", "paid_on"])
        payment.status, payment.entry, payment.paid_on, payment.paid_by = PaymentStatus.INSTRUCTED, None, None, None
        save_validated(payment)
        record_event(
            acting_user=acting_user,
            action="payment.reverse",
            instance=payment,
            old=before,
            new=snapshot(payment, ["status", "entry", "paid_on"]),
            extra={"reversal": reversal.pk, "reason": reason},
        )
    return reversal


# ---------------------------------------------------------------------------
# Monitoring: idle funds (M3), leverage, balance; stress tests
# ---------------------------------------------------------------------------


def _raise_alert(fund: Fund, kind: str, message: str, figures: dict[str, Any], today: datetime.date) -> bool:
    if FundAlert.objects.filter(fund=fund, kind=kind, resolved_on__isnull=True).exists():
        return False
    alert = FundAlert(fund=fund, kind=kind, message=message, figures=figures, raised_on=today)
    audited_create(instance=alert, acting_user=None, action="fund_alert.raise")
    return True


def _resolve_alert(fund: Fund, kind: str, today: datetime.date) -> None:
    for alert in FundAlert.objects.filter(fund=fund, kind=kind, resolved_on__isnull=True):
        audited_update(instance=alert, data={"resolved_on": today}, acting_user=None, action="fund_alert.resolve")


@transaction.atomic
def fund_alerts_scan(*, today: datetime.date | None = None) -> dict[str, int]:
    """Raise (and resolve) the alerts to sponsors and managers: capital idle for longer than the fund's period with
    utilisation under its threshold (the plan: 资金长期闲置的，要及时调整), leverage above 90% of the cap, and a
    balance below 10% of the capital."""
    from .selectors import fund_figures

    today = today or business_date()
    raised = resolved = 0
    for fund in Fund.objects.filter(status=FundStatus.ACTIVE).select_related("region"):
        figures = fund_figures(fund, today=today)
        checks = {
            FundAlertKind.IDLE: figures.idle,
            FundAlertKind.LEVERAGE: figures.leverage_used >= Decimal("0.9") * fund.leverage_cap,
            FundAlertKind.LOW_BALANCE: figures.balance.fen * 10 < fund.capital.fen,
        }
        messages = {
            FundAlertKind.IDLE: (
                f"{fund.name}已连续 {figures.days_since_activity} 天没有代偿申请，资金使用率 {figures.utilisation:.1%}"
                f"（阈值 {fund.idle_utilisation:.0%}）：请评估调整资金安排。"
            ),
            FundAlertKind.LEVERAGE: f"{fund.name}在池本金已达规模的 {figures.leverage_used:.2f} 倍（上限 {fund.leverage_cap} 倍）。",
            FundAlertKind.LOW_BALANCE: f"{fund.name}专户余额 {figures.balance} 元，低于规模的 10%。",
        }
        for kind, hit in checks.items():
            if hit:
                raised += _raise_alert(fund, kind, messages[kind], figures.as_alert_data(), today)
            elif FundAlert.objects.filter(fund=fund, kind=kind, resolved_on__isnull=True).exists():
                _resolve_alert(fund, kind, today)
                resolved += 1
    return {"raised": raised, "resolved": resolved}


@transaction.atomic
def stress_run_request(
    *, fund: Fund, acting_user: User, simulations: int = 10_000, overrides: Mapping[str, Any] | None = None
) -> StressRun:
    """Queue a stress test; a task worker runs it (at once in tests and with the immediate backend)."""
    from .stress import ASSUMPTION_FIELDS

    if not Fund.objects.restrict(acting_user, Action.VIEW).filter(pk=fund.pk).exists() or not (
        Fund.objects.restrict(acting_user, Action.CHANGE).filter(pk=fund.pk).exists()
        or _is_books_reader(fund, acting_user)
    ):
        raise PermissionDenied("only the fund's manager, sponsors and supervisors run stress tests")
    if not 100 <= simulations <= 200_000:
        raise _error("simulations", "模拟次数必须在 100 到 200000 之间。", "range")
    params = dict(overrides or {})
    for name, value in params.items():
        if name not in ASSUMPTION_FIELDS:
            raise _error(name, "未知的压力测试参数。", "unknown")
        if not isinstance(value, int | float | Decimal) or not 0 <= float(value) <= 1:
            raise _error(name, "参数必须是 0 到 1 之间的数。", "range")
    run = StressRun(
        fund=fund,
        simulations=simulations,
        parameters={k: float(v) for k, v in params.items()},
        requested_by=_actor(acting_user),
    )
    audited_create(instance=run, acting_user=acting_user, action="stress_run.request")
    from .tasks import run_stress_test

    transaction.on_commit(lambda: run_stress_test.enqueue(run.pk))
    return run


def _is_books_reader(fund: Fund, user: User) -> bool:
    from .models import _fund_books_q

    scope = scope_for(user)
    if scope is None:
        return False
    return scope.is_platform or Fund.objects.filter(_fund_books_q(scope, ""), pk=fund.pk).exists()


def stress_run_execute(run_id: int) -> StressRun:
    """Run the Monte Carlo and store its result (outside a long transaction: reading, computing, then one write)."""
    from .stress import run_for_fund

    run = StressRun.objects.select_related("fund").get(pk=run_id)
    if run.status != StressRunStatus.QUEUED:
        return run
    try:
        result = run_for_fund(run.fund, simulations=run.simulations, overrides=run.parameters)
    except Exception as exc:  # a failed run is recorded for the user rather than lost in the worker log
        with transaction.atomic():
            StressRun.objects.filter(pk=run.pk).update(
                status=StressRunStatus.FAILED, error=str(exc)[:2000], finished_at=business_now()
            )
            record_event(acting_user=None, action="stress_run.fail", instance=run, extra={"error": str(exc)[:500]})
        raise
    with transaction.atomic():
        StressRun.objects.filter(pk=run.pk).update(
            status=StressRunStatus.DONE, result=result, finished_at=business_now()
        )
        record_event(acting_user=None, action="stress_run.done", instance=run, extra={"seconds": result.get("seconds")})
    run.refresh_from_db()
    return run
