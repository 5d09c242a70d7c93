from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Signed webhooks to the host platform's endpoints: an event for every state change of a
    verification of an account linked to the platform, delivered by Celery with retries."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from verification.signals import state_changed

        from . import checks  # noqa: F401 - the endpoint URL rule
        from .services import event_record_state_change

        state_changed.connect(event_record_state_change, dispatch_uid="webhooks.state_changed")
