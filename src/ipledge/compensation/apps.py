from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CompensationConfig(AppConfig):
    name = "ipledge.compensation"
    label = "compensation"
    verbose_name = _("风险补偿基金")
