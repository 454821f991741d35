from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LendingConfig(AppConfig):
    name = "ipledge.lending"
    label = "lending"
    verbose_name = _("贷款")
