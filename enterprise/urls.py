from django.urls import path

from . import views

app_name = "enterprise"
urlpatterns = [
    path("", views.start, name="start"),
    path("<uuid:public_id>/", views.status, name="status"),
    path("<uuid:public_id>/status.json", views.status_poll, name="status_poll"),
    path("<uuid:public_id>/licence/", views.licence_file, name="licence"),
]
