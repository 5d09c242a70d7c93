"""Every bad upload from the enterprise issue, through the real form: the error stands next to
the licence field, the other fields keep what was typed, and nothing reaches the database or
the private storage. (The sanitiser's own cases are in tests/enterprise/test_licence_upload.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from enterprise.app_settings import app_settings as enterprise_settings
from enterprise.models import EnterpriseVerification
from tests.factories import DEMO_COMPANY, MemberFactory
from tests.licence_files import (
    attachment,
    encoded,
    halves,
    javascript_in_names,
    noisy_image,
    pdf_of,
    png_claiming,
    zip_archive,
)

pytestmark = pytest.mark.django_db


def stored_files() -> set[Path]:
    root = Path(enterprise_settings.PRIVATE_STORAGE_ROOT)
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


@pytest.mark.parametrize(
    ("name", "content_type", "make", "says"),
    [
        (
            "licence.jpg",
            "image/jpeg",
            lambda: b"<html><script>alert(1)</script></html>",
            "JPEG, PNG or PDF",
        ),
        ("licence.png", "image/png", lambda: encoded(noisy_image(), "PNG")[:2000], "damaged"),
        ("licence.pdf", "application/pdf", javascript_in_names, "active content"),
        ("licence.pdf", "application/pdf", attachment, "active content"),
        ("licence.zip", "application/zip", zip_archive, "JPEG, PNG or PDF"),
        ("licence.gif", "image/gif", lambda: encoded(halves(), "GIF"), "JPEG, PNG or PDF"),
        ("bomb.png", "image/png", lambda: png_claiming(60_000, 60_000), "pixels"),
        ("licence.png", "image/png", lambda: b"", "empty"),
        (
            "licence.pdf",
            "application/pdf",
            lambda: pdf_of(noisy_image())[:-4000] + b"%%EOF",
            "damaged",
        ),
    ],
    ids=[
        "html-as-jpeg",
        "truncated-png",
        "pdf-javascript",
        "pdf-attachment",
        "zip",
        "gif",
        "pixel-bomb",
        "empty",
        "pdf-cut-short",
    ],
)
def test_a_bad_licence_is_refused_next_to_the_field_and_nothing_is_stored(
    name, content_type, make, says
):
    client = Client(headers={"accept-language": "en"})
    client.force_login(MemberFactory.create())
    before = stored_files()

    response = client.post(
        "/verification/enterprise/",
        {**DEMO_COMPANY, "licence": SimpleUploadedFile(name, make(), content_type=content_type)},
    )

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == ["licence"]
    assert says.lower() in " ".join(errors["licence"]).lower()
    assert DEMO_COMPANY["company_name"] in response.content.decode()  # what was typed stays
    assert not EnterpriseVerification.objects.exists()
    assert stored_files() == before
