from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "verification"
    verbose_name = _("Personal verification")

    def ready(self) -> None:
        from . import checks  # noqa: F401 - provider checks
