"""Licence views (owners' and staff's) for Support lead. Reviewing happens in the support desk
(support.admin), which is the only place staff see enterprise verifications."""

from __future__ import annotations

from django.contrib import admin

from kernel.admin import ReadOnlyAdminMixin

from .models import LicenceAccess


@admin.register(LicenceAccess)
class LicenceAccessAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("verification", "user", "as_staff", "ip_address", "at")
    list_filter = ("as_staff",)
    readonly_fields = ("verification", "user", "as_staff", "ip_address", "at")
