"""Valuation (知识产权评估): stored, versioned valuations of one right or a bundle (打包), the banks' own pledge-rate
policies (质押率政策), comparable transactions for the market approach, enterprise innovation scores (创新能力评价,
requirement V1), batch revaluations and the learned layer's models.

Every figure a valuation shows is stored on it with the inputs, the assumptions and the policy it was computed
with, so a signed-off report can be re-read years later exactly as it was issued.
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
from ipledge.registry.models import Enterprise, IPRight, Park, ParkMembership

from .choices import BatchStatus, ComparableKind, ModelLabel, Scenario, ValuationMethod, ValuationStatus


def _ancestor_ids(tree_path: str) -> list[int]:
    return [int(part) for part in tree_path.strip("/").split("/") if part]


def _enterprise_business_q(scope: Scope, *, enterprise_field: str, region_field: str) -> Q | None:
    """Who reads a record about an enterprise's IP besides the organisation that made it: the enterprise itself, the
    administration of its parks, and the IP office and NDRC of its region."""
    if scope.kind == OrganisationKind.ENTERPRISE:
        return Q(**{f"{enterprise_field}__organisation_id": scope.organisation_id})
    if scope.kind == OrganisationKind.PARK_ADMIN:
        in_my_parks = ParkMembership.objects.filter(
            park__administering_org__tree_path__startswith=scope.org_tree_path
        ).values("enterprise_id")
        return Q(**{f"{enterprise_field}__in": in_my_parks})
    if scope.kind in (OrganisationKind.IP_OFFICE, OrganisationKind.DEVELOPMENT_REFORM):
        return scope.region_q(region_field)
    return None


class ValuationBundle(models.Model):
    """A bundle of rights valued together (打包评估, requirement P1): patents, trademarks, copyrights and IC layout
    designs of one holder, as they would be pledged in one contract."""

    name = models.CharField(_("组合名称"), max_length=128)
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("权利人"), on_delete=models.PROTECT, related_name="valuation_bundles"
    )
    created_by_org = models.ForeignKey(
        Organisation, verbose_name=_("创建机构"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        User, verbose_name=_("创建人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    region_code = models.CharField(_("权利人登记地"), max_length=6, blank=True, db_index=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    rights = models.ManyToManyField(  # type: ignore[var-annotated]
        IPRight, through="BundleItem", related_name="valuation_bundles", verbose_name=_("知识产权")
    )

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("评估组合")
        verbose_name_plural = _("评估组合")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        own = scope.org_tree_q("created_by_org__tree_path")
        if action != Action.VIEW:
            return own if scope.kind not in (OrganisationKind.FINANCIAL_REGULATOR,) else None
        business = _enterprise_business_q(scope, enterprise_field="enterprise", region_field="region_code")
        return own if business is None else own | business


class BundleItem(models.Model):
    bundle = models.ForeignKey(ValuationBundle, verbose_name=_("组合"), on_delete=models.CASCADE, related_name="items")
    ip_right = models.ForeignKey(IPRight, verbose_name=_("知识产权"), on_delete=models.PROTECT, related_name="+")

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("组合内知识产权")
        verbose_name_plural = _("组合内知识产权")
        ordering = ["bundle", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["bundle", "ip_right"],
                name="valuation_bundleitem_unique_right",
                violation_error_code="unique",
                violation_error_message=_("同一知识产权不能重复加入组合。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.bundle_id}:{self.ip_right_id}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return scoped_through("bundle", ValuationBundle, ValuationBundle.scope_q(scope, action))


class ValuationModel(models.Model):
    """A learned layer (LightGBM) trained on the platform's revealed-value outcomes, with its model card.

    At most one model per label is active; without one the indicator model stands alone."""

    label = models.CharField(_("学习目标"), max_length=16, choices=ModelLabel.choices)
    model_text = models.TextField(_("模型（LightGBM 文本格式）"))
    card = models.JSONField(_("模型卡"), default=dict)
    cv_auc = models.FloatField(_("交叉验证 AUC"), null=True, blank=True)
    training_rows = models.PositiveIntegerField(_("训练样本数"))
    is_active = models.BooleanField(_("启用"), default=True)
    trained_at = models.DateTimeField(_("训练时间"), auto_now_add=True)
    trained_by = models.ForeignKey(
        User, verbose_name=_("训练人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = RestrictedManager()
    history = HistoricalRecords(excluded_fields=["model_text"])

    class Meta:
        verbose_name = _("评估学习模型")
        verbose_name_plural = _("评估学习模型")
        ordering = ["-trained_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["label"],
                condition=Q(is_active=True),
                name="valuation_model_one_active_per_label",
                violation_error_message=_("每个学习目标只能有一个启用的模型。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_label_display()} #{self.pk}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action == Action.VIEW:
            return Q()  # the model card is published to every user: how scores are made is not a secret
        if scope.kind == OrganisationKind.IP_OFFICE and scope.region_prefix == "":
            return Q()  # the national office trains and retires models for the whole deployment
        return None


class RevaluationBatch(models.Model):
    """A batch revaluation of a park's or a region's portfolio, run as a background task with progress."""

    park = models.ForeignKey(
        Park, verbose_name=_("园区"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    region = models.ForeignKey(
        Region, verbose_name=_("地区"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    scenario = models.CharField(_("评估场景"), max_length=16, choices=Scenario.choices, default=Scenario.FINANCE)
    status = models.CharField(_("状态"), max_length=8, choices=BatchStatus.choices, default=BatchStatus.QUEUED)
    total = models.PositiveIntegerField(_("知识产权数"), default=0)
    done = models.PositiveIntegerField(_("已评估"), default=0)
    error = models.TextField(_("错误"), blank=True)
    task_id = models.CharField(_("任务号"), max_length=64, blank=True)
    requested_by_org = models.ForeignKey(
        Organisation, verbose_name=_("发起机构"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(
        User, verbose_name=_("发起人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    region_code = models.CharField(_("范围代码"), max_length=6, blank=True, db_index=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("批量评估")
        verbose_name_plural = _("批量评估")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(park__isnull=False) | Q(region__isnull=False),
                name="valuation_batch_has_scope",
                violation_error_message=_("请选择园区或地区。"),
            ),
            models.CheckConstraint(
                condition=Q(done__lte=F("total")),
                name="valuation_batch_done_within_total",
                violation_error_message=_("已评估数不能超过总数。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.park or self.region} #{self.pk}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(self.done * 100 // self.total)

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        own = scope.org_tree_q("requested_by_org__tree_path")
        if action == Action.VIEW and scope.kind == OrganisationKind.IP_OFFICE:
            region = scope.region_q("region_code")
            return own if region is None else own | region
        if action in (Action.VIEW, Action.CHANGE):
            return own
        return None


class Valuation(models.Model):
    """One valuation of one right or one bundle, computed by the engine and stored whole; the versions of a subject
    are numbered 1, 2, …; a valuation agency may prepare and sign it off (maker-checker)."""

    ip_right = models.ForeignKey(
        IPRight, verbose_name=_("知识产权"), null=True, blank=True, on_delete=models.PROTECT, related_name="valuations"
    )
    bundle = models.ForeignKey(
        ValuationBundle,
        verbose_name=_("评估组合"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="valuations",
    )
    version = models.PositiveIntegerField(_("版本"))
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("权利人"), null=True, on_delete=models.PROTECT, related_name="valuations"
    )
    region_code = models.CharField(_("权利人登记地"), max_length=6, blank=True, db_index=True)
    scenario = models.CharField(_("评估场景"), max_length=16, choices=Scenario.choices, default=Scenario.FINANCE)
    method = models.CharField(
        _("方法"), max_length=16, choices=ValuationMethod.choices, default=ValuationMethod.INDICATOR
    )
    valuation_date = models.DateField(_("评估基准日"))
    valid_until = models.DateField(_("有效期至"))
    status = models.CharField(
        _("状态"), max_length=12, choices=ValuationStatus.choices, default=ValuationStatus.COMPUTED, db_index=True
    )
    # The indicator layer
    score = models.DecimalField(_("价值度评分"), max_digits=5, decimal_places=2)
    grade = models.CharField(_("等级"), max_length=3)
    completeness = models.DecimalField(_("数据完整度"), max_digits=4, decimal_places=3)
    gate_multiplier = models.DecimalField(_("法律调整系数"), max_digits=5, decimal_places=4)
    gates = models.JSONField(_("法律门槛与调整"), default=list, blank=True)
    contributions = models.JSONField(_("指标贡献"), default=dict, blank=True)
    indicator_values = models.JSONField(_("指标取值"), default=dict, blank=True)
    # Money: three approaches and the reconciled range (log-normal; never a bare point)
    value_income = MoneyField(_("收益法（元）"), null=True, blank=True)
    value_cost = MoneyField(_("成本法（元）"), null=True, blank=True)
    value_market = MoneyField(_("市场法（元）"), null=True, blank=True)
    p10 = MoneyField(_("价值区间 P10（元）"))
    p50 = MoneyField(_("价值中位数 P50（元）"))
    p90 = MoneyField(_("价值区间 P90（元）"))
    sigma = models.FloatField(_("对数标准差"))
    # Pledge
    pledge_rate = models.DecimalField(_("建议质押率"), max_digits=5, decimal_places=4)
    loan_ceiling = MoneyField(_("建议贷款上限（元）"))
    pledge_eligible = models.BooleanField(_("可质押"))
    pledge_reasons = models.JSONField(_("质押率说明"), default=list, blank=True)
    policy_name = models.CharField(_("质押率政策"), max_length=128)
    policy = models.JSONField(_("质押率政策内容"), default=dict, blank=True)
    # What it was computed from, kept for re-reading a signed-off report as issued
    inputs = models.JSONField(_("评估输入"), default=dict, blank=True)
    assumptions = models.JSONField(_("评估参数"), default=dict, blank=True)
    details = models.JSONField(_("组合明细"), default=dict, blank=True)
    # The learned layer, when a model is active
    ml_model = models.ForeignKey(
        ValuationModel, verbose_name=_("学习模型"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ml_probability = models.FloatField(_("显示价值概率"), null=True, blank=True)
    ml_contributions = models.JSONField(_("学习模型贡献"), default=dict, blank=True)
    # Who asked, who prepared and who signed
    requested_by_org = models.ForeignKey(
        Organisation, verbose_name=_("委托机构"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(
        User, verbose_name=_("委托人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    agency = models.ForeignKey(
        Organisation,
        verbose_name=_("评估机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="valuations_assigned",
        limit_choices_to={"kind": OrganisationKind.VALUER},
    )
    prepared_by = models.ForeignKey(
        User, verbose_name=_("评估人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    prepared_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    prepared_note = models.TextField(_("评估意见"), blank=True)
    signed_off_by = models.ForeignKey(
        User, verbose_name=_("复核人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    signed_off_at = models.DateTimeField(_("复核时间"), null=True, blank=True)
    review_note = models.TextField(_("复核意见"), blank=True)
    batch = models.ForeignKey(
        RevaluationBatch, verbose_name=_("批量评估"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("评估")
        verbose_name_plural = _("评估")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["ip_right", "-version"]), models.Index(fields=["bundle", "-version"])]
        constraints = [
            models.CheckConstraint(
                condition=(Q(ip_right__isnull=False) & Q(bundle__isnull=True))
                | (Q(ip_right__isnull=True) & Q(bundle__isnull=False)),
                name="valuation_one_subject",
                violation_error_message=_("评估对象须为一项知识产权或一个组合。"),
            ),
            models.UniqueConstraint(
                fields=["ip_right", "version"],
                condition=Q(ip_right__isnull=False),
                name="valuation_unique_right_version",
                violation_error_message=_("该知识产权的此版本评估已存在。"),
            ),
            models.UniqueConstraint(
                fields=["bundle", "version"],
                condition=Q(bundle__isnull=False),
                name="valuation_unique_bundle_version",
                violation_error_message=_("该组合的此版本评估已存在。"),
            ),
            models.CheckConstraint(
                condition=Q(p10__gte=0) & Q(p10__lte=F("p50")) & Q(p50__lte=F("p90")),
                name="valuation_range_ordered",
                violation_error_message=_("价值区间须满足 0 ≤ P10 ≤ P50 ≤ P90。"),
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=100),
                name="valuation_score_range",
                violation_error_message=_("评分须在 0 至 100 之间。"),
            ),
            models.CheckConstraint(
                condition=Q(pledge_rate__gte=0) & Q(pledge_rate__lte=1),
                name="valuation_pledge_rate_range",
                violation_error_message=_("质押率须在 0 至 1 之间。"),
            ),
            models.CheckConstraint(
                condition=Q(loan_ceiling__gte=0) & Q(loan_ceiling__lte=F("p10")),
                name="valuation_ceiling_within_low_value",
                violation_error_message=_("贷款上限不能超过价值区间下限 P10。"),
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("valuation_date")),
                name="valuation_valid_after_date",
                violation_error_message=_("有效期不能早于评估基准日。"),
            ),
            # Maker-checker (评审分离): the agency's reviewer is never the person who prepared the valuation.
            models.CheckConstraint(
                condition=Q(signed_off_by__isnull=True)
                | Q(prepared_by__isnull=True)
                | ~Q(signed_off_by=F("prepared_by")),
                name="valuation_checker_not_maker",
                violation_error_code="same_person",
                violation_error_message=_("复核人不能与评估人为同一人。"),
            ),
        ]

    def __str__(self) -> str:
        subject = self.ip_right.number if self.ip_right_id and self.ip_right else (self.bundle or "")
        return f"{subject} v{self.version}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @property
    def is_bundle(self) -> bool:
        return self.bundle_id is not None

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        agency = scope.org_tree_q("agency__tree_path")
        if scope.kind == OrganisationKind.VALUER:
            return agency if action in (Action.VIEW, Action.CHANGE, Action.APPROVE) else None
        if action != Action.VIEW:
            return None
        own = scope.org_tree_q("requested_by_org__tree_path")
        business = _enterprise_business_q(scope, enterprise_field="enterprise", region_field="region_code")
        return own if business is None else own | business


class PledgeRatePolicy(models.Model):
    """A bank's own pledge-rate rules (质押率政策): caps per IP kind, minimum remaining terms and grade multipliers.

    A branch without a policy of its own uses the nearest one above it; a bank without any uses the platform's
    defaults compiled from published bank rules."""

    bank = models.ForeignKey(
        Organisation,
        verbose_name=_("银行"),
        on_delete=models.PROTECT,
        related_name="pledge_rate_policies",
        limit_choices_to={"kind": OrganisationKind.BANK},
    )
    name = models.CharField(_("政策名称"), max_length=128)
    rules = models.JSONField(_("规则"), default=dict)
    effective_from = models.DateField(_("生效日"))
    is_active = models.BooleanField(_("现行"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("质押率政策")
        verbose_name_plural = _("质押率政策")
        ordering = ["bank", "-effective_from", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank"],
                condition=Q(is_active=True),
                name="valuation_policy_one_active_per_bank",
                violation_error_message=_("每家银行只能有一项现行质押率政策。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.bank} · {self.name}"

    @property
    def audit_region_code(self) -> str:
        return self.bank.region.code if self.bank.region_id else ""  # type: ignore[union-attr]

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if scope.kind != OrganisationKind.BANK:
            return None
        below = scope.org_tree_q("bank__tree_path")
        if action == Action.VIEW:
            # A branch reads the policy of the offices above it, since that is the one it lends under.
            return below | Q(bank_id__in=_ancestor_ids(scope.org_tree_path))
        return below if action in (Action.ADD, Action.CHANGE) else None


class ComparableTransaction(models.Model):
    """A completed transfer, licence or disposal with its price: a comparable for the market approach (市场法).

    The engine uses comparables in aggregate (medians within kind and IPC section); the individual record is read
    by the organisation that recorded it, valuation agencies and the IP office of its region."""

    ip_right = models.ForeignKey(
        IPRight, verbose_name=_("知识产权"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    transaction_kind = models.CharField(_("交易类型"), max_length=12, choices=ComparableKind.choices)
    kind = models.CharField(_("知识产权类型"), max_length=16)
    patent_type = models.CharField(_("专利类型"), max_length=24, blank=True)
    ipc_section = models.CharField(_("IPC 部"), max_length=1, blank=True)
    price = MoneyField(_("成交价（元）"))
    score = models.DecimalField(_("成交时评分"), max_digits=5, decimal_places=2, null=True, blank=True)
    transacted_on = models.DateField(_("成交日"))
    source = models.CharField(_("来源"), max_length=255)
    region_code = models.CharField(_("地区代码"), max_length=6, blank=True, db_index=True)
    recorded_by_org = models.ForeignKey(
        Organisation, verbose_name=_("登记机构"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("可比交易")
        verbose_name_plural = _("可比交易")
        ordering = ["-transacted_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gt=0),
                name="valuation_comparable_price_positive",
                violation_error_message=_("成交价必须大于零。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_transaction_kind_display()} {self.transacted_on}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        own = scope.org_tree_q("recorded_by_org__tree_path")
        if action != Action.VIEW:
            return own if action in (Action.ADD, Action.CHANGE) else None
        if scope.kind == OrganisationKind.VALUER:
            return Q()
        if scope.kind == OrganisationKind.IP_OFFICE:
            region = scope.region_q("region_code")
            return own if region is None else own | region
        return own


class InnovationScore(models.Model):
    """An enterprise innovation score (企业创新能力评价, requirement V1) with IP as the core indicator."""

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), on_delete=models.CASCADE, related_name="innovation_scores"
    )
    computed_on = models.DateField(_("评价日"))
    score = models.DecimalField(_("创新能力评分"), max_digits=5, decimal_places=2)
    grade = models.CharField(_("等级"), max_length=3)
    completeness = models.DecimalField(_("数据完整度"), max_digits=4, decimal_places=3)
    components = models.JSONField(_("构成"), default=dict)
    rights_valued = models.PositiveIntegerField(_("纳入评价的知识产权"), default=0)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("企业创新能力评价")
        verbose_name_plural = _("企业创新能力评价")
        ordering = ["-computed_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=100),
                name="valuation_innovation_score_range",
                violation_error_message=_("评分须在 0 至 100 之间。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.enterprise} {self.computed_on} {self.grade}"

    @property
    def audit_region_code(self) -> str:
        return self.enterprise.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action != Action.VIEW:
            return None
        return scoped_through("enterprise", Enterprise, Enterprise.scope_q(scope, Action.VIEW))


class CohortStatistics(models.Model):
    """The registry's cohort statistics (IPC section × filing year) that normalise count indicators, refreshed by
    batch revaluation and `ipledge valuation refresh-cohorts`, so that one valuation in a request needs no scan."""

    computed_at = models.DateTimeField(_("计算时间"), auto_now_add=True)
    rights_counted = models.PositiveIntegerField(_("纳入统计的知识产权"))
    stats = models.JSONField(_("统计量"))

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("同组统计量")
        verbose_name_plural = _("同组统计量")
        ordering = ["-computed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.computed_at:%Y-%m-%d %H:%M} ({self.rights_counted})"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return None  # internal: read by the engine through the default manager, never listed to users
