from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HostApiConfig(AppConfig):
    """The host platform's side: API clients and their keys, verification sessions, the status
    API. It sits above every kind of verification and below the project package."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "hostapi"
    verbose_name = _("Host platform API")

    def ready(self) -> None:
        from . import checks  # noqa: F401 - settings checks
