"""Registry models: parks (园区), enterprises (企业), park memberships and IP rights (知识产权) with owners."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ipledge.core.choices import OrganisationKind
from ipledge.core.models import Organisation, Region
from ipledge.core.money import MoneyField
from ipledge.core.scoping import Action, RestrictedManager, Scope, scoped_through

from .choices import CopyrightWorkKind, IPKind, LegalStatus, ParkKind, ParkLevel, PatentType, SizeClass

REGISTRY_WRITERS = frozenset({OrganisationKind.IP_OFFICE, OrganisationKind.PARK_ADMIN})


class Park(models.Model):
    """An industrial park (园区): 高新区, 经开区 or other, run by a park administration."""

    name = models.CharField(_("园区名称"), max_length=128, unique=True)
    level = models.CharField(_("级别"), max_length=16, choices=ParkLevel.choices)
    kind = models.CharField(_("类型"), max_length=16, choices=ParkKind.choices)
    region = models.ForeignKey(Region, verbose_name=_("所在地区"), on_delete=models.PROTECT, related_name="parks")
    administering_org = models.ForeignKey(
        Organisation,
        verbose_name=_("管理机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="administered_parks",
        limit_choices_to={"kind": OrganisationKind.PARK_ADMIN},
    )
    is_key_park = models.BooleanField(
        _("重点/示范园区"), default=False, help_text=_("行动方案确定的重点园区或示范园区（O2）")
    )
    nbs_code = models.CharField(_("统计区划代码"), max_length=6, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("园区")
        verbose_name_plural = _("园区")
        ordering = ["region__code", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def audit_region_code(self) -> str:
        return self.region.code if self.region_id else ""

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if action == Action.VIEW:
            return Q()  # the list of parks is public information
        if scope.kind == OrganisationKind.IP_OFFICE:
            return scope.region_q("region__code")
        if scope.kind == OrganisationKind.PARK_ADMIN and action == Action.CHANGE:
            return scope.org_tree_q("administering_org__tree_path")
        return None


def _bank_customer_q(scope: Scope) -> Q:
    """A bank reads the enterprises it does business with, once the enterprise took part: borrowers that applied
    themselves or were lent money, and pledgors that confirmed a filing. Typing a USCC into an application or a
    filing alone reveals nothing.

    The later apps' models are looked up lazily because they import this module.
    """
    from django.apps import apps

    loan_model = apps.get_model("lending", "Loan")
    filing_model = apps.get_model("registration", "PledgeFiling")
    borrowers = (
        loan_model._default_manager.filter(scope.org_tree_q("bank__tree_path"))
        .filter(Q(first_disbursed_on__isnull=False) | Q(created_by__organisation_id=F("borrower__organisation_id")))
        .values("borrower_id")
    )
    pledgors = (
        filing_model._default_manager.filter(
            scope.org_tree_q("pledgee__tree_path") | scope.org_tree_q("filed_by_org__tree_path")
        )
        .filter(pledgor_confirmed_at__isnull=False)
        .values("pledgor_id")
    )
    return Q(pk__in=borrowers) | Q(pk__in=pledgors)


class Enterprise(models.Model):
    """An enterprise (企业) identified by its USCC (统一社会信用代码)."""

    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    name = models.CharField(_("企业名称"), max_length=128, db_index=True)
    organisation = models.OneToOneField(
        Organisation,
        verbose_name=_("平台账户机构"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="enterprise",
        limit_choices_to={"kind": OrganisationKind.ENTERPRISE},
    )
    registration_region = models.ForeignKey(
        Region, verbose_name=_("登记地"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Denormalised from registration_region so that jurisdiction filters are one indexed prefix match.
    region_code = models.CharField(_("登记地代码"), max_length=6, blank=True, db_index=True)
    industry_section = models.CharField(_("行业门类（GB/T 4754）"), max_length=1)
    industry_division = models.CharField(_("行业大类代码"), max_length=4, blank=True)
    established_on = models.DateField(_("成立日期"), null=True, blank=True)
    employees = models.PositiveIntegerField(_("从业人员"), null=True, blank=True)
    revenue = MoneyField(_("营业收入（元）"), null=True, blank=True)
    total_assets = MoneyField(_("资产总额（元）"), null=True, blank=True)
    size_class = models.CharField(
        _("企业规模"),
        max_length=8,
        choices=SizeClass.choices,
        blank=True,
        help_text=_("按《中小企业划型标准规定》自动划型"),
    )
    is_high_tech = models.BooleanField(_("高新技术企业"), default=False)
    is_specialised = models.BooleanField(_("专精特新"), default=False)
    # Personal data (个人信息): shown in full only to the roles that need it, masked elsewhere (see core.privacy).
    legal_representative = models.CharField(_("法定代表人"), max_length=64, blank=True)
    legal_representative_id_number = models.CharField(_("法定代表人证件号码"), max_length=18, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    parks = models.ManyToManyField(  # type: ignore[var-annotated]
        Park, through="ParkMembership", related_name="enterprises", verbose_name=_("所属园区")
    )

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("企业")
        verbose_name_plural = _("企业")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(uscc__regex=r"^[0-9A-HJ-NPQRTUWXY]{18}$"),
                name="registry_enterprise_uscc_format",
                violation_error_message=_("统一社会信用代码格式无效。"),
            ),
            models.CheckConstraint(
                condition=Q(revenue__isnull=True) | Q(revenue__gte=0),
                name="registry_enterprise_revenue_non_negative",
                violation_error_message=_("营业收入不能为负数。"),
            ),
            models.CheckConstraint(
                condition=Q(total_assets__isnull=True) | Q(total_assets__gte=0),
                name="registry_enterprise_assets_non_negative",
                violation_error_message=_("资产总额不能为负数。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def audit_region_code(self) -> str:
        return self.region_code

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        if scope.kind == OrganisationKind.ENTERPRISE:
            return Q(organisation_id=scope.organisation_id) if action in (Action.VIEW, Action.CHANGE) else None
        if scope.kind == OrganisationKind.PARK_ADMIN:
            in_my_parks = ParkMembership.objects.filter(
                park__administering_org__tree_path__startswith=scope.org_tree_path
            ).values("enterprise_id")
            return Q(pk__in=in_my_parks)
        if scope.kind in (OrganisationKind.IP_OFFICE, OrganisationKind.DEVELOPMENT_REFORM):
            registered_here = scope.region_q("region_code")
            park_here = scope.region_q("park__region__code")
            if registered_here is None or park_here is None:
                return None
            in_parks_here = ParkMembership.objects.filter(park_here).values("enterprise_id")
            return registered_here | Q(pk__in=in_parks_here)
        if scope.kind == OrganisationKind.BANK and action == Action.VIEW:
            return _bank_customer_q(scope)
        # The other service organisations reach enterprises through the business they share with them (demands,
        # covers), which the later domains add here.
        return None


class ParkMembership(models.Model):
    """An enterprise's membership of a park (入园) over a period."""

    park = models.ForeignKey(Park, verbose_name=_("园区"), on_delete=models.PROTECT, related_name="memberships")
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), on_delete=models.CASCADE, related_name="memberships"
    )
    joined_on = models.DateField(_("入园日期"))
    left_on = models.DateField(_("离园日期"), null=True, blank=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("入园记录")
        verbose_name_plural = _("入园记录")
        ordering = ["-joined_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gte=F("joined_on")),
                name="registry_parkmembership_left_after_joined",
                violation_error_message=_("离园日期不能早于入园日期。"),
            ),
            models.UniqueConstraint(
                fields=["park", "enterprise", "joined_on"],
                name="registry_parkmembership_unique_start",
                violation_error_code="unique",
                violation_error_message=_("该企业在同一日期已入此园区。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise} @ {self.park}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        enterprise_q = Enterprise.scope_q(scope, Action.VIEW if action == Action.VIEW else Action.CHANGE)
        if scope.kind == OrganisationKind.ENTERPRISE and action != Action.VIEW:
            return None
        return scoped_through("enterprise", Enterprise, enterprise_q)


class IPRight(models.Model):
    """One IP right of any kind: patent, trademark, copyright or IC layout design (集成电路布图设计)."""

    kind = models.CharField(_("类型"), max_length=16, choices=IPKind.choices)
    number = models.CharField(
        _("申请号/注册号/登记号"), max_length=32, help_text=_("专利为带校验位的申请号，如 201710601862.3")
    )
    title = models.CharField(_("名称"), max_length=255)
    legal_status = models.CharField(
        _("法律状态"), max_length=16, choices=LegalStatus.choices, default=LegalStatus.VALID
    )
    filing_date = models.DateField(_("申请日"), null=True, blank=True)
    grant_date = models.DateField(_("授权/注册/登记日"), null=True, blank=True)
    valid_from = models.DateField(_("有效期起"), null=True, blank=True)
    term_end = models.DateField(_("有效期止"), null=True, blank=True, help_text=_("专利按类型和申请日自动计算"))
    # Patents
    patent_type = models.CharField(_("专利类型"), max_length=24, choices=PatentType.choices, blank=True)
    main_ipc = models.CharField(_("主分类号（IPC）"), max_length=32, blank=True)
    annual_fee_paid_until = models.DateField(_("年费缴至"), null=True, blank=True)
    claims_count = models.PositiveIntegerField(_("权利要求数"), null=True, blank=True)
    forward_citations = models.PositiveIntegerField(_("被引次数"), null=True, blank=True)
    backward_citations = models.PositiveIntegerField(_("引用次数"), null=True, blank=True)
    family_size = models.PositiveIntegerField(_("同族数量"), null=True, blank=True)
    # Trademarks
    nice_classes = models.JSONField(_("尼斯分类"), default=list, blank=True)
    renewal_count = models.PositiveSmallIntegerField(_("续展次数"), default=0)
    # Copyrights
    work_kind = models.CharField(_("作品类型"), max_length=16, choices=CopyrightWorkKind.choices, blank=True)
    created_on = models.DateField(_("创作/设计完成日"), null=True, blank=True)
    first_published_on = models.DateField(_("首次发表/商业利用日"), null=True, blank=True)
    # Register flags that block or qualify a pledge (set from legal-status events, see registration.monitoring)
    suspended = models.BooleanField(_("中止"), default=False, help_text=_("因权属纠纷中止有关程序"))
    preserved = models.BooleanField(_("保全"), default=False, help_text=_("被采取财产保全措施（冻结、查封）"))
    invalidation_pending = models.BooleanField(_("无效宣告请求审查中"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    enterprises = models.ManyToManyField(  # type: ignore[var-annotated]
        Enterprise, through="IPRightOwner", related_name="ip_rights", verbose_name=_("权利人")
    )

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("知识产权")
        verbose_name_plural = _("知识产权")
        ordering = ["-filing_date", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "number"],
                name="registry_ipright_unique_number",
                violation_error_code="unique",
                violation_error_message=_("该号码的知识产权已登记。"),
            ),
            models.CheckConstraint(
                condition=Q(kind=IPKind.PATENT) | Q(patent_type=""),
                name="registry_ipright_patent_type_only_for_patents",
                violation_error_message=_("只有专利可以设置专利类型。"),
            ),
            models.CheckConstraint(
                condition=~Q(kind=IPKind.PATENT) | ~Q(patent_type=""),
                name="registry_ipright_patent_has_type",
                violation_error_message=_("专利必须有专利类型。"),
            ),
            models.CheckConstraint(
                condition=Q(grant_date__isnull=True)
                | Q(filing_date__isnull=True)
                | Q(grant_date__gte=F("filing_date")),
                name="registry_ipright_granted_after_filing",
                violation_error_message=_("授权日不能早于申请日。"),
            ),
            models.CheckConstraint(
                condition=Q(term_end__isnull=True) | Q(valid_from__isnull=True) | Q(term_end__gte=F("valid_from")),
                name="registry_ipright_term_end_after_start",
                violation_error_message=_("有效期止不能早于有效期起。"),
            ),
        ]
        indexes = [models.Index(fields=["kind", "legal_status"]), models.Index(fields=["term_end"])]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        enterprise_q = Enterprise.scope_q(scope, Action.VIEW if action == Action.VIEW else Action.CHANGE)
        if enterprise_q is None:
            return None
        owned = IPRightOwner.objects.filter(enterprise__in=Enterprise.objects.filter(enterprise_q).values("pk"))
        return Q(pk__in=owned.values("right_id"))


class IPRightOwner(models.Model):
    """A right holder (权利人) and its share; holders not on the platform are recorded by name."""

    right = models.ForeignKey(IPRight, verbose_name=_("知识产权"), on_delete=models.CASCADE, related_name="owners")
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("企业"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ip_ownerships",
    )
    holder_name = models.CharField(_("权利人名称"), max_length=128, blank=True)
    share = models.DecimalField(
        _("份额（%）"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("100"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("权利人")
        verbose_name_plural = _("权利人")
        constraints = [
            models.UniqueConstraint(
                fields=["right", "enterprise"],
                name="registry_iprightowner_unique_enterprise",
                violation_error_code="unique",
                violation_error_message=_("同一企业不能重复登记为权利人。"),
            ),
            models.CheckConstraint(
                condition=Q(enterprise__isnull=False) | ~Q(holder_name=""),
                name="registry_iprightowner_has_holder",
                violation_error_message=_("权利人须为平台企业或填写名称。"),
            ),
            models.CheckConstraint(
                condition=Q(share__gt=0) & Q(share__lte=100),
                name="registry_iprightowner_share_range",
                violation_error_message=_("份额应大于0且不超过100。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise or self.holder_name} {self.share}%"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return scoped_through("right", IPRight, IPRight.scope_q(scope, action))


class LicenceKind(models.TextChoices):
    """Kinds of licence (专利实施许可合同备案办法; 专利法第五十条 for the open licence)."""

    EXCLUSIVE = "exclusive", _("独占许可")
    SOLE = "sole", _("排他许可")
    ORDINARY = "ordinary", _("普通许可")
    OPEN = "open", _("开放许可")


class LicenceContract(models.Model):
    """A recorded licence contract (许可合同备案) of an IP right; its record number is what a licence-revenue
    pledge (许可收益权质押) refers to. While the right is pledged a licence needs the pledgee's consent
    (民法典第四百四十四条第二款)."""

    ip_right = models.ForeignKey(IPRight, verbose_name=_("知识产权"), on_delete=models.PROTECT, related_name="licences")
    licensee_name = models.CharField(_("被许可人"), max_length=128)
    licensee = models.ForeignKey(
        Enterprise,
        verbose_name=_("被许可人（平台企业）"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="licences_held",
    )
    licence_kind = models.CharField(_("许可类型"), max_length=16, choices=LicenceKind.choices)
    record_no = models.CharField(_("备案号"), max_length=64, unique=True)
    start_on = models.DateField(_("许可期限起"))
    end_on = models.DateField(_("许可期限止"))
    royalty_terms = models.TextField(_("许可使用费"), blank=True, help_text=_("计费方式、数额及支付方式"))
    recorded_on = models.DateField(_("备案日"))
    pledgee_consent = models.BooleanField(
        _("质权人同意"), default=False, help_text=_("许可时该知识产权处于质押期间的，须经质权人同意")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("许可合同备案")
        verbose_name_plural = _("许可合同备案")
        ordering = ["-recorded_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_on__gte=F("start_on")),
                name="registry_licencecontract_end_after_start",
                violation_error_code="end_before_start",
                violation_error_message=_("许可期限止不能早于许可期限起。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.record_no} {self.licensee_name}"

    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None:
        return scoped_through("ip_right", IPRight, IPRight.scope_q(scope, action))
