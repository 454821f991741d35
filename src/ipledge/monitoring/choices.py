"""Choices of the monitoring app (行动监测): anomaly rules and cases, plans and tasks, key parks, measures, reports
and typical cases."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AnomalyRule(models.TextChoices):
    """The scan rules: `domain.md` §8.2 (1–10) and the data-quality rules on reported figures (M6)."""

    DUPLICATE_PLEDGE = "duplicate_pledge", _("重复质押")
    TERM_OVERRUN = "term_overrun", _("质押期限超出权利有效期")
    ZOMBIE_COLLATERAL = "zombie_collateral", _("质物权利状态异常")
    OWNER_MISMATCH = "owner_mismatch", _("出质人与权利人不符")
    LTV_OUTLIER = "ltv_outlier", _("质押率异常")
    VALUATION_OUTLIER = "valuation_outlier", _("评估值异常")
    OUTLIER_VALUER = "outlier_valuer", _("评估机构异常值集中")
    REGISTRATION_WITHOUT_LOAN = "registration_without_loan", _("登记未放款")
    LOAN_BEFORE_REGISTRATION = "loan_before_registration", _("先放款后登记")
    COMPENSATION_ABUSE = "compensation_abuse", _("风险补偿资金违规")
    TRANSFER_WITHOUT_CONSENT = "transfer_without_consent", _("未经质权人同意转让或许可")
    CLASSIFICATION_INCONSISTENT = "classification_inconsistent", _("风险分类不一致")
    YEAR_END_SPIKE = "year_end_spike", _("年末数据突增")
    ROUND_NUMBERS = "round_numbers", _("整数金额集中")
    BENFORD_DEVIATION = "benford_deviation", _("首位数字分布偏离")
    CONTRACT_REUSE = "contract_reuse", _("合同重复使用")
    SHELL_BORROWER = "shell_borrower", _("新设无员工企业大额贷款")


class FindingSeverity(models.TextChoices):
    HIGH = "high", _("高")
    MEDIUM = "medium", _("中")
    LOW = "low", _("低")


class FindingStatus(models.TextChoices):
    """A finding's case (核查) from discovery to closure: assign → investigate → confirm or dismiss → report (通报)."""

    OPEN = "open", _("待分派")
    ASSIGNED = "assigned", _("已分派")
    INVESTIGATING = "investigating", _("核查中")
    CONFIRMED = "confirmed", _("已确认")
    DISMISSED = "dismissed", _("已排除")
    REPORTED = "reported", _("已通报")
    CLEARED = "cleared", _("已消除")  # the next scan no longer finds it before anyone decided


ACTIVE_FINDING_STATUSES = (
    FindingStatus.OPEN,
    FindingStatus.ASSIGNED,
    FindingStatus.INVESTIGATING,
    FindingStatus.CONFIRMED,
)


class FindingEventKind(models.TextChoices):
    RAISED = "raised", _("发现")
    ASSIGNED = "assigned", _("分派")
    INVESTIGATING = "investigating", _("开始核查")
    NOTE = "note", _("核查记录")
    CONFIRMED = "confirmed", _("确认")
    DISMISSED = "dismissed", _("排除")
    REPORTED = "reported", _("通报")
    REOPENED = "reopened", _("重新打开")
    CLEARED = "cleared", _("消除")


class ScanStatus(models.TextChoices):
    RUNNING = "running", _("运行中")
    FINISHED = "finished", _("已完成")
    FAILED = "failed", _("失败")


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("起草中")
    ISSUED = "issued", _("已印发")
    SUBMITTED = "submitted", _("已报送")


class TaskStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("未开始")
    IN_PROGRESS = "in_progress", _("推进中")
    DONE = "done", _("已完成")
    CANCELLED = "cancelled", _("已取消")


class ReminderKind(models.TextChoices):
    PLAN_SUBMISSION_DUE = "plan_submission_due", _("方案报送临近")
    PLAN_SUBMISSION_OVERDUE = "plan_submission_overdue", _("方案逾期未报送")
    TASK_DUE = "task_due", _("任务临近截止")
    TASK_OVERDUE = "task_overdue", _("任务逾期")
    KEY_PARKS_SHORT = "key_parks_short", _("重点园区不足3个")


class DesignationKind(models.TextChoices):
    KEY = "key", _("重点园区")
    DEMONSTRATION = "demonstration", _("示范园区")


class DesignationStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    REVOKED = "revoked", _("已撤销")


class MeasureCategory(models.TextChoices):
    """Kinds of measure (工作措施) in the measures overview table (工作措施一览表)."""

    POLICY = "policy", _("政策文件")
    SUBSIDY = "subsidy", _("贴息贴费补助")
    RISK_COMPENSATION = "risk_compensation", _("风险补偿")
    GUARANTEE = "guarantee", _("担保与保险")
    VALUATION = "valuation", _("评估支持")
    SERVICE = "service", _("服务体系")
    MATCHMAKING = "matchmaking", _("银企对接")
    PUBLICITY = "publicity", _("宣传培训")
    OTHER = "other", _("其他")


class MeasureStatus(models.TextChoices):
    PLANNED = "planned", _("计划中")
    ONGOING = "ongoing", _("实施中")
    COMPLETED = "completed", _("已完成")


class FinancialsSource(models.TextChoices):
    SURVEY = "survey", _("跟踪调查")
    REPORT = "report", _("企业填报")
    IMPORT = "import", _("批量导入")


class ReportKind(models.TextChoices):
    MEASURES_TABLE = "measures_table", _("工作措施一览表")
    QUARTERLY_SUMMARY = "quarterly_summary", _("季度工作总结")
    ANNUAL_SUMMARY = "annual_summary", _("年度工作总结")


class CaseStatus(models.TextChoices):
    """The typical case (典型案例) annual selection: nomination → review → publication."""

    NOMINATED = "nominated", _("已推荐")
    UNDER_REVIEW = "under_review", _("评审中")
    SELECTED = "selected", _("已入选")
    REJECTED = "rejected", _("未入选")
    PUBLISHED = "published", _("已发布")
    WITHDRAWN = "withdrawn", _("已撤回")


class CaseCategory(models.TextChoices):
    PRODUCT_INNOVATION = "product_innovation", _("产品创新")
    RISK_SHARING = "risk_sharing", _("风险分担")
    PARK_SERVICE = "park_service", _("园区服务")
    VALUATION = "valuation", _("评估创新")
    DISPOSAL = "disposal", _("处置运营")
    ENTERPRISE_GROWTH = "enterprise_growth", _("企业成长")
