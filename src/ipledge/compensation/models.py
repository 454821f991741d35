"""Risk-compensation funds (知识产权质押融资风险补偿基金), their sharing schemes, enrolled loans, claims and ledger.

A `Fund` is capital from sponsors (出资方, usually finance departments and IP offices) run by a fund manager
(基金管理机构) under a leverage cap (放大倍数). A `Scheme` is versioned (`SchemeVersion`): eligibility, the loss
sharing among fund / bank / insurer / guarantor / valuer (fixed or tiered by balance), what is covered, caps and
the claim preconditions. A loan is enrolled (入池, `Enrolment`) under the version in force when it was made.

A `Claim` (代偿申请) follows the action plan's "compensate first, clear after disposal" (前置补偿 + 清算): the
bank files, the fund's operator reviews, a reviewer approves and the fund pays its share in advance pro rata
(先行按比例拨付); recoveries (追偿回收) come in; clearing (清算) shares the final loss by the scheme and the
over-payments are returned. Every money movement is a `Payment` (instruction with an idempotency key) whose
execution posts a balanced `JournalEntry` in fen; entries are reversed, never deleted.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ipledge.core.choices import OrganisationKind
from ipledge.core.models import Organisation, Region, User
from ipledge.core.money import MoneyField
from ipledge.core.scoping import Action, RestrictedManager, Scope, scoped_through
from ipledge.lending.models import Loan, LoanCover
from ipledge.registry.models import Enterprise

from .choices import (
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

# Organisations that take a share of a loss and so must know the schemes on offer.
SHARING_PARTY_KINDS = frozenset(
    {OrganisationKind.BANK, OrganisationKind.INSURER, OrganisationKind.GUARANTOR, OrganisationKind.VALUER}
)
GOVERNMENT_KINDS = frozenset(
    {OrganisationKind.IP_OFFICE, OrganisationKind.FINANCIAL_REGULATOR, OrganisationKind.DEVELOPMENT_REFORM}
)


def _fund_books_q(scope: Scope, prefix: str) -> Q:
    """Who reads a fund's books (balances, ledger, stress tests): its manager's tree, its sponsors, and the
    government bodies whose jurisdiction holds the fund's region."""
    q = scope.org_tree_q(f"{prefix}manager__tree_path")
    if scope.kind in GOVERNMENT_KINDS:
        region = scope.region_q(f"{prefix}region__code")
        if region is not None:
            q |= region
    sponsor_funds = Fund.sponsors.through.objects.filter(
        organisation__tree_path__startswith=scope.org_tree_path
    ).values("fund_id")
    return q | Q(**{f"{prefix}pk__in": sponsor_funds})


def _fund_manager_q(scope: Scope, prefix: str) -> Q | None:
    if scope.kind != OrganisationKind.FUND_MANAGER:
        return None
    return scope.org_tree_q(f"{prefix}manager__tree_path")


