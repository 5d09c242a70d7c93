from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    """Accounts as support staff see them: the phone masked, no password hash."""

    list_display = ["public_id", "masked_phone", "phone_verified", "is_staff", "date_joined"]
    list_filter = ["is_staff", "is_active", "phone_verified"]
    ordering = ["-date_joined"]
    readonly_fields = ["public_id", "masked_phone", "date_joined", "last_login"]
    fields = [
        "public_id",
        "masked_phone",
        "phone_verified",
        "email",
        "is_active",
        "is_staff",
        "groups",
        "date_joined",
        "last_login",
    ]
    show_full_result_count = False

    @admin.display(description=_("mobile number"))
    def masked_phone(self, obj: User) -> str:
        return obj.masked_phone
