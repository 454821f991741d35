"""The market (requirements S3, S4, S6): the financial-product library (产品资源库), the financing-demand library
(融资项目库), matching between them with reasons, recurring surveys (常态化调查) that keep both libraries current,
and bank-enterprise matchmaking events (银企对接活动).

- A bank publishes a `Product`; its terms live in numbered `ProductVersion`s with structured eligibility. A version
  goes live only after another officer of the bank approves it (maker-checker, also a check constraint); approval
  supersedes the previous live version.
- An enterprise (or its park on its behalf) posts a `Demand` offering some of its IP rights (`DemandRight`) and names
  the banks it consents to share the demand with (`DemandShare`, or every bank whose product matches).
- `Match` holds one demand against one product: eligible or not, a score and rank, and the reasons either way. A bank
  sees the matches of its own products on demands shared with it (线索) and answers them.
- A `SurveyCampaign` of typed `SurveyQuestion`s goes to `SurveyTarget` organisations; each answers once
  (`SurveyResponse`); answers mapped to library fields become demands or draft products.
- A `MatchmakingEvent` takes `EventParticipant` registrations; the platform proposes `Meeting`s from matches and
  places them in time slots so that no bank desk and no enterprise is booked twice in a slot (unique constraints).
"""

from __future__ import annotations

import datetime

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ipledge.core.choices import OrganisationKind
from ipledge.core.models import Organisation, User
from ipledge.core.money import MoneyField
from ipledge.core.scoping import Action, RestrictedManager, Scope, scoped_through
from ipledge.registry.models import Enterprise, IPRight, Park, ParkMembership

from .choices import (
    DemandPurpose,
    DemandSource,
    DemandStatus,
    EventStatus,
    LeadResponse,
    MeetingOutcome,
    MeetingStatus,
    ParticipantKind,
    ProductStatus,
    ProductVersionStatus,
    QuestionKind,
    QuestionTarget,
    RateKind,
    SurveyAudience,
    SurveyRecurrence,
    SurveyStatus,
)

_WRITE = (Action.ADD, Action.CHANGE, Action.APPROVE, Action.DELETE)


def _org_region(org: Organisation | None) -> str:
    return org.region.code if org is not None and org.region_id else ""  # type: ignore[union-attr]


# ----------------------------------------------------------------------------------------------------------- products


