"""Support staff see verifications masked; personal data is never shown in full here.
(Revealing a value, with an audit record, is a separate feature.)"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .documents import mask_document_number
from .models import PersonalVerification
from .services import verification_retry


@admin.register(PersonalVerification)
class PersonalVerificationAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "document_type",
        "masked_document_number",
        "status",
        "reason_code",
        "provider_failures",
        "created_at",
    )
    list_filter = ("status", "reason_code", "document_type")
    search_fields = ("public_id",)
    date_hierarchy = "created_at"
    actions = ("retry",)
    fields = (
        "public_id",
        "user",
        "document_type",
        "masked_document_number",
        "status",
        "reason_code",
        "provider_failures",
        "liveness_ref",
        "created_at",
        "identity_checked_at",
        "face_requested_at",
        "liveness_started_at",
        "completed_at",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description=_("document number"))
    def masked_document_number(self, obj: PersonalVerification) -> str:
        return mask_document_number(obj.document_number)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(
        description=_("Retry the provider call of verifications that need attention"),
        permissions=["change"],
    )
    def retry(self, request: HttpRequest, queryset: QuerySet[PersonalVerification]) -> None:
        retried = 0
        for verification in queryset.filter(status=PersonalVerification.Status.ERROR):
            try:
                verification_retry(verification=verification)
            except ValidationError as error:
                self.message_user(
                    request, f"{verification.public_id}: {error.messages[0]}", messages.WARNING
                )
            else:
                retried += 1
        self.message_user(request, _("%(count)d retried.") % {"count": retried})