class Fund(models.Model):
    code = models.CharField(_("基金编号"), max_length=32, unique=True)
    name = models.CharField(_("基金名称"), max_length=128)
    manager = models.ForeignKey(
        Organisation, verbose_name=_("管理机构"), on_delete=models.PROTECT, related_name="managed_funds"
    )
    sponsors = models.ManyToManyField(  # type: ignore[var-annotated]
        Organisation, verbose_name=_("出资方"), related_name="sponsored_funds", blank=True
    )
    region = models.ForeignKey(Region, verbose_name=_("适用地区"), on_delete=models.PROTECT, related_name="+")
    capital = MoneyField(_("认缴规模"))
    leverage_cap = models.DecimalField(
        _("放大倍数上限"), max_digits=6, decimal_places=2, help_text=_("在池贷款本金不超过基金规模的倍数，如 10")
    )
    liability_capped = models.BooleanField(_("以基金总额为限"), default=True, help_text=_("代偿总额不超过基金专户余额"))
    status = models.CharField(_("状态"), max_length=16, choices=FundStatus.choices, default=FundStatus.ACTIVE)
    established_on = models.DateField(_("设立日"))
    expires_on = models.DateField(_("存续期至"), null=True, blank=True)
    idle_days = models.PositiveIntegerField(
        _("闲置预警期（天）"), default=365, help_text=_("连续这么多天没有代偿申请且使用率偏低时提醒出资方")
    )
    idle_utilisation = models.DecimalField(
        _("闲置使用率阈值"), max_digits=5, decimal_places=4, default="0.3000", help_text=_("如 0.3 表示 30%")
    )
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("风险补偿基金")
        verbose_name_plural = _("风险补偿基金")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(capital__gt=0),
                name="compensation_fund_capital_positive",
                violation_error_message=_("基金规模必须大于零。"),
            ),
            models.CheckConstraint(
                condition=Q(leverage_cap__gte=1) & Q(leverage_cap__lte=100),
                name="compensation_fund_leverage_range",
                violation_error_message=_("放大倍数上限必须在 1 到 100 之间。"),
            ),
            models.CheckConstraint(
                condition=Q(idle_utilisation__gte=0) & Q(idle_utilisation__lte=1),
                name="compensation_fund_idle_utilisation_range",
                violation_error_message=_("闲置使用率阈值必须在 0 到 1 之间。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def audit_region_code(self) -> str:
        return self.region.code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        """The manager's tree does everything; sponsors and the government of the fund's region read; the banks,
        insurers, guarantors and valuers that may share a loss read the funds (public policy) to enrol loans."""
        if action != Action.VIEW:
            return _fund_manager_q(scope, "")
        q = _fund_books_q(scope, "")
        if scope.kind in SHARING_PARTY_KINDS:
            q |= ~Q(status=FundStatus.CLOSED)
        return q


class _FundChild(models.Model):
    """A row reached as its fund's books are: manager, sponsors, government of the region."""

    class Meta:
        abstract = True

    @property
    def audit_region_code(self) -> str:
        return self.fund.region.code  # type: ignore[attr-defined,no-any-return]

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action != Action.VIEW:
            return _fund_manager_q(scope, "fund__")
        return _fund_books_q(scope, "fund__")


class Scheme(models.Model):
    """A compensation scheme (补偿方案) of a fund; its rules live in versions."""

    fund = models.ForeignKey(Fund, verbose_name=_("基金"), on_delete=models.PROTECT, related_name="schemes")
    code = models.CharField(_("方案编号"), max_length=32)
    name = models.CharField(_("方案名称"), max_length=128)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("补偿方案")
        verbose_name_plural = _("补偿方案")
        ordering = ["fund", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["fund", "code"],
                name="compensation_scheme_code_unique",
                violation_error_code="unique",
                violation_error_message=_("该基金下已有相同编号的方案。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def audit_region_code(self) -> str:
        return self.fund.region.code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return scoped_through("fund", Fund, Fund.scope_q(scope, action))


class SchemeVersion(models.Model):
    """One version of a scheme's rules; published by a reviewer who is not its author (maker-checker)."""

    scheme = models.ForeignKey(Scheme, verbose_name=_("方案"), on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("版本号"))
    status = models.CharField(_("状态"), max_length=16, choices=SchemeStatus.choices, default=SchemeStatus.DRAFT)
    effective_from = models.DateField(_("生效日"))
    effective_to = models.DateField(_("失效日"), null=True, blank=True)
    # Eligibility (准入条件)
    ip_only = models.BooleanField(_("仅限纯知识产权质押"), default=False)
    min_ip_share = models.DecimalField(
        _("知识产权最低占比"),
        max_digits=5,
        decimal_places=4,
        default="0.0000",
        help_text=_("知识产权在全部担保物中的价值占比下限，如 0.5"),
    )
    covers_ip_share_only = models.BooleanField(
        _("仅补偿知识产权对应部分"), default=False, help_text=_("组合担保贷款只按知识产权占比计算代偿敞口")
    )
    enterprise_sizes = models.JSONField(_("企业规模"), default=list, blank=True, help_text=_("为空表示不限"))
    requires_whitelist = models.BooleanField(
        _("须为授信白名单企业"), default=False, help_text=_("借款企业入池时须在所在园区现行授信白名单内")
    )
    region_prefixes = models.JSONField(_("适用地区"), default=list, blank=True, help_text=_("为空表示基金所在地区"))
    max_principal = MoneyField(_("单户贷款本金上限"), null=True, blank=True)
    max_term_months = models.PositiveSmallIntegerField(_("贷款期限上限（月）"), null=True, blank=True)
    enrol_window_days = models.PositiveSmallIntegerField(
        _("放款后入池期限（天）"), default=30, help_text=_("贷款须在首次放款后这么多天内入池")
    )
    # Loss sharing (风险分担)
    sharing_mode = models.CharField(
        _("分担方式"), max_length=16, choices=SharingMode.choices, default=SharingMode.WHOLE
    )
    sharing_tiers = models.JSONField(
        _("分担比例"),
        help_text=_('按贷款余额分档：[{"up_to": "10000000.00", "shares": {"fund": "0.8", "bank": "0.2"}}, …]'),
    )
    covers_interest = models.BooleanField(_("补偿利息损失"), default=False)
    advance_ratio = models.DecimalField(
        _("先行拨付比例"),
        max_digits=5,
        decimal_places=4,
        default="1.0000",
        help_text=_("基金应分担部分中先行拨付的比例，如 1 表示全额先行拨付"),
    )
    cap_per_loan = MoneyField(_("单笔代偿上限"), null=True, blank=True)
    cap_per_enterprise = MoneyField(_("单户代偿上限"), null=True, blank=True)
    cap_per_year = MoneyField(_("年度代偿上限"), null=True, blank=True)
    # Claim preconditions (代偿条件)
    trigger = models.CharField(
        _("代偿触发条件"), max_length=16, choices=ClaimTrigger.choices, default=ClaimTrigger.NON_PERFORMING
    )
    trigger_days_overdue = models.PositiveSmallIntegerField(_("逾期天数"), default=90)
    requires_collection_evidence = models.BooleanField(_("须提供追偿材料"), default=True)
    claim_window_days = models.PositiveSmallIntegerField(
        _("申请时限（天）"), null=True, blank=True, help_text=_("贷款进入不良后须在这么多天内申请代偿")
    )
    pledge_before_npl = models.BooleanField(_("质押登记须早于不良"), default=True)
    note = models.TextField(_("说明"), blank=True)
    prepared_by = models.ForeignKey(
        User, verbose_name=_("拟定人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        User, verbose_name=_("审批人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("方案版本")
        verbose_name_plural = _("方案版本")
        ordering = ["scheme", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "number"],
                name="compensation_scheme_version_unique",
                violation_error_code="unique",
                violation_error_message=_("版本号重复。"),
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("prepared_by")),
                name="compensation_scheme_maker_is_not_checker",
                violation_error_message=_("审批人不能是拟定人（审批分离）。"),
            ),
            models.CheckConstraint(
                condition=Q(advance_ratio__gt=0) & Q(advance_ratio__lte=1),
                name="compensation_scheme_advance_ratio_range",
                violation_error_message=_("先行拨付比例必须大于 0 且不超过 1。"),
            ),
            models.CheckConstraint(
                condition=Q(min_ip_share__gte=0) & Q(min_ip_share__lte=1),
                name="compensation_scheme_min_ip_share_range",
                violation_error_message=_("知识产权最低占比必须在 0 与 1 之间。"),
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                name="compensation_scheme_dates_ordered",
                violation_error_message=_("失效日不能早于生效日。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scheme} v{self.number}"

    @property
    def fund(self) -> Fund:
        return self.scheme.fund

    @property
    def audit_region_code(self) -> str:
        return self.scheme.fund.region.code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return scoped_through("scheme__fund", Fund, Fund.scope_q(scope, action))


def _enrolment_scope_q(scope: Scope, action: str, prefix: str) -> Q | None:
    """The fund's books readers; the lending bank's tree (it enrols, files and records); the insurer, guarantor
    and valuer named on the enrolment read what they share."""
    kind = scope.kind
    if kind == OrganisationKind.FUND_MANAGER:
        if action == Action.VIEW:
            return _fund_books_q(scope, f"{prefix}fund__")
        return scope.org_tree_q(f"{prefix}fund__manager__tree_path")
    if kind == OrganisationKind.BANK:
        if action == Action.DELETE:
            return None
        return scope.org_tree_q(f"{prefix}loan__bank__tree_path")
    if action != Action.VIEW:
        return None
    if kind in (OrganisationKind.INSURER, OrganisationKind.GUARANTOR, OrganisationKind.VALUER):
        field = {
            str(OrganisationKind.INSURER): "insurer",
            str(OrganisationKind.GUARANTOR): "guarantor",
            str(OrganisationKind.VALUER): "valuer",
        }[str(kind)]
        return scope.org_tree_q(f"{prefix}{field}__tree_path")
    return _fund_books_q(scope, f"{prefix}fund__")


class Enrolment(models.Model):
    """A loan in the fund's pool (入池) under the scheme version in force when it was made."""

    fund = models.ForeignKey(Fund, verbose_name=_("基金"), on_delete=models.PROTECT, related_name="enrolments")
    scheme_version = models.ForeignKey(
        SchemeVersion, verbose_name=_("方案版本"), on_delete=models.PROTECT, related_name="enrolments"
    )
    loan = models.ForeignKey(Loan, verbose_name=_("贷款"), on_delete=models.PROTECT, related_name="fund_enrolments")
    borrower = models.ForeignKey(Enterprise, verbose_name=_("借款企业"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=16, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE)
    enrolled_on = models.DateField(_("入池日"))
    released_on = models.DateField(_("出池日"), null=True, blank=True)
    ip_share = models.DecimalField(
        _("知识产权占比"), max_digits=5, decimal_places=4, default="1.0000", help_text=_("如 1 表示纯知识产权质押")
    )
    covered_amount = MoneyField(_("在池本金"))
    insurer = models.ForeignKey(
        Organisation, verbose_name=_("保险机构"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    guarantor = models.ForeignKey(
        Organisation, verbose_name=_("担保机构"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    valuer = models.ForeignKey(
        Organisation, verbose_name=_("评估机构"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cover = models.OneToOneField(
        LoanCover, verbose_name=_("增信记录"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enrolled_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("入池贷款")
        verbose_name_plural = _("入池贷款")
        ordering = ["-enrolled_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["loan"],
                condition=~Q(status=EnrolmentStatus.RELEASED),
                name="compensation_enrolment_one_open_per_loan",
                violation_error_code="unique",
                violation_error_message=_("该贷款已在风险补偿资金池中。"),
            ),
            models.CheckConstraint(
                condition=Q(ip_share__gt=0) & Q(ip_share__lte=1),
                name="compensation_enrolment_ip_share_range",
                violation_error_message=_("知识产权占比必须大于 0 且不超过 1。"),
            ),
            models.CheckConstraint(
                condition=Q(covered_amount__gt=0),
                name="compensation_enrolment_covered_positive",
                violation_error_message=_("在池本金必须大于零。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fund.code} · {self.loan.reference}"

    @property
    def audit_region_code(self) -> str:
        return self.loan.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return _enrolment_scope_q(scope, action, "")


class Claim(models.Model):
    """A compensation claim (代偿申请) on one enrolled loan, from filing to clearing (清算)."""

    reference = models.CharField(_("申请编号"), max_length=32, unique=True)
    enrolment = models.ForeignKey(
        Enrolment, verbose_name=_("入池贷款"), on_delete=models.PROTECT, related_name="claims"
    )
    fund = models.ForeignKey(Fund, verbose_name=_("基金"), on_delete=models.PROTECT, related_name="claims")
    loan = models.ForeignKey(Loan, verbose_name=_("贷款"), on_delete=models.PROTECT, related_name="compensation_claims")
    status = models.PositiveSmallIntegerField(_("状态"), choices=ClaimStatus.choices, default=ClaimStatus.FILED)
    npl_on = models.DateField(_("不良认定日"))
    days_past_due = models.PositiveIntegerField(_("逾期天数"), default=0)
    outstanding_principal = MoneyField(_("不良时本金余额"))
    unpaid_interest = MoneyField(_("欠息"), default=0)
    exposure = MoneyField(_("代偿敞口"))
    collection_efforts = models.TextField(_("追偿措施"), blank=True)
    # The rules the claim is settled under, frozen when it is approved (tier, ratios, caps).
    terms = models.JSONField(_("适用分担规则"), default=dict, blank=True)
    advance_total = MoneyField(_("先行拨付合计"), default=0)
    fund_committed = MoneyField(_("基金承担金额"), default=0)
    recoveries_total = MoneyField(_("追偿回收净额"), default=0)
    final_loss = MoneyField(_("最终损失"), null=True, blank=True)
    filed_by = models.ForeignKey(
        User, verbose_name=_("申请人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filed_on = models.DateField(_("申请日"))
    reviewed_by = models.ForeignKey(
        User, verbose_name=_("初审人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("初审时间"), null=True, blank=True)
    review_note = models.TextField(_("初审意见"), blank=True)
    approved_by = models.ForeignKey(
        User, verbose_name=_("审批人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_on = models.DateField(_("审批日"), null=True, blank=True)
    decision_note = models.TextField(_("审批意见"), blank=True)
    cleared_on = models.DateField(_("清算日"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("代偿申请")
        verbose_name_plural = _("代偿申请")
        ordering = ["-filed_on", "-pk"]
        constraints = [
            # Two claims on one loan: the second insert fails, whichever bank officer clicks first.
            models.UniqueConstraint(
                fields=["loan"],
                condition=~Q(status__in=[ClaimStatus.REJECTED, ClaimStatus.WITHDRAWN]),
                name="compensation_claim_one_per_loan",
                violation_error_code="unique",
                violation_error_message=_("该贷款已有代偿申请。"),
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("reviewed_by")),
                name="compensation_claim_reviewer_is_not_approver",
                violation_error_message=_("审批人不能是初审人（审批分离）。"),
            ),
            models.CheckConstraint(
                condition=Q(exposure__gt=0) & Q(outstanding_principal__gt=0) & Q(unpaid_interest__gte=0),
                name="compensation_claim_amounts_positive",
                violation_error_message=_("代偿敞口和本金余额必须大于零。"),
            ),
            models.CheckConstraint(
                condition=Q(advance_total__gte=0) & Q(fund_committed__gte=0) & Q(recoveries_total__gte=0),
                name="compensation_claim_totals_not_negative",
                violation_error_message=_("金额不能为负。"),
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def audit_region_code(self) -> str:
        return self.loan.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return _enrolment_scope_q(scope, action, "enrolment__")


class Recovery(models.Model):
    """Money recovered on a claimed loan after the advance (disposal proceeds net of costs, repayments …)."""

    claim = models.ForeignKey(Claim, verbose_name=_("代偿申请"), on_delete=models.PROTECT, related_name="recoveries")
    kind = models.CharField(_("回收方式"), max_length=16, choices=RecoveryKind.choices)
    value_date = models.DateField(_("到账日"))
    gross_amount = MoneyField(_("回收金额"))
    costs = MoneyField(_("处置费用"), default=0)
    net_amount = MoneyField(_("回收净额"))
    applied_amount = MoneyField(_("计入清算金额"), help_text=_("超出代偿敞口的部分不参与分担"))
    source_reference = models.CharField(_("来源单据"), max_length=64, blank=True)
    note = models.CharField(_("说明"), max_length=255, blank=True)
    idempotency_key = models.CharField(_("幂等键"), max_length=64)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("追偿回收")
        verbose_name_plural = _("追偿回收")
        ordering = ["claim", "value_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "idempotency_key"],
                name="compensation_recovery_idempotent",
                violation_error_code="unique",
                violation_error_message=_("该回收已登记（幂等键重复）。"),
            ),
            models.CheckConstraint(
                condition=Q(gross_amount__gt=0) & Q(costs__gte=0) & Q(net_amount=F("gross_amount") - F("costs")),
                name="compensation_recovery_net",
                violation_error_message=_("回收净额必须等于回收金额减处置费用。"),
            ),
            models.CheckConstraint(
                condition=Q(applied_amount__gte=0) & Q(applied_amount__lte=F("net_amount")),
                name="compensation_recovery_applied_range",
                violation_error_message=_("计入清算金额不能超过回收净额。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claim.reference} {self.get_kind_display()} {self.net_amount}"

    @property
    def audit_region_code(self) -> str:
        return self.claim.loan.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return scoped_through("claim", Claim, Claim.scope_q(scope, action))


class LedgerAccount(models.Model):
    """An account of a fund's book: the fund's own (cash, its loss) or one per party (sponsor, bank, insurer …)."""

    fund = models.ForeignKey(Fund, verbose_name=_("基金"), on_delete=models.PROTECT, related_name="accounts")
    kind = models.CharField(_("科目"), max_length=16, choices=AccountKind.choices)
    role = models.CharField(_("角色"), max_length=16, choices=PartyRole.choices)
    party = models.ForeignKey(
        Organisation, verbose_name=_("机构"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("科目账户")
        verbose_name_plural = _("科目账户")
        ordering = ["fund", "kind", "role", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["fund", "kind", "role", "party"],
                name="compensation_account_unique",
                violation_error_code="unique",
                violation_error_message=_("科目账户重复。"),
            ),
            models.UniqueConstraint(
                fields=["fund", "kind", "role"],
                condition=Q(party__isnull=True),
                name="compensation_account_unique_fund_own",
                violation_error_code="unique",
                violation_error_message=_("科目账户重复。"),
            ),
        ]

    def __str__(self) -> str:
        party = self.party.name if self.party is not None else self.fund.name
        return f"{self.get_kind_display()} · {party}"

    @property
    def audit_region_code(self) -> str:
        return self.fund.region.code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action != Action.VIEW:
            return None
        return _fund_books_q(scope, "fund__") | scope.org_tree_q("party__tree_path")


class JournalEntry(models.Model):
    """A balanced double-entry posting (记账凭证): its lines add up to zero fen. Corrected by a reversal."""

    fund = models.ForeignKey(Fund, verbose_name=_("基金"), on_delete=models.PROTECT, related_name="entries")
    claim = models.ForeignKey(
        Claim, verbose_name=_("代偿申请"), null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    kind = models.CharField(_("类型"), max_length=16, choices=EntryKind.choices)
    value_date = models.DateField(_("记账日"), db_index=True)
    memo = models.CharField(_("摘要"), max_length=255)
    reverses = models.OneToOneField(
        "self", verbose_name=_("冲正对象"), null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    posted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("记账时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("记账凭证")
        verbose_name_plural = _("记账凭证")
        ordering = ["-value_date", "-pk"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.memo}"

    @property
    def audit_region_code(self) -> str:
        return self.fund.region.code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        """The fund's books readers see every entry; a party sees the entries touching its own accounts."""
        if action != Action.VIEW:
            return None
        mine = JournalLine.objects.filter(account__party__tree_path__startswith=scope.org_tree_path).values("entry_id")
        return _fund_books_q(scope, "fund__") | Q(pk__in=mine)


class JournalLine(models.Model):
    """One leg of an entry: a positive amount debits the account, a negative one credits it (fen)."""

    entry = models.ForeignKey(JournalEntry, verbose_name=_("凭证"), on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(LedgerAccount, verbose_name=_("账户"), on_delete=models.PROTECT, related_name="lines")
    amount = MoneyField(_("金额"), help_text=_("正数为借方，负数为贷方"))

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("凭证分录")
        verbose_name_plural = _("凭证分录")
        ordering = ["entry", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount=0),
                name="compensation_line_not_zero",
                violation_error_message=_("分录金额不能为零。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.amount.fen:+d}"

    @property
    def audit_region_code(self) -> str:
        return self.entry.fund.region.code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return scoped_through("entry", JournalEntry, JournalEntry.scope_q(scope, action))


class Payment(models.Model):
    """A payment instruction (划款指令) between parties of a fund; paying it posts its journal entry once."""

    fund = models.ForeignKey(Fund, verbose_name=_("基金"), on_delete=models.PROTECT, related_name="payments")
    claim = models.ForeignKey(
        Claim, verbose_name=_("代偿申请"), null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    purpose = models.CharField(_("用途"), max_length=16, choices=PaymentPurpose.choices)
    payer_role = models.CharField(_("付款方角色"), max_length=16, choices=PartyRole.choices)
    payer = models.ForeignKey(Organisation, verbose_name=_("付款方"), on_delete=models.PROTECT, related_name="+")
    payee_role = models.CharField(_("收款方角色"), max_length=16, choices=PartyRole.choices)
    payee = models.ForeignKey(Organisation, verbose_name=_("收款方"), on_delete=models.PROTECT, related_name="+")
    amount = MoneyField(_("金额"))
    status = models.CharField(_("状态"), max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.INSTRUCTED)
    idempotency_key = models.CharField(_("幂等键"), max_length=80)
    entry = models.OneToOneField(
        JournalEntry,
        verbose_name=_("记账凭证"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment",
    )
    instructed_on = models.DateField(_("指令日"))
    paid_on = models.DateField(_("支付日"), null=True, blank=True)
    paid_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reference = models.CharField(_("银行流水号"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("划款指令")
        verbose_name_plural = _("划款指令")
        ordering = ["-instructed_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["fund", "idempotency_key"],
                name="compensation_payment_idempotent",
                violation_error_code="unique",
                violation_error_message=_("该幂等键已用于本基金的另一笔划款。"),
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="compensation_payment_positive",
                violation_error_message=_("划款金额必须大于零。"),
            ),
            models.CheckConstraint(
                condition=Q(status=PaymentStatus.INSTRUCTED) | Q(entry__isnull=False),
                name="compensation_payment_paid_has_entry",
                violation_error_message=_("已支付的指令必须有记账凭证。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.payer} → {self.payee} {self.amount}"

    @property
    def audit_region_code(self) -> str:
        return self.fund.region.code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        """The fund's books readers see all; payer and payee see theirs, and the payer marks its payment paid."""
        if action not in (Action.VIEW, Action.CHANGE):
            return None
        parties = scope.org_tree_q("payer__tree_path")
        if action == Action.VIEW:
            parties |= scope.org_tree_q("payee__tree_path")
            return _fund_books_q(scope, "fund__") | parties
        manager = _fund_manager_q(scope, "fund__")
        return parties if manager is None else manager | parties


class FundAlert(_FundChild):
    """An alert to a fund's sponsors and manager: long-idle capital (M3), leverage near its cap, low balance."""

    fund = models.ForeignKey(Fund, verbose_name=_("基金"), on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(_("类型"), max_length=16, choices=FundAlertKind.choices)
    message = models.TextField(_("内容"))
    figures = models.JSONField(_("依据数据"), default=dict, blank=True)
    raised_on = models.DateField(_("提醒日期"))
    resolved_on = models.DateField(_("解除日期"), null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("基金预警")
        verbose_name_plural = _("基金预警")
        ordering = ["-raised_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["fund", "kind"],
                condition=Q(resolved_on__isnull=True),
                name="compensation_alert_one_open_per_kind",
                violation_error_code="unique",
                violation_error_message=_("该预警已存在。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.fund.code} {self.get_kind_display()}"


class StressRun(_FundChild):
    """A Monte Carlo adequacy stress test (充足性压力测试) of a fund's covered portfolio."""

    fund = models.ForeignKey(Fund, verbose_name=_("基金"), on_delete=models.CASCADE, related_name="stress_runs")
    status = models.CharField(_("状态"), max_length=16, choices=StressRunStatus.choices, default=StressRunStatus.QUEUED)
    simulations = models.PositiveIntegerField(_("模拟次数"), default=10_000)
    parameters = models.JSONField(_("参数"), default=dict, blank=True)
    result = models.JSONField(_("结果"), default=dict, blank=True)
    error = models.TextField(_("错误"), blank=True)
    requested_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("压力测试")
        verbose_name_plural = _("压力测试")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(simulations__gte=100) & Q(simulations__lte=200_000),
                name="compensation_stress_simulations_range",
                violation_error_message=_("模拟次数必须在 100 到 200000 之间。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.fund.code} {self.created_at:%Y-%m-%d %H:%M}"
