from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "ipledge.registry"
    label = "registry"
    verbose_name = _("园区、企业与知识产权登记簿")
