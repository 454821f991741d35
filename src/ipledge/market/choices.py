"""Choices of the market domain (产品资源库, 融资项目库, 常态化调查, 银企对接)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CollateralKind(models.TextChoices):
    """The kinds of IP a product accepts as collateral, at the granularity banks write their rules in."""

    INVENTION = "invention", _("发明专利")
    UTILITY_MODEL = "utility_model", _("实用新型专利")
    DESIGN = "design", _("外观设计专利")
    TRADEMARK = "trademark", _("商标专用权")
    SOFTWARE = "software", _("计算机软件著作权")
    WORK = "work", _("作品著作权")
    IC_LAYOUT = "ic_layout", _("集成电路布图设计")


class ProductStatus(models.TextChoices):
    DRAFT = "draft", _("未上架")
    LIVE = "live", _("在售")
    WITHDRAWN = "withdrawn", _("已下架")


class ProductVersionStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING = "pending", _("待行内审批")
    APPROVED = "approved", _("现行")
    REJECTED = "rejected", _("已退回")
    SUPERSEDED = "superseded", _("已替代")


class RateKind(models.TextChoices):
    LPR_SPREAD = "lpr_spread", _("LPR加点")
    FIXED = "fixed", _("固定利率")


class DemandStatus(models.TextChoices):
    OPEN = "open", _("待匹配")
    MATCHED = "matched", _("已匹配")
    IN_TALKS = "in_talks", _("洽谈中")
    FINANCED = "financed", _("已获贷")
    WITHDRAWN = "withdrawn", _("已撤回")
    EXPIRED = "expired", _("已过期")


ACTIVE_DEMAND_STATUSES = (DemandStatus.OPEN, DemandStatus.MATCHED, DemandStatus.IN_TALKS)


class DemandPurpose(models.TextChoices):
    WORKING_CAPITAL = "working_capital", _("补充流动资金")
    RESEARCH = "research", _("研发投入")
    EQUIPMENT = "equipment", _("设备购置")
    EXPANSION = "expansion", _("扩大生产")
    TECH_UPGRADE = "tech_upgrade", _("技术改造")
    COMMERCIALISATION = "commercialisation", _("成果转化")
    OTHER = "other", _("其他")


class DemandSource(models.TextChoices):
    ENTERPRISE = "enterprise", _("企业发布")
    PARK = "park", _("园区代报")
    SURVEY = "survey", _("调查问卷")


class LeadResponse(models.TextChoices):
    """A bank's answer to a matched demand (线索反馈)."""

    NONE = "", _("未反馈")
    INTERESTED = "interested", _("有意向")
    CONTACTED = "contacted", _("已联系")
    DECLINED = "declined", _("不予受理")


class SurveyAudience(models.TextChoices):
    ENTERPRISE = "enterprise", _("企业（融资需求）")
    BANK = "bank", _("银行（产品与授信意愿）")
    FOLLOW_UP = "follow_up", _("获贷企业（回访）")


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")


class SurveyRecurrence(models.TextChoices):
    ONCE = "once", _("一次性")
    QUARTERLY = "quarterly", _("每季度")
    HALF_YEARLY = "half_yearly", _("每半年")
    YEARLY = "yearly", _("每年")


class QuestionKind(models.TextChoices):
    TEXT = "text", _("单行文本")
    LONG_TEXT = "long_text", _("多行文本")
    INTEGER = "integer", _("整数")
    MONEY = "money", _("金额（元）")
    CHOICE = "choice", _("单选")
    MULTI_CHOICE = "multi_choice", _("多选")
    DATE = "date", _("日期")
    YES_NO = "yes_no", _("是/否")
    RATING = "rating", _("评分（1–5）")


class QuestionTarget(models.TextChoices):
    """Where an answer flows (answers of enterprise surveys become demands, of bank surveys draft products)."""

    NONE = "", _("不写入资源库")
    DEMAND_AMOUNT = "demand.amount", _("融资需求·金额")
    DEMAND_TERM = "demand.term_months", _("融资需求·期限（月）")
    DEMAND_PURPOSE = "demand.purpose", _("融资需求·用途")
    DEMAND_DESCRIPTION = "demand.description", _("融资需求·说明")
    DEMAND_SHARE = "demand.share_with_matching_banks", _("融资需求·同意向匹配银行推送")
    PRODUCT_NAME = "product.name", _("产品·名称")
    PRODUCT_AMOUNT_MAX = "product.amount_max", _("产品·最高额度")
    PRODUCT_TERM_MAX = "product.term_max_months", _("产品·最长期限（月）")
    PRODUCT_COLLATERAL = "product.collateral_kinds", _("产品·可接受质押物")
    PRODUCT_RATE_SPREAD = "product.rate_spread_bp", _("产品·LPR加点（基点）")
    # Follow-up surveys (跟踪调查) of financed enterprises: the answers land in the monitoring app's
    # EnterpriseFinancials for the impact analysis (the year is the period's year minus one, see services.surveys).
    FIN_RD_SPENDING = "financials.rd_spending", _("年度经营数据·研发投入")
    FIN_REVENUE = "financials.revenue", _("年度经营数据·营业收入")
    FIN_EMPLOYEES = "financials.employees", _("年度经营数据·从业人员")
    FIN_PATENTS_HELD = "financials.patents_held", _("年度经营数据·有效专利数")
    FIN_PATENTS_IMPLEMENTED = "financials.patents_implemented", _("年度经营数据·已实施专利数")


class EventStatus(models.TextChoices):
    OPEN = "open", _("报名中")
    SCHEDULED = "scheduled", _("已排期")
    HELD = "held", _("已举办")
    CANCELLED = "cancelled", _("已取消")


class ParticipantKind(models.TextChoices):
    BANK = "bank", _("银行")
    ENTERPRISE = "enterprise", _("企业")


class MeetingStatus(models.TextChoices):
    PROPOSED = "proposed", _("已排期")
    HELD = "held", _("已会谈")
    NO_SHOW = "no_show", _("缺席")
    CANCELLED = "cancelled", _("已取消")


class MeetingOutcome(models.TextChoices):
    NONE = "", _("未记录")
    INTENT = "intent", _("达成意向")
    FOLLOW_UP = "follow_up", _("需跟进")
    LOAN = "loan", _("已放款")
    NO_INTEREST = "no_interest", _("无意向")
