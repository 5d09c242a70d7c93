from django.apps import AppConfig
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _


class KindConfig(AppConfig):
    """The config of an app that adds a kind of verification: when the app is ready, its
    Lifecycle (``lifecycle``, a dotted path) joins the ``accounts.identity`` registry, which
    the real-name gate, the profile and the person-or-enterprise rule read."""

    default = False  # a base, not this app's config
    default_auto_field = "django.db.models.BigAutoField"
    lifecycle: str

    def ready(self) -> None:
        from accounts.identity import identity_kind_register

        identity_kind_register(import_string(self.lifecycle).identity_kind())


class VerificationConfig(KindConfig):
    default = True
    name = "verification"
    verbose_name = _("Personal verification")
    lifecycle = "verification.services.personal"

    def ready(self) -> None:
        super().ready()
        from . import checks  # noqa: F401 - provider checks
