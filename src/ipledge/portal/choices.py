from django.db import models
from django.utils.translation import gettext_lazy as _


class PolicyKind(models.TextChoices):
    """What a policy (政策) offers an enterprise or a lender."""

    SUBSIDY = "subsidy", _("资金补贴")
    RISK_COMPENSATION = "risk_compensation", _("风险补偿")
    INTEREST_DISCOUNT = "interest_discount", _("贴息")
    GUARANTEE = "guarantee", _("担保费补助")
    INSURANCE = "insurance", _("保险费补助")
    VALUATION_SUPPORT = "valuation_support", _("评估费补助")
    CREDIT_SUPPORT = "credit_support", _("信贷支持")
    SERVICE = "service", _("服务措施")
    OTHER = "other", _("其他")


class PolicyStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    WITHDRAWN = "withdrawn", _("已撤回")


class ConsultationStatus(models.TextChoices):
    OPEN = "open", _("待答复")
    ANSWERED = "answered", _("已答复")
    CLOSED = "closed", _("已关闭")


class ServiceRequestKind(models.TextChoices):
    """What an enterprise asks its park's one-stop service centre (一站式服务中心) for."""

    VALUATION = "valuation", _("评估申请")
    FINANCING = "financing", _("融资需求")
    FILING = "filing", _("质押登记")
    POLICY = "policy", _("政策兑现")
    OTHER = "other", _("其他")


class ServiceRequestStatus(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    ACCEPTED = "accepted", _("已受理")
    COMPLETED = "completed", _("已办结")
    REJECTED = "rejected", _("不予受理")


OPEN_SERVICE_REQUEST_STATUSES = (ServiceRequestStatus.SUBMITTED, ServiceRequestStatus.ACCEPTED)
