"""Pledge registration (质押登记): filings, their items and documents, examination findings, registrations.

The pledge exists from registration (Civil Code Art. 444), so a `PledgeRegistration` with its `PledgedRight`
rows is the legal fact; one active pledge per right is a database constraint.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.models import Organisation, User
from ipledge.core.money import MoneyField
from ipledge.core.scoping import Action, RestrictedManager, Scope, scoped_through
from ipledge.registry.models import Enterprise, IPRight, ParkMembership

from .choices import (
    CalendarDayKind,
    CancellationReason,
    Channel,
    ClaimKind,
    DocumentType,
    FilingStatus,
    FilingType,
    RegistrationStatus,
    Severity,
)


def _pledge_scope_q(
    scope: Scope, action: str, *, pledgor: str, pledgee: str, filer: str | None, pledgor_may_change: bool
) -> Q | None:
    """Who reaches a filing or registration, and for what.

    Banks (pledgee's tree, or the filer's) and patent agencies (filer) view, add and change but never approve;
    the pledgor enterprise views, and changes only filings (its confirmation); the enterprise's park views; the
    IP office of the pledgor's region views and approves (examination); the regulator views the pledgee's region.
    """
    kind = scope.kind
    if kind == OrganisationKind.BANK:
        if action == Action.APPROVE:
            return None
        q = scope.org_tree_q(f"{pledgee}__tree_path")
        return q | scope.org_tree_q(f"{filer}__tree_path") if filer else q
    if kind == OrganisationKind.PATENT_AGENCY and filer:
        return None if action == Action.APPROVE else scope.org_tree_q(f"{filer}__tree_path")
    if kind == OrganisationKind.ENTERPRISE:
        allowed = (Action.VIEW, Action.CHANGE) if pledgor_may_change else (Action.VIEW,)
        return Q(**{f"{pledgor}__organisation_id": scope.organisation_id}) if action in allowed else None
    if kind == OrganisationKind.PARK_ADMIN:
        if action != Action.VIEW:
            return None
        in_my_parks = ParkMembership.objects.filter(
            park__administering_org__tree_path__startswith=scope.org_tree_path
        ).values("enterprise_id")
        return Q(**{f"{pledgor}_id__in": in_my_parks})
    if kind == OrganisationKind.IP_OFFICE:
        return scope.region_q("region_code") if action in (Action.VIEW, Action.APPROVE) else None
    if kind == OrganisationKind.FINANCIAL_REGULATOR:
        return scope.region_q(f"{pledgee}__region__code")
    return None


class PledgeFiling(models.Model):
    """A filing (申请) to register, change or cancel a pledge, made online on behalf of both parties."""

    filing_type = models.CharField(
        _("申请类型"), max_length=16, choices=FilingType.choices, default=FilingType.REGISTRATION
    )
    status = models.CharField(
        _("状态"), max_length=24, choices=FilingStatus.choices, default=FilingStatus.DRAFT, db_index=True
    )
    channel = models.CharField(_("办理渠道"), max_length=8, choices=Channel.choices, default=Channel.ONLINE)
    pledgor = models.ForeignKey(
        Enterprise, verbose_name=_("出质人"), on_delete=models.PROTECT, related_name="pledge_filings"
    )
    pledgee = models.ForeignKey(
        Organisation,
        verbose_name=_("质权人"),
        on_delete=models.PROTECT,
        related_name="pledge_filings_as_pledgee",
        limit_choices_to={"kind": OrganisationKind.BANK},
    )
    filed_by_org = models.ForeignKey(
        Organisation, verbose_name=_("提交机构"), on_delete=models.PROTECT, related_name="pledge_filings_filed"
    )
    filed_by = models.ForeignKey(
        User, verbose_name=_("经办人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    registration = models.ForeignKey(
        "PledgeRegistration",
        verbose_name=_("原质押登记"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="follow_up_filings",
        help_text=_("变更或注销登记所针对的质押登记"),
    )
    # Pledge contract data required by the patent measures (专利权质押登记办法 2021 第八条)
    claim_kind = models.CharField(_("被担保债权种类"), max_length=16, choices=ClaimKind.choices, default=ClaimKind.LOAN)
    claim_amount = MoneyField(_("被担保债权数额（元）"), null=True, blank=True)
    performance_start = models.DateField(_("债务履行期限起"), null=True, blank=True)
    performance_end = models.DateField(_("债务履行期限止"), null=True, blank=True)
    guarantee_scope = models.TextField(_("质押担保范围"), blank=True)
    contract_no = models.CharField(_("质押合同编号"), max_length=64, blank=True)
    has_valuation = models.BooleanField(_("已进行价值评估"), default=False)
    declarations = models.JSONField(
        _("当事人声明"), default=list, blank=True, help_text=_("如 pending_invalidation、same_day_invention")
    )
    cancellation_reason = models.CharField(_("注销原因"), max_length=16, choices=CancellationReason.choices, blank=True)
    change_description = models.TextField(_("变更事项"), blank=True)
    # Workflow
    pledgor_confirmed_at = models.DateTimeField(_("出质人确认时间"), null=True, blank=True)
    pledgor_confirmed_by = models.ForeignKey(
        User, verbose_name=_("出质人确认人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_on = models.DateField(_("受理日"), null=True, blank=True)
    due_on = models.DateField(_("审查期限"), null=True, blank=True, db_index=True)
    correction_due_on = models.DateField(_("补正期限"), null=True, blank=True)
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        User, verbose_name=_("审查员"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_note = models.TextField(_("审查意见"), blank=True)
    turnaround_working_days = models.PositiveIntegerField(_("办理用时（工作日）"), null=True, blank=True)
    # Pledgor's registration region, so that an IP office finds the filings of its jurisdiction by prefix.
    region_code = models.CharField(_("出质人登记地"), max_length=6, blank=True, db_index=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("质押登记申请")
        verbose_name_plural = _("质押登记申请")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(claim_amount__isnull=True) | Q(claim_amount__gt=0),
                name="registration_pledgefiling_claim_positive",
                violation_error_message=_("被担保债权数额必须大于0。"),
            ),
            models.CheckConstraint(
                condition=Q(performance_end__isnull=True)
                | Q(performance_start__isnull=True)
                | Q(performance_end__gte=F("performance_start")),
                name="registration_pledgefiling_performance_period_order",
                violation_error_message=_("债务履行期限止不能早于履行期限起。"),
            ),
            models.CheckConstraint(
                condition=Q(filing_type=FilingType.REGISTRATION) | Q(registration__isnull=False),
                name="registration_pledgefiling_follow_up_names_registration",
                violation_error_message=_("变更或注销登记必须指明原质押登记。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_filing_type_display()} #{self.pk} {self.pledgor}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return _pledge_scope_q(
            scope, action, pledgor="pledgor", pledgee="pledgee", filer="filed_by_org", pledgor_may_change=True
        )


class FilingItem(models.Model):
    """One right pledged by a filing; a bundle (打包质押) has several."""

    filing = models.ForeignKey(PledgeFiling, verbose_name=_("申请"), on_delete=models.CASCADE, related_name="items")
    ip_right = models.ForeignKey(
        IPRight, verbose_name=_("知识产权"), on_delete=models.PROTECT, related_name="filing_items"
    )
    co_owner_consent = models.BooleanField(_("共有人已同意"), default=False)
    licence_revenue = models.BooleanField(_("许可收益权质押"), default=False)
    licence_contract_ref = models.CharField(_("许可合同备案号"), max_length=64, blank=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("质押标的")
        verbose_name_plural = _("质押标的")
        constraints = [
            models.UniqueConstraint(
                fields=["filing", "ip_right"],
                name="registration_filingitem_unique_right",
                violation_error_code="unique",
                violation_error_message=_("同一申请中不能重复列出同一项知识产权。"),
            ),
        ]

    def __str__(self) -> str:
        return str(self.ip_right)

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        q = PledgeFiling.scope_q(scope, action)
        return scoped_through("filing", PledgeFiling, q)


class FilingDocument(models.Model):
    """An uploaded document of a filing, stored outside the web root and served through a scoped view."""

    filing = models.ForeignKey(PledgeFiling, verbose_name=_("申请"), on_delete=models.CASCADE, related_name="documents")
    doc_type = models.CharField(_("材料类型"), max_length=24, choices=DocumentType.choices)
    file = models.FileField(_("文件"), upload_to="filings/%Y/%m/")
    original_name = models.CharField(_("原文件名"), max_length=255)
    content_type = models.CharField(_("文件类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        User, verbose_name=_("上传人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("申请材料")
        verbose_name_plural = _("申请材料")
        ordering = ["doc_type", "uploaded_at"]

    def __str__(self) -> str:
        return f"{self.get_doc_type_display()}: {self.original_name}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        q = PledgeFiling.scope_q(scope, action)
        return scoped_through("filing", PledgeFiling, q)


class ExaminationFinding(models.Model):
    """One finding of the examination engine, citing its rule; kept per examination run."""

    filing = models.ForeignKey(PledgeFiling, verbose_name=_("申请"), on_delete=models.CASCADE, related_name="findings")
    ip_right = models.ForeignKey(
        IPRight, verbose_name=_("知识产权"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    rule = models.CharField(_("规则"), max_length=48)
    severity = models.CharField(_("性质"), max_length=8, choices=Severity.choices)
    message = models.TextField(_("说明"))
    message_en = models.TextField(_("说明（英文）"), blank=True)
    citation = models.CharField(_("依据"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("审查意见")
        verbose_name_plural = _("审查意见")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        q = PledgeFiling.scope_q(scope, Action.VIEW)
        return scoped_through("filing", PledgeFiling, q) if action == Action.VIEW else None


class PledgeRegistration(models.Model):
    """A registered pledge (质押登记): the pledge exists from `registered_on`."""

    registration_no = models.CharField(_("登记号"), max_length=32, unique=True)
    filing = models.OneToOneField(
        PledgeFiling, verbose_name=_("设立申请"), on_delete=models.PROTECT, related_name="created_registration"
    )
    pledgor = models.ForeignKey(
        Enterprise, verbose_name=_("出质人"), on_delete=models.PROTECT, related_name="pledge_registrations"
    )
    pledgee = models.ForeignKey(
        Organisation, verbose_name=_("质权人"), on_delete=models.PROTECT, related_name="pledge_registrations"
    )
    registered_on = models.DateField(_("登记日"))
    claim_amount = MoneyField(_("被担保债权数额（元）"), null=True, blank=True)
    performance_end = models.DateField(_("债务履行期限止"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=RegistrationStatus.choices, default=RegistrationStatus.ACTIVE, db_index=True
    )
    cancelled_on = models.DateField(_("注销日"), null=True, blank=True)
    cancellation_reason = models.CharField(_("注销原因"), max_length=16, choices=CancellationReason.choices, blank=True)
    region_code = models.CharField(_("出质人登记地"), max_length=6, blank=True, db_index=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("质押登记")
        verbose_name_plural = _("质押登记")
        ordering = ["-registered_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=RegistrationStatus.ACTIVE, cancelled_on__isnull=True)
                | Q(status=RegistrationStatus.CANCELLED, cancelled_on__isnull=False),
                name="registration_pledgeregistration_cancelled_has_date",
                violation_error_message=_("已注销的登记必须有注销日，有效登记不能有注销日。"),
            ),
        ]

    def __str__(self) -> str:
        return self.registration_no

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return _pledge_scope_q(
            scope, action, pledgor="pledgor", pledgee="pledgee", filer=None, pledgor_may_change=False
        )


class PledgedRight(models.Model):
    """A right under a registered pledge; at most one active pledge per right (a database constraint)."""

    registration = models.ForeignKey(
        PledgeRegistration, verbose_name=_("质押登记"), on_delete=models.PROTECT, related_name="pledged_rights"
    )
    ip_right = models.ForeignKey(IPRight, verbose_name=_("知识产权"), on_delete=models.PROTECT, related_name="pledges")
    is_active = models.BooleanField(_("质押中"), default=True)
    licence_revenue = models.BooleanField(_("许可收益权质押"), default=False)
    released_on = models.DateField(_("解除日"), null=True, blank=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("出质权利")
        verbose_name_plural = _("出质权利")
        constraints = [
            models.UniqueConstraint(
                fields=["ip_right"],
                condition=Q(is_active=True),
                name="registration_pledgedright_one_active_pledge",
                violation_error_code="already_pledged",
                violation_error_message=_("该知识产权已处于质押期间，不能重复质押。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.registration} {self.ip_right}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        q = PledgeRegistration.scope_q(scope, action)
        return scoped_through("registration", PledgeRegistration, q)


class RegistrationSequence(models.Model):
    """The last serial used per registration-number prefix; its row lock serialises number allocation."""

    prefix = models.CharField(_("前缀"), max_length=16, unique=True)
    last_serial = models.PositiveIntegerField(_("最后序号"), default=0)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("登记号序列")
        verbose_name_plural = _("登记号序列")

    def __str__(self) -> str:
        return f"{self.prefix}{self.last_serial}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return None  # internal counter, never read through the application


# Collateral monitoring (see `monitoring.py`)


class LegalStatusEvent(models.Model):
    """A legal-status event (法律状态) of a right from the official gazette, imported from a csv/xlsx file."""

    ip_right = models.ForeignKey(
        IPRight, verbose_name=_("知识产权"), on_delete=models.PROTECT, related_name="legal_status_events"
    )
    code = models.CharField(_("法律状态代码"), max_length=8)
    event_date = models.DateField(_("法律状态公告日"))
    description = models.TextField(_("说明"), blank=True)
    source_file = models.CharField(_("来源文件"), max_length=255, blank=True)
    imported_by = models.ForeignKey(
        User, verbose_name=_("导入人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    imported_at = models.DateTimeField(_("导入时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("法律状态事件")
        verbose_name_plural = _("法律状态事件")
        ordering = ["-event_date", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["ip_right", "code", "event_date"],
                name="registration_legalstatusevent_unique",
                violation_error_code="unique",
                violation_error_message=_("该法律状态事件已导入。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ip_right.number} {self.code} {self.event_date}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        """Readable by whoever sees the right, or a pledge on it; written only by the import service."""
        if action != Action.VIEW:
            return None
        rights_q = IPRight.scope_q(scope, Action.VIEW)
        pledges_q = PledgedRight.scope_q(scope, Action.VIEW)
        q: Q | None = None
        if rights_q is not None:
            q = Q(ip_right__in=IPRight.objects.filter(rights_q).values("pk"))
        if pledges_q is not None:
            pledged = Q(ip_right__in=PledgedRight.objects.filter(pledges_q).values("ip_right_id"))
            q = pledged if q is None else q | pledged
        return q


class AlertKind(models.TextChoices):
    FEE_DUE = "fee_due", _("年费即将到期")
    FEE_GRACE = "fee_grace", _("年费处于滞纳期")
    LAPSED = "lapsed", _("权利终止")
    INVALIDATED = "invalidated", _("权利被宣告无效")
    INVALIDATION_PENDING = "invalidation_pending", _("无效宣告请求审查中")
    TRANSFERRED = "transferred", _("权利转移")
    PRESERVED = "preserved", _("权利被保全")
    TERM_BEFORE_MATURITY = "term_before_maturity", _("权利期限早于债务到期")
    TRADEMARK_RENEWAL = "trademark_renewal", _("商标续展期")


class AlertSeverity(models.TextChoices):
    INFO = "info", _("提示")
    WARNING = "warning", _("警告")
    CRITICAL = "critical", _("严重")


class Alert(models.Model):
    """A monitoring alert on pledged collateral, to the pledgee bank or (as a reminder) to the pledgor."""

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("接收机构"), on_delete=models.CASCADE, related_name="pledge_alerts"
    )
    ip_right = models.ForeignKey(IPRight, verbose_name=_("知识产权"), on_delete=models.CASCADE, related_name="alerts")
    registration = models.ForeignKey(
        PledgeRegistration,
        verbose_name=_("质押登记"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )
    kind = models.CharField(_("类型"), max_length=24, choices=AlertKind.choices)
    severity = models.CharField(_("级别"), max_length=8, choices=AlertSeverity.choices)
    message = models.TextField(_("内容"))
    due_on = models.DateField(_("相关日期"), null=True, blank=True)
    created_on = models.DateField(_("提醒日期"), db_index=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    read_by = models.ForeignKey(
        User, verbose_name=_("阅读人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("质押监测提醒")
        verbose_name_plural = _("质押监测提醒")
        ordering = ["-created_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "ip_right", "kind", "due_on"],
                name="registration_alert_unique",
                violation_error_code="unique",
                violation_error_message=_("该提醒已存在。"),
            ),
            # NULLs are distinct in a unique index: alerts without a date get their own partial index.
            models.UniqueConstraint(
                fields=["organisation", "ip_right", "kind"],
                condition=Q(due_on__isnull=True),
                name="registration_alert_unique_undated",
                violation_error_code="unique",
                violation_error_message=_("该提醒已存在。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.ip_right_id}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        """An organisation (and its head offices) sees and marks read its own alerts; the scan writes them."""
        if action not in (Action.VIEW, Action.CHANGE):
            return None
        return scope.org_tree_q("organisation__tree_path")


class CalendarDay(models.Model):
    """A public holiday or make-up working day (调休) of the examination calendar, kept by the IP office.

    Seeded from the State Council notices shipped in `engine/data/cn_public_holidays.csv`; each year's notice is
    added here by an administrator when it is published.
    """

    day = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=8, choices=CalendarDayKind.choices)
    name = models.CharField(_("名称"), max_length=64)
    source = models.CharField(_("依据"), max_length=255, blank=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("节假日安排")
        verbose_name_plural = _("节假日安排")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {self.name}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action == Action.VIEW:
            return Q()  # the calendar is public information
        if (
            scope.kind == OrganisationKind.IP_OFFICE
            and scope.admin_level in ("national", "provincial")
            and scope.role == Role.ADMIN
        ):
            return Q()
        return None
