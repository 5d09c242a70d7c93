from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest
from django.utils import translation
from stdnum.iso7064 import mod_11_2

from accounts.app_settings import app_settings as accounts_settings
from accounts.models import User
from accounts.selectors import legal_documents_current
from accounts.services import consent_accept

_phones = itertools.count(13700000000)

# The sandbox's built-in demo registry (sandbox/README.md).
DEMO: dict[str, Any] = {
    "name": "测试甲",
    "document_type": "cn_resident_id",
    "document_number": "110101199003079016",
    "birth_date": None,
}
DEMO_MINOR_NUMBER = "110101201506019090"


def resident_id(birth: str = "19900307", sequence: str = "001", region: str = "110105") -> str:
    """A made-up, well-formed resident ID number (valid GB 11643 check digit)."""
    base = f"{region}{birth}{sequence}"
    return base + mod_11_2.calc_check_digit(base)


def make_member(*, consents: tuple[str, ...] | None = None, face: bool = False) -> User:
    """A user with a verified mobile number who accepted the documents verification needs."""
    user = User.objects.create_user(phone=f"+86{next(_phones)}", phone_verified=True)
    slugs = consents if consents is not None else accounts_settings.VERIFICATION_DOCUMENTS
    if face:
        slugs = (*slugs, accounts_settings.FACE_DOCUMENT)
    consent_accept(
        user=user, documents=legal_documents_current(slugs), ip_address=None, user_agent=""
    )
    return user


@pytest.fixture
def member() -> User:
    return make_member()


def details(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "张三",
        "document_type": "cn_resident_id",
        "document_number": resident_id(),
        "birth_date": None,
        "today": date(2026, 11, 23),
        **overrides,
    }


@pytest.fixture(autouse=True)
def english():
    """Assertions read the English messages; the site's default language is Chinese. (Pages
    fetched through the test client follow their own Accept-Language instead.)"""
    with translation.override("en"):
        yield
