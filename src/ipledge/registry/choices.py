"""Choice sets of the registry (登记簿): parks, enterprises and IP rights."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ParkLevel(models.TextChoices):
    NATIONAL = "national", _("国家级")
    PROVINCIAL = "provincial", _("省级")
    OTHER = "other", _("其他")


class ParkKind(models.TextChoices):
    HITECH = "hitech", _("高新区")
    ETDZ = "etdz", _("经开区")
    OTHER = "other", _("其他")


class SizeClass(models.TextChoices):
    LARGE = "large", _("大型")
    MEDIUM = "medium", _("中型")
    SMALL = "small", _("小型")
    MICRO = "micro", _("微型")


class IPKind(models.TextChoices):
    PATENT = "patent", _("专利")
    TRADEMARK = "trademark", _("商标")
    COPYRIGHT = "copyright", _("著作权")
    IC_LAYOUT = "ic_layout", _("集成电路布图设计")


class PatentType(models.TextChoices):
    INVENTION = "invention", _("发明")
    UTILITY_MODEL = "utility_model", _("实用新型")
    DESIGN = "design", _("外观设计")
    PCT_INVENTION = "pct_invention", _("PCT发明（进入国家阶段）")
    PCT_UTILITY_MODEL = "pct_utility_model", _("PCT实用新型（进入国家阶段）")


class CopyrightWorkKind(models.TextChoices):
    SOFTWARE = "software", _("计算机软件")
    WORK = "work", _("作品")


class LegalStatus(models.TextChoices):
    PENDING = "pending", _("审查中")
    VALID = "valid", _("有效")
    LAPSED = "lapsed", _("未缴年费终止")
    EXPIRED = "expired", _("期限届满")
    INVALIDATED = "invalidated", _("被宣告无效")
    ABANDONED = "abandoned", _("放弃")
    REVOKED = "revoked", _("撤销")
