"""Licence views (owners' and staff's) for Support lead. Reviewing happens in the support desk
(support.admin), which is the only place staff see enterprise verifications."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import LicenceAccess


@admin.register(LicenceAccess)
class LicenceAccessAdmin(admin.ModelAdmin):
    list_display = ("verification", "user", "as_staff", "ip_address", "at")
    list_filter = ("as_staff",)
    readonly_fields = ("verification", "user", "as_staff", "ip_address", "at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
