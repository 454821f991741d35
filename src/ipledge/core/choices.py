"""Choice sets for organisations, roles and regions (core).

Labels are zh-hans source strings; English comes from the locale catalogue.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("省级")
    CITY = "city", _("地市级")
    COUNTY = "county", _("区县级")


class OrganisationKind(models.TextChoices):
    """Kinds of organisation that log into one deployment."""

    IP_OFFICE = "ip_office", _("知识产权局")
    FINANCIAL_REGULATOR = "financial_regulator", _("金融监管局")
    DEVELOPMENT_REFORM = "development_reform", _("发展改革委")
    PARK_ADMIN = "park_admin", _("园区管委会")
    ENTERPRISE = "enterprise", _("企业")
    BANK = "bank", _("银行")
    INSURER = "insurer", _("保险机构")
    GUARANTOR = "guarantor", _("担保机构")
    VALUER = "valuer", _("评估机构")
    FUND_MANAGER = "fund_manager", _("风险补偿基金管理机构")
    DISPOSAL_PLATFORM = "disposal_platform", _("知识产权交易/处置平台")
    PATENT_AGENCY = "patent_agency", _("专利代理机构")


class AdminLevel(models.TextChoices):
    """Administrative level of a government body (IP office, regulator, NDRC)."""

    NATIONAL = "national", _("国家级")
    PROVINCIAL = "provincial", _("省级")
    MUNICIPAL = "municipal", _("市级")
    COUNTY = "county", _("县级")


class BankTier(models.TextChoices):
    HEAD_OFFICE = "head_office", _("总行")
    BRANCH = "branch", _("分行")
    SUB_BRANCH = "sub_branch", _("支行")
    TECH_SUB_BRANCH = "tech_sub_branch", _("科技支行")


class Role(models.TextChoices):
    ADMIN = "admin", _("管理员")
    OPERATOR = "operator", _("经办人")
    REVIEWER = "reviewer", _("复核人")
    VIEWER = "viewer", _("查看者")


GOVERNMENT_KINDS = frozenset(
    {OrganisationKind.IP_OFFICE, OrganisationKind.FINANCIAL_REGULATOR, OrganisationKind.DEVELOPMENT_REFORM}
)
