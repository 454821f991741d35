from django.db import models
from django.utils.translation import gettext_lazy as _


class MessageKind(models.TextChoices):
    """What one exchange message carries (see docs/exchange.md for each payload)."""

    PRODUCT = "product", _("金融产品")
    WHITELIST_ENTRY = "whitelist_entry", _("白名单企业")
    REGISTRATION = "registration", _("质押登记信息")
    CREDIT_DATA = "credit_data", _("企业信用信息")
    LOAN_OUTCOME = "loan_outcome", _("贷款结果")


class OutboundStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    DELIVERED = "delivered", _("已送达")
    RETRYING = "retrying", _("重试中")
    DEAD = "dead", _("死信")


class InboundStatus(models.TextChoices):
    APPLIED = "applied", _("已处理")
    REJECTED = "rejected", _("已拒收")


class LoanOutcomeKind(models.TextChoices):
    GRANTED = "granted", _("已放款")
    DECLINED = "declined", _("未获批")
    REPAID = "repaid", _("已结清")
    OVERDUE = "overdue", _("逾期")


class BulkDirection(models.TextChoices):
    IMPORT = "import", _("导入")
    EXPORT = "export", _("导出")


class BulkStatus(models.TextChoices):
    APPLIED = "applied", _("已导入")
    REJECTED = "rejected", _("已拒绝")
    EXPORTED = "exported", _("已导出")
