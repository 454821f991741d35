from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketConfig(AppConfig):
    name = "ipledge.market"
    label = "market"
    verbose_name = _("产品与需求对接")
