"""Action monitoring (行动监测; requirements T1–T4, M1, M6, O1–O3, O5, O6).

- Targets (百园万企 目标) are computed from registrations and loans, never stored: see `engine/targets.py`.
- `AnomalyScan` runs the rules of `engine/anomalies.py`; each hit is a `Finding` with its rule, evidence and severity,
  worked as a case (核查) through `FindingEvent`s: assign → investigate → confirm or dismiss → report in a
  `Bulletin` (通报). A dismissed finding is remembered by its fingerprint and evidence digest, so the same finding
  with the same evidence does not come back.
- A province's `ProvincialPlan` (省级行动方案) carries a task ledger (任务台账) of `PlanTask`s; `Reminder`s flag a
  plan due for submission (10 days after issue), tasks near or past their deadline, and a province short of 3 key
  parks. `KeyParkDesignation` records each year's key / demonstration parks (重点园区 / 示范园区).
- `EnterpriseFinancials` holds an enterprise's yearly R&D spending, revenue, jobs and implemented patents, fed by the
  follow-up surveys (跟踪调查) of the market's survey engine, for the impact analysis.
- `MeasureEntry` rows are the measures (工作措施) behind the measures overview table (工作措施一览表); a
  `GeneratedReport` keeps each generated xlsx / docx with the figures it printed and the query behind each.
- `TypicalCase` is the typical-case library (典型案例) with its yearly nomination → review → publication.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ipledge.core.choices import GOVERNMENT_KINDS, OrganisationKind
from ipledge.core.models import Organisation, Region, User
from ipledge.core.money import MoneyField
from ipledge.core.scoping import Action, RestrictedManager, Scope, scoped_through
from ipledge.registry.models import Enterprise, Park, ParkMembership

from .choices import (
    ACTIVE_FINDING_STATUSES,
    AnomalyRule,
    CaseCategory,
    CaseStatus,
    DesignationKind,
    DesignationStatus,
    FinancialsSource,
    FindingEventKind,
    FindingSeverity,
    FindingStatus,
    MeasureCategory,
    MeasureStatus,
    PlanStatus,
    ReminderKind,
    ReportKind,
    ScanStatus,
    TaskStatus,
)

_WRITE = (Action.ADD, Action.CHANGE, Action.APPROVE, Action.DELETE)
_EVERYTHING = Q(pk__isnull=False)  # a non-empty "all rows" Q (a bare Q() vanishes when OR-ed)


def _government_q(scope: Scope, field: str = "region_code") -> Q | None:
    """IP offices and the oversight bodies read inside their region."""
    if scope.kind in GOVERNMENT_KINDS:
        return scope.region_q(field)
    return None


def _ip_office_q(scope: Scope, field: str = "region_code") -> Q | None:
    """Only an IP office (知识产权局) writes monitoring records, inside its region."""
    if scope.kind == OrganisationKind.IP_OFFICE:
        return scope.region_q(field)
    return None


def _either(*qs: Q | None) -> Q | None:
    found = [q for q in qs if q is not None]
    if not found:
        return None
    combined = found[0]
    for q in found[1:]:
        combined |= q
    return combined


def _park_admin_q(scope: Scope, field: str = "park") -> Q | None:
    if scope.kind == OrganisationKind.PARK_ADMIN:
        return scope.org_tree_q(f"{field}__administering_org__tree_path")
    return None


def _park_member_q(scope: Scope, field: str = "enterprise") -> Q | None:
    """Enterprises currently in the parks a park administration runs."""
    if scope.kind != OrganisationKind.PARK_ADMIN:
        return None
    members = ParkMembership.objects.filter(
        park__administering_org__tree_path__startswith=scope.org_tree_path, left_on__isnull=True
    ).values("enterprise_id")
    return Q(**{f"{field}_id__in": members})


# --------------------------------------------------------------------------------------------------------- anomalies


class AnomalyScan(models.Model):
    """One run of the anomaly rules over the whole deployment (scheduled daily, or started by an official)."""

    as_of = models.DateField(_("数据截止日"))
    status = models.CharField(_("状态"), max_length=12, choices=ScanStatus.choices, default=ScanStatus.RUNNING)
    rules = models.JSONField(_("执行规则"), default=list, blank=True)
    counts = models.JSONField(
        _("结果统计"), default=dict, blank=True, help_text=_("每条规则：命中、新增、已排除不再提示、已消除")
    )
    error = models.TextField(_("错误"), blank=True)
    started_at = models.DateTimeField(_("开始时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    started_by = models.ForeignKey(
        User, verbose_name=_("发起人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("异常扫描")
        verbose_name_plural = _("异常扫描")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.as_of:%Y-%m-%d} #{self.pk}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        # A scan covers the whole deployment; its counts reveal no record. Officials read them; IP offices start them.
        if scope.kind in GOVERNMENT_KINDS and action == Action.VIEW:
            return _EVERYTHING
        if scope.kind == OrganisationKind.IP_OFFICE and action == Action.ADD:
            return _EVERYTHING
        return None


class Bulletin(models.Model):
    """A 通报: the notice an IP office issues about confirmed findings."""

    number = models.CharField(_("通报编号"), max_length=40, unique=True)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("正文"))
    region_code = models.CharField(_("地区代码"), max_length=6, db_index=True)
    issued_by = models.ForeignKey(Organisation, verbose_name=_("通报机关"), on_delete=models.PROTECT, related_name="+")
    issued_on = models.DateField(_("通报日期"))
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("通报")
        verbose_name_plural = _("通报")
        ordering = ["-issued_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action == Action.VIEW:
            return _government_q(scope)
        return _ip_office_q(scope) if action in (Action.ADD, Action.CHANGE) else None


class Finding(models.Model):
    """One anomaly a scan found: the rule, the evidence (records and figures), a severity, and its case."""

    rule = models.CharField(_("规则"), max_length=32, choices=AnomalyRule.choices, db_index=True)
    severity = models.CharField(_("严重程度"), max_length=8, choices=FindingSeverity.choices)
    # What the finding is about (rule + subject key), hashed; and a digest of the evidence figures. A dismissal is
    # remembered against both: the same fingerprint with the same evidence does not return; new evidence does.
    fingerprint = models.CharField(_("识别码"), max_length=64, db_index=True)
    evidence_digest = models.CharField(_("证据摘要"), max_length=64)
    title = models.CharField(_("标题"), max_length=255)
    summary = models.TextField(_("说明"), blank=True)
    evidence = models.JSONField(_("证据"), default=dict, blank=True, help_text=_("records: 相关记录；figures: 数据"))
    subject_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    subject_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    region_code = models.CharField(_("地区代码"), max_length=6, blank=True, db_index=True)
    park = models.ForeignKey(
        Park, verbose_name=_("园区"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    institution = models.ForeignKey(
        Organisation,
        verbose_name=_("相关机构"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("银行、评估机构或园区管委会"),
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN, db_index=True
    )
    assignee = models.ForeignKey(
        User, verbose_name=_("核查人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(_("分派时间"), null=True, blank=True)
    due_on = models.DateField(_("核查期限"), null=True, blank=True)
    decided_by = models.ForeignKey(
        User, verbose_name=_("认定人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("认定时间"), null=True, blank=True)
    decision_note = models.TextField(_("认定意见"), blank=True)
    bulletin = models.ForeignKey(
        Bulletin, verbose_name=_("通报"), null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    scan = models.ForeignKey(
        AnomalyScan, verbose_name=_("首次发现于"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_seen_on = models.DateField(_("首次发现"))
    last_seen_on = models.DateField(_("最近发现"))
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("异常线索")
        verbose_name_plural = _("异常线索")
        ordering = ["-last_seen_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "fingerprint"],
                condition=Q(status__in=ACTIVE_FINDING_STATUSES),
                name="monitoring_finding_one_active_per_fingerprint",
                violation_error_message=_("同一异常已有未办结的线索。"),
            ),
            models.CheckConstraint(
                condition=Q(last_seen_on__gte=F("first_seen_on")),
                name="monitoring_finding_seen_order",
                violation_error_message=_("最近发现日期不能早于首次发现日期。"),
            ),
            models.CheckConstraint(
                condition=~Q(status=FindingStatus.REPORTED) | Q(bulletin__isnull=False),
                name="monitoring_finding_reported_has_bulletin",
                violation_error_message=_("已通报的线索必须关联通报。"),
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[FindingStatus.CONFIRMED, FindingStatus.DISMISSED])
                | (Q(decided_at__isnull=False) & ~Q(decision_note="")),
                name="monitoring_finding_decision_has_note",
                violation_error_message=_("确认或排除须填写认定意见。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()}：{self.title}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action == Action.VIEW:
            return _government_q(scope)
        return _ip_office_q(scope) if action in (Action.CHANGE, Action.APPROVE) else None


class FindingEvent(models.Model):
    """One step of a finding's case: raised, assigned, notes, the decision, the bulletin."""

    finding = models.ForeignKey(Finding, verbose_name=_("异常线索"), on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("类型"), max_length=16, choices=FindingEventKind.choices)
    from_status = models.CharField(_("原状态"), max_length=16, choices=FindingStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, choices=FindingStatus.choices, blank=True)
    note = models.TextField(_("说明"), blank=True)
    actor = models.ForeignKey(
        User, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    occurred_at = models.DateTimeField(_("时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("核查记录")
        verbose_name_plural = _("核查记录")
        ordering = ["occurred_at", "pk"]

    def __str__(self) -> str:
        return f"{self.finding_id} {self.get_kind_display()}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return scoped_through("finding", Finding, Finding.scope_q(scope, action))


# ------------------------------------------------------------------------------------------ plans, tasks, key parks


def _plan_q(scope: Scope, action: str, prefix: str = "") -> Q | None:
    if action == Action.VIEW:
        return _government_q(scope, f"{prefix}region__code")
    return _ip_office_q(scope, f"{prefix}region__code") if action in _WRITE else None


class ProvincialPlan(models.Model):
    """A province's action plan (省级行动方案), due to CNIPA 10 days after it is issued (印发后10日内报送)."""

    region = models.ForeignKey(Region, verbose_name=_("省份"), on_delete=models.PROTECT, related_name="+")
    issuing_org = models.ForeignKey(
        Organisation, verbose_name=_("印发机关"), on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("方案名称"), max_length=200)
    document_no = models.CharField(_("文号"), max_length=64, blank=True)
    year_from = models.PositiveSmallIntegerField(_("实施起始年"))
    year_to = models.PositiveSmallIntegerField(_("实施截止年"))
    status = models.CharField(_("状态"), max_length=12, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    issued_on = models.DateField(_("印发日期"), null=True, blank=True)
    submission_due_on = models.DateField(_("报送期限"), null=True, blank=True)
    submitted_on = models.DateField(_("报送日期"), null=True, blank=True)
    summary = models.TextField(_("主要内容"), blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    version = models.PositiveIntegerField(_("版本"), default=1)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("省级行动方案")
        verbose_name_plural = _("省级行动方案")
        ordering = ["region__code", "-year_from", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(year_to__gte=F("year_from")),
                name="monitoring_plan_years",
                violation_error_message=_("实施截止年不能早于起始年。"),
            ),
            models.CheckConstraint(
                condition=Q(submitted_on__isnull=True) | Q(issued_on__isnull=False, submitted_on__gte=F("issued_on")),
                name="monitoring_plan_submitted_after_issue",
                violation_error_message=_("报送日期不能早于印发日期。"),
            ),
            models.CheckConstraint(
                condition=~Q(status=PlanStatus.DRAFT) | Q(issued_on__isnull=True),
                name="monitoring_plan_draft_not_issued",
                violation_error_message=_("起草中的方案不能有印发日期。"),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def audit_region_code(self) -> str:
        return self.region.code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        q = _plan_q(scope, action)
        if action == Action.VIEW and scope.organisation_id is not None:
            # Organisations that own a task in the ledger read the plan it belongs to.
            owned = PlanTask.objects.filter(owner_org__tree_path__startswith=scope.org_tree_path).values("plan_id")
            return _either(q, Q(pk__in=owned))
        return q


class PlanTask(models.Model):
    """One line of a plan's task ledger (任务台账): what, who, by when, how far, and the evidence."""

    plan = models.ForeignKey(ProvincialPlan, verbose_name=_("行动方案"), on_delete=models.CASCADE, related_name="tasks")
    number = models.PositiveSmallIntegerField(_("序号"))
    title = models.CharField(_("任务"), max_length=200)
    description = models.TextField(_("具体内容"), blank=True)
    requirement = models.CharField(_("对应要求"), max_length=8, blank=True, help_text=_("如 T1、S2、O3"))
    owner_org = models.ForeignKey(
        Organisation, verbose_name=_("责任单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    owner_name = models.CharField(_("责任单位（未入驻平台）"), max_length=128, blank=True)
    due_on = models.DateField(_("完成时限"), db_index=True)
    status = models.CharField(_("状态"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.NOT_STARTED)
    progress = models.PositiveSmallIntegerField(_("进度（%）"), default=0)
    completed_on = models.DateField(_("完成日期"), null=True, blank=True)
    evidence = models.TextField(_("佐证材料说明"), blank=True)
    evidence_file = models.CharField(_("佐证材料文件"), max_length=80, blank=True, editable=False)
    evidence_file_name = models.CharField(_("佐证材料文件名"), max_length=255, blank=True)
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    version = models.PositiveIntegerField(_("版本"), default=1)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("台账任务")
        verbose_name_plural = _("台账任务")
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "number"], name="monitoring_task_number", violation_error_message=_("任务序号重复。")
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100),
                name="monitoring_task_progress",
                violation_error_message=_("进度不能超过100%。"),
            ),
            models.CheckConstraint(
                condition=(Q(status=TaskStatus.DONE) & Q(completed_on__isnull=False))
                | (~Q(status=TaskStatus.DONE) & Q(completed_on__isnull=True)),
                name="monitoring_task_done_has_date",
                violation_error_message=_("已完成的任务须有完成日期，未完成的任务不能有完成日期。"),
            ),
            models.CheckConstraint(
                condition=Q(owner_org__isnull=False) | ~Q(owner_name=""),
                name="monitoring_task_has_owner",
                violation_error_message=_("请指定责任单位。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"

    @property
    def audit_region_code(self) -> str:
        return self.plan.region.code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        q = _plan_q(scope, action, "plan__")
        if action in (Action.VIEW, Action.CHANGE) and scope.organisation_id is not None:
            # The owner reads its tasks and reports their progress and evidence.
            return _either(q, scope.org_tree_q("owner_org__tree_path"))
        return q


class Reminder(models.Model):
    """A reminder (提醒) raised by the daily check: a plan due or overdue for submission, a task near or past its
    deadline, a province short of 3 key parks. One open reminder per subject and kind; it resolves itself when the
    cause goes away."""

    kind = models.CharField(_("类型"), max_length=32, choices=ReminderKind.choices)
    subject_key = models.CharField(_("对象"), max_length=64, help_text=_("如 plan:5、task:17、keyparks:32:2026"))
    plan = models.ForeignKey(
        ProvincialPlan, verbose_name=_("行动方案"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    task = models.ForeignKey(
        PlanTask, verbose_name=_("台账任务"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    region_code = models.CharField(_("地区代码"), max_length=6, db_index=True)
    recipient = models.ForeignKey(
        Organisation, verbose_name=_("提醒对象"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    message = models.CharField(_("内容"), max_length=255)
    due_on = models.DateField(_("期限"), null=True, blank=True)
    raised_on = models.DateField(_("提醒日期"))
    resolved_on = models.DateField(_("解除日期"), null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("工作提醒")
        verbose_name_plural = _("工作提醒")
        ordering = ["resolved_on", "-raised_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject_key"],
                condition=Q(resolved_on__isnull=True),
                name="monitoring_reminder_one_open",
                violation_error_message=_("该事项已有未解除的提醒。"),
            )
        ]

    def __str__(self) -> str:
        return self.message

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action != Action.VIEW:
            return None
        return _either(_government_q(scope), scope.org_tree_q("recipient__tree_path"))


class KeyParkDesignation(models.Model):
    """A park designated key or demonstration park (重点 / 示范园区) for a year (O2: at least 3 per province)."""

    park = models.ForeignKey(Park, verbose_name=_("园区"), on_delete=models.PROTECT, related_name="designations")
    year = models.PositiveSmallIntegerField(_("年度"))
    kind = models.CharField(_("类型"), max_length=16, choices=DesignationKind.choices, default=DesignationKind.KEY)
    status = models.CharField(
        _("状态"), max_length=12, choices=DesignationStatus.choices, default=DesignationStatus.ACTIVE
    )
    region_code = models.CharField(_("地区代码"), max_length=6, db_index=True)
    designated_by = models.ForeignKey(
        Organisation, verbose_name=_("认定机关"), on_delete=models.PROTECT, related_name="+"
    )
    designated_on = models.DateField(_("认定日期"))
    rationale = models.TextField(_("认定理由"), blank=True)
    goals = models.TextField(_("工作目标"), blank=True)
    revoked_on = models.DateField(_("撤销日期"), null=True, blank=True)
    revoke_reason = models.CharField(_("撤销原因"), max_length=255, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("重点园区认定")
        verbose_name_plural = _("重点园区认定")
        ordering = ["-year", "region_code", "park__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["park", "year"],
                condition=Q(status=DesignationStatus.ACTIVE),
                name="monitoring_designation_one_per_year",
                violation_error_message=_("该园区本年度已被认定。"),
            ),
            models.CheckConstraint(
                condition=~Q(status=DesignationStatus.REVOKED) | Q(revoked_on__isnull=False),
                name="monitoring_designation_revoked_has_date",
                violation_error_message=_("撤销须有撤销日期。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.park}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action == Action.VIEW:
            # Designations are published: every signed-in organisation reads them (the portal shows them too).
            return _EVERYTHING
        return _ip_office_q(scope) if action in _WRITE else None


# ----------------------------------------------------------------------------------------------- impact (O3)


class EnterpriseFinancials(models.Model):
    """An enterprise's figures for one year (年度经营数据) for the impact analysis before and after financing."""

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), on_delete=models.CASCADE, related_name="yearly_financials"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    rd_spending = MoneyField(_("研发投入（元）"), null=True, blank=True)
    revenue = MoneyField(_("营业收入（元）"), null=True, blank=True)
    employees = models.PositiveIntegerField(_("从业人员"), null=True, blank=True)
    patents_held = models.PositiveIntegerField(_("有效专利数"), null=True, blank=True)
    patents_implemented = models.PositiveIntegerField(_("已实施专利数"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=8, choices=FinancialsSource.choices)
    survey_response = models.ForeignKey(
        "market.SurveyResponse",
        verbose_name=_("来源答卷"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    region_code = models.CharField(_("地区代码"), max_length=6, blank=True, db_index=True)
    reported_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("企业年度经营数据")
        verbose_name_plural = _("企业年度经营数据")
        ordering = ["enterprise", "-year"]
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "year"],
                name="monitoring_financials_one_per_year",
                violation_error_message=_("该企业该年度已有经营数据。"),
            ),
            models.CheckConstraint(
                condition=(Q(rd_spending__isnull=True) | Q(rd_spending__gte=0))
                & (Q(revenue__isnull=True) | Q(revenue__gte=0)),
                name="monitoring_financials_non_negative",
                violation_error_message=_("金额不能为负。"),
            ),
            models.CheckConstraint(
                condition=Q(patents_implemented__isnull=True)
                | Q(patents_held__isnull=True)
                | Q(patents_implemented__lte=F("patents_held")),
                name="monitoring_financials_implemented_le_held",
                violation_error_message=_("已实施专利数不能超过有效专利数。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise} {self.year}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        own = (
            Q(enterprise__organisation_id=scope.organisation_id)
            if scope.kind == OrganisationKind.ENTERPRISE and action in (Action.VIEW, Action.ADD, Action.CHANGE)
            else None
        )
        if action == Action.VIEW:
            return _either(own, _government_q(scope), _park_member_q(scope))
        return _either(own, _ip_office_q(scope) if action in (Action.ADD, Action.CHANGE) else None)


# --------------------------------------------------------------------------------------- measures, reports, cases


class MeasureEntry(models.Model):
    """A measure (工作措施) a province, city or park took: one row of the measures overview table (工作措施一览表)."""

    region = models.ForeignKey(Region, verbose_name=_("地区"), on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(_("地区代码"), max_length=6, db_index=True, editable=False)
    park = models.ForeignKey(
        Park, verbose_name=_("园区"), null=True, blank=True, on_delete=models.PROTECT, related_name="measures"
    )
    category = models.CharField(_("类别"), max_length=24, choices=MeasureCategory.choices)
    title = models.CharField(_("措施名称"), max_length=200)
    issuing_body = models.CharField(_("实施单位"), max_length=128)
    document_no = models.CharField(_("文号"), max_length=64, blank=True)
    started_on = models.DateField(_("实施日期"))
    ended_on = models.DateField(_("截止日期"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=MeasureStatus.choices, default=MeasureStatus.ONGOING)
    description = models.TextField(_("主要内容"))
    results = models.TextField(_("取得成效"), blank=True)
    is_public = models.BooleanField(_("公开展示"), default=False)
    owner_org = models.ForeignKey(Organisation, verbose_name=_("填报单位"), on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("工作措施")
        verbose_name_plural = _("工作措施")
        ordering = ["region_code", "-started_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("started_on")),
                name="monitoring_measure_dates",
                violation_error_message=_("截止日期不能早于实施日期。"),
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        own = scope.org_tree_q("owner_org__tree_path") if scope.organisation_id is not None else None
        if action == Action.VIEW:
            return _either(Q(is_public=True), own, _government_q(scope), _park_admin_q(scope))
        if action == Action.ADD:
            # Only IP offices and park administrations enter measures; banks or enterprises never do.
            return _either(_ip_office_q(scope), _park_admin_q(scope))
        if action in (Action.CHANGE, Action.DELETE):
            return _either(_ip_office_q(scope), _park_admin_q(scope), own)
        return None


class GeneratedReport(models.Model):
    """A generated report file (xlsx / docx) and every figure it printed, each with the query behind it."""

    kind = models.CharField(_("报告类型"), max_length=24, choices=ReportKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    region = models.ForeignKey(
        Region, verbose_name=_("地区"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    region_code = models.CharField(_("地区代码"), max_length=6, blank=True, db_index=True)
    period_start = models.DateField(_("统计起始日"))
    period_end = models.DateField(_("统计截止日"))
    file_digest = models.CharField(_("文件摘要"), max_length=64, editable=False)
    file_name = models.CharField(_("文件名"), max_length=255)
    content_type = models.CharField(_("文件类型"), max_length=128)
    size = models.PositiveIntegerField(_("大小（字节）"), default=0)
    figures = models.JSONField(
        _("报告数据"), default=list, blank=True, help_text=_("每项：key、label、value、unit、query（数据来源查询）")
    )
    created_by_org = models.ForeignKey(
        Organisation, verbose_name=_("生成单位"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("统计报告")
        verbose_name_plural = _("统计报告")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")),
                name="monitoring_report_period",
                violation_error_message=_("统计截止日不能早于起始日。"),
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action == Action.VIEW:
            return _government_q(scope)
        return _ip_office_q(scope) if action == Action.ADD else None


class TypicalCase(models.Model):
    """A typical case (典型案例) of IP pledge financing, through the yearly selection: nominated by a park, bank or
    IP office, reviewed and selected by the province's IP office, then published on the portal."""

    year = models.PositiveSmallIntegerField(_("评选年度"))
    title = models.CharField(_("案例名称"), max_length=200)
    category = models.CharField(_("案例类型"), max_length=24, choices=CaseCategory.choices)
    region_code = models.CharField(_("地区代码"), max_length=6, db_index=True)
    park = models.ForeignKey(
        Park, verbose_name=_("园区"), null=True, blank=True, on_delete=models.PROTECT, related_name="typical_cases"
    )
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    bank = models.ForeignKey(
        Organisation, verbose_name=_("银行"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    loan = models.ForeignKey(
        "lending.Loan", verbose_name=_("贷款"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    summary = models.CharField(_("摘要"), max_length=500)
    practice = models.TextField(_("主要做法"))
    results = models.TextField(_("取得成效"))
    figures = models.JSONField(_("案例数据"), default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.NOMINATED, db_index=True
    )
    nominated_by_org = models.ForeignKey(
        Organisation, verbose_name=_("推荐单位"), on_delete=models.PROTECT, related_name="+"
    )
    nominated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    nominated_on = models.DateField(_("推荐日期"))
    reviewer = models.ForeignKey(
        User, verbose_name=_("评审人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_score = models.PositiveSmallIntegerField(_("评审得分"), null=True, blank=True)
    review_note = models.TextField(_("评审意见"), blank=True)
    reviewed_at = models.DateTimeField(_("评审时间"), null=True, blank=True)
    published_on = models.DateField(_("发布日期"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("典型案例")
        verbose_name_plural = _("典型案例")
        ordering = ["-year", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(review_score__isnull=True) | Q(review_score__lte=100),
                name="monitoring_case_score",
                violation_error_message=_("评审得分为0–100。"),
            ),
            models.CheckConstraint(
                condition=~Q(status=CaseStatus.PUBLISHED) | Q(published_on__isnull=False),
                name="monitoring_case_published_has_date",
                violation_error_message=_("已发布的案例须有发布日期。"),
            ),
            models.CheckConstraint(
                condition=Q(reviewer__isnull=True) | ~Q(reviewer=F("nominated_by")),
                name="monitoring_case_reviewer_not_nominator",
                violation_error_message=_("评审人不能是推荐人。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.title}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        own = scope.org_tree_q("nominated_by_org__tree_path") if scope.organisation_id is not None else None
        if action == Action.VIEW:
            return _either(Q(status=CaseStatus.PUBLISHED), own, _government_q(scope))
        if action == Action.ADD:
            return own if scope.kind != OrganisationKind.ENTERPRISE else None
        if action == Action.CHANGE:
            return _either(own, _ip_office_q(scope))
        if action == Action.APPROVE:
            return _ip_office_q(scope)
        return None
