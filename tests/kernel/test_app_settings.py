"""The one shape of an app's settings: the prefixed Django setting wins, the default written in
the app applies otherwise, and a value of the wrong type is refused with a message naming it."""

from __future__ import annotations

import pytest
from django.core.checks.registry import registry
from django.core.exceptions import ImproperlyConfigured

from accounts.app_settings import app_settings as accounts_settings
from enterprise.app_settings import app_settings as enterprise_settings
from kernel.app_settings import AppSettings, Setting
from kernel.checks import check_app_settings, check_blind_index_key
from kernel.crypto import blind_index
from sandbox.app_settings import sandbox_settings
from verification.app_settings import app_settings as verification_settings


class ExampleSettings(AppSettings):
    prefix = "EXAMPLE_"

    LIMIT = Setting(int, 5, "A count.")
    TIMEOUT = Setting(float, 1.5, "Seconds.")
    NAME = Setting(str, "example", "A name.")


example = ExampleSettings()


def test_the_default_applies_until_the_prefixed_setting_is_set(settings):
    settings.LIMIT = 99  # the bare name belongs to nobody

    assert example.LIMIT == 5

    settings.EXAMPLE_LIMIT = 7

    assert example.LIMIT == 7
    assert ExampleSettings.LIMIT.name == "EXAMPLE_LIMIT"


def test_a_wrong_type_is_refused_by_name_without_showing_the_value(settings):
    settings.EXAMPLE_LIMIT = "five-secret"

    with pytest.raises(ImproperlyConfigured) as exc:
        _ = example.LIMIT

    assert str(exc.value) == "The EXAMPLE_LIMIT setting must be of type int, not str."
    assert "five-secret" not in str(exc.value)


def test_a_path_is_a_str(settings, tmp_path):
    settings.EXAMPLE_NAME = tmp_path / "file"

    assert str(tmp_path / "file") == example.NAME


def test_an_int_is_a_float_but_a_bool_is_no_int(settings):
    settings.EXAMPLE_TIMEOUT = 3
    settings.EXAMPLE_LIMIT = True

    assert example.TIMEOUT == 3.0
    assert isinstance(example.TIMEOUT, float)
    with pytest.raises(
        ImproperlyConfigured, match="EXAMPLE_LIMIT setting must be of type int, not bool"
    ):
        _ = example.LIMIT


@pytest.mark.parametrize(
    ("app_settings", "attribute", "django_setting"),
    [
        (accounts_settings, "SMS_BACKEND", "ACCOUNTS_SMS_BACKEND"),
        (accounts_settings, "SMS_SIGNATURE", "ACCOUNTS_SMS_SIGNATURE"),
        (verification_settings, "MAX_ATTEMPTS_PER_DAY", "VERIFICATION_MAX_ATTEMPTS_PER_DAY"),
        (enterprise_settings, "PRIVATE_STORAGE_ROOT", "ENTERPRISE_PRIVATE_STORAGE_ROOT"),
        (sandbox_settings, "TIMEOUT", "SANDBOX_PROVIDER_TIMEOUT"),
    ],
)
def test_every_app_reads_its_prefixed_setting(settings, app_settings, attribute, django_setting):
    declared = vars(type(app_settings))[attribute]
    value = 4 if declared.kind is int else 4.0 if declared.kind is float else "/somewhere/else"

    setattr(settings, django_setting, value)

    assert getattr(app_settings, attribute) == value


def test_accounts_no_longer_reads_the_bare_sms_names(settings):
    """The prefix accounts declares is the one it reads: SMS_SIGNATURE alone changes nothing."""
    del settings.ACCOUNTS_SMS_BACKEND
    settings.SMS_BACKEND = "accounts.sms.filebased.SmsBackend"
    settings.SMS_SIGNATURE = "acme"

    assert accounts_settings.SMS_BACKEND == "accounts.sms.console.SmsBackend"
    assert accounts_settings.SMS_SIGNATURE == "realname"


def test_defaults_derived_from_the_local_folder_follow_it(settings, tmp_path):
    """A callable default is computed at each read, from the setting it derives from."""
    settings.LOCAL_DIR = tmp_path
    del settings.ENTERPRISE_PRIVATE_STORAGE_ROOT

    assert str(tmp_path / "sms.jsonl") == accounts_settings.SMS_FILE_PATH
    assert str(tmp_path / "private") == enterprise_settings.PRIVATE_STORAGE_ROOT


def test_every_declared_default_has_its_declared_type():
    checked = set()
    for declaration in AppSettings.__subclasses__():
        for setting in declaration.declared():
            setting.validate(setting.default())
        checked.add(declaration.__name__)

    assert checked >= {
        "KernelSettings",
        "AccountsSettings",
        "VerificationSettings",
        "EnterpriseSettings",
        "SandboxSettings",
    }


def test_the_system_checks_report_a_wrong_type(settings):
    settings.VERIFICATION_MAX_ATTEMPTS_PER_DAY = "5"
    settings.REALNAME_BLIND_INDEX_KEY = b"bytes-are-not-a-key"

    messages = check_app_settings(None)

    assert sorted((m.id, m.msg) for m in messages) == [
        ("realname.E001", "The REALNAME_BLIND_INDEX_KEY setting must be of type str, not bytes."),
        (
            "realname.E001",
            "The VERIFICATION_MAX_ATTEMPTS_PER_DAY setting must be of type int, not str.",
        ),
    ]
    # The key's own check leaves the report to realname.E001 instead of crashing the run.
    assert check_blind_index_key(None) == []
    with pytest.raises(ImproperlyConfigured, match="REALNAME_BLIND_INDEX_KEY setting"):
        blind_index("x", purpose="test")


def test_the_system_checks_report_a_setting_left_under_its_old_name(settings):
    settings.SMS_BACKEND = "vendor.sms.Backend"
    settings.FIELD_ENCRYPTION_KEYS = ["k1:..."]
    settings.VERIFICATION_PROVIDER = "verification.providers.sandbox.SandboxProvider"

    warnings = {m.msg: m.hint for m in check_app_settings(None) if m.id == "realname.W002"}

    assert warnings == {
        "The SMS_BACKEND setting is no longer read.": "Rename it ACCOUNTS_SMS_BACKEND.",
        "The FIELD_ENCRYPTION_KEYS setting is no longer read.": (
            "Rename it REALNAME_FIELD_ENCRYPTION_KEYS."
        ),
        "The VERIFICATION_PROVIDER setting is no longer read.": (
            "Rename it VERIFICATION_PROVIDERS."
        ),
    }


def test_the_test_settings_pass_the_settings_check():
    assert check_app_settings in registry.get_checks()
    assert check_app_settings(None) == []
