"""API clients in the admin, for staff with ``hostapi.manage_api_clients``: create one (its
key is shown once, on the page that answers the form, and never stored or logged in clear),
rotate its key with an overlap, revoke it; its keys by prefix; the call log; sessions and
links, read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from kernel.admin import ReadOnlyAdminMixin

from . import services
from .forms import ApiClientForm, RotateForm
from .models import AccountLink, ApiCall, ApiClient, ApiKey, VerificationSession

PERMISSION = "hostapi.manage_api_clients"
ISSUED_KEY = "_hostapi_issued_key"


class ManageApiClientsMixin:
    """Every page here is for staff with the one permission."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERMISSION)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm(PERMISSION)


class ReadOnlyManaged(ManageApiClientsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ("prefix", "created_at", "expires_at", "last_used_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm(PERMISSION)


def _key_page(request: HttpRequest, client: ApiClient, key: str, title: str) -> HttpResponse:
    """The one page that shows a key: answered to the POST that issued it, never cached."""
    response = TemplateResponse(
        request,
        "admin/hostapi/key_issued.html",
        {
            **admin.site.each_context(request),
            "title": title,
            "client": client,
            "key": key,
            "change_url": reverse("admin:hostapi_apiclient_change", args=[client.pk]),
        },
    )
    add_never_cache_headers(response)
    response["Cache-Control"] += ", no-store"
    return response


@admin.register(ApiClient)
class ApiClientAdmin(ManageApiClientsMixin, admin.ModelAdmin):
    form = ApiClientForm
    list_display = ("name", "scope_list", "active", "created_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name",)
    readonly_fields = ("public_id", "created_at", "created_by", "revoked_at", "actions_links")
    inlines = (ApiKeyInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERMISSION)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm(PERMISSION)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # revoked, not deleted: the call log and links keep pointing at it

    def get_fields(self, request: HttpRequest, obj: ApiClient | None = None) -> Any:
        fields = ["name", "scopes", "return_urls"]
        return fields if obj is None else [*fields, *self.readonly_fields]

    @admin.display(description=gettext_lazy("scopes"))
    def scope_list(self, client: ApiClient) -> str:
        return ", ".join(client.scopes)

    @admin.display(description=gettext_lazy("active"), boolean=True)
    def active(self, client: ApiClient) -> bool:
        return client.is_active

    @admin.display(description=gettext_lazy("key"))
    def actions_links(self, client: ApiClient) -> str:
        if not client.is_active:
            return _("Revoked: its keys no longer work.")
        return format_html(
            '<a class="button" href="{}">{}</a> <a class="button" href="{}">{}</a>',
            reverse("admin:hostapi_apiclient_rotate", args=[client.pk]),
            _("Rotate the key"),
            reverse("admin:hostapi_apiclient_revoke", args=[client.pk]),
            _("Revoke"),
        )

    def save_model(self, request: HttpRequest, obj: ApiClient, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            services.api_client_update(
                client=obj,
                name=data["name"],
                scopes=data["scopes"],
                return_urls=data["return_urls"],
            )
            return
        creator = request.user if isinstance(request.user, User) else None
        client, issued = services.api_client_create(
            name=data["name"],
            scopes=data["scopes"],
            return_urls=data["return_urls"],
            created_by=creator,
        )
        obj.pk, obj.public_id, obj.created_at = client.pk, client.public_id, client.created_at
        setattr(request, ISSUED_KEY, issued.key)

    def response_add(
        self, request: HttpRequest, obj: ApiClient, post_url_continue: Any = None
    ) -> HttpResponse:
        key = getattr(request, ISSUED_KEY, None)
        if key is None:
            return super().response_add(request, obj, post_url_continue)
        return _key_page(request, obj, key, _("API client created"))

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/rotate/", wrap(self.rotate_view), name="hostapi_apiclient_rotate"),
            path("<int:pk>/revoke/", wrap(self.revoke_view), name="hostapi_apiclient_revoke"),
            *super().get_urls(),
        ]

    def _client_for(self, request: HttpRequest, pk: int) -> ApiClient:
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        return get_object_or_404(ApiClient, pk=pk)

    def rotate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        client = self._client_for(request, pk)
        if not client.is_active:
            messages.error(request, _("A revoked client's key cannot be rotated."))
            return HttpResponseRedirect(reverse("admin:hostapi_apiclient_change", args=[pk]))
        form = RotateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            issued = services.api_client_rotate_key(
                client=client, overlap=form.cleaned_data["overlap"]
            )
            return _key_page(request, client, issued.key, _("New key issued"))
        return TemplateResponse(
            request,
            "admin/hostapi/rotate.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Rotate the key"),
                "client": client,
                "form": form,
                "opts": self.opts,
            },
        )

    def revoke_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        client = self._client_for(request, pk)
        if request.method == "POST":
            services.api_client_revoke(client=client)
            messages.success(
                request, _("%(name)s revoked: its keys no longer work.") % {"name": client.name}
            )
            return HttpResponseRedirect(reverse("admin:hostapi_apiclient_change", args=[pk]))
        return TemplateResponse(
            request,
            "admin/hostapi/revoke.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Revoke the API client"),
                "client": client,
                "opts": self.opts,
            },
        )


@admin.register(ApiCall)
class ApiCallAdmin(ReadOnlyManaged):
    list_display = ("at", "client", "method", "operation", "status_code")
    list_filter = ("client", "status_code", "operation")
    date_hierarchy = "at"
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiCall]:
        return super().get_queryset(request).select_related("client")


@admin.register(VerificationSession)
class VerificationSessionAdmin(ReadOnlyManaged):
    list_display = (
        "public_id",
        "client",
        "kind",
        "status",
        "created_at",
        "expires_at",
        "completed_at",
    )
    list_filter = ("client", "status", "kind")
    search_fields = ("=public_id", "=reference")
    exclude = ("user",)


@admin.register(AccountLink)
class AccountLinkAdmin(ReadOnlyManaged):
    list_display = ("client", "reference", "created_at")
    list_filter = ("client",)
    search_fields = ("=reference",)
    exclude = ("user",)
