from django.urls import path

from . import privacy_views as views

app_name = "privacy"
urlpatterns = [
    path("", views.your_data, name="your_data"),
    path("confirm/", views.reconfirm, name="reconfirm"),
    path("hide/", views.hide, name="hide"),
    path("export/", views.export, name="export"),
    path("consent/<slug:slug>/withdraw/", views.withdraw, name="withdraw"),
    path("close/", views.close, name="close"),
]
