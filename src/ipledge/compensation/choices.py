"""Choice sets of the risk-compensation fund (风险补偿基金): funds, schemes, enrolments, claims, payments, ledger.

Claim states are numeric and spaced, like the loan's, so a state (the disposal issue's 处置中) can be inserted
later without renumbering. Labels are zh-hans source strings; English comes from the locale catalogue.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FundStatus(models.TextChoices):
    ACTIVE = "active", _("运行中")
    SUSPENDED = "suspended", _("暂停入池")
    CLOSED = "closed", _("已终止")


class SchemeStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING = "pending", _("待审批")
    PUBLISHED = "published", _("已发布")
    RETIRED = "retired", _("已停用")


class SharingMode(models.TextChoices):
    WHOLE = "whole", _("按余额所在档整体分担")
    MARGINAL = "marginal", _("按余额分段累进分担")


class ClaimTrigger(models.TextChoices):
    NON_PERFORMING = "non_performing", _("贷款进入不良（次级及以下）")
    DAYS_OVERDUE = "days_overdue", _("逾期达到规定天数")


class PartyRole(models.TextChoices):
    """Who shares a loss: the engine's role names."""

    FUND = "fund", _("补偿基金")
    BANK = "bank", _("银行")
    INSURER = "insurer", _("保险机构")
    GUARANTOR = "guarantor", _("担保机构")
    VALUER = "valuer", _("评估机构")
    SPONSOR = "sponsor", _("出资方")


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", _("在池")
    CLAIMED = "claimed", _("已申请代偿")
    RELEASED = "released", _("已出池")


# Enrolments that still consume the fund's leverage capacity.
OPEN_ENROLMENT_STATUSES = frozenset({EnrolmentStatus.ACTIVE, EnrolmentStatus.CLAIMED})


class ClaimStatus(models.IntegerChoices):
    FILED = 100, _("已申请")
    REVIEWED = 150, _("已初审")
    ADVANCE_PAID = 300, _("已先行拨付")
    CLEARING = 500, _("清算中")
    CLEARED = 600, _("已清算")
    REJECTED = 900, _("已驳回")
    WITHDRAWN = 910, _("已撤回")


CLOSED_CLAIM_STATUSES = frozenset({ClaimStatus.REJECTED, ClaimStatus.WITHDRAWN})
OPEN_CLAIM_STATUSES = frozenset(set(ClaimStatus) - CLOSED_CLAIM_STATUSES - {ClaimStatus.CLEARED})


class RecoveryKind(models.TextChoices):
    DISPOSAL = "disposal", _("质物处置")
    REPAYMENT = "repayment", _("借款人还款")
    GUARANTOR = "guarantor", _("保证人清偿")
    OTHER = "other", _("其他追偿")


class PaymentPurpose(models.TextChoices):
    CONTRIBUTION = "contribution", _("出资")
    ADVANCE = "advance", _("先行拨付")
    TRUE_UP = "true_up", _("清算结算")


class PaymentStatus(models.TextChoices):
    INSTRUCTED = "instructed", _("待支付")
    PAID = "paid", _("已支付")


class AccountKind(models.TextChoices):
    """The fund's chart of accounts (科目). Every entry's lines add up to zero."""

    CASH = "cash", _("基金专户存款")
    CAPITAL = "capital", _("出资")
    SETTLEMENT = "settlement", _("往来结算")
    EXPOSURE = "exposure", _("待清算代偿敞口")
    LOAN_BOOK = "loan_book", _("银行贷款本金")
    LOSS = "loss", _("最终损失分担")


class EntryKind(models.TextChoices):
    CONTRIBUTION = "contribution", _("出资到账")
    EXPOSURE = "exposure", _("确认代偿敞口")
    PAYMENT = "payment", _("代偿资金划付")
    RECOVERY = "recovery", _("追偿回收")
    CLEARING = "clearing", _("清算损失分担")
    REVERSAL = "reversal", _("冲正")


class FundAlertKind(models.TextChoices):
    IDLE = "idle", _("资金长期闲置")
    LEVERAGE = "leverage", _("放大倍数接近上限")
    LOW_BALANCE = "low_balance", _("基金余额不足")


class StressRunStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")
