from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ValuationConfig(AppConfig):
    name = "ipledge.valuation"
    label = "valuation"
    verbose_name = _("知识产权评估")
