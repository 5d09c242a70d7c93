from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KernelConfig(AppConfig):
    """Installed so that its system checks, its task and its key-rotation command are found."""

    name = "kernel"
    verbose_name = _("Kernel")

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the settings and encryption key checks
