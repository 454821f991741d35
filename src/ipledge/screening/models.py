"""Credit screening (授信白名单筛选, requirements W1, W2, W4): credit records, criteria, scorecards, whitelists, bank
subscriptions and decisions, and park intended credit lines (意向性授信额度).

The flow is top-down and bottom-up (上下联动、总分结合): a provincial IP office publishes baseline `Criteria` (hard
exclusions and a minimum score on a `Scorecard`); each park may publish its own criteria that tighten, never loosen,
the baseline; the park screens its enterprises into a draft `WhitelistVersion` of its `Whitelist` for a period
(every enterprise gets a `WhitelistEntry`, in or out, with the reasons and the points per characteristic); an
enterprise may apply (`WhitelistApplication`) to be considered; the park submits, and a reviewer of the province
approves (maker-checker). Banks `Subscription` to parks or regions, see the approved entries, and record a
`CreditDecision` for each; a bank grants a park an `IntendedCreditLine` that the park allocates (`LineAllocation`)
to whitelisted enterprises, never beyond the line (a check constraint and a conditional update).

Credit records (`CreditRecord`: 失信被执行人, 行政处罚, 经营异常名录, 严重违法失信名单, 纳税信用等级) come in through
`CreditImport` batches; a record names its subject by USCC or only by name, and a name that matches no enterprise with
confidence waits in the review queue (`match_status = pending`) instead of being guessed.
"""

from __future__ import annotations

import datetime

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ipledge.core.choices import OrganisationKind
from ipledge.core.models import Organisation, Region, User
from ipledge.core.money import MoneyField
from ipledge.core.scoping import Action, RestrictedManager, Scope, scoped_through
from ipledge.registry.models import Enterprise, Park

from .choices import (
    AllocationStatus,
    ApplicationStatus,
    CriteriaLevel,
    CriteriaStatus,
    DecisionOutcome,
    EntrySource,
    FileFormat,
    ImportStatus,
    LineBasis,
    LineStatus,
    MatchStatus,
    RecordKind,
    ScorecardMethod,
    TaxRating,
    VersionStatus,
)


def _enterprise_visible_q(scope: Scope, field: str) -> Q | None:
    """Rows about enterprises the user may see in the registry (parks, offices, the enterprise itself, banks)."""
    return scoped_through(field, Enterprise, Enterprise.scope_q(scope, Action.VIEW))


# --------------------------------------------------------------------------------------------------- credit records


