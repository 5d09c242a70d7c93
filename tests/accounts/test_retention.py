"""The privacy policy states the retention periods the settings enforce: version 2 states the
defaults, publishing it re-asks consent, and a setting that differs from the policy in force is
reported (accounts.W004). The job that enforces the closed accounts' period: test_erased_retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import legal
from accounts.checks import check_stated_retention_periods
from accounts.selectors import consent_missing
from accounts.services import legal_document_publish
from enterprise.app_settings import EnterpriseSettings
from kernel.app_settings import AppSettings
from tests.factories import MemberFactory
from verification.app_settings import VerificationSettings

pytestmark = pytest.mark.django_db


def test_version_2_states_the_default_periods_in_both_languages():
    periods = legal.stated_periods("privacy-policy", 2)
    classes: list[type[AppSettings]] = [VerificationSettings, EnterpriseSettings]
    classes += AppSettings.__subclasses__()
    declared = {setting.name: setting.default() for cls in classes for setting in cls.declared()}
    assert set(periods) == {
        "VERIFICATION_RETENTION_FAILED_DAYS",
        "VERIFICATION_RETENTION_ABANDONED_DAYS",
        "ENTERPRISE_LICENCE_RETENTION_DAYS",
        "ACCOUNTS_RETENTION_ERASED_DAYS",
    }
    assert all(declared[name] == days for name, days in periods.items())
    _, english = legal.read_source("privacy-policy", 2, "en")
    _, chinese = legal.read_source("privacy-policy", 2, "zh-hans")
    for text, day_word, years in ((english, " days", "3 years"), (chinese, " 日", "3 年")):
        assert f"30{day_word}" in text
        assert f"180{day_word}" in text
        assert years in text
        assert periods["ACCOUNTS_RETENTION_ERASED_DAYS"] == 3 * 365


def test_publishing_it_asks_for_consent_again_and_the_check_compares(settings):
    member = MemberFactory.create()
    assert consent_missing(user=member, slugs=["privacy-policy"]) == []
    assert check_stated_retention_periods(None) == []  # version 1 states no period

    legal_document_publish(
        slug="privacy-policy", version=2, effective_at=timezone.now() - timedelta(seconds=1)
    )
    assert [d.version for d in consent_missing(user=member, slugs=["privacy-policy"])] == [2]
    assert check_stated_retention_periods(None) == []

    settings.VERIFICATION_RETENTION_FAILED_DAYS = 60
    settings.ENTERPRISE_LICENCE_RETENTION_DAYS = 90
    warnings = check_stated_retention_periods(None)
    assert {w.id for w in warnings} == {"accounts.W004"}
    assert sorted(w.msg for w in warnings) == [
        "ENTERPRISE_LICENCE_RETENTION_DAYS is 90 days, but the privacy policy in force "
        "(version 2) states 180.",
        "VERIFICATION_RETENTION_FAILED_DAYS is 60 days, but the privacy policy in force "
        "(version 2) states 30.",
    ]
