from django.contrib import admin
from django.urls import include, path

from . import metrics, views
from .api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("recharge/", views.recharge, name="recharge"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/data/", include("realname.privacy_urls")),
    path("", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("verification/", include("verification.urls")),
    path("verification/enterprise/", include("enterprise.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("verify/", include("hostapi.urls")),
]

handler429 = "kernel.views.too_many_requests"
