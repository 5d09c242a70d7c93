from django.urls import path

from . import views

app_name = "hostapi"
urlpatterns = [
    path("session/<uuid:public_id>/", views.session, name="session"),
]
