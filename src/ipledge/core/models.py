"""Core models: regions (行政区划), organisations (机构), users, audit events and API keys."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .choices import AdminLevel, BankTier, OrganisationKind, RegionLevel, Role
from .scoping import Action, RestrictedManager, RestrictedQuerySet, Scope


class Region(models.Model):
    """An administrative division (行政区划) with its 6-digit NBS 2023 code."""

    code = models.CharField(_("区划代码"), max_length=6, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    level = models.CharField(_("级别"), max_length=16, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Significant leading digits: "11" for a province, "1101" for a city, the full code for a county, so that
    # "this region and below" is one indexed prefix match on any code column.
    prefix = models.CharField(_("代码前缀"), max_length=6, db_index=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{6}$"),
                name="core_region_code_six_digits",
                violation_error_message=_("区划代码应为6位数字。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def full_name(self) -> str:
        names = []
        node: Region | None = self
        while node is not None:
            if node.name not in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
                names.append(node.name)
            node = node.parent
        return "".join(reversed(names))

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        # Regions are public reference data; nobody edits them through the application.
        return Q() if action == Action.VIEW else None


class Organisation(models.Model):
    """An organisation that logs into the platform; banks and offices form trees through `parent`."""

    name = models.CharField(_("名称"), max_length=128)
    kind = models.CharField(_("类型"), max_length=32, choices=OrganisationKind.choices)
    admin_level = models.CharField(_("行政级别"), max_length=16, choices=AdminLevel.choices, blank=True)
    bank_tier = models.CharField(_("银行层级"), max_length=16, choices=BankTier.choices, blank=True)
    region = models.ForeignKey(Region, verbose_name=_("所在地区"), null=True, blank=True, on_delete=models.PROTECT)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级机构"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # "/<root id>/…/<own id>/": the organisation and all below it share this prefix.
    tree_path = models.CharField(_("层级路径"), max_length=255, blank=True, db_index=True, editable=False)
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("机构")
        verbose_name_plural = _("机构")
        ordering = ["tree_path", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"],
                name="core_organisation_unique_name_per_parent",
                violation_error_code="unique",
                violation_error_message=_("同一上级机构下名称不能重复。"),
            ),
            models.CheckConstraint(
                condition=Q(kind=OrganisationKind.BANK) | Q(bank_tier=""),
                name="core_organisation_bank_tier_only_for_banks",
                violation_error_message=_("只有银行可以设置银行层级。"),
            ),
            models.CheckConstraint(
                condition=~Q(
                    kind__in=[
                        OrganisationKind.IP_OFFICE,
                        OrganisationKind.FINANCIAL_REGULATOR,
                        OrganisationKind.DEVELOPMENT_REFORM,
                    ]
                )
                | ~Q(admin_level=""),
                name="core_organisation_government_has_level",
                violation_error_message=_("政府部门必须设置行政级别。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        own_tree = scope.org_tree_q("tree_path")
        if action != Action.VIEW:
            return own_tree if scope.role == Role.ADMIN else None
        if scope.is_government:
            region = scope.region_q("region__code")
            return own_tree | region if region is not None else own_tree
        return own_tree


class ScopedUserManager(UserManager.from_queryset(RestrictedQuerySet)):  # type: ignore[misc]
    pass


class User(AbstractUser):
    """A person; belongs to exactly one organisation and holds one role in it."""

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("所属机构"), null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    role = models.CharField(_("角色"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    display_name = models.CharField(_("姓名"), max_length=64, blank=True)
    # Part of the session hash: raising it ends every session of the user at once ("log out everywhere").
    session_generation = models.PositiveIntegerField(_("会话代次"), default=0, editable=False)

    objects = ScopedUserManager()  # type: ignore[misc]
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            models.CheckConstraint(
                condition=Q(is_superuser=True) | Q(organisation__isnull=False),
                name="core_user_belongs_to_organisation",
                violation_error_message=_("用户必须属于一个机构。"),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Behind get_session_auth_hash() and its SECRET_KEY_FALLBACKS variant. Generation 0 keeps Django's own
        # hash, so sessions opened before this existed stay valid; any later generation changes every hash.
        if not self.session_generation:
            return super()._get_session_auth_hash(secret=secret)  # type: ignore[misc,no-any-return]
        return salted_hmac(
            "ipledge.core.models.User.get_session_auth_hash",
            f"{self.password}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action == Action.VIEW:
            if scope.role == Role.ADMIN:
                return scope.org_tree_q("organisation__tree_path")
            return Q(pk=scope.user_id)
        return scope.org_tree_q("organisation__tree_path") if scope.role == Role.ADMIN else None


class AuditEvent(models.Model):
    """One change made through a service, written in the same transaction as the change itself."""

    occurred_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(_("操作人名称"), max_length=150, blank=True)
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("操作机构"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        "ApiKey", verbose_name=_("API 密钥"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("操作"), max_length=64, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=64, db_index=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("对象"), max_length=255, blank=True)
    # Region of the object touched, so that an IP office can audit its jurisdiction.
    region_code = models.CharField(_("对象所在地区"), max_length=6, blank=True, db_index=True)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    request_id = models.CharField(_("请求编号"), max_length=64, blank=True, db_index=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action != Action.VIEW or scope.role not in (Role.ADMIN, Role.REVIEWER):
            return None
        own = scope.org_tree_q("organisation__tree_path")
        if scope.kind == "ip_office":
            region = scope.region_q("region_code")
            return own | region if region is not None else own
        return own


class ApiKey(models.Model):
    """A machine client's key, scoped to one organisation; only a hash is stored, the key is shown once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("机构"), on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(_("名称"), max_length=64)
    prefix = models.CharField(_("前缀"), max_length=12, unique=True)
    key_hash = models.CharField(_("密钥摘要"), max_length=128)
    role = models.CharField(_("权限角色"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_by = models.ForeignKey(
        User, verbose_name=_("创建人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    # The actions (view/add/change/delete/approve) the key may take: a subset of what its role allows.
    actions = models.JSONField(_("允许的操作"), default=list, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(_("每分钟请求上限"), default=600)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("API 密钥")
        verbose_name_plural = _("API 密钥")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate_limit_per_minute__gte=1) & Q(rate_limit_per_minute__lte=100_000),
                name="core_apikey_rate_limit_range",
                violation_error_message=_("每分钟请求上限应在 1 至 100000 之间。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if scope.role != Role.ADMIN or action == Action.APPROVE:
            return None
        return Q(organisation_id=scope.organisation_id)

    def as_dict(self) -> dict[str, Any]:
        return {"id": str(self.id), "name": self.name, "prefix": self.prefix, "role": self.role}


class ApiCall(models.Model):
    """One call to the API (API 调用记录): who called (key or session user), what, the answer and how long it took.

    Written for every call, reads included, so that an organisation can account for each use of its keys.
    """

    occurred_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    api_key = models.ForeignKey(
        ApiKey, verbose_name=_("API 密钥"), null=True, blank=True, on_delete=models.PROTECT, related_name="calls"
    )
    user = models.ForeignKey(
        User, verbose_name=_("用户"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("机构"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    method = models.CharField(_("方法"), max_length=8)
    path = models.CharField(_("路径"), max_length=512)
    status_code = models.PositiveSmallIntegerField(_("状态码"))
    duration_ms = models.PositiveIntegerField(_("耗时（毫秒）"), default=0)
    request_id = models.CharField(_("请求编号"), max_length=64, blank=True, db_index=True)
    client_ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("API 调用记录")
        verbose_name_plural = _("API 调用记录")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["api_key", "occurred_at"]),
            models.Index(fields=["organisation", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status_code}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        # An organisation's administrators account for the calls made with its keys and by its people.
        if action != Action.VIEW or scope.role != Role.ADMIN:
            return None
        return Q(organisation_id=scope.organisation_id)
