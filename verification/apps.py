from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "verification"
    verbose_name = _("Personal verification")

    def ready(self) -> None:
        from accounts.identity import IdentityKind, identity_kind_register

        from . import checks  # noqa: F401 - provider checks
        from .models import Kind
        from .selectors import personal_active, personal_verified, verification_current

        identity_kind_register(
            IdentityKind(
                name=Kind.PERSONAL,
                verified=lambda user: personal_verified(user=user),
                active=lambda user: personal_active(user=user),
                current=lambda user: verification_current(user=user),
                refusal_code="verified_as_person",
                refusal=_(
                    "This account is verified (or being verified) as a person. An account "
                    "verifies either as a person or as an enterprise: use a separate account "
                    "for the company."
                ),
            )
        )
