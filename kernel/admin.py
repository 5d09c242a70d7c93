"""Admin helpers every app may use (Django's autodiscovery imports this module; it registers
nothing)."""

from __future__ import annotations

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """For records that are written only by services (audit logs, access logs, database views):
    the admin shows them and never adds, changes or deletes one. Put it before ``ModelAdmin``."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
