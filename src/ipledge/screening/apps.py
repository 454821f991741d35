from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "ipledge.screening"
    label = "screening"
    verbose_name = _("授信白名单")
