from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from kernel.dbroles import app_role_may_execute, app_role_reads_only

        from . import checks  # noqa: F401 - registers the system checks
        from .personkeys import register
        from .retention import FLOOR_TABLE, PURGE_FUNCTION

        register()  # the store kernel.crypto keeps person keys in
        # What ``manage.py grant_app_role`` gives the application role beyond rows.
        app_role_may_execute(PURGE_FUNCTION)
        app_role_reads_only(FLOOR_TABLE)
