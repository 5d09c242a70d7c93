from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    default = True
    default_auto_field = "django.db.models.BigAutoField"
    name = "support"
    verbose_name = _("Support desk")


class SupportAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with our admin site: log-in through allauth, second factor required."""

    default = False  # INSTALLED_APPS names it explicitly; SupportConfig is this module's default
    default_site = "support.admin_site.SupportAdminSite"
