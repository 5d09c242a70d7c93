from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "verification"
    verbose_name = _("Personal verification")

    def ready(self) -> None:
        from accounts.identity import identity_kind_register

        from . import checks  # noqa: F401 - provider checks
        from .lifecycle import identity_kind_of
        from .models import PersonalVerification

        identity_kind_register(
            identity_kind_of(
                PersonalVerification,
                refusal_code="verified_as_person",
                refusal=_(
                    "This account is verified (or being verified) as a person. An account "
                    "verifies either as a person or as an enterprise: use a separate account "
                    "for the company."
                ),
            )
        )
