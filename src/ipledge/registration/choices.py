"""Choice sets of pledge registration (质押登记)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FilingType(models.TextChoices):
    REGISTRATION = "registration", _("设立登记")
    CHANGE = "change", _("变更登记")
    CANCELLATION = "cancellation", _("注销登记")


class FilingStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    AWAITING_PLEDGOR = "awaiting_pledgor", _("待出质人确认")
    SUBMITTED = "submitted", _("待审查")
    CORRECTION_REQUESTED = "correction_requested", _("待补正")
    REGISTERED = "registered", _("已登记")
    REFUSED = "refused", _("不予登记")
    WITHDRAWN = "withdrawn", _("已撤回")


OPEN_FILING_STATUSES = (
    FilingStatus.DRAFT,
    FilingStatus.AWAITING_PLEDGOR,
    FilingStatus.SUBMITTED,
    FilingStatus.CORRECTION_REQUESTED,
)


class Channel(models.TextChoices):
    ONLINE = "online", _("网上办理")
    WINDOW = "window", _("窗口办理")
    POST = "post", _("邮寄")


class ClaimKind(models.TextChoices):
    LOAN = "loan", _("借款合同债权")
    GUARANTEE = "guarantee", _("担保追偿债权")
    OTHER = "other", _("其他债权")


class CancellationReason(models.TextChoices):
    REPAID = "repaid", _("债务已清偿")
    ENFORCED = "enforced", _("质权已实现")
    WAIVED = "waived", _("质权人放弃质权")
    CONTRACT_VOID = "contract_void", _("主合同无效或被撤销")
    COURT_ORDER = "court_order", _("法院裁判")


class RegistrationStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    CANCELLED = "cancelled", _("已注销")


class DocumentType(models.TextChoices):
    CONTRACT = "contract", _("质押合同")
    IDENTITY = "identity", _("身份证明")
    COMMITMENT = "commitment", _("承诺书")
    CO_OWNER_CONSENT = "co_owner_consent", _("共有人同意书")
    VALUATION_REPORT = "valuation_report", _("评估报告")
    LICENCE_CONTRACT = "licence_contract", _("许可合同")
    POWER_OF_ATTORNEY = "power_of_attorney", _("委托书")
    EXTINCTION_PROOF = "extinction_proof", _("质权消灭证明")
    OTHER = "other", _("其他材料")


class Severity(models.TextChoices):
    REFUSE = "refuse", _("不予登记")
    WARN = "warn", _("提示")


class Decision(models.TextChoices):
    REGISTER = "register", _("准予登记")
    REQUEST_CORRECTION = "request_correction", _("要求补正")
    REFUSE = "refuse", _("不予登记")


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", _("法定节假日")
    WORKDAY = "workday", _("调休上班日")
