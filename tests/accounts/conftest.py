from __future__ import annotations

import re

import pytest

from accounts.models import ConsentRecord, LegalDocument, User
from accounts.selectors import legal_document_current
from accounts.sms import locmem


@pytest.fixture
def outbox():
    locmem.outbox.clear()
    yield locmem.outbox
    locmem.outbox.clear()


def last_code(outbox, phone: str) -> str:
    for message in reversed(outbox):
        if message.to == phone and message.code:
            assert message.code in message.body
            return message.code
    raise AssertionError(f"no code was texted to {phone}")


SIGNUP_CONSENTS = {"consent_user-agreement": "on", "consent_privacy-policy": "on"}
CODE_RE = re.compile(r"\d{6}|[A-Z0-9]{6}")


def current(slug: str) -> LegalDocument:
    """The version of ``slug`` in force now; every shipped document is published in tests."""
    document = legal_document_current(slug)
    assert document is not None, f"{slug} is not published"
    return document


def first_record(user: User) -> ConsentRecord:
    record = ConsentRecord.objects.filter(user=user).first()
    assert record is not None
    return record
