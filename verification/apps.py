from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "verification"
    verbose_name = _("Personal verification")

    def ready(self) -> None:
        from accounts.identity import identity_kind_register

        from . import checks  # noqa: F401 - provider checks
        from .services import personal

        identity_kind_register(personal.identity_kind())
