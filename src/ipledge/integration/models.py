"""Data exchange (数据交换; requirement S5) with 信易贷 platforms (全国中小企业融资综合信用服务平台 and its provincial
stations), and bulk spreadsheet exchange.

No public specification of a 信易贷 interface exists (research/domain.md §7), so the platform defines its own,
documented in docs/exchange.md and versioned in the URL (`/v1/`):

- `ExchangePartner` is one configured 信易贷 endpoint with its shared signing secret (HMAC-SHA256 over timestamp,
  nonce and body; a replay window), and what is pushed to it.
- `OutboundMessage` is one fact pushed: a product, a whitelist entry the enterprise consented to share, a
  registration. Each has a message id the receiver deduplicates on; a failed delivery is retried with exponential
  backoff and lands in the dead-letter queue (死信队列) after the last attempt, where an operator sees and requeues it.
- `InboundMessage` is one message received from, or pulled from, a partner: enterprise credit data or a loan outcome.
  The (partner, message id) pair is unique, so a message delivered twice is applied once.
- `ShareConsent` is an enterprise's consent (授权) to share its whitelist entries with 信易贷 platforms.
- `PartnerCreditReport` and `PartnerLoanOutcome` hold what the partners sent about an enterprise.
- `BulkTransfer` records each bulk import or export of a main entity as xlsx or csv.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ipledge.core.choices import GOVERNMENT_KINDS, OrganisationKind
from ipledge.core.models import Organisation, User
from ipledge.core.money import MoneyField
from ipledge.core.scoping import Action, RestrictedManager, Scope, scoped_through
from ipledge.registry.models import Enterprise

from .choices import BulkDirection, BulkStatus, InboundStatus, LoanOutcomeKind, MessageKind, OutboundStatus


def _watchers_q(scope: Scope, action: str) -> Q | None:
    # Operators (platform staff) run the exchange; `restrict()` already lets them see and change everything. The
    # government bodies of a region (IP office, financial regulator, development and reform commission, which runs
    # the local 信易贷 platform) watch, read-only, the partners of their jurisdiction and those partners' queues; a
    # national partner (no region) is watched by national bodies only.
    if action != Action.VIEW or scope.kind not in GOVERNMENT_KINDS:
        return None
    return scope.region_q("region_code")


class ExchangePartner(models.Model):
    """A configured 信易贷 endpoint: where to push, what to push, and the shared secret both sides sign with."""

    code = models.SlugField(_("伙伴代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=128)
    base_url = models.URLField(_("接口地址"), max_length=300, help_text=_("例如 https://xyd.example.gov.cn/exchange"))
    key_id = models.CharField(_("密钥标识"), max_length=64, unique=True)
    # The shared secret signs both directions; it is shown once when set and never rendered again.
    secret = models.CharField(_("签名密钥"), max_length=128)
    region_code = models.CharField(_("服务地区代码"), max_length=6, blank=True, db_index=True)
    push_products = models.BooleanField(_("推送金融产品"), default=True)
    push_whitelist = models.BooleanField(_("推送白名单企业（经企业授权）"), default=True)
    push_registrations = models.BooleanField(_("推送质押登记信息"), default=True)
    is_active = models.BooleanField(_("启用"), default=True)
    max_attempts = models.PositiveSmallIntegerField(_("最大重试次数"), default=6)
    pulled_until = models.DateTimeField(_("最近拉取截至"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("信易贷对接平台")
        verbose_name_plural = _("信易贷对接平台")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_attempts__gte=1) & Q(max_attempts__lte=20),
                name="integration_partner_attempts_range",
                violation_error_message=_("最大重试次数须在 1 到 20 之间。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return _watchers_q(scope, action)


class OutboundMessage(models.Model):
    """One fact pushed to a partner, with its delivery attempts; after the last failed attempt it is dead-lettered."""

    partner = models.ForeignKey(
        ExchangePartner, verbose_name=_("对接平台"), on_delete=models.PROTECT, related_name="outbound"
    )
    message_id = models.UUIDField(_("消息编号"), default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("消息类型"), max_length=20, choices=MessageKind.choices)
    subject_key = models.CharField(_("对象标识"), max_length=64, help_text=_("如 product:12、registration:2026-000123"))
    payload = models.JSONField(_("消息内容"))
    # The digest of the payload: the same fact unchanged is not queued twice for a partner.
    payload_digest = models.CharField(_("内容摘要"), max_length=64)
    status = models.CharField(_("状态"), max_length=12, choices=OutboundStatus.choices, default=OutboundStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("已尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试时间"), db_index=True)
    last_status_code = models.PositiveSmallIntegerField(_("最近响应码"), null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    dead_at = models.DateTimeField(_("转入死信时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("推送消息")
        verbose_name_plural = _("推送消息")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="integration_outbound_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "kind", "subject_key", "payload_digest"],
                name="integration_outbound_once_per_fact",
                violation_error_message=_("相同内容已推送或在队列中。"),
            ),
            models.CheckConstraint(
                condition=~Q(status=OutboundStatus.DELIVERED) | Q(delivered_at__isnull=False),
                name="integration_outbound_delivered_at",
                violation_error_message=_("已送达的消息须有送达时间。"),
            ),
            models.CheckConstraint(
                condition=~Q(status=OutboundStatus.DEAD) | Q(dead_at__isnull=False),
                name="integration_outbound_dead_at",
                violation_error_message=_("死信消息须有转入时间。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_key}"

    @property
    def audit_region_code(self) -> str:
        return self.partner.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return scoped_through("partner", ExchangePartner, ExchangePartner.scope_q(scope, action))


class InboundMessage(models.Model):
    """One message a partner sent or we pulled; the (partner, message id) pair makes receiving idempotent."""

    partner = models.ForeignKey(
        ExchangePartner, verbose_name=_("对接平台"), on_delete=models.PROTECT, related_name="inbound"
    )
    message_id = models.CharField(_("消息编号"), max_length=64)
    kind = models.CharField(_("消息类型"), max_length=20, choices=MessageKind.choices)
    payload = models.JSONField(_("消息内容"))
    status = models.CharField(_("处理结果"), max_length=12, choices=InboundStatus.choices)
    result = models.JSONField(_("处理说明"), default=dict, blank=True)
    received_at = models.DateTimeField(_("接收时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("接收消息")
        verbose_name_plural = _("接收消息")
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "message_id"],
                name="integration_inbound_once",
                violation_error_message=_("该消息已接收。"),
            )
        ]

    def __str__(self) -> str:
        return self.message_id

    @property
    def audit_region_code(self) -> str:
        return self.partner.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return scoped_through("partner", ExchangePartner, ExchangePartner.scope_q(scope, action))


class ShareConsent(models.Model):
    """An enterprise's consent (授权) to share its whitelist entries with 信易贷 platforms; revocable."""

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), on_delete=models.PROTECT, related_name="share_consents"
    )
    enterprise_org = models.ForeignKey(
        Organisation, verbose_name=_("企业账户"), on_delete=models.PROTECT, related_name="+"
    )
    region_code = models.CharField(_("地区代码"), max_length=6, blank=True, db_index=True)
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(_("授权时间"))
    revoked_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("信息共享授权")
        verbose_name_plural = _("信息共享授权")
        ordering = ["-granted_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise"],
                condition=Q(revoked_at__isnull=True),
                name="integration_one_live_consent",
                violation_error_message=_("该企业已有有效授权。"),
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(revoked_at__gte=models.F("granted_at")),
                name="integration_consent_revoked_after_granted",
                violation_error_message=_("撤回时间不能早于授权时间。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise} {self.granted_at:%Y-%m-%d}"

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        own = (
            scope.org_tree_q("enterprise_org__tree_path")
            if scope.kind == OrganisationKind.ENTERPRISE and scope.organisation_id is not None
            else None
        )
        if action == Action.VIEW:
            government = scope.region_q("region_code") if scope.kind in GOVERNMENT_KINDS else None
            if own is not None and government is not None:
                return own | government
            return own if own is not None else government
        if action in (Action.ADD, Action.CHANGE):
            return own
        return None


def _enterprise_facts_q(scope: Scope, action: str) -> Q | None:
    """What partners sent about an enterprise: the enterprise itself and the officials of its region read it."""
    if action != Action.VIEW:
        return None
    if scope.kind == OrganisationKind.ENTERPRISE and scope.organisation_id is not None:
        return scope.org_tree_q("enterprise__organisation__tree_path")
    if scope.kind in GOVERNMENT_KINDS:
        return scope.region_q("enterprise__region_code")
    return None


class PartnerCreditReport(models.Model):
    """Credit data (信用信息) a partner holds on an enterprise: tax rating, social insurance, utilities, arrears."""

    partner = models.ForeignKey(ExchangePartner, verbose_name=_("来源平台"), on_delete=models.PROTECT, related_name="+")
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), on_delete=models.PROTECT, related_name="partner_credit_reports"
    )
    as_of = models.DateField(_("数据日期"))
    tax_rating = models.CharField(_("纳税信用等级"), max_length=1, blank=True)
    social_insurance_headcount = models.PositiveIntegerField(_("社保缴纳人数"), null=True, blank=True)
    tax_arrears = models.BooleanField(_("欠税"), default=False)
    utility_arrears = models.BooleanField(_("水电气欠费"), default=False)
    data = models.JSONField(_("其他数据项"), default=dict, blank=True)
    message = models.ForeignKey(
        InboundMessage, verbose_name=_("来源消息"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(_("接收时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("信易贷信用信息")
        verbose_name_plural = _("信易贷信用信息")
        ordering = ["-as_of", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "enterprise", "as_of"],
                name="integration_credit_report_once",
                violation_error_message=_("该企业该日期的信用信息已存在。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.enterprise} {self.as_of}"

    @property
    def audit_region_code(self) -> str:
        return self.enterprise.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return _enterprise_facts_q(scope, action)


class PartnerLoanOutcome(models.Model):
    """A loan outcome (贷款结果) a partner reports for an enterprise: granted, declined, repaid, overdue."""

    partner = models.ForeignKey(ExchangePartner, verbose_name=_("来源平台"), on_delete=models.PROTECT, related_name="+")
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), on_delete=models.PROTECT, related_name="partner_loan_outcomes"
    )
    external_ref = models.CharField(_("平台贷款编号"), max_length=64)
    lender_name = models.CharField(_("贷款机构"), max_length=128)
    outcome = models.CharField(_("结果"), max_length=12, choices=LoanOutcomeKind.choices)
    amount = MoneyField(_("金额（元）"), null=True, blank=True)
    occurred_on = models.DateField(_("发生日期"))
    is_ip_pledge = models.BooleanField(_("知识产权质押贷款"), default=False)
    message = models.ForeignKey(
        InboundMessage, verbose_name=_("来源消息"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(_("接收时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("信易贷贷款结果")
        verbose_name_plural = _("信易贷贷款结果")
        ordering = ["-occurred_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "external_ref", "outcome"],
                name="integration_loan_outcome_once",
                violation_error_message=_("该贷款的该结果已记录。"),
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="integration_loan_outcome_amount",
                violation_error_message=_("金额不能为负数。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_ref} {self.outcome}"

    @property
    def audit_region_code(self) -> str:
        return self.enterprise.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return _enterprise_facts_q(scope, action)


class BulkTransfer(models.Model):
    """One bulk import or export of a main entity as xlsx or csv, with its row counts and errors."""

    direction = models.CharField(_("方向"), max_length=8, choices=BulkDirection.choices)
    entity = models.CharField(_("数据类别"), max_length=40)
    file_format = models.CharField(_("文件格式"), max_length=4)
    file_name = models.CharField(_("文件名"), max_length=255)
    sha256 = models.CharField(_("文件摘要"), max_length=64, blank=True)
    status = models.CharField(_("结果"), max_length=12, choices=BulkStatus.choices)
    rows_total = models.PositiveIntegerField(_("总行数"), default=0)
    rows_created = models.PositiveIntegerField(_("新增"), default=0)
    rows_updated = models.PositiveIntegerField(_("更新"), default=0)
    rows_unchanged = models.PositiveIntegerField(_("未变"), default=0)
    errors = models.JSONField(_("错误"), default=list, blank=True)
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("机构"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("批量导入导出")
        verbose_name_plural = _("批量导入导出")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.direction} {self.entity} {self.file_name}"

    @property
    def audit_region_code(self) -> str:
        return ""

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action == Action.VIEW and scope.organisation_id is not None:
            return scope.org_tree_q("organisation__tree_path")
        return None
