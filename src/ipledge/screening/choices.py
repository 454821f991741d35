"""Choice sets of credit screening (授信白名单筛选): credit records, criteria, whitelists, bank decisions and park
intended credit lines (意向性授信额度)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RecordKind(models.TextChoices):
    DISHONEST = "dishonest", _("失信被执行人")
    PENALTY = "penalty", _("行政处罚")
    ABNORMAL = "abnormal", _("经营异常名录")
    SERIOUS_VIOLATION = "serious_violation", _("严重违法失信名单")
    TAX_RATING = "tax_rating", _("纳税信用等级")


class TaxRating(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    M = "M", "M"
    C = "C", "C"
    D = "D", "D"


class FileFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (xlsx)"
    JSON = "json", "JSON"


class ImportStatus(models.TextChoices):
    COMMITTED = "committed", _("已导入")
    REJECTED = "rejected", _("已拒绝")


class MatchStatus(models.TextChoices):
    """How a record found its enterprise; only the first three and `confirmed` count in screening."""

    USCC = "uscc", _("按统一社会信用代码匹配")
    EXACT_NAME = "exact_name", _("按名称精确匹配")
    FUZZY = "fuzzy", _("按名称模糊匹配（高置信度）")
    PENDING = "pending", _("待人工复核")
    CONFIRMED = "confirmed", _("人工复核确认")
    UNMATCHED = "unmatched", _("未匹配")


MATCHED_STATUSES = frozenset({MatchStatus.USCC, MatchStatus.EXACT_NAME, MatchStatus.FUZZY, MatchStatus.CONFIRMED})


class CriteriaLevel(models.TextChoices):
    BASELINE = "baseline", _("省级基准标准")
    PARK = "park", _("园区细化标准")


class CriteriaStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    RETIRED = "retired", _("已停用")


class ScorecardMethod(models.TextChoices):
    EXPERT = "expert", _("专家权重")
    LOGISTIC = "logistic", _("逻辑回归（平台贷款表现）")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("园区筛选中")
    SUBMITTED = "submitted", _("已报省级审核")
    APPROVED = "approved", _("已批准（现行）")
    RETURNED = "returned", _("已退回")
    SUPERSEDED = "superseded", _("已被新版本取代")


class EntrySource(models.TextChoices):
    SCREENED = "screened", _("筛选")
    PARK_ADDED = "park_added", _("园区推荐")
    APPLIED = "applied", _("企业申请")


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    INCLUDED = "included", _("已纳入白名单")
    NOT_INCLUDED = "not_included", _("未纳入")
    WITHDRAWN = "withdrawn", _("已撤回")


class DecisionOutcome(models.TextChoices):
    GRANTED = "granted", _("授信")
    DECLINED = "declined", _("不予授信")


class LineBasis(models.TextChoices):
    PATENT_CLUSTER = "patent_cluster", _("产业专利集群（IPC 组）")
    REGIONAL_BRAND = "regional_brand", _("区域商标品牌")


class LineStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    EXPIRED = "expired", _("已到期")
    WITHDRAWN = "withdrawn", _("已撤销")


class AllocationStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    RELEASED = "released", _("已释放")
