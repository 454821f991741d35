"""Choice sets of the loan lifecycle (贷款全流程), classification (五级分类) and indicators.

Lifecycle states are numeric and spaced (Fineract `LoanStatus`), so a state can be inserted later without
renumbering. Labels are zh-hans source strings; English comes from the locale catalogue.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LoanStatus(models.IntegerChoices):
    DRAFT = 50, _("草稿")
    SUBMITTED = 100, _("已申请")
    DUE_DILIGENCE = 150, _("尽职调查")
    PENDING_APPROVAL = 180, _("待审批")
    APPROVED = 200, _("已审批")
    CONTRACTED = 250, _("已签约")
    ACTIVE = 300, _("已放款")
    DEFAULTED = 350, _("已违约")
    WITHDRAWN = 400, _("已撤回")
    REJECTED = 500, _("已拒绝")
    CLOSED = 600, _("已结清")
    WRITTEN_OFF = 601, _("已核销")
    CLOSED_BY_RENEWAL = 602, _("续贷结清")


# States in which money is lent and not yet settled: they carry a balance and are classified every day.
LIVE_STATUSES = frozenset({LoanStatus.ACTIVE, LoanStatus.DEFAULTED})
# States before the first disbursement, in which the application can still be withdrawn.
PRE_DISBURSEMENT_STATUSES = frozenset(
    {
        LoanStatus.DRAFT,
        LoanStatus.SUBMITTED,
        LoanStatus.DUE_DILIGENCE,
        LoanStatus.PENDING_APPROVAL,
        LoanStatus.APPROVED,
        LoanStatus.CONTRACTED,
    }
)


class LoanOrigin(models.TextChoices):
    DIRECT = "direct", _("直接申请")
    DEMAND = "demand", _("融资需求对接")
    RENEWAL = "renewal", _("续贷")


class RepaymentMethod(models.TextChoices):
    EQUAL_INSTALMENT = "equal_instalment", _("等额本息")
    EQUAL_PRINCIPAL = "equal_principal", _("等额本金")
    INTEREST_ONLY_BULLET = "interest_only_bullet", _("按期付息、到期还本")
    CUSTOM = "custom", _("自定义还款计划")


class RateType(models.TextChoices):
    FIXED = "fixed", _("固定利率")
    LPR = "lpr", _("LPR浮动利率")


class LprTenor(models.TextChoices):
    ONE_YEAR = "1y", _("1年期LPR")
    FIVE_YEAR = "5y", _("5年期以上LPR")


class RenewalKind(models.TextChoices):
    REPAY_THEN_RENEW = "repay_then_renew", _("还本续贷")
    NO_PRINCIPAL_REPAYMENT = "no_principal_repayment", _("无还本续贷")


class TransactionKind(models.TextChoices):
    DISBURSEMENT = "disbursement", _("放款")
    REPAYMENT = "repayment", _("还款")
    RENEWAL_ROLLOVER = "renewal_rollover", _("续贷转贷")
    WRITE_OFF = "write_off", _("核销")
    RECOVERY = "recovery", _("核销后收回")


class LoanClass(models.TextChoices):
    """Five-category classification (贷款五级分类) under the 2023 rules (金融资产风险分类办法)."""

    NORMAL = "normal", _("正常")
    SPECIAL_MENTION = "special_mention", _("关注")
    SUBSTANDARD = "substandard", _("次级")
    DOUBTFUL = "doubtful", _("可疑")
    LOSS = "loss", _("损失")


NON_PERFORMING_CLASSES = frozenset({LoanClass.SUBSTANDARD, LoanClass.DOUBTFUL, LoanClass.LOSS})
CLASS_RANK = {c: i for i, c in enumerate(LoanClass.values)}


class CoverKind(models.TextChoices):
    GUARANTEE = "guarantee", _("融资担保")
    INSURANCE = "insurance", _("保证保险")
    RISK_COMPENSATION = "risk_compensation", _("风险补偿")


class InvestmentTermKind(models.TextChoices):
    """投贷联动 (investment-linked lending): what the investor holds alongside the loan."""

    OPTION = "option", _("认股选择权")
    EQUITY = "equity", _("股权直投")
    CONVERTIBLE = "convertible", _("可转债权")


class ImplementationStatus(models.TextChoices):
    """Whether a pledged patent is implemented (实施), for the implementation-rate indicator (T3)."""

    SELF_USE = "self_use", _("自行实施")
    LICENSED = "licensed", _("许可实施")
    TRANSFERRED = "transferred", _("转让实施")
    NOT_IMPLEMENTED = "not_implemented", _("未实施")


IMPLEMENTED_STATUSES = frozenset(
    {ImplementationStatus.SELF_USE, ImplementationStatus.LICENSED, ImplementationStatus.TRANSFERRED}
)


class DueDiligenceItem(models.TextChoices):
    """The bank's due-diligence checklist (尽职调查清单); every item is answered before approval."""

    IDENTITY = "identity", _("借款人主体资格与证照核验")
    FINANCIALS = "financials", _("财务报表与经营状况分析")
    CREDIT_REPORT = "credit_report", _("征信报告查询")
    IP_OWNERSHIP = "ip_ownership", _("知识产权权属与法律状态核查")
    IP_VALUATION = "ip_valuation", _("知识产权价值评估")
    SITE_VISIT = "site_visit", _("实地走访")
    USE_OF_FUNDS = "use_of_funds", _("贷款用途与还款来源核实")


class ClassificationSource(models.TextChoices):
    ENGINE = "engine", _("日终批量")
    MANUAL = "manual", _("人工认定")