class Product(models.Model):
    """A bank's IP-financing product (知识产权融资产品) in the product library."""

    bank = models.ForeignKey(
        Organisation,
        verbose_name=_("发布银行"),
        on_delete=models.PROTECT,
        related_name="market_products",
        limit_choices_to={"kind": OrganisationKind.BANK},
    )
    code = models.CharField(_("产品编号"), max_length=40)
    name = models.CharField(_("产品名称"), max_length=128)
    status = models.CharField(
        _("状态"), max_length=12, choices=ProductStatus.choices, default=ProductStatus.DRAFT, db_index=True
    )
    live_version = models.ForeignKey(
        "ProductVersion",
        verbose_name=_("现行版本"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        User, verbose_name=_("创建人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("融资产品")
        verbose_name_plural = _("融资产品")
        ordering = ["bank__name", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank", "code"],
                name="market_product_code_unique_per_bank",
                violation_error_message=_("本行已有相同编号的产品。"),
            ),
            models.CheckConstraint(
                condition=~Q(status=ProductStatus.LIVE) | Q(live_version__isnull=False),
                name="market_product_live_has_version",
                violation_error_message=_("在售产品必须有现行版本。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank} · {self.name}"

    @property
    def audit_region_code(self) -> str:
        return _org_region(self.bank)

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        own = scope.org_tree_q("bank__tree_path") if scope.kind == OrganisationKind.BANK else None
        if action == Action.VIEW:
            # Live products are the library everyone on the platform browses; drafts stay inside the bank.
            live = Q(status=ProductStatus.LIVE)
            return live | own if own is not None else live
        return own if action in _WRITE else None


class ProductVersion(models.Model):
    """One numbered set of a product's terms and eligibility rules (准入条件).

    Rules left empty mean "no restriction": no region list = every region, no industry list = every industry."""

    product = models.ForeignKey(Product, verbose_name=_("产品"), on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("版本号"))
    status = models.CharField(
        _("状态"),
        max_length=12,
        choices=ProductVersionStatus.choices,
        default=ProductVersionStatus.DRAFT,
        db_index=True,
    )
    summary = models.TextField(_("产品简介"), blank=True)
    # Collateral: kinds accepted (CollateralKind values), minimum remaining life in years and pledge-rate caps
    # (质押率上限, a fraction such as "0.25") per kind, as {kind: value}.
    collateral_kinds = models.JSONField(_("可接受质押物"), default=list)
    min_remaining_years = models.JSONField(_("最短剩余有效期（年）"), default=dict, blank=True)
    pledge_rate_caps = models.JSONField(_("质押率上限"), default=dict, blank=True)
    amount_min = MoneyField(_("最低额度（元）"))
    amount_max = MoneyField(_("最高额度（元）"))
    term_min_months = models.PositiveSmallIntegerField(_("最短期限（月）"))
    term_max_months = models.PositiveSmallIntegerField(_("最长期限（月）"))
    rate_kind = models.CharField(_("定价方式"), max_length=12, choices=RateKind.choices)
    rate_spread_bp = models.IntegerField(_("LPR加点（基点）"), null=True, blank=True)
    rate_fixed = models.DecimalField(_("固定年利率（%）"), max_digits=5, decimal_places=2, null=True, blank=True)
    # Who may borrow
    region_codes = models.JSONField(_("适用地区"), default=list, blank=True)
    industry_sections = models.JSONField(_("适用行业门类"), default=list, blank=True)
    size_classes = models.JSONField(_("适用企业规模"), default=list, blank=True)
    min_enterprise_age_years = models.PositiveSmallIntegerField(_("最短成立年限（年）"), default=0)
    requires_whitelist = models.BooleanField(_("须为授信白名单企业"), default=False)
    excludes_dishonest = models.BooleanField(_("排除失信及严重违法企业"), default=True)
    max_recent_penalties = models.PositiveSmallIntegerField(_("近三年行政处罚上限（次）"), null=True, blank=True)
    requires_guarantee = models.BooleanField(_("需担保"), default=False)
    requires_insurance = models.BooleanField(_("需保证保险"), default=False)
    required_documents = models.JSONField(_("申请材料"), default=list, blank=True)
    source_url = models.URLField(_("公开资料来源"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        User, verbose_name=_("经办人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        User, verbose_name=_("提交人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        User, verbose_name=_("审批人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_note = models.TextField(_("审批意见"), blank=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("产品版本")
        verbose_name_plural = _("产品版本")
        ordering = ["product", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "number"],
                name="market_version_number_unique",
                violation_error_message=_("版本号重复。"),
            ),
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(status=ProductVersionStatus.APPROVED),
                name="market_version_one_approved",
                violation_error_message=_("每个产品只能有一个现行版本。"),
            ),
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(status__in=[ProductVersionStatus.DRAFT, ProductVersionStatus.PENDING]),
                name="market_version_one_open",
                violation_error_message=_("该产品已有一个未完成审批的版本。"),
            ),
            models.CheckConstraint(
                condition=Q(amount_min__gt=0) & Q(amount_min__lte=F("amount_max")),
                name="market_version_amount_range",
                violation_error_message=_("额度须大于零，且最低额度不超过最高额度。"),
            ),
            models.CheckConstraint(
                condition=Q(term_min_months__gte=1) & Q(term_min_months__lte=F("term_max_months")),
                name="market_version_term_range",
                violation_error_message=_("期限须至少1个月，且最短期限不超过最长期限。"),
            ),
            models.CheckConstraint(
                condition=(Q(rate_kind=RateKind.LPR_SPREAD) & Q(rate_spread_bp__isnull=False))
                | (Q(rate_kind=RateKind.FIXED) & Q(rate_fixed__gt=0)),
                name="market_version_rate_given",
                violation_error_message=_("LPR加点产品须填写加点，固定利率产品须填写年利率。"),
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True)
                | Q(submitted_by__isnull=True)
                | ~Q(decided_by=F("submitted_by"))
                | ~Q(status=ProductVersionStatus.APPROVED),
                name="market_version_maker_checker",
                violation_error_message=_("审批人不能是提交人本人。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} v{self.number}"

    @property
    def audit_region_code(self) -> str:
        return _org_region(self.product.bank)

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        own = scope.org_tree_q("product__bank__tree_path") if scope.kind == OrganisationKind.BANK else None
        if action == Action.VIEW:
            current = Q(status=ProductVersionStatus.APPROVED, product__status=ProductStatus.LIVE)
            return current | own if own is not None else current
        return own if action in _WRITE else None


# ------------------------------------------------------------------------------------------------------------ demands


def _demand_q(scope: Scope, action: str) -> Q | None:
    """Who reaches a demand: the enterprise, its parks, the IP offices and oversight bodies of its region (read), and
    the banks it consented to share it with (read)."""
    if scope.kind == OrganisationKind.ENTERPRISE:
        return Q(enterprise__organisation_id=scope.organisation_id) if action != Action.APPROVE else None
    if scope.kind == OrganisationKind.PARK_ADMIN:
        if action == Action.APPROVE:
            return None
        members = ParkMembership.objects.filter(
            park__administering_org__tree_path__startswith=scope.org_tree_path, left_on__isnull=True
        ).values("enterprise_id")
        return scope.org_tree_q("park__administering_org__tree_path") | Q(enterprise_id__in=members)
    if scope.is_government:
        return scope.region_q("region_code") if action == Action.VIEW else None
    if scope.kind == OrganisationKind.BANK and action == Action.VIEW:
        shared = DemandShare.objects.filter(bank__tree_path__startswith=scope.org_tree_path).values("demand_id")
        matched = Match.objects.filter(
            eligible=True,
            demand__share_with_matching_banks=True,
            product__bank__tree_path__startswith=scope.org_tree_path,
        ).values("demand_id")
        return Q(pk__in=shared) | Q(pk__in=matched)
    return None


class Demand(models.Model):
    """A financing demand (融资需求) in the demand library (融资项目库)."""

    reference = models.CharField(_("需求编号"), max_length=24, unique=True)
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), on_delete=models.PROTECT, related_name="market_demands"
    )
    park = models.ForeignKey(
        Park, verbose_name=_("所在园区"), null=True, blank=True, on_delete=models.PROTECT, related_name="demands"
    )
    region_code = models.CharField(_("企业登记地"), max_length=6, blank=True, db_index=True)
    source = models.CharField(_("来源"), max_length=12, choices=DemandSource.choices, default=DemandSource.ENTERPRISE)
    amount = MoneyField(_("融资金额（元）"))
    term_months = models.PositiveSmallIntegerField(_("融资期限（月）"))
    purpose = models.CharField(_("资金用途"), max_length=20, choices=DemandPurpose.choices)
    description = models.TextField(_("需求说明"), blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=DemandStatus.choices, default=DemandStatus.OPEN, db_index=True
    )
    share_with_matching_banks = models.BooleanField(
        _("同意向产品匹配的银行推送"), default=False, help_text=_("不勾选时，仅向指定银行推送")
    )
    expires_on = models.DateField(_("有效期至"))
    loan = models.ForeignKey(
        "lending.Loan",
        verbose_name=_("对应贷款"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="market_demands",
    )
    closed_on = models.DateField(_("办结日期"), null=True, blank=True)
    matched_at = models.DateTimeField(_("最近匹配时间"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_by = models.ForeignKey(
        User, verbose_name=_("发布人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("发布时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("融资需求")
        verbose_name_plural = _("融资需求")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "expires_on"], name="market_demand_status_exp")]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="market_demand_amount_positive",
                violation_error_message=_("融资金额须大于零。"),
            ),
            models.CheckConstraint(
                condition=Q(term_months__gte=1) & Q(term_months__lte=360),
                name="market_demand_term_range",
                violation_error_message=_("融资期限须在1至360个月之间。"),
            ),
            models.CheckConstraint(
                condition=~Q(status=DemandStatus.FINANCED) | Q(loan__isnull=False),
                name="market_demand_financed_has_loan",
                violation_error_message=_("已获贷的需求须关联贷款。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.enterprise.name}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @property
    def is_active(self) -> bool:
        return self.status in (DemandStatus.OPEN, DemandStatus.MATCHED, DemandStatus.IN_TALKS)

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return _demand_q(scope, action)


class DemandRight(models.Model):
    """An IP right the enterprise offers as collateral for a demand."""

    demand = models.ForeignKey(Demand, verbose_name=_("融资需求"), on_delete=models.CASCADE, related_name="rights")
    ip_right = models.ForeignKey(IPRight, verbose_name=_("知识产权"), on_delete=models.PROTECT, related_name="+")

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("拟质押知识产权")
        verbose_name_plural = _("拟质押知识产权")
        constraints = [
            models.UniqueConstraint(
                fields=["demand", "ip_right"],
                name="market_demand_right_unique",
                violation_error_message=_("同一知识产权不能重复列入。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.demand_id} · {self.ip_right}"

    @property
    def audit_region_code(self) -> str:
        return self.demand.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return scoped_through("demand", Demand, Demand.scope_q(scope, action))


class DemandShare(models.Model):
    """The enterprise's consent to show a demand to one bank (授权推送)."""

    demand = models.ForeignKey(Demand, verbose_name=_("融资需求"), on_delete=models.CASCADE, related_name="shares")
    bank = models.ForeignKey(
        Organisation,
        verbose_name=_("银行"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": OrganisationKind.BANK},
    )
    shared_at = models.DateTimeField(_("授权时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("需求推送授权")
        verbose_name_plural = _("需求推送授权")
        constraints = [
            models.UniqueConstraint(
                fields=["demand", "bank"],
                name="market_demand_share_unique",
                violation_error_message=_("已授权向该银行推送。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.demand_id} → {self.bank}"

    @property
    def audit_region_code(self) -> str:
        return self.demand.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if scope.kind == OrganisationKind.BANK:
            return scope.org_tree_q("bank__tree_path") if action == Action.VIEW else None
        return scoped_through("demand", Demand, Demand.scope_q(scope, action))


class Match(models.Model):
    """One demand against one product (匹配结果): eligible or not, its score and rank, and the reasons either way.

    `reasons` is a list of {"code", "params", "passed"} items rendered by `market.explain`; a bank's answer to the
    lead (线索反馈) is kept on the row so that re-matching refreshes the figures without losing it."""

    demand = models.ForeignKey(Demand, verbose_name=_("融资需求"), on_delete=models.CASCADE, related_name="matches")
    product = models.ForeignKey(Product, verbose_name=_("产品"), on_delete=models.CASCADE, related_name="matches")
    product_version = models.ForeignKey(
        ProductVersion, verbose_name=_("产品版本"), on_delete=models.CASCADE, related_name="matches"
    )
    eligible = models.BooleanField(_("符合准入"), db_index=True)
    score = models.DecimalField(_("匹配度"), max_digits=5, decimal_places=2)
    rank = models.PositiveIntegerField(_("排名"), null=True, blank=True)
    expected_approval = models.DecimalField(_("预计获批概率"), max_digits=4, decimal_places=3)
    supported_amount = MoneyField(_("质押物可支持额度（元）"), null=True, blank=True)
    annual_rate = models.DecimalField(_("参考年利率（%）"), max_digits=6, decimal_places=3, null=True, blank=True)
    reasons = models.JSONField(_("匹配理由"), default=list)
    computed_at = models.DateTimeField(_("计算时间"))
    response = models.CharField(
        _("银行反馈"), max_length=12, choices=LeadResponse.choices, default=LeadResponse.NONE, blank=True
    )
    response_note = models.TextField(_("反馈说明"), blank=True)
    responded_by = models.ForeignKey(
        User, verbose_name=_("反馈人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    responded_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)

    objects = RestrictedManager()
    history = HistoricalRecords(excluded_fields=["computed_at"])

    class Meta:
        verbose_name = _("匹配结果")
        verbose_name_plural = _("匹配结果")
        ordering = ["demand", "rank", "-score", "pk"]
        indexes = [models.Index(fields=["product", "eligible"], name="market_match_product_elig")]
        constraints = [
            models.UniqueConstraint(
                fields=["demand", "product"],
                name="market_match_unique",
                violation_error_message=_("该需求与产品已有匹配结果。"),
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=100),
                name="market_match_score_range",
                violation_error_message=_("匹配度须在0到100之间。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.demand_id} × {self.product_id}"

    @property
    def audit_region_code(self) -> str:
        return self.demand.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if scope.kind == OrganisationKind.BANK:
            if action not in (Action.VIEW, Action.CHANGE):
                return None
            visible = _demand_q(scope, Action.VIEW)
            if visible is None:
                return None
            demands = Demand.objects.filter(visible).values("pk")
            return scope.org_tree_q("product__bank__tree_path") & Q(demand_id__in=demands)
        if action != Action.VIEW:
            return None
        return scoped_through("demand", Demand, Demand.scope_q(scope, action))


# ------------------------------------------------------------------------------------------------------------ surveys


_SURVEY_ORGANISERS = (OrganisationKind.IP_OFFICE, OrganisationKind.PARK_ADMIN)


class SurveyCampaign(models.Model):
    """A survey campaign (调查) to enterprises or banks for one period; recurring campaigns repeat each period."""

    organiser = models.ForeignKey(
        Organisation, verbose_name=_("发起机构"), on_delete=models.PROTECT, related_name="survey_campaigns"
    )
    title = models.CharField(_("调查名称"), max_length=160)
    description = models.TextField(_("说明"), blank=True)
    audience = models.CharField(_("调查对象"), max_length=12, choices=SurveyAudience.choices)
    period_label = models.CharField(_("调查期"), max_length=20, help_text=_("例如 2026Q4、2026H2、2026"))
    recurrence = models.CharField(
        _("周期"), max_length=12, choices=SurveyRecurrence.choices, default=SurveyRecurrence.ONCE
    )
    previous = models.ForeignKey(
        "self", verbose_name=_("上一期"), null=True, blank=True, on_delete=models.SET_NULL, related_name="next_runs"
    )
    status = models.CharField(
        _("状态"), max_length=8, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT, db_index=True
    )
    opens_on = models.DateField(_("开始日期"))
    closes_on = models.DateField(_("截止日期"))
    reminder_every_days = models.PositiveSmallIntegerField(_("催办间隔（天）"), default=7)
    flows_into_library = models.BooleanField(
        _("答卷写入资源库"), default=True, help_text=_("企业答卷生成融资需求，银行答卷生成产品草稿")
    )
    created_by = models.ForeignKey(
        User, verbose_name=_("创建人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("调查")
        verbose_name_plural = _("调查")
        ordering = ["-opens_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_on__lte=F("closes_on")),
                name="market_survey_dates",
                violation_error_message=_("截止日期不能早于开始日期。"),
            ),
            models.UniqueConstraint(
                fields=["organiser", "title", "period_label"],
                name="market_survey_unique_period",
                violation_error_message=_("本机构在该调查期已有同名调查。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title}（{self.period_label}）"

    @property
    def audit_region_code(self) -> str:
        return _org_region(self.organiser)

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        organiser = scope.org_tree_q("organiser__tree_path")
        if action != Action.VIEW:
            return organiser if scope.kind in _SURVEY_ORGANISERS else None
        # A target sees the campaign once it is published, never the draft.
        targeted = SurveyTarget.objects.filter(organisation_id=scope.organisation_id).values("campaign_id")
        return organiser | (Q(pk__in=targeted) & ~Q(status=SurveyStatus.DRAFT))


class SurveyQuestion(models.Model):
    campaign = models.ForeignKey(
        SurveyCampaign, verbose_name=_("调查"), on_delete=models.CASCADE, related_name="questions"
    )
    position = models.PositiveSmallIntegerField(_("序号"))
    kind = models.CharField(_("题型"), max_length=14, choices=QuestionKind.choices)
    text = models.CharField(_("题目"), max_length=300)
    help_text = models.CharField(_("填写说明"), max_length=300, blank=True)
    required = models.BooleanField(_("必答"), default=True)
    choices = models.JSONField(_("选项"), default=list, blank=True)
    maps_to = models.CharField(
        _("写入字段"), max_length=32, choices=QuestionTarget.choices, default=QuestionTarget.NONE, blank=True
    )

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("调查题目")
        verbose_name_plural = _("调查题目")
        ordering = ["campaign", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "position"],
                name="market_question_position_unique",
                violation_error_message=_("题目序号重复。"),
            ),
            models.UniqueConstraint(
                fields=["campaign", "maps_to"],
                condition=~Q(maps_to=""),
                name="market_question_target_unique",
                violation_error_message=_("同一资源库字段只能由一道题目写入。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.text}"

    @property
    def audit_region_code(self) -> str:
        return self.campaign.audit_region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return scoped_through("campaign", SurveyCampaign, SurveyCampaign.scope_q(scope, action))


class SurveyTarget(models.Model):
    """An organisation asked to answer a campaign, with the reminders (催办) it was sent."""

    campaign = models.ForeignKey(
        SurveyCampaign, verbose_name=_("调查"), on_delete=models.CASCADE, related_name="targets"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("调查对象"), on_delete=models.PROTECT, related_name="survey_targets"
    )
    invited_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(_("催办次数"), default=0)
    last_reminded_at = models.DateTimeField(_("最近催办"), null=True, blank=True)
    responded_at = models.DateTimeField(_("答卷时间"), null=True, blank=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("调查对象")
        verbose_name_plural = _("调查对象")
        ordering = ["campaign", "organisation__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "organisation"],
                name="market_target_unique",
                violation_error_message=_("该机构已在调查对象中。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.organisation}"

    @property
    def audit_region_code(self) -> str:
        return self.campaign.audit_region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        organiser = scope.org_tree_q("campaign__organiser__tree_path")
        if action == Action.VIEW:
            return organiser | Q(
                organisation_id=scope.organisation_id, campaign__status__in=[SurveyStatus.OPEN, SurveyStatus.CLOSED]
            )
        return organiser if scope.kind in _SURVEY_ORGANISERS else None


class SurveyResponse(models.Model):
    """One organisation's answers to one campaign: {question id: value} with values stored as text, numbers, lists."""

    campaign = models.ForeignKey(
        SurveyCampaign, verbose_name=_("调查"), on_delete=models.PROTECT, related_name="responses"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("答卷机构"), on_delete=models.PROTECT, related_name="survey_responses"
    )
    answers = models.JSONField(_("答案"), default=dict)
    submitted_by = models.ForeignKey(
        User, verbose_name=_("答卷人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(_("提交时间"))
    demand = models.ForeignKey(
        Demand, verbose_name=_("生成的融资需求"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    product = models.ForeignKey(
        Product, verbose_name=_("生成的产品草稿"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("答卷")
        verbose_name_plural = _("答卷")
        ordering = ["campaign", "-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "organisation"],
                name="market_response_once",
                violation_error_message=_("本机构已提交过该调查的答卷。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.organisation}"

    @property
    def audit_region_code(self) -> str:
        return self.campaign.audit_region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        organiser = scope.org_tree_q("campaign__organiser__tree_path")
        own = Q(organisation_id=scope.organisation_id)
        if action == Action.VIEW:
            return organiser | own
        return own if action in (Action.ADD, Action.CHANGE) else None


# ------------------------------------------------------------------------------------------------------------- events


class MatchmakingEvent(models.Model):
    """A bank-enterprise matchmaking event (银企对接活动) with a day of equal time slots (时段)."""

    organiser = models.ForeignKey(
        Organisation, verbose_name=_("主办机构"), on_delete=models.PROTECT, related_name="matchmaking_events"
    )
    title = models.CharField(_("活动名称"), max_length=160)
    theme = models.CharField(_("主题"), max_length=200, blank=True)
    description = models.TextField(_("活动介绍"), blank=True)
    park = models.ForeignKey(
        Park, verbose_name=_("举办园区"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    region_code = models.CharField(_("举办地代码"), max_length=6, blank=True, db_index=True)
    place = models.CharField(_("地点"), max_length=200)
    event_date = models.DateField(_("活动日期"))
    starts_at = models.TimeField(_("开始时间"), default=datetime.time(9, 0))
    slot_minutes = models.PositiveSmallIntegerField(_("每场时长（分钟）"), default=20)
    slot_count = models.PositiveSmallIntegerField(_("场次数"), default=9)
    registration_closes_on = models.DateField(_("报名截止"))
    status = models.CharField(
        _("状态"), max_length=10, choices=EventStatus.choices, default=EventStatus.OPEN, db_index=True
    )
    created_by = models.ForeignKey(
        User, verbose_name=_("创建人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("银企对接活动")
        verbose_name_plural = _("银企对接活动")
        ordering = ["-event_date", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5)
                & Q(slot_minutes__lte=240)
                & Q(slot_count__gte=1)
                & Q(slot_count__lte=48),
                name="market_event_slots",
                violation_error_message=_("每场时长须在5到240分钟之间，场次数须在1到48之间。"),
            ),
            models.CheckConstraint(
                condition=Q(registration_closes_on__lte=F("event_date")),
                name="market_event_registration_before",
                violation_error_message=_("报名截止不能晚于活动日期。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title}（{self.event_date}）"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    def slot_start(self, slot: int) -> datetime.time:
        start = datetime.datetime.combine(self.event_date, self.starts_at)
        return (start + datetime.timedelta(minutes=self.slot_minutes * (slot - 1))).time()

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action == Action.VIEW:
            return Q()  # events are announced to everyone on the platform
        if scope.kind in (OrganisationKind.IP_OFFICE, OrganisationKind.PARK_ADMIN) and action in _WRITE:
            return scope.org_tree_q("organiser__tree_path")
        return None


class EventParticipant(models.Model):
    """A bank or an enterprise registered for an event; a bank staffs one or more desks (洽谈台)."""

    event = models.ForeignKey(
        MatchmakingEvent, verbose_name=_("活动"), on_delete=models.CASCADE, related_name="participants"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("参会机构"), on_delete=models.PROTECT, related_name="event_participations"
    )
    kind = models.CharField(_("类别"), max_length=12, choices=ParticipantKind.choices)
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    demand = models.ForeignKey(
        Demand, verbose_name=_("拟洽谈需求"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    desks = models.PositiveSmallIntegerField(_("洽谈台数"), default=1)
    contact_name = models.CharField(_("联系人"), max_length=64, blank=True)
    registered_by = models.ForeignKey(
        User, verbose_name=_("报名人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    registered_at = models.DateTimeField(_("报名时间"), auto_now_add=True)
    withdrawn_at = models.DateTimeField(_("退出时间"), null=True, blank=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("参会机构")
        verbose_name_plural = _("参会机构")
        ordering = ["event", "kind", "organisation__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "organisation"],
                name="market_participant_once",
                violation_error_message=_("该机构已报名本次活动。"),
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=ParticipantKind.BANK) & Q(enterprise__isnull=True) & Q(desks__gte=1) & Q(desks__lte=20)
                )
                | (Q(kind=ParticipantKind.ENTERPRISE) & Q(enterprise__isnull=False) & Q(desks=1)),
                name="market_participant_kind_fields",
                violation_error_message=_("银行须有1至20个洽谈台；企业须关联企业档案。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} · {self.organisation}"

    @property
    def audit_region_code(self) -> str:
        return self.event.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        organiser = scope.org_tree_q("event__organiser__tree_path")
        own = scope.org_tree_q("organisation__tree_path")
        if action == Action.VIEW:
            # A bank also sees the enterprises it is scheduled to meet.
            met = Meeting.objects.filter(
                bank_participant__organisation__tree_path__startswith=scope.org_tree_path
            ).values("enterprise_participant_id")
            return organiser | own | Q(pk__in=met)
        return organiser | own if action in (Action.ADD, Action.CHANGE) else None


class Meeting(models.Model):
    """A one-to-one meeting (一对一洽谈) at a bank desk in one time slot, and its outcome."""

    event = models.ForeignKey(
        MatchmakingEvent, verbose_name=_("活动"), on_delete=models.CASCADE, related_name="meetings"
    )
    bank_participant = models.ForeignKey(
        EventParticipant, verbose_name=_("银行"), on_delete=models.CASCADE, related_name="bank_meetings"
    )
    enterprise_participant = models.ForeignKey(
        EventParticipant, verbose_name=_("企业"), on_delete=models.CASCADE, related_name="enterprise_meetings"
    )
    match = models.ForeignKey(
        Match, verbose_name=_("依据的匹配"), null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings"
    )
    slot = models.PositiveSmallIntegerField(_("场次"))
    desk = models.PositiveSmallIntegerField(_("洽谈台"), default=1)
    status = models.CharField(
        _("状态"), max_length=10, choices=MeetingStatus.choices, default=MeetingStatus.PROPOSED, db_index=True
    )
    outcome = models.CharField(
        _("洽谈结果"), max_length=12, choices=MeetingOutcome.choices, default=MeetingOutcome.NONE, blank=True
    )
    outcome_note = models.TextField(_("结果说明"), blank=True)
    intended_amount = MoneyField(_("意向金额（元）"), null=True, blank=True)
    follow_up_on = models.DateField(_("跟进日期"), null=True, blank=True)
    loan = models.ForeignKey(
        "lending.Loan", verbose_name=_("形成贷款"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_by = models.ForeignKey(
        User, verbose_name=_("记录人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(_("记录时间"), null=True, blank=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("洽谈安排")
        verbose_name_plural = _("洽谈安排")
        ordering = ["event", "slot", "desk"]
        constraints = [
            # No double booking: one meeting per bank desk per slot, one per enterprise per slot, one per pair.
            models.UniqueConstraint(
                fields=["event", "bank_participant", "desk", "slot"],
                condition=~Q(status="cancelled"),
                name="market_meeting_desk_slot_free",
                violation_error_message=_("该银行洽谈台在此场次已有安排。"),
            ),
            models.UniqueConstraint(
                fields=["event", "enterprise_participant", "slot"],
                condition=~Q(status="cancelled"),
                name="market_meeting_enterprise_slot_free",
                violation_error_message=_("该企业在此场次已有安排。"),
            ),
            models.UniqueConstraint(
                fields=["event", "bank_participant", "enterprise_participant"],
                condition=~Q(status="cancelled"),
                name="market_meeting_pair_once",
                violation_error_message=_("该银行与企业已安排洽谈。"),
            ),
            models.CheckConstraint(
                condition=Q(slot__gte=1) & Q(desk__gte=1),
                name="market_meeting_slot_desk_positive",
                violation_error_message=_("场次和洽谈台须从1开始编号。"),
            ),
            models.CheckConstraint(
                condition=~Q(outcome=MeetingOutcome.LOAN) | Q(loan__isnull=False),
                name="market_meeting_loan_outcome_has_loan",
                violation_error_message=_("结果为已放款时须关联贷款。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.slot}/{self.desk}"

    @property
    def audit_region_code(self) -> str:
        return self.event.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        organiser = scope.org_tree_q("event__organiser__tree_path")
        bank = scope.org_tree_q("bank_participant__organisation__tree_path")
        enterprise = Q(enterprise_participant__organisation_id=scope.organisation_id)
        if action == Action.VIEW:
            return organiser | bank | enterprise
        if action == Action.CHANGE:
            return organiser | bank if scope.kind != OrganisationKind.ENTERPRISE else None
        return organiser if action in _WRITE else None
