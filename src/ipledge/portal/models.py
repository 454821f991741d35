"""Public service portal (公共服务门户; requirements S2, S6, M1, O6).

- `Policy` is the policy toolbox and resource library (政策工具箱和资源库): a policy or measure with its issuing body,
  document number (文号), dates, region, kind and full text, published by an IP office, another government body or a
  park administration. `search_text` holds the title and text segmented into words (rjieba), so that a Chinese query
  matches words rather than any run of characters. Published policies are public; drafts belong to their owner.
- `PolicyAttachment` is a file attached to a policy (the original document, an application form).
- `Consultation` is a policy question (政策咨询) an enterprise asks; it is routed to the responsible office, answered
  there, and published in the public FAQ (常见问题) when the office marks it public.
- `ServiceRequest` is a request an enterprise makes at its park's one-stop service centre (一站式服务中心, S2): the park's
  staff see them as a queue, accept and complete them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ipledge.core.choices import GOVERNMENT_KINDS, OrganisationKind
from ipledge.core.models import Organisation, Region, User
from ipledge.core.scoping import Action, RestrictedManager, Scope, scoped_through
from ipledge.registry.models import Enterprise, Park

from .choices import ConsultationStatus, PolicyKind, PolicyStatus, ServiceRequestKind, ServiceRequestStatus

_POLICY_ISSUERS = (*GOVERNMENT_KINDS, OrganisationKind.PARK_ADMIN)


def _any(*qs: Q | None) -> Q | None:
    found = [q for q in qs if q is not None]
    if not found:
        return None
    combined = found[0]
    for q in found[1:]:
        combined |= q
    return combined


def _own(scope: Scope, field: str) -> Q | None:
    return scope.org_tree_q(f"{field}__tree_path") if scope.organisation_id is not None else None


def _government(scope: Scope, field: str = "region_code") -> Q | None:
    return scope.region_q(field) if scope.kind in GOVERNMENT_KINDS else None


class Policy(models.Model):
    """A policy or measure in the policy library (政策工具箱和资源库)."""

    title = models.CharField(_("政策名称"), max_length=200)
    issuing_body = models.CharField(_("发文机关"), max_length=128)
    document_number = models.CharField(_("文号"), max_length=64, blank=True)
    kind = models.CharField(_("政策类型"), max_length=24, choices=PolicyKind.choices)
    # No region means a national policy (全国); a park narrows it to one park's enterprises.
    region = models.ForeignKey(
        Region, verbose_name=_("适用地区"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    region_code = models.CharField(_("适用地区代码"), max_length=6, blank=True, db_index=True, editable=False)
    park = models.ForeignKey(
        Park, verbose_name=_("适用园区"), null=True, blank=True, on_delete=models.PROTECT, related_name="policies"
    )
    issued_on = models.DateField(_("发布日期"))
    effective_from = models.DateField(_("施行日期"))
    effective_until = models.DateField(_("有效期至"), null=True, blank=True)
    summary = models.TextField(_("摘要"), blank=True)
    body = models.TextField(_("正文"))
    # Who it is for; an empty list means no restriction.
    size_classes = models.JSONField(_("适用企业规模"), default=list, blank=True)
    industry_sections = models.JSONField(_("适用行业门类"), default=list, blank=True)
    source_url = models.URLField(_("原文链接"), max_length=500, blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=PolicyStatus.choices, default=PolicyStatus.DRAFT)
    search_text = models.TextField(_("检索分词"), blank=True, editable=False)
    owner_org = models.ForeignKey(Organisation, verbose_name=_("发布单位"), on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords(excluded_fields=["search_text"])

    class Meta:
        verbose_name = _("政策")
        verbose_name_plural = _("政策")
        ordering = ["-issued_on", "-pk"]
        indexes = [models.Index(fields=["status", "kind"], name="portal_policy_status_kind")]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True) | Q(effective_until__gte=F("effective_from")),
                name="portal_policy_validity",
                violation_error_message=_("有效期至不能早于施行日期。"),
            ),
            models.CheckConstraint(
                condition=Q(effective_from__gte=F("issued_on")),
                name="portal_policy_effective_after_issue",
                violation_error_message=_("施行日期不能早于发布日期。"),
            ),
            models.UniqueConstraint(
                fields=["issuing_body", "document_number"],
                condition=~Q(document_number=""),
                name="portal_policy_unique_document_number",
                violation_error_message=_("同一发文机关的文号已存在。"),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        own = _own(scope, "owner_org")
        if action == Action.VIEW:
            return _any(Q(status=PolicyStatus.PUBLISHED), own, _government(scope))
        if action == Action.ADD:
            return Q(pk__isnull=False) if scope.kind in _POLICY_ISSUERS else None
        if action in (Action.CHANGE, Action.DELETE):
            return own if scope.kind in _POLICY_ISSUERS else None
        return None


class PolicyAttachment(models.Model):
    """A file attached to a policy: the original document, a form, a guide."""

    policy = models.ForeignKey(Policy, verbose_name=_("政策"), on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("文件"), upload_to="policies/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=255)
    content_type = models.CharField(_("文件类型"), max_length=128)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(_("文件摘要"), max_length=64)
    uploaded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("政策附件")
        verbose_name_plural = _("政策附件")
        ordering = ["policy", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def audit_region_code(self) -> str:
        return self.policy.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        # Adding or removing a file changes its policy.
        parent_action = Action.VIEW if action == Action.VIEW else Action.CHANGE
        return scoped_through("policy", Policy, Policy.scope_q(scope, parent_action))


class Consultation(models.Model):
    """A policy question (政策咨询) from an enterprise, routed to the office that answers it."""

    reference = models.CharField(_("咨询编号"), max_length=24, unique=True)
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("咨询企业"), on_delete=models.PROTECT, related_name="consultations"
    )
    enterprise_org = models.ForeignKey(
        Organisation, verbose_name=_("咨询企业账户"), on_delete=models.PROTECT, related_name="+"
    )
    policy = models.ForeignKey(
        Policy, verbose_name=_("相关政策"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    region_code = models.CharField(_("地区代码"), max_length=6, blank=True, db_index=True)
    subject = models.CharField(_("标题"), max_length=200)
    question = models.TextField(_("问题"))
    routed_to = models.ForeignKey(Organisation, verbose_name=_("答复单位"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("状态"), max_length=12, choices=ConsultationStatus.choices, default=ConsultationStatus.OPEN
    )
    answer = models.TextField(_("答复"), blank=True)
    answered_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    # Published in the FAQ with the question reworded by the office, never with the enterprise's name.
    is_public = models.BooleanField(_("公开为常见问题"), default=False)
    faq_question = models.CharField(_("公开问题表述"), max_length=300, blank=True)
    published_at = models.DateTimeField(_("公开时间"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    asked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("提问时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("政策咨询")
        verbose_name_plural = _("政策咨询")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_public=False) | (Q(status=ConsultationStatus.ANSWERED) & ~Q(answer="")),
                name="portal_consultation_public_needs_answer",
                violation_error_message=_("只有已答复的咨询才能公开为常见问题。"),
            ),
            models.CheckConstraint(
                condition=~Q(status=ConsultationStatus.ANSWERED) | ~Q(answer=""),
                name="portal_consultation_answered_has_answer",
                violation_error_message=_("已答复的咨询必须有答复内容。"),
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        asker = _own(scope, "enterprise_org") if scope.kind == OrganisationKind.ENTERPRISE else None
        office = _own(scope, "routed_to")
        if action == Action.VIEW:
            return _any(asker, office, _government(scope))
        if action == Action.ADD:
            return Q(pk__isnull=False) if scope.kind == OrganisationKind.ENTERPRISE else None
        if action == Action.CHANGE:
            # The office it was routed to answers; the IP office of the region may take it over.
            ip_office = scope.region_q("region_code") if scope.kind == OrganisationKind.IP_OFFICE else None
            return _any(office, ip_office)
        return None


class ServiceRequest(models.Model):
    """A request at a park's one-stop service centre (一站式服务中心): the park's staff work it as a queue."""

    reference = models.CharField(_("受理编号"), max_length=24, unique=True)
    park = models.ForeignKey(Park, verbose_name=_("园区"), on_delete=models.PROTECT, related_name="service_requests")
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), on_delete=models.PROTECT, related_name="service_requests"
    )
    enterprise_org = models.ForeignKey(
        Organisation, verbose_name=_("企业账户"), on_delete=models.PROTECT, related_name="+"
    )
    region_code = models.CharField(_("地区代码"), max_length=6, blank=True, db_index=True)
    kind = models.CharField(_("事项"), max_length=12, choices=ServiceRequestKind.choices)
    subject = models.CharField(_("标题"), max_length=200)
    detail = models.TextField(_("说明"), blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=ServiceRequestStatus.choices, default=ServiceRequestStatus.SUBMITTED
    )
    handled_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    response = models.TextField(_("办理意见"), blank=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("园区服务事项")
        verbose_name_plural = _("园区服务事项")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["park", "status"], name="portal_servicerequest_queue")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=ServiceRequestStatus.REJECTED) | ~Q(response=""),
                name="portal_servicerequest_rejection_reason",
                violation_error_message=_("不予受理须说明理由。"),
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        asker = _own(scope, "enterprise_org") if scope.kind == OrganisationKind.ENTERPRISE else None
        park_staff = (
            scope.org_tree_q("park__administering_org__tree_path")
            if scope.kind == OrganisationKind.PARK_ADMIN
            else None
        )
        if action == Action.VIEW:
            return _any(asker, park_staff, _government(scope))
        if action == Action.ADD:
            return Q(pk__isnull=False) if scope.kind == OrganisationKind.ENTERPRISE else None
        if action == Action.CHANGE:
            return park_staff
        return None
