from django.urls import path

from . import views

app_name = "verification"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("personal/", views.personal_start, name="personal_start"),
    path("personal/<uuid:public_id>/", views.personal_status, name="personal_status"),
    path(
        "personal/<uuid:public_id>/status.json",
        views.personal_status_poll,
        name="personal_status_poll",
    ),
    path("personal/<uuid:public_id>/face/", views.personal_face, name="personal_face"),
    path("personal/<uuid:public_id>/return/", views.personal_return, name="personal_return"),
    path("provider/notify/", views.provider_notify, name="provider_notify"),
    path("provider/<slug:provider>/notify/", views.provider_notify, name="provider_notify_named"),
]
