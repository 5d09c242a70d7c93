from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxConfig(AppConfig):
    """Installed only for ``manage.py run_sandbox_provider``: no models, no database."""

    name = "sandbox"
    verbose_name = _("Sandbox vendor")
