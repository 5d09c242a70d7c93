from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/consent/", views.consent, name="consent"),
    path("accounts/consent/face/", views.consent_face, name="consent_face"),
    path(
        "accounts/consent/face/withdraw/", views.consent_face_withdraw, name="consent_face_withdraw"
    ),
    path("legal/<slug:slug>/", views.legal_document, name="legal_document"),
    path("legal/<slug:slug>/v<int:version>/", views.legal_document, name="legal_document_version"),
]
