"""Collateral disposal (质物处置): cases opened from defaulted loans, their routes, online auctions, the sale,
the transfer of the rights and the distribution of the proceeds.

A `DisposalCase` gathers the pledged rights of one defaulted loan (`CaseRight`, each with the prior and the fresh
valuation). The lending bank proposes a route and a second officer approves it: online auction (网络拍卖; several
cases' lots in one `AuctionSession`, 集中拍卖), negotiated transfer (协议转让), third-party acquisition (第三方收储)
or licensing-based operation (许可运营, income over years as `LicenceIncome`). An auction `Lot` takes bids from
registered bidders (`BidderRegistration`) who paid the deposit; each accepted `Bid` is numbered and strictly
higher than the one before. After the sale the rights pass to the buyer, the pledge cancellation is filed, and the
proceeds run down the waterfall, each step a `ProceedsEntry` (debit and credit in one row, so it always balances).
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
from ipledge.lending.models import Loan
from ipledge.registration.models import PledgeFiling, PledgeRegistration
from ipledge.registry.models import Enterprise, IPRight

from .choices import CaseStatus, DepositStatus, LotStatus, ProceedsSource, ProceedsStep, Route, SessionStatus


def _case_scope_q(scope: Scope, action: str, prefix: str) -> Q | None:
    """The lending bank's tree does everything; the pledgor, the platform running the sale, the buyer, the fund
    manager covering the loan and the IP office / NDRC of the borrower's region read."""
    kind = scope.kind
    if kind == OrganisationKind.BANK:
        return scope.org_tree_q(f"{prefix}bank__tree_path")
    if action != Action.VIEW:
        return None
    q = scope.org_tree_q(f"{prefix}platform__tree_path") | scope.org_tree_q(f"{prefix}buyer__tree_path")
    if kind == OrganisationKind.ENTERPRISE:
        q |= Q(**{f"{prefix}pledgor__organisation_id": scope.organisation_id})
    if kind in (OrganisationKind.IP_OFFICE, OrganisationKind.DEVELOPMENT_REFORM):
        region = scope.region_q(f"{prefix}region_code")
        if region is not None:
            q |= region
    if kind == OrganisationKind.FUND_MANAGER:
        from ipledge.compensation.models import Enrolment

        covered = Enrolment.objects.filter(fund__manager__tree_path__startswith=scope.org_tree_path).values("loan_id")
        q |= Q(**{f"{prefix}loan_id__in": covered})
    return q


