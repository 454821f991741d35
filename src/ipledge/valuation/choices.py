"""Choice sets of valuation (知识产权评估)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Scenario(models.TextChoices):
    """The use a valuation serves (GB/T 42748-2023 selects indicators and weights per scenario)."""

    FINANCE = "finance", _("金融（质押融资）")
    LICENSING = "licensing", _("许可转让")


class ValuationStatus(models.TextChoices):
    """An automated valuation (机评) may be taken up by a valuation agency: prepared, then signed off by a second
    person of the agency (maker-checker), or returned."""

    COMPUTED = "computed", _("机评完成")
    SUBMITTED = "submitted", _("待复核")
    SIGNED_OFF = "signed_off", _("已签发")
    RETURNED = "returned", _("已退回")


class ValuationMethod(models.TextChoices):
    INDICATOR = "indicator", _("指标模型")
    INDICATOR_ML = "indicator_ml", _("指标模型 + 机器学习校验")


class ComparableKind(models.TextChoices):
    """Completed transactions that give the market approach its comparables."""

    TRANSFER = "transfer", _("转让")
    LICENCE = "licence", _("许可")
    DISPOSAL = "disposal", _("处置（拍卖/收储）")


class BatchStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("进行中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ModelLabel(models.TextChoices):
    """Revealed-value outcomes (显示价值) the learned layer is trained on."""

    MAINTAINED = "maintained", _("维持（未因欠费终止）")
    TRANSACTED = "transacted", _("发生转让或许可")
