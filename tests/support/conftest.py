"""Staff members as the support desk sees them: in a group, with TOTP, signed in with it."""

from __future__ import annotations

import importlib
import time
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import User
from enterprise import services as enterprise_services
from enterprise.models import EnterpriseVerification
from tests.enterprise.conftest import DEMO_COMPANY, licence_upload
from tests.verification.conftest import details, make_member
from verification import services as personal_services
from verification.models import PersonalVerification
from verification.providers.base import CheckResult, ReasonCode

# A made-up TOTP secret for test staff; real secrets come from allauth's activation page.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(secret: str = TOTP_SECRET, offset: int = 0) -> str:
    """What the authenticator app shows now (``offset`` periods later or earlier)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset))


def ensure_groups() -> None:
    """The groups come from a data migration; a transactional test's flush empties them."""
    if Group.objects.filter(name__in=["Support", "Support lead"]).count() < 2:
        migration = importlib.import_module("support.migrations.0002_support_groups")
        migration.create_groups(django_apps, None)


def make_staff(group: str | None = "Support", *, totp: bool = True) -> User:
    ensure_groups()
    user = make_member()
    user.is_staff = True
    user.save()
    if group:
        user.groups.add(Group.objects.get(name=group))
    if totp:
        TOTP.activate(user, TOTP_SECRET)
    return user


def desk_client(user: User) -> Client:
    """A browser session of ``user`` signed in with phone code and TOTP, as allauth records it.
    (The log-in itself is driven through allauth in test_access and the browser test.)"""
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    session = client.session
    session["account_authentication_methods_user"] = str(user.pk)
    session["account_authentication_methods"] = [
        {"method": "code", "at": time.time(), "phone": "(test)"},
        {"method": "mfa", "at": time.time(), "type": "totp"},
    ]
    session.save()
    return client


@pytest.fixture
def support(db) -> User:
    return make_staff("Support")


@pytest.fixture
def lead(db) -> User:
    return make_staff("Support lead")


def failed_personal(user: User | None = None, **overrides: Any) -> PersonalVerification:
    verification = personal_services.verification_submit(
        user=user or make_member(), **details(**overrides)
    )
    return personal_services.verification_record_identity_result(
        verification_id=verification.pk,
        result=CheckResult(
            passed=False, reason_code=ReasonCode.NAME_NUMBER_MISMATCH, provider_ref="r-1"
        ),
    )


def errored_personal(user: User | None = None) -> PersonalVerification:
    verification = personal_services.verification_submit(user=user or make_member(), **details())
    for _ in range(2):
        personal_services.personal.record_provider_failure(
            verification_id=verification.pk, reason_code=ReasonCode.VENDOR_ERROR
        )
    return personal_services.personal.mark_error(
        verification_id=verification.pk, reason_code=ReasonCode.VENDOR_ERROR
    )


def pending_enterprise(user: User | None = None) -> EnterpriseVerification:
    verification = enterprise_services.enterprise_verification_submit(
        user=user or make_member(), **DEMO_COMPANY, licence=licence_upload()
    )
    return enterprise_services.enterprise_record_check_result(
        verification_id=verification.pk,
        result=CheckResult(passed=True, reason_code=ReasonCode.OK, provider_ref="e-1"),
    )


def detail_url(verification: PersonalVerification | EnterpriseVerification) -> str:
    return f"/admin/support/reviewqueue/{verification.kind}/{verification.public_id}/"


QUEUE = "/admin/support/reviewqueue/"
AUDIT = "/admin/support/auditentry/"