class DisposalCase(models.Model):
    reference = models.CharField(_("案件编号"), max_length=32, unique=True)
    loan = models.ForeignKey(Loan, verbose_name=_("贷款"), on_delete=models.PROTECT, related_name="disposal_cases")
    bank = models.ForeignKey(Organisation, verbose_name=_("质权人银行"), on_delete=models.PROTECT, related_name="+")
    pledgor = models.ForeignKey(Enterprise, verbose_name=_("出质人"), on_delete=models.PROTECT, related_name="+")
    registration = models.ForeignKey(
        PledgeRegistration,
        verbose_name=_("质押登记"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    region_code = models.CharField(_("地区代码"), max_length=6, blank=True, db_index=True)
    status = models.PositiveSmallIntegerField(_("状态"), choices=CaseStatus.choices, default=CaseStatus.OPENED)
    route = models.CharField(_("处置方式"), max_length=16, choices=Route.choices, blank=True)
    route_note = models.TextField(_("处置方案说明"), blank=True)
    platform = models.ForeignKey(
        Organisation,
        verbose_name=_("处置平台/收储机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disposal_cases",
    )
    opened_on = models.DateField(_("立案日"))
    proposed_by = models.ForeignKey(
        User, verbose_name=_("方案提出人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        User, verbose_name=_("方案审批人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    route_approved_on = models.DateField(_("方案审批日"), null=True, blank=True)
    buyer = models.ForeignKey(
        Organisation, verbose_name=_("买受人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sale_price = MoneyField(_("成交价"), null=True, blank=True)
    sold_on = models.DateField(_("成交日"), null=True, blank=True)
    paid_on = models.DateField(_("价款付清日"), null=True, blank=True)
    transferred_on = models.DateField(_("过户日"), null=True, blank=True)
    cancellation_filing = models.ForeignKey(
        PledgeFiling, verbose_name=_("注销登记申请"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    costs = MoneyField(_("处置费用"), default=0)
    distributed_on = models.DateField(_("分配日"), null=True, blank=True)
    closed_on = models.DateField(_("结案日"), null=True, blank=True)
    note = models.TextField(_("备注"), blank=True)
    opened_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("处置案件")
        verbose_name_plural = _("处置案件")
        ordering = ["-opened_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["loan"],
                condition=~Q(status=CaseStatus.CLOSED),
                name="disposal_case_one_open_per_loan",
                violation_error_code="unique",
                violation_error_message=_("该贷款已有未结案的处置案件。"),
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("proposed_by")),
                name="disposal_case_maker_is_not_checker",
                violation_error_message=_("审批人不能是方案提出人（审批分离）。"),
            ),
            models.CheckConstraint(
                condition=Q(sale_price__isnull=True) | Q(sale_price__gt=0),
                name="disposal_case_price_positive",
                violation_error_message=_("成交价必须大于零。"),
            ),
            models.CheckConstraint(
                condition=Q(costs__gte=0), name="disposal_case_costs", violation_error_message=_("处置费用不能为负。")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.pledgor}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return _case_scope_q(scope, action, "")


class _CaseChild(models.Model):
    class Meta:
        abstract = True

    @property
    def audit_region_code(self) -> str:
        return self.case.region_code  # type: ignore[attr-defined,no-any-return]

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return scoped_through("case", DisposalCase, DisposalCase.scope_q(scope, action))


class CaseRight(_CaseChild):
    """A pledged right in the case, with the valuation before default and the fresh one asked for at opening."""

    case = models.ForeignKey(DisposalCase, verbose_name=_("处置案件"), on_delete=models.CASCADE, related_name="rights")
    ip_right = models.ForeignKey(IPRight, verbose_name=_("知识产权"), on_delete=models.PROTECT, related_name="+")
    prior_value = MoneyField(_("原评估值（P50）"), null=True, blank=True)
    prior_valuation_id = models.PositiveIntegerField(_("原评估记录"), null=True, blank=True)
    fresh_value = MoneyField(_("处置评估值（P50）"), null=True, blank=True)
    fresh_valuation_id = models.PositiveIntegerField(_("处置评估记录"), null=True, blank=True)
    price_share = MoneyField(_("分摊成交价"), null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("处置标的")
        verbose_name_plural = _("处置标的")
        ordering = ["case", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "ip_right"],
                name="disposal_case_right_unique",
                violation_error_code="unique",
                violation_error_message=_("该知识产权已在案件中。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.case.reference} {self.ip_right}"


class AuctionSession(models.Model):
    """An auction session (拍卖场次) run by a disposal platform; several cases' lots may sit in one (集中拍卖)."""

    platform = models.ForeignKey(
        Organisation, verbose_name=_("处置平台"), on_delete=models.PROTECT, related_name="auction_sessions"
    )
    title = models.CharField(_("场次名称"), max_length=128)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    extension_minutes = models.PositiveSmallIntegerField(
        _("延时周期（分钟）"), default=5, help_text=_("结束前这么多分钟内出价，结束时间顺延至出价后这么多分钟")
    )
    status = models.CharField(_("状态"), max_length=16, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("拍卖场次")
        verbose_name_plural = _("拍卖场次")
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="disposal_session_dates_ordered",
                violation_error_message=_("结束时间必须晚于开始时间。"),
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def audit_region_code(self) -> str:
        return self.platform.region.code if self.platform.region is not None else ""

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        """Listings are public to every signed-in organisation; the platform's tree runs its sessions."""
        if action == Action.VIEW:
            return Q(pk__isnull=False)
        if scope.kind != OrganisationKind.DISPOSAL_PLATFORM:
            return None
        return scope.org_tree_q("platform__tree_path")


class Lot(models.Model):
    """One case's rights offered in a session, with reserve, deposit, increment and its own (extendable) end."""

    session = models.ForeignKey(
        AuctionSession, verbose_name=_("拍卖场次"), on_delete=models.PROTECT, related_name="lots"
    )
    case = models.ForeignKey(DisposalCase, verbose_name=_("处置案件"), on_delete=models.PROTECT, related_name="lots")
    number = models.PositiveSmallIntegerField(_("标的序号"))
    reserve_price = MoneyField(_("保留价"))
    deposit = MoneyField(_("保证金"))
    increment = MoneyField(_("加价幅度"))
    current_price = MoneyField(_("当前价"), null=True, blank=True)
    bid_count = models.PositiveIntegerField(_("出价次数"), default=0)
    ends_at = models.DateTimeField(_("结束时间"))
    status = models.CharField(_("状态"), max_length=16, choices=LotStatus.choices, default=LotStatus.LISTED)
    winner = models.ForeignKey(
        "BidderRegistration",
        verbose_name=_("竞得人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("成交确认时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("拍卖标的")
        verbose_name_plural = _("拍卖标的")
        ordering = ["session", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "number"],
                name="disposal_lot_number_unique",
                violation_error_code="unique",
                violation_error_message=_("标的序号重复。"),
            ),
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(status=LotStatus.LISTED),
                name="disposal_lot_one_listed_per_case",
                violation_error_code="unique",
                violation_error_message=_("该案件已在拍卖中。"),
            ),
            models.CheckConstraint(
                condition=Q(reserve_price__gt=0) & Q(deposit__gte=0) & Q(increment__gt=0),
                name="disposal_lot_amounts",
                violation_error_message=_("保留价和加价幅度必须大于零，保证金不能为负。"),
            ),
            models.CheckConstraint(
                condition=Q(current_price__isnull=True) | Q(current_price__gte=F("reserve_price")),
                name="disposal_lot_price_at_least_reserve",
                violation_error_message=_("当前价不能低于保留价。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session} #{self.number}"

    @property
    def audit_region_code(self) -> str:
        return self.case.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action == Action.VIEW:
            return Q(pk__isnull=False)
        if scope.kind != OrganisationKind.DISPOSAL_PLATFORM:
            return None
        return scope.org_tree_q("session__platform__tree_path")


class BidderRegistration(models.Model):
    """A bidder signed up for a lot (竞买登记); it may bid once the platform confirms its deposit."""

    lot = models.ForeignKey(Lot, verbose_name=_("拍卖标的"), on_delete=models.PROTECT, related_name="bidders")
    bidder = models.ForeignKey(Organisation, verbose_name=_("竞买人"), on_delete=models.PROTECT, related_name="+")
    alias = models.CharField(_("竞买号"), max_length=16)
    deposit_status = models.CharField(
        _("保证金"), max_length=16, choices=DepositStatus.choices, default=DepositStatus.PENDING
    )
    deposit_paid_on = models.DateField(_("保证金到账日"), null=True, blank=True)
    registered_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("竞买登记")
        verbose_name_plural = _("竞买登记")
        ordering = ["lot", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["lot", "bidder"],
                name="disposal_bidder_once_per_lot",
                violation_error_code="unique",
                violation_error_message=_("已登记竞买该标的。"),
            ),
            models.UniqueConstraint(
                fields=["lot", "alias"],
                name="disposal_bidder_alias_unique",
                violation_error_code="unique",
                violation_error_message=_("竞买号重复。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lot} {self.alias}"

    @property
    def audit_region_code(self) -> str:
        return self.lot.case.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        """The bidder's tree signs up and reads its own; the platform reads all and confirms deposits; the bank of
        the case reads who bid."""
        own = scope.org_tree_q("bidder__tree_path")
        if action == Action.DELETE:
            return None
        if scope.kind == OrganisationKind.DISPOSAL_PLATFORM:
            return own | scope.org_tree_q("lot__session__platform__tree_path")
        if action == Action.VIEW and scope.kind == OrganisationKind.BANK:
            return own | scope.org_tree_q("lot__case__bank__tree_path")
        if action == Action.APPROVE:
            return None
        return own


class Bid(models.Model):
    """An accepted bid (出价): numbered per lot, each strictly above the one before; never changed."""

    lot = models.ForeignKey(Lot, verbose_name=_("拍卖标的"), on_delete=models.PROTECT, related_name="bids")
    registration = models.ForeignKey(
        BidderRegistration, verbose_name=_("竞买人"), on_delete=models.PROTECT, related_name="bids"
    )
    sequence = models.PositiveIntegerField(_("序号"))
    amount = MoneyField(_("出价"))
    placed_at = models.DateTimeField(_("出价时间"))
    placed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("出价记录")
        verbose_name_plural = _("出价记录")
        ordering = ["lot", "-sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["lot", "sequence"],
                name="disposal_bid_sequence_unique",
                violation_error_code="unique",
                violation_error_message=_("出价序号重复。"),
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="disposal_bid_positive", violation_error_message=_("出价必须大于零。")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lot} #{self.sequence} {self.amount}"

    @property
    def audit_region_code(self) -> str:
        return self.lot.case.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        """Bids are public in amount and bidder alias through the lot page; the rows (with the bidder) are read by
        the bidder, the platform and the case's bank."""
        if action != Action.VIEW:
            return None
        q = scope.org_tree_q("registration__bidder__tree_path")
        if scope.kind == OrganisationKind.DISPOSAL_PLATFORM:
            q |= scope.org_tree_q("lot__session__platform__tree_path")
        if scope.kind == OrganisationKind.BANK:
            q |= scope.org_tree_q("lot__case__bank__tree_path")
        return q


class LicenceIncome(_CaseChild):
    """Income from licensing the rights out (许可运营), credited down the waterfall as it arrives."""

    case = models.ForeignKey(
        DisposalCase, verbose_name=_("处置案件"), on_delete=models.PROTECT, related_name="licence_incomes"
    )
    licensee = models.CharField(_("被许可人"), max_length=128)
    received_on = models.DateField(_("到账日"))
    amount = MoneyField(_("许可收入"))
    costs = MoneyField(_("运营费用"), default=0)
    idempotency_key = models.CharField(_("幂等键"), max_length=64)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("许可收入")
        verbose_name_plural = _("许可收入")
        ordering = ["case", "received_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "idempotency_key"],
                name="disposal_licence_income_idempotent",
                violation_error_code="unique",
                violation_error_message=_("该许可收入已登记（幂等键重复）。"),
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(costs__gte=0) & Q(costs__lte=F("amount")),
                name="disposal_licence_income_amounts",
                violation_error_message=_("许可收入必须大于零，费用不能为负也不能超过收入。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case.reference} {self.licensee} {self.amount}"


class ProceedsEntry(_CaseChild):
    """One step of the waterfall as a journal line pair: `amount` moves from `credit_account` (the proceeds) to
    `debit_account` (who receives it). Reversed by a mirror row, never deleted."""

    case = models.ForeignKey(DisposalCase, verbose_name=_("处置案件"), on_delete=models.PROTECT, related_name="entries")
    source = models.CharField(_("来源"), max_length=16, choices=ProceedsSource.choices)
    licence_income = models.ForeignKey(
        LicenceIncome,
        verbose_name=_("许可收入"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    step = models.CharField(_("分配步骤"), max_length=16, choices=ProceedsStep.choices)
    sequence = models.PositiveSmallIntegerField(_("顺序"))
    debit_account = models.CharField(_("借方（收款方）"), max_length=64)
    credit_account = models.CharField(_("贷方（付款方）"), max_length=64)
    payee = models.ForeignKey(
        Organisation, verbose_name=_("收款机构"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount = MoneyField(_("金额"))
    posted_on = models.DateField(_("记账日"))
    posted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("价款分配分录")
        verbose_name_plural = _("价款分配分录")
        ordering = ["case", "posted_on", "sequence", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="disposal_entry_positive", violation_error_message=_("金额必须大于零。")
            ),
            models.CheckConstraint(
                condition=~Q(debit_account=F("credit_account")),
                name="disposal_entry_two_sides",
                violation_error_message=_("借贷方不能是同一账户。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case.reference} {self.get_step_display()} {self.amount}"