class CreditImport(models.Model):
    """One uploaded file of credit records of one kind; a file with any bad row is rejected whole (no record is
    written) and kept with its row-level errors, so the importer can see what to fix."""

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("导入机构"), on_delete=models.PROTECT, related_name="credit_imports"
    )
    kind = models.CharField(_("记录类型"), max_length=24, choices=RecordKind.choices)
    file_name = models.CharField(_("文件名"), max_length=255)
    file_format = models.CharField(_("文件格式"), max_length=8, choices=FileFormat.choices)
    sha256 = models.CharField(_("文件摘要"), max_length=64)
    status = models.CharField(_("状态"), max_length=12, choices=ImportStatus.choices)
    rows_total = models.PositiveIntegerField(_("总行数"), default=0)
    rows_matched = models.PositiveIntegerField(_("已匹配"), default=0)
    rows_review = models.PositiveIntegerField(_("待复核"), default=0)
    rows_unmatched = models.PositiveIntegerField(_("未匹配"), default=0)
    rows_unchanged = models.PositiveIntegerField(_("重复（未变更）"), default=0)
    rows_updated = models.PositiveIntegerField(_("已更新"), default=0)
    errors = models.JSONField(_("错误"), default=list, blank=True)
    imported_by = models.ForeignKey(
        User, verbose_name=_("导入人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("导入时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("信用记录导入批次")
        verbose_name_plural = _("信用记录导入批次")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name}"

    @property
    def audit_region_code(self) -> str:
        region = self.organisation.region
        return region.code if region is not None else ""

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if scope.kind != OrganisationKind.IP_OFFICE:
            return None  # credit data is collected by the IP offices (and the platform operator)
        return scope.org_tree_q("organisation__tree_path")


class CreditRecord(models.Model):
    kind = models.CharField(_("记录类型"), max_length=24, choices=RecordKind.choices, db_index=True)
    batch = models.ForeignKey(
        CreditImport, verbose_name=_("导入批次"), on_delete=models.PROTECT, related_name="records"
    )
    # What makes a record the same record on re-import: the case or decision number, or list + subject + date.
    source_key = models.CharField(_("记录标识"), max_length=160)
    subject_name = models.CharField(_("主体名称"), max_length=255)
    subject_uscc = models.CharField(_("统一社会信用代码"), max_length=18, blank=True, db_index=True)
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("匹配企业"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_records",
    )
    match_status = models.CharField(_("匹配状态"), max_length=12, choices=MatchStatus.choices, db_index=True)
    match_score = models.DecimalField(_("名称相似度"), max_digits=5, decimal_places=2, null=True, blank=True)
    candidates = models.JSONField(_("候选企业"), default=list, blank=True)
    reviewed_by = models.ForeignKey(
        User, verbose_name=_("复核人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("复核时间"), null=True, blank=True)
    region_code = models.CharField(_("地区代码"), max_length=6, blank=True, db_index=True)
    reference = models.CharField(_("文书编号/案号"), max_length=128, blank=True)
    authority = models.CharField(_("作出决定机关/执行法院"), max_length=128, blank=True)
    category = models.CharField(_("情形/违法类型/列入原因"), max_length=255, blank=True)
    listed_on = models.DateField(_("列入/决定/评价日期"))
    removed_on = models.DateField(_("移出/履行完毕/信用修复日期"), null=True, blank=True)
    expires_on = models.DateField(_("公示期满日期"), null=True, blank=True)
    tax_rating = models.CharField(_("纳税信用等级"), max_length=1, choices=TaxRating.choices, blank=True)
    rating_year = models.PositiveSmallIntegerField(_("评价年度"), null=True, blank=True)
    raw = models.JSONField(_("原始字段"), default=dict, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords(excluded_fields=["raw"])

    class Meta:
        verbose_name = _("信用记录")
        verbose_name_plural = _("信用记录")
        ordering = ["-listed_on", "-pk"]
        indexes = [models.Index(fields=["enterprise", "kind", "listed_on"])]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "source_key"],
                name="screening_record_unique_per_kind",
                violation_error_code="unique",
                violation_error_message=_("同类信用记录的标识不能重复。"),
            ),
            models.CheckConstraint(
                condition=Q(removed_on__isnull=True) | Q(removed_on__gte=F("listed_on")),
                name="screening_record_removed_after_listed",
                violation_error_message=_("移出日期不能早于列入日期。"),
            ),
            models.CheckConstraint(
                condition=(Q(kind=RecordKind.TAX_RATING) & ~Q(tax_rating=""))
                | (~Q(kind=RecordKind.TAX_RATING) & Q(tax_rating="")),
                name="screening_record_tax_rating_only_for_tax",
                violation_error_message=_("纳税信用等级记录必须填写等级，其他记录不得填写。"),
            ),
            models.CheckConstraint(
                condition=Q(enterprise__isnull=True)
                | Q(
                    match_status__in=[
                        MatchStatus.USCC,
                        MatchStatus.EXACT_NAME,
                        MatchStatus.FUZZY,
                        MatchStatus.CONFIRMED,
                    ]
                ),
                name="screening_record_enterprise_only_when_matched",
                violation_error_message=_("只有已匹配的记录才能关联企业。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subject_name} {self.listed_on}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    def counts_on(self, day: datetime.date) -> bool:
        """Whether the record is in force on `day`: listed, not yet removed or repaired, not past its publicity."""
        if self.listed_on > day:
            return False
        if self.removed_on is not None and self.removed_on <= day:
            return False
        return self.expires_on is None or self.expires_on > day

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        importer = Q(batch__organisation__tree_path__startswith=scope.org_tree_path)
        if scope.kind == OrganisationKind.IP_OFFICE:
            region = scope.region_q("region_code")
            if action == Action.VIEW:
                return importer | region if region is not None else importer
            return importer  # matches are reviewed by the office that imported the file
        if action != Action.VIEW:
            return None
        return _enterprise_visible_q(scope, "enterprise")


# --------------------------------------------------------------------------------------------- criteria, scorecards


class Scorecard(models.Model):
    """A scorecard: characteristics, their bins and the points of each bin; an enterprise's score is the base
    points plus one bin's points per characteristic, so every score decomposes exactly."""

    name = models.CharField(_("名称"), max_length=128)
    method = models.CharField(_("权重来源"), max_length=12, choices=ScorecardMethod.choices)
    definition = models.JSONField(_("评分卡定义"), default=dict)
    metrics = models.JSONField(_("验证指标"), default=dict, blank=True)
    training_rows = models.PositiveIntegerField(_("训练样本数"), default=0)
    owner = models.ForeignKey(
        Organisation,
        verbose_name=_("发布机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="scorecards",
    )
    is_active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(
        User, verbose_name=_("创建人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("评分卡")
        verbose_name_plural = _("评分卡")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action == Action.VIEW:
            return Q()  # how scores are made is published to every user, like the valuation model card
        if scope.kind == OrganisationKind.IP_OFFICE:
            return scope.org_tree_q("owner__tree_path")
        return None


class Criteria(models.Model):
    """Screening criteria for a period: the province's baseline, or a park's tightening of it.

    `exclusions` is a list of dated hard-exclusion rules ({"rule", "effective_from", "effective_to", "params"});
    its shape and the tighten-only rule are checked by `engine.rules`."""

    name = models.CharField(_("名称"), max_length=128)
    level = models.CharField(_("层级"), max_length=12, choices=CriteriaLevel.choices)
    owner = models.ForeignKey(Organisation, verbose_name=_("制定机构"), on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, verbose_name=_("适用地区"), on_delete=models.PROTECT, related_name="+")
    park = models.ForeignKey(
        Park, verbose_name=_("园区"), null=True, blank=True, on_delete=models.PROTECT, related_name="screening_criteria"
    )
    baseline = models.ForeignKey(
        "self",
        verbose_name=_("所依据的基准标准"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refinements",
    )
    period = models.CharField(_("白名单期间"), max_length=16, help_text=_("如 2027 或 2027H1"))
    status = models.CharField(_("状态"), max_length=12, choices=CriteriaStatus.choices, default=CriteriaStatus.DRAFT)
    scorecard = models.ForeignKey(Scorecard, verbose_name=_("评分卡"), on_delete=models.PROTECT, related_name="+")
    min_score = models.DecimalField(_("最低评分"), max_digits=6, decimal_places=2)
    min_invention_patents = models.PositiveSmallIntegerField(_("最少有效发明专利数"), default=0)
    require_high_tech_or_specialised = models.BooleanField(_("须为高新技术企业或专精特新企业"), default=False)
    allowed_sizes = models.JSONField(_("企业规模"), default=list, blank=True, help_text=_("为空表示不限"))
    exclusions = models.JSONField(_("硬性排除条件"), default=list, blank=True)
    note = models.TextField(_("说明"), blank=True)
    created_by = models.ForeignKey(
        User, verbose_name=_("创建人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_by = models.ForeignKey(
        User, verbose_name=_("发布人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("筛选标准")
        verbose_name_plural = _("筛选标准")
        ordering = ["-period", "level", "name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(level=CriteriaLevel.BASELINE) & Q(park__isnull=True) & Q(baseline__isnull=True))
                | (Q(level=CriteriaLevel.PARK) & Q(park__isnull=False) & Q(baseline__isnull=False)),
                name="screening_criteria_level_shape",
                violation_error_message=_("基准标准不关联园区；园区标准必须关联园区和基准标准。"),
            ),
            models.UniqueConstraint(
                fields=["region", "period"],
                condition=Q(level=CriteriaLevel.BASELINE, status=CriteriaStatus.PUBLISHED),
                name="screening_criteria_one_published_baseline",
                violation_error_code="unique",
                violation_error_message=_("该地区本期已有发布的基准标准。"),
            ),
            models.UniqueConstraint(
                fields=["park", "period"],
                condition=Q(level=CriteriaLevel.PARK, status=CriteriaStatus.PUBLISHED),
                name="screening_criteria_one_published_per_park",
                violation_error_code="unique",
                violation_error_message=_("该园区本期已有发布的细化标准。"),
            ),
            models.CheckConstraint(
                condition=Q(min_score__gte=0),
                name="screening_criteria_min_score",
                violation_error_message=_("最低评分不能为负。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.period}）"

    @property
    def audit_region_code(self) -> str:
        return self.region.code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        own = scope.org_tree_q("owner__tree_path")
        if action != Action.VIEW:
            if scope.kind in (OrganisationKind.IP_OFFICE, OrganisationKind.PARK_ADMIN):
                return own
            return None
        # Published criteria are public policy within the deployment; drafts stay with their authors.
        return own | Q(status__in=[CriteriaStatus.PUBLISHED, CriteriaStatus.RETIRED])


# ------------------------------------------------------------------------------------------------------ whitelists


def _whitelist_scope_q(scope: Scope, action: str, prefix: str) -> Q | None:
    """The park's administration works on it; the province IP office of its region approves; subscribed banks,
    the region's government bodies and the parks read."""
    park_admin = scope.org_tree_q(f"{prefix}park__administering_org__tree_path")
    kind = scope.kind
    if kind == OrganisationKind.PARK_ADMIN:
        return park_admin
    if kind == OrganisationKind.IP_OFFICE:
        region = scope.region_q(f"{prefix}region_code")
        if region is None:
            return None
        return region if action in (Action.VIEW, Action.APPROVE) else None
    if action != Action.VIEW:
        return None
    if kind in (OrganisationKind.FINANCIAL_REGULATOR, OrganisationKind.DEVELOPMENT_REFORM):
        return scope.region_q(f"{prefix}region_code")
    if kind == OrganisationKind.BANK:
        subs = Subscription.objects.filter(bank__tree_path__startswith=scope.org_tree_path, is_active=True)
        by_park = Q(**{f"{prefix}park_id__in": subs.filter(park__isnull=False).values("park_id")})
        q = by_park
        for prefix_code in subs.filter(region__isnull=False).values_list("region__prefix", flat=True):
            q |= Q(**{f"{prefix}region_code__startswith": prefix_code})
        return q
    return None


class Whitelist(models.Model):
    """A park's credit whitelist for one period; its versions are screened, submitted and approved in turn."""

    park = models.ForeignKey(Park, verbose_name=_("园区"), on_delete=models.PROTECT, related_name="whitelists")
    period = models.CharField(_("白名单期间"), max_length=16)
    baseline = models.ForeignKey(
        Criteria, verbose_name=_("基准标准"), on_delete=models.PROTECT, related_name="baseline_whitelists"
    )
    criteria = models.ForeignKey(
        Criteria,
        verbose_name=_("园区细化标准"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="park_whitelists",
    )
    region_code = models.CharField(_("地区代码"), max_length=6, db_index=True)
    current_version = models.ForeignKey(
        "WhitelistVersion",
        verbose_name=_("现行版本"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("授信白名单")
        verbose_name_plural = _("授信白名单")
        ordering = ["-period", "park__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["park", "period"],
                name="screening_whitelist_one_per_park_period",
                violation_error_code="unique",
                violation_error_message=_("该园区本期白名单已存在。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.park} {self.period}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return _whitelist_scope_q(scope, action, "")


class WhitelistVersion(models.Model):
    whitelist = models.ForeignKey(
        Whitelist, verbose_name=_("白名单"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("版本号"))
    status = models.CharField(_("状态"), max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    as_of = models.DateField(_("筛选基准日"))
    scorecard = models.ForeignKey(Scorecard, verbose_name=_("评分卡"), on_delete=models.PROTECT, related_name="+")
    # The effective rules the screen used (baseline merged with the park's), kept as screened.
    rules = models.JSONField(_("适用规则"), default=dict, blank=True)
    candidates = models.PositiveIntegerField(_("筛选企业数"), default=0)
    included = models.PositiveIntegerField(_("纳入企业数"), default=0)
    previous = models.ForeignKey(
        "self", verbose_name=_("上一版本"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # {"added": [{"enterprise_id", "name", "reasons"}], "removed": [...], "unchanged": n} against `previous`.
    diff = models.JSONField(_("与上一版本的差异"), default=dict, blank=True)
    prepared_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    submitted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(_("报送时间"), null=True, blank=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decision_note = models.TextField(_("审核意见"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("白名单版本")
        verbose_name_plural = _("白名单版本")
        ordering = ["whitelist", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["whitelist", "number"],
                name="screening_version_number_unique",
                violation_error_code="unique",
                violation_error_message=_("版本号重复。"),
            ),
            models.UniqueConstraint(
                fields=["whitelist"],
                condition=Q(status=VersionStatus.APPROVED),
                name="screening_version_one_approved",
                violation_error_code="unique",
                violation_error_message=_("每份白名单只能有一个现行版本。"),
            ),
            models.UniqueConstraint(
                fields=["whitelist"],
                condition=Q(status__in=[VersionStatus.DRAFT, VersionStatus.SUBMITTED]),
                name="screening_version_one_open",
                violation_error_code="unique",
                violation_error_message=_("每份白名单同时只能有一个在办版本。"),
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("submitted_by")),
                name="screening_version_maker_is_not_checker",
                violation_error_message=_("审核人不能是报送人（审批分离）。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.whitelist} v{self.number}"

    @property
    def audit_region_code(self) -> str:
        return self.whitelist.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        q = _whitelist_scope_q(scope, action, "whitelist__")
        if q is not None and scope.kind == OrganisationKind.BANK:
            q &= Q(status__in=[VersionStatus.APPROVED, VersionStatus.SUPERSEDED])  # banks see what was approved
        return q


class WhitelistEntry(models.Model):
    """One enterprise in one version, in or out, with why: the exclusions it hit, the rules it missed, the park's
    note, and the points per scorecard characteristic that add up to its score."""

    version = models.ForeignKey(
        WhitelistVersion, verbose_name=_("白名单版本"), on_delete=models.CASCADE, related_name="entries"
    )
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), on_delete=models.PROTECT, related_name="whitelist_entries"
    )
    included = models.BooleanField(_("纳入"), db_index=True)
    source = models.CharField(_("来源"), max_length=12, choices=EntrySource.choices, default=EntrySource.SCREENED)
    score = models.DecimalField(_("评分"), max_digits=7, decimal_places=2, null=True, blank=True)
    points = models.JSONField(_("各项得分"), default=dict, blank=True)
    values = models.JSONField(_("各项取值"), default=dict, blank=True)
    reasons = models.JSONField(_("纳入/排除原因"), default=list, blank=True)
    park_note = models.CharField(_("园区意见"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("白名单条目")
        verbose_name_plural = _("白名单条目")
        ordering = ["-included", "-score", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "enterprise"],
                name="screening_entry_one_per_enterprise",
                violation_error_code="unique",
                violation_error_message=_("同一版本中企业不能重复。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.enterprise}"

    @property
    def audit_region_code(self) -> str:
        return self.version.whitelist.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        version_q = WhitelistVersion.scope_q(scope, action)
        q = scoped_through("version", WhitelistVersion, version_q)
        if scope.kind == OrganisationKind.BANK and q is not None:
            q &= Q(included=True)  # banks receive the list itself, not the enterprises screened out
        if scope.kind == OrganisationKind.ENTERPRISE and action == Action.VIEW:
            own = Q(
                enterprise__organisation_id=scope.organisation_id,
                version__status__in=[VersionStatus.APPROVED, VersionStatus.SUPERSEDED],
            )
            return own if q is None else q | own
        return q


class WhitelistApplication(models.Model):
    """An enterprise asks its park to consider it for the period's whitelist (自主申报); the answer comes with the
    version that decided it, and its reasons."""

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), on_delete=models.PROTECT, related_name="whitelist_applications"
    )
    park = models.ForeignKey(Park, verbose_name=_("园区"), on_delete=models.PROTECT, related_name="+")
    period = models.CharField(_("白名单期间"), max_length=16)
    statement = models.TextField(_("申请说明"), blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.PENDING
    )
    answered_in = models.ForeignKey(
        WhitelistVersion, verbose_name=_("答复版本"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answer = models.JSONField(_("答复原因"), default=list, blank=True)
    region_code = models.CharField(_("地区代码"), max_length=6, blank=True, db_index=True)
    submitted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("白名单申请")
        verbose_name_plural = _("白名单申请")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "park", "period"],
                condition=~Q(status=ApplicationStatus.WITHDRAWN),
                name="screening_application_one_open",
                violation_error_code="unique",
                violation_error_message=_("本期已提交过申请。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.enterprise} → {self.park} {self.period}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if scope.kind == OrganisationKind.ENTERPRISE:
            return Q(enterprise__organisation_id=scope.organisation_id) if action != Action.APPROVE else None
        if scope.kind == OrganisationKind.PARK_ADMIN:
            return scope.org_tree_q("park__administering_org__tree_path") if action == Action.VIEW else None
        if scope.kind == OrganisationKind.IP_OFFICE and action == Action.VIEW:
            return scope.region_q("region_code")
        return None


# ---------------------------------------------------------------------------------------------- banks: delivery


class Subscription(models.Model):
    """A bank receives the approved whitelists of one park, or of every park in a region."""

    bank = models.ForeignKey(Organisation, verbose_name=_("银行"), on_delete=models.PROTECT, related_name="+")
    park = models.ForeignKey(
        Park, verbose_name=_("园区"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    region = models.ForeignKey(
        Region, verbose_name=_("地区"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_active = models.BooleanField(_("有效"), default=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("订阅时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("白名单订阅")
        verbose_name_plural = _("白名单订阅")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(park__isnull=False) & Q(region__isnull=True))
                | (Q(park__isnull=True) & Q(region__isnull=False)),
                name="screening_subscription_park_or_region",
                violation_error_message=_("订阅须且只能指定一个园区或一个地区。"),
            ),
            models.UniqueConstraint(
                fields=["bank", "park"],
                condition=Q(is_active=True, park__isnull=False),
                name="screening_subscription_unique_park",
                violation_error_code="unique",
                violation_error_message=_("已订阅该园区。"),
            ),
            models.UniqueConstraint(
                fields=["bank", "region"],
                condition=Q(is_active=True, region__isnull=False),
                name="screening_subscription_unique_region",
                violation_error_code="unique",
                violation_error_message=_("已订阅该地区。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank} → {self.park or self.region}"

    @property
    def audit_region_code(self) -> str:
        if self.park is not None:
            return self.park.region.code
        return self.region.code if self.region is not None else ""

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if scope.kind != OrganisationKind.BANK or action == Action.APPROVE:
            return None
        return scope.org_tree_q("bank__tree_path")


class IntendedCreditLine(models.Model):
    """A bank's intended credit line for a park (意向性授信额度, W4), around a patent cluster or a regional brand.

    `allocated` is the sum of the active allocations; the check constraint `allocated <= amount`, together with the
    conditional update that raises it, makes over-allocation impossible even under concurrent allocations."""

    bank = models.ForeignKey(Organisation, verbose_name=_("银行"), on_delete=models.PROTECT, related_name="+")
    park = models.ForeignKey(Park, verbose_name=_("园区"), on_delete=models.PROTECT, related_name="credit_lines")
    basis = models.CharField(_("授信依据"), max_length=16, choices=LineBasis.choices)
    ipc_group = models.CharField(_("IPC 组"), max_length=32, blank=True, help_text=_("如 H01L 21/"))
    brand = models.CharField(_("区域品牌"), max_length=128, blank=True)
    amount = MoneyField(_("意向额度（元）"))
    allocated = MoneyField(_("已分配（元）"), default=0)
    valid_from = models.DateField(_("有效期起"))
    valid_to = models.DateField(_("有效期止"))
    conditions = models.TextField(_("授信条件"), blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=LineStatus.choices, default=LineStatus.ACTIVE)
    region_code = models.CharField(_("地区代码"), max_length=6, blank=True, db_index=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("园区意向性授信额度")
        verbose_name_plural = _("园区意向性授信额度")
        ordering = ["-valid_from", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="screening_line_amount_positive",
                violation_error_message=_("意向额度必须大于零。"),
            ),
            models.CheckConstraint(
                condition=Q(allocated__gte=0) & Q(allocated__lte=F("amount")),
                name="screening_line_not_over_allocated",
                violation_error_message=_("已分配额度不能超过意向额度。"),
            ),
            models.CheckConstraint(
                condition=Q(valid_to__gte=F("valid_from")),
                name="screening_line_period",
                violation_error_message=_("有效期止不能早于有效期起。"),
            ),
            models.CheckConstraint(
                condition=(Q(basis=LineBasis.PATENT_CLUSTER) & ~Q(ipc_group=""))
                | (Q(basis=LineBasis.REGIONAL_BRAND) & ~Q(brand="")),
                name="screening_line_basis_named",
                violation_error_message=_("专利集群须填写 IPC 组，区域品牌须填写品牌名称。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank} → {self.park} {self.ipc_group or self.brand}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        kind = scope.kind
        if kind == OrganisationKind.BANK:
            return scope.org_tree_q("bank__tree_path")
        if action != Action.VIEW:
            return None
        if kind == OrganisationKind.PARK_ADMIN:
            return scope.org_tree_q("park__administering_org__tree_path")
        if kind in (
            OrganisationKind.IP_OFFICE,
            OrganisationKind.FINANCIAL_REGULATOR,
            OrganisationKind.DEVELOPMENT_REFORM,
        ):
            return scope.region_q("region_code")
        return None


class LineAllocation(models.Model):
    """A share of a park's intended credit line set aside for one whitelisted enterprise; `utilised` is what the
    bank has granted against it."""

    line = models.ForeignKey(
        IntendedCreditLine, verbose_name=_("意向性授信额度"), on_delete=models.PROTECT, related_name="allocations"
    )
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), on_delete=models.PROTECT, related_name="line_allocations"
    )
    entry = models.ForeignKey(
        WhitelistEntry, verbose_name=_("白名单条目"), on_delete=models.PROTECT, related_name="allocations"
    )
    amount = MoneyField(_("分配额度（元）"))
    utilised = MoneyField(_("已使用（元）"), default=0)
    status = models.CharField(
        _("状态"), max_length=12, choices=AllocationStatus.choices, default=AllocationStatus.ACTIVE
    )
    allocated_on = models.DateField(_("分配日"))
    released_on = models.DateField(_("释放日"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=255, blank=True)
    region_code = models.CharField(_("地区代码"), max_length=6, blank=True, db_index=True)
    allocated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("意向额度分配")
        verbose_name_plural = _("意向额度分配")
        ordering = ["-allocated_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="screening_allocation_positive",
                violation_error_message=_("分配额度必须大于零。"),
            ),
            models.CheckConstraint(
                condition=Q(utilised__gte=0) & Q(utilised__lte=F("amount")),
                name="screening_allocation_not_over_used",
                violation_error_message=_("已使用额度不能超过分配额度。"),
            ),
            models.UniqueConstraint(
                fields=["line", "enterprise"],
                condition=Q(status=AllocationStatus.ACTIVE),
                name="screening_allocation_one_active_per_enterprise",
                violation_error_code="unique",
                violation_error_message=_("该企业在此额度下已有有效分配。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line} → {self.enterprise}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if scope.kind == OrganisationKind.PARK_ADMIN:
            return scope.org_tree_q("line__park__administering_org__tree_path")  # the park allocates
        if scope.kind == OrganisationKind.ENTERPRISE:
            return Q(enterprise__organisation_id=scope.organisation_id) if action == Action.VIEW else None
        if action != Action.VIEW:
            return None  # banks draw on allocations through their credit decisions, never edit them
        return scoped_through("line", IntendedCreditLine, IntendedCreditLine.scope_q(scope, Action.VIEW))


class CreditDecision(models.Model):
    """A bank's decision on a whitelisted enterprise (W2): a credit line with amount and term, the renewal without
    principal repayment (无还本续贷) flag, or a refusal; optionally drawn on a park allocation."""

    bank = models.ForeignKey(Organisation, verbose_name=_("银行"), on_delete=models.PROTECT, related_name="+")
    entry = models.ForeignKey(
        WhitelistEntry, verbose_name=_("白名单条目"), on_delete=models.PROTECT, related_name="decisions"
    )
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), on_delete=models.PROTECT, related_name="credit_decisions"
    )
    outcome = models.CharField(_("决定"), max_length=12, choices=DecisionOutcome.choices)
    amount = MoneyField(_("授信金额（元）"), null=True, blank=True)
    term_months = models.PositiveSmallIntegerField(_("授信期限（月）"), null=True, blank=True)
    renewal_without_repayment = models.BooleanField(_("无还本续贷"), default=False)
    allocation = models.ForeignKey(
        LineAllocation,
        verbose_name=_("占用意向额度"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions",
    )
    decided_on = models.DateField(_("决定日"))
    note = models.CharField(_("说明"), max_length=255, blank=True)
    region_code = models.CharField(_("地区代码"), max_length=6, blank=True, db_index=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("授信决定")
        verbose_name_plural = _("授信决定")
        ordering = ["-decided_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(outcome=DecisionOutcome.GRANTED) & Q(amount__gt=0) & Q(term_months__gt=0))
                | (
                    Q(outcome=DecisionOutcome.DECLINED)
                    & Q(amount__isnull=True)
                    & Q(allocation__isnull=True)
                    & Q(renewal_without_repayment=False)
                ),
                name="screening_decision_shape",
                violation_error_message=_("授信须填写金额和期限；不予授信不得填写金额、额度占用或续贷。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.bank} {self.enterprise} {self.get_outcome_display()}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        kind = scope.kind
        if kind == OrganisationKind.BANK:
            return scope.org_tree_q("bank__tree_path") if action != Action.APPROVE else None
        if action != Action.VIEW:
            return None
        if kind == OrganisationKind.ENTERPRISE:
            return Q(enterprise__organisation_id=scope.organisation_id)
        if kind == OrganisationKind.PARK_ADMIN:
            return scope.org_tree_q("entry__version__whitelist__park__administering_org__tree_path")
        if kind in (
            OrganisationKind.IP_OFFICE,
            OrganisationKind.FINANCIAL_REGULATOR,
            OrganisationKind.DEVELOPMENT_REFORM,
        ):
            return scope.region_q("region_code")
        return None
