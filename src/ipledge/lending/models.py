"""Loans (贷款) from application to closure, their schedules, transactions, covers, collateral and classification.

One `Loan` row carries the whole lifecycle, as Fineract's loan does: application (申请), due diligence (尽职调查),
maker-checker approval (审批), contract (签约), disbursement in tranches (放款), repayments (还款), renewal (续贷)
and closure (结清) or default (违约). Money movements are `LoanTransaction` rows that are reversed, never deleted;
`Instalment` rows are the current repayment schedule. The five-category classification (五级分类) is kept on the
loan and every transition in `ClassificationChange`.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ipledge.core.choices import OrganisationKind
from ipledge.core.models import Organisation, User
from ipledge.core.money import MoneyField
from ipledge.core.scoping import Action, RestrictedManager, Scope, scoped_through
from ipledge.registration.models import PledgeRegistration
from ipledge.registry.models import Enterprise, IPRight, Park, ParkMembership

from .choices import (
    ClassificationSource,
    CoverKind,
    ImplementationStatus,
    InvestmentTermKind,
    LoanClass,
    LoanOrigin,
    LoanStatus,
    LprTenor,
    RateType,
    RenewalKind,
    RepaymentMethod,
    TransactionKind,
)

# Organisations that share a loan's risk see the loans they cover.
COVER_PROVIDER_KINDS = frozenset({OrganisationKind.GUARANTOR, OrganisationKind.INSURER, OrganisationKind.FUND_MANAGER})


def _loan_scope_q(scope: Scope, action: str) -> Q | None:
    """Who reaches a loan, and for what.

    The lending bank's tree does everything (approval by its reviewers); the borrower views its loans and changes
    its own applications (submit, withdraw); the borrower's park, the IP office and NDRC of the borrower's region
    view; the financial regulator views the loans of banks in its region; guarantors, insurers and
    risk-compensation fund managers view the loans they cover.
    """
    kind = scope.kind
    if kind == OrganisationKind.BANK:
        return scope.org_tree_q("bank__tree_path")
    if kind == OrganisationKind.ENTERPRISE:
        if action not in (Action.VIEW, Action.CHANGE):
            return None
        return Q(borrower__organisation_id=scope.organisation_id)
    if action != Action.VIEW:
        return None
    if kind == OrganisationKind.PARK_ADMIN:
        in_my_parks = ParkMembership.objects.filter(
            park__administering_org__tree_path__startswith=scope.org_tree_path
        ).values("enterprise_id")
        return Q(borrower_id__in=in_my_parks)
    if kind in (OrganisationKind.IP_OFFICE, OrganisationKind.DEVELOPMENT_REFORM):
        return scope.region_q("region_code")
    if kind == OrganisationKind.FINANCIAL_REGULATOR:
        return scope.region_q("bank__region__code")
    if kind in COVER_PROVIDER_KINDS:
        covered = LoanCover.objects.filter(provider__tree_path__startswith=scope.org_tree_path).values("loan_id")
        return Q(pk__in=covered)
    return None


class Loan(models.Model):
    """An IP-backed loan (知识产权质押贷款) from application to closure."""

    reference = models.CharField(_("贷款编号"), max_length=32, unique=True)
    status = models.PositiveSmallIntegerField(
        _("状态"), choices=LoanStatus.choices, default=LoanStatus.DRAFT, db_index=True
    )
    origin = models.CharField(_("来源"), max_length=16, choices=LoanOrigin.choices, default=LoanOrigin.DIRECT)
    borrower = models.ForeignKey(Enterprise, verbose_name=_("借款企业"), on_delete=models.PROTECT, related_name="loans")
    bank = models.ForeignKey(
        Organisation,
        verbose_name=_("贷款银行（经办机构）"),
        on_delete=models.PROTECT,
        related_name="loans",
        limit_choices_to={"kind": OrganisationKind.BANK},
    )
    park = models.ForeignKey(
        Park, verbose_name=_("所在园区"), null=True, blank=True, on_delete=models.PROTECT, related_name="loans"
    )
    # Borrower's registration region, denormalised so that jurisdiction filters are one indexed prefix match.
    region_code = models.CharField(_("借款人登记地"), max_length=6, blank=True, db_index=True)
    purpose = models.TextField(_("贷款用途"), blank=True)
    requested_amount = MoneyField(_("申请金额（元）"))
    requested_term_months = models.PositiveSmallIntegerField(_("申请期限（月）"))

    # Terms fixed at approval
    principal = MoneyField(_("批准金额（元）"), null=True, blank=True)
    term_months = models.PositiveSmallIntegerField(_("期限（月）"), null=True, blank=True)
    rate_type = models.CharField(_("利率类型"), max_length=8, choices=RateType.choices, default=RateType.FIXED)
    annual_rate = models.DecimalField(
        _("执行年利率"), max_digits=9, decimal_places=6, null=True, blank=True, help_text=_("如 0.0385 表示 3.85%")
    )
    lpr_tenor = models.CharField(_("LPR期限品种"), max_length=4, choices=LprTenor.choices, blank=True)
    lpr_spread_bp = models.IntegerField(_("LPR加点（基点）"), null=True, blank=True)
    repricing_months = models.PositiveSmallIntegerField(_("重定价周期（月）"), null=True, blank=True)
    repayment_method = models.CharField(
        _("还款方式"), max_length=24, choices=RepaymentMethod.choices, default=RepaymentMethod.EQUAL_INSTALMENT
    )
    repayment_interval_months = models.PositiveSmallIntegerField(_("还款间隔（月）"), default=1)
    grace_months = models.PositiveSmallIntegerField(_("宽限期（月）"), default=0)
    penalty_markup = models.DecimalField(
        _("罚息上浮比例"),
        max_digits=5,
        decimal_places=4,
        default="0.5000",
        help_text=_("逾期罚息利率 = 执行利率 × (1 + 上浮比例)"),
    )
    custom_schedule = models.JSONField(
        _("自定义还本计划"),
        default=list,
        blank=True,
        help_text=_('[{"due_date": "2026-06-30", "principal": "100000.00"}, …]'),
    )

    # Due diligence and maker-checker approval (审贷分离)
    due_diligence = models.JSONField(_("尽职调查清单"), default=dict, blank=True)
    prepared_by = models.ForeignKey(
        User, verbose_name=_("提交审批人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    prepared_at = models.DateTimeField(_("提交审批时间"), null=True, blank=True)
    approved_by = models.ForeignKey(
        User, verbose_name=_("审批人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.TextField(_("审批意见"), blank=True)

    # Contract, collateral and dates
    contract_no = models.CharField(_("借款合同编号"), max_length=64, blank=True)
    contract_signed_on = models.DateField(_("合同签订日"), null=True, blank=True)
    pledge_registration = models.ForeignKey(
        PledgeRegistration,
        verbose_name=_("质押登记"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="loans",
    )
    is_ip_pledge = models.BooleanField(_("知识产权质押贷款"), default=True)
    first_disbursed_on = models.DateField(_("首次放款日"), null=True, blank=True, db_index=True)
    maturity_date = models.DateField(_("到期日"), null=True, blank=True)
    closed_on = models.DateField(_("结清日"), null=True, blank=True)
    defaulted_on = models.DateField(_("违约日"), null=True, blank=True)
    written_off_on = models.DateField(_("核销日"), null=True, blank=True)

    # Renewal (续贷)
    renewal_of = models.OneToOneField(
        "self", verbose_name=_("原贷款"), null=True, blank=True, on_delete=models.PROTECT, related_name="renewed_by"
    )
    renewal_kind = models.CharField(_("续贷方式"), max_length=24, choices=RenewalKind.choices, blank=True)

    # Balances kept by the services in the same transaction as the money movement
    disbursed_amount = MoneyField(_("累计放款（元）"), default=0)
    outstanding_principal = MoneyField(_("贷款余额（元）"), default=0)

    # Classification (五级分类) and the event flags its rules read
    classification = models.CharField(
        _("五级分类"), max_length=16, choices=LoanClass.choices, default=LoanClass.NORMAL, db_index=True
    )
    classification_since = models.DateField(_("分类起始日"), null=True, blank=True)
    classification_source = models.CharField(
        _("分类来源"), max_length=8, choices=ClassificationSource.choices, default=ClassificationSource.ENGINE
    )
    days_past_due = models.PositiveIntegerField(_("逾期天数"), default=0)
    classified_on = models.DateField(_("最近分类日"), null=True, blank=True)
    funds_misused = models.BooleanField(_("挪用贷款资金"), default=False)
    credit_impaired = models.BooleanField(_("已发生信用减值"), default=False)
    refinanced_by_new_loan = models.BooleanField(_("借新还旧"), default=False)
    external_rating_downgraded = models.BooleanField(_("外部评级大幅下调"), default=False)
    expected_loss_ratio = models.DecimalField(
        _("预期信用损失率"), max_digits=5, decimal_places=4, null=True, blank=True
    )
    restructured_on = models.DateField(_("重组日"), null=True, blank=True)
    restructure_observation_until = models.DateField(_("重组观察期至"), null=True, blank=True)
    manual_class = models.CharField(_("人工认定分类"), max_length=16, choices=LoanClass.choices, blank=True)
    manual_class_reason = models.TextField(_("人工认定理由"), blank=True)

    version = models.PositiveIntegerField(_("版本"), default=1)
    created_by = models.ForeignKey(
        User, verbose_name=_("创建人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("贷款")
        verbose_name_plural = _("贷款")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["bank", "status"], name="lending_loan_bank_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(requested_amount__gt=0),
                name="lending_loan_requested_positive",
                violation_error_message=_("申请金额必须大于零。"),
            ),
            models.CheckConstraint(
                condition=Q(principal__isnull=True) | Q(principal__gt=0),
                name="lending_loan_principal_positive",
                violation_error_message=_("批准金额必须大于零。"),
            ),
            models.CheckConstraint(
                condition=Q(outstanding_principal__gte=0) & Q(disbursed_amount__gte=0),
                name="lending_loan_balances_not_negative",
                violation_error_message=_("贷款余额和累计放款不能为负。"),
            ),
            models.CheckConstraint(
                condition=Q(outstanding_principal__lte=F("disbursed_amount")),
                name="lending_loan_outstanding_within_disbursed",
                violation_error_message=_("贷款余额不能超过累计放款。"),
            ),
            models.CheckConstraint(
                condition=Q(principal__isnull=True) | Q(disbursed_amount__lte=F("principal")),
                name="lending_loan_disbursed_within_principal",
                violation_error_message=_("累计放款不能超过批准金额。"),
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("prepared_by")),
                name="lending_loan_maker_is_not_checker",
                violation_error_message=_("审批人不能是提交审批的同一人（审贷分离）。"),
            ),
            models.CheckConstraint(
                condition=Q(annual_rate__isnull=True) | (Q(annual_rate__gte=0) & Q(annual_rate__lt=1)),
                name="lending_loan_rate_range",
                violation_error_message=_("年利率必须在 0 与 1 之间（如 0.0385）。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.borrower}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @property
    def is_non_performing(self) -> bool:
        return self.classification in (LoanClass.SUBSTANDARD, LoanClass.DOUBTFUL, LoanClass.LOSS)

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return _loan_scope_q(scope, action)


class _LoanChild(models.Model):
    """A row that belongs to one loan and is reached exactly as its loan is."""

    class Meta:
        abstract = True

    @property
    def audit_region_code(self) -> str:
        return self.loan.region_code  # type: ignore[attr-defined,no-any-return]

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return scoped_through("loan", Loan, Loan.scope_q(scope, action))


class Instalment(_LoanChild):
    """One period of the current repayment schedule (还款计划)."""

    loan = models.ForeignKey(Loan, verbose_name=_("贷款"), on_delete=models.CASCADE, related_name="instalments")
    number = models.PositiveSmallIntegerField(_("期次"))
    period_start = models.DateField(_("计息起日"))
    due_date = models.DateField(_("应还日"), db_index=True)
    annual_rate = models.DecimalField(_("本期年利率"), max_digits=9, decimal_places=6)
    principal_due = MoneyField(_("应还本金（元）"))
    interest_due = MoneyField(_("应还利息（元）"))
    principal_paid = MoneyField(_("已还本金（元）"), default=0)
    interest_paid = MoneyField(_("已还利息（元）"), default=0)
    penalty_paid = MoneyField(_("已还罚息（元）"), default=0)
    settled_on = models.DateField(_("结清日"), null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("还款计划期次")
        verbose_name_plural = _("还款计划")
        ordering = ["loan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "number"], name="lending_instalment_unique_number"),
            models.CheckConstraint(
                condition=Q(principal_due__gte=0) & Q(interest_due__gte=0),
                name="lending_instalment_due_not_negative",
                violation_error_message=_("应还金额不能为负。"),
            ),
            models.CheckConstraint(
                condition=Q(principal_paid__gte=0)
                & Q(interest_paid__gte=0)
                & Q(penalty_paid__gte=0)
                & Q(principal_paid__lte=F("principal_due"))
                & Q(interest_paid__lte=F("interest_due")),
                name="lending_instalment_paid_within_due",
                violation_error_message=_("已还金额不能为负，也不能超过应还金额。"),
            ),
            models.CheckConstraint(
                condition=Q(due_date__gte=F("period_start")),
                name="lending_instalment_due_after_start",
                violation_error_message=_("应还日不能早于计息起日。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id}#{self.number} {self.due_date}"


class LoanTransaction(_LoanChild):
    """A money movement on a loan; reversed by flag and reason, never deleted (Fineract `LoanTransaction`)."""

    loan = models.ForeignKey(Loan, verbose_name=_("贷款"), on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(_("交易类型"), max_length=24, choices=TransactionKind.choices)
    value_date = models.DateField(_("交易日"), db_index=True)
    amount = MoneyField(_("金额（元）"))
    principal_part = MoneyField(_("本金（元）"), default=0)
    interest_part = MoneyField(_("利息（元）"), default=0)
    penalty_part = MoneyField(_("罚息（元）"), default=0)
    # How the amount was applied to the schedule: [{"number": 3, "principal": "…", "interest": "…", "penalty": "…"}]
    allocation = models.JSONField(_("分配明细"), default=list, blank=True)
    idempotency_key = models.CharField(_("幂等键"), max_length=64, blank=True)
    note = models.CharField(_("备注"), max_length=255, blank=True)
    reversed_at = models.DateTimeField(_("冲正时间"), null=True, blank=True)
    reversed_by = models.ForeignKey(
        User, verbose_name=_("冲正人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reversal_reason = models.CharField(_("冲正原因"), max_length=255, blank=True)
    posted_by = models.ForeignKey(
        User, verbose_name=_("记账人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("记账时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("贷款交易")
        verbose_name_plural = _("贷款交易")
        ordering = ["loan", "value_date", "pk"]
        indexes = [models.Index(fields=["kind", "value_date"], name="lending_txn_kind_date")]
        constraints = [
            models.UniqueConstraint(
                fields=["loan", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="lending_transaction_unique_idempotency_key",
                violation_error_message=_("该幂等键已用于本笔贷款的另一笔交易。"),
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="lending_transaction_amount_positive",
                violation_error_message=_("交易金额必须大于零。"),
            ),
            models.CheckConstraint(
                condition=Q(principal_part__gte=0) & Q(interest_part__gte=0) & Q(penalty_part__gte=0),
                name="lending_transaction_parts_not_negative",
                violation_error_message=_("本金、利息、罚息分配不能为负。"),
            ),
            models.CheckConstraint(
                condition=~Q(kind=TransactionKind.REPAYMENT)
                | Q(amount=F("principal_part") + F("interest_part") + F("penalty_part")),
                name="lending_transaction_repayment_parts_sum",
                violation_error_message=_("还款金额必须等于本金、利息、罚息之和。"),
            ),
            models.CheckConstraint(
                condition=Q(reversed_at__isnull=True) | ~Q(reversal_reason=""),
                name="lending_transaction_reversal_has_reason",
                violation_error_message=_("冲正必须填写原因。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.value_date}"


class LoanCover(_LoanChild):
    """A guarantee, insurance policy or risk-compensation cover attached to a loan, with its cover ratio."""

    loan = models.ForeignKey(Loan, verbose_name=_("贷款"), on_delete=models.CASCADE, related_name="covers")
    kind = models.CharField(_("增信方式"), max_length=24, choices=CoverKind.choices)
    provider = models.ForeignKey(
        Organisation,
        verbose_name=_("增信机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="loan_covers",
    )
    provider_name = models.CharField(_("增信机构名称"), max_length=128)
    cover_ratio = models.DecimalField(_("分担比例"), max_digits=5, decimal_places=4, help_text=_("如 0.8 表示 80%"))
    policy_no = models.CharField(_("保单/保证合同编号"), max_length=64, blank=True)
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("增信措施")
        verbose_name_plural = _("增信措施")
        ordering = ["loan", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cover_ratio__gt=0) & Q(cover_ratio__lte=1),
                name="lending_cover_ratio_range",
                violation_error_message=_("分担比例必须大于 0 且不超过 1。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.provider_name} {self.cover_ratio}"


class InvestmentLink(_LoanChild):
    """An investor's participation alongside a loan (投贷联动, W3): option, equity or convertible terms."""

    loan = models.ForeignKey(Loan, verbose_name=_("贷款"), on_delete=models.CASCADE, related_name="investments")
    investor = models.ForeignKey(
        Organisation,
        verbose_name=_("投资机构（平台账户）"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="loan_investments",
    )
    investor_name = models.CharField(_("投资机构名称"), max_length=128)
    term_kind = models.CharField(_("联动方式"), max_length=16, choices=InvestmentTermKind.choices)
    amount = MoneyField(_("投资金额（元）"), null=True, blank=True)
    equity_ratio = models.DecimalField(
        _("股权比例"), max_digits=5, decimal_places=4, null=True, blank=True, help_text=_("如 0.05 表示 5%")
    )
    exercise_deadline = models.DateField(_("行权期限"), null=True, blank=True)
    terms = models.TextField(_("主要条款"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("投贷联动")
        verbose_name_plural = _("投贷联动")
        ordering = ["loan", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(equity_ratio__isnull=True) | (Q(equity_ratio__gt=0) & Q(equity_ratio__lte=1)),
                name="lending_investment_equity_ratio_range",
                violation_error_message=_("股权比例必须大于 0 且不超过 1。"),
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gt=0),
                name="lending_investment_amount_positive",
                violation_error_message=_("投资金额必须大于零。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.investor_name} {self.get_term_kind_display()}"


class LoanCollateral(_LoanChild):
    """An IP right securing a loan, with its appraised value (for the pledge rate 质押率)."""

    loan = models.ForeignKey(Loan, verbose_name=_("贷款"), on_delete=models.CASCADE, related_name="collateral")
    ip_right = models.ForeignKey(
        IPRight, verbose_name=_("知识产权"), on_delete=models.PROTECT, related_name="loan_collateral"
    )
    appraised_value = MoneyField(_("评估价值（元）"), null=True, blank=True)
    appraised_on = models.DateField(_("评估基准日"), null=True, blank=True)
    valuer_name = models.CharField(_("评估机构"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("质押物")
        verbose_name_plural = _("质押物")
        ordering = ["loan", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "ip_right"], name="lending_collateral_unique_right"),
            models.CheckConstraint(
                condition=Q(appraised_value__isnull=True) | Q(appraised_value__gt=0),
                name="lending_collateral_value_positive",
                violation_error_message=_("评估价值必须大于零。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ip_right} → {self.loan_id}"


class ImplementationReport(models.Model):
    """A dated report of whether a pledged patent is implemented (实施情况, T3)."""

    collateral = models.ForeignKey(
        LoanCollateral, verbose_name=_("质押物"), on_delete=models.CASCADE, related_name="implementation_reports"
    )
    reported_on = models.DateField(_("报告日"))
    status = models.CharField(_("实施情况"), max_length=16, choices=ImplementationStatus.choices)
    note = models.CharField(_("说明"), max_length=255, blank=True)
    reported_by = models.ForeignKey(
        User, verbose_name=_("报告人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("专利实施情况")
        verbose_name_plural = _("专利实施情况")
        ordering = ["collateral", "-reported_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["collateral", "reported_on"], name="lending_implementation_one_report_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.collateral_id} {self.reported_on} {self.status}"

    @property
    def audit_region_code(self) -> str:
        return self.collateral.loan.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return scoped_through("collateral", LoanCollateral, LoanCollateral.scope_q(scope, action))


class ClassificationChange(_LoanChild):
    """One transition of a loan's five-category classification, by the daily close of business or by hand."""

    loan = models.ForeignKey(
        Loan, verbose_name=_("贷款"), on_delete=models.CASCADE, related_name="classification_changes"
    )
    business_day = models.DateField(_("业务日"), db_index=True)
    from_class = models.CharField(_("原分类"), max_length=16, choices=LoanClass.choices)
    to_class = models.CharField(_("新分类"), max_length=16, choices=LoanClass.choices)
    source = models.CharField(_("来源"), max_length=8, choices=ClassificationSource.choices)
    days_past_due = models.PositiveIntegerField(_("逾期天数"), default=0)
    reasons = models.JSONField(_("触发规则"), default=list, blank=True)
    note = models.TextField(_("说明"), blank=True)
    actor = models.ForeignKey(
        User, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("分类变动")
        verbose_name_plural = _("分类变动")
        ordering = ["loan", "business_day", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_class=F("to_class")),
                name="lending_classification_change_changes",
                violation_error_message=_("分类变动的原分类与新分类不能相同。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.business_day} {self.from_class}→{self.to_class}"


def _bank_report_scope_q(scope: Scope, action: str) -> Q | None:
    """A bank's own plans and reports: its tree writes them; the regulator and IP office of its region read them."""
    if scope.kind == OrganisationKind.BANK:
        return scope.org_tree_q("bank__tree_path") if action != Action.APPROVE else None
    if action != Action.VIEW:
        return None
    if scope.kind in (OrganisationKind.FINANCIAL_REGULATOR, OrganisationKind.IP_OFFICE):
        return scope.region_q("bank__region__code")
    return None


class _BankReport(models.Model):
    """A figure a bank keeps about itself: its tree writes it; the regulator and IP office of its region read it."""

    class Meta:
        abstract = True

    @property
    def audit_region_code(self) -> str:
        region = self.bank.region  # type: ignore[attr-defined]
        return region.code if region is not None else ""

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return _bank_report_scope_q(scope, action)


class CreditPlan(_BankReport):
    """A bank's annual separate credit plan for IP-pledge lending (单列信贷计划, 银保监发〔2019〕34号)."""

    bank = models.ForeignKey(
        Organisation, verbose_name=_("银行"), on_delete=models.PROTECT, related_name="credit_plans"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    planned_amount = MoneyField(_("计划投放金额（元）"))
    planned_clients = models.PositiveIntegerField(_("计划服务户数"))
    note = models.CharField(_("说明"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("单列信贷计划")
        verbose_name_plural = _("单列信贷计划")
        ordering = ["-year", "bank"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank", "year"],
                name="lending_creditplan_one_per_bank_year",
                violation_error_message=_("该银行该年度已有单列信贷计划。"),
            ),
            models.CheckConstraint(
                condition=Q(planned_amount__gt=0),
                name="lending_creditplan_amount_positive",
                violation_error_message=_("计划投放金额必须大于零。"),
            ),
            models.CheckConstraint(
                condition=Q(year__gte=2019) & Q(year__lte=2100),
                name="lending_creditplan_year_range",
                violation_error_message=_("年度必须在 2019 至 2100 之间。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank} {self.year}"


class BankNplReport(_BankReport):
    """The bank-wide NPL ratio a bank reports for a date, against which the IP-pledge NPL ratio is compared."""

    bank = models.ForeignKey(Organisation, verbose_name=_("银行"), on_delete=models.PROTECT, related_name="npl_reports")
    as_of = models.DateField(_("统计日"))
    npl_ratio = models.DecimalField(
        _("全行不良贷款率"), max_digits=7, decimal_places=6, help_text=_("如 0.0135 表示 1.35%")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("全行不良率报告")
        verbose_name_plural = _("全行不良率报告")
        ordering = ["-as_of", "bank"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank", "as_of"],
                name="lending_nplreport_one_per_bank_day",
                violation_error_message=_("该银行该统计日已报告全行不良率。"),
            ),
            models.CheckConstraint(
                condition=Q(npl_ratio__gte=0) & Q(npl_ratio__lte=1),
                name="lending_nplreport_ratio_range",
                violation_error_message=_("不良率必须在 0 与 1 之间。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank} {self.as_of} {self.npl_ratio}"


class LprQuote(models.Model):
    """A published Loan Prime Rate (贷款市场报价利率) effective from a date; public data."""

    tenor = models.CharField(_("期限品种"), max_length=4, choices=LprTenor.choices)
    effective_on = models.DateField(_("生效日"))
    rate = models.DecimalField(_("利率"), max_digits=9, decimal_places=6, help_text=_("如 0.0300 表示 3.00%"))

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("LPR报价")
        verbose_name_plural = _("LPR报价")
        ordering = ["tenor", "-effective_on"]
        constraints = [
            models.UniqueConstraint(fields=["tenor", "effective_on"], name="lending_lprquote_unique"),
            models.CheckConstraint(
                condition=Q(rate__gt=0) & Q(rate__lt=1),
                name="lending_lprquote_rate_range",
                violation_error_message=_("利率必须在 0 与 1 之间。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenor} {self.effective_on} {self.rate}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action == Action.VIEW:
            return Q()  # published rates are public information
        return None
