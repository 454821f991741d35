from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistrationConfig(AppConfig):
    name = "ipledge.registration"
    label = "registration"
    verbose_name = _("质押登记")
