"""Choice sets of collateral disposal (质物处置): cases, routes, auctions, bidders, proceeds.

Case states are numeric and spaced like the loan's, so a state can be inserted later without renumbering.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseStatus(models.IntegerChoices):
    OPENED = 100, _("已立案")
    ROUTE_PROPOSED = 200, _("处置方式待审批")
    ROUTE_APPROVED = 300, _("处置方式已审批")
    IN_PROGRESS = 400, _("处置中")
    SOLD = 500, _("已成交")
    PAID = 600, _("价款已付清")
    TRANSFERRED = 700, _("权利已过户")
    DISTRIBUTED = 800, _("价款已分配")
    CLOSED = 900, _("已结案")


class Route(models.TextChoices):
    AUCTION = "auction", _("网络拍卖（集中拍卖）")
    NEGOTIATED = "negotiated", _("协议转让")
    ACQUISITION = "acquisition", _("第三方收储")
    LICENSING = "licensing", _("许可运营")


# Routes that end in a sale of the rights (licensing keeps them and credits income over time).
SALE_ROUTES = frozenset({Route.AUCTION, Route.NEGOTIATED, Route.ACQUISITION})


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("预告")
    CLOSED = "closed", _("已结束")
    CANCELLED = "cancelled", _("已取消")


class LotStatus(models.TextChoices):
    LISTED = "listed", _("拍卖中")
    SOLD = "sold", _("已成交")
    UNSOLD = "unsold", _("流拍")
    WITHDRAWN = "withdrawn", _("已撤拍")


class DepositStatus(models.TextChoices):
    PENDING = "pending", _("待缴保证金")
    PAID = "paid", _("已缴保证金")
    APPLIED = "applied", _("已抵作价款")
    REFUNDED = "refunded", _("已退还")


class ProceedsStep(models.TextChoices):
    """The waterfall (价款分配顺序): costs, then the bank's principal and interest, then what the risk-compensation
    clearing returns to the fund out of the bank's share, then any surplus to the pledgor."""

    COSTS = "costs", _("处置费用")
    BANK_PRINCIPAL = "bank_principal", _("银行贷款本金")
    BANK_INTEREST = "bank_interest", _("银行贷款利息")
    COMPENSATION = "compensation", _("风险补偿清算返还基金")
    SURPLUS = "surplus", _("余额退还出质人")


class ProceedsSource(models.TextChoices):
    SALE = "sale", _("成交价款")
    LICENCE = "licence", _("许可收入")
