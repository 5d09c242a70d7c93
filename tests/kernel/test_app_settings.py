"""The one shape of an app's settings: the prefixed Django setting wins, the default written in
the app applies otherwise, and a value of the wrong type is refused with a message naming it."""

from __future__ import annotations

import pytest
from django.core.checks.registry import registry
from django.core.exceptions import ImproperlyConfigured

from enterprise.app_settings import app_settings as enterprise_settings
from kernel.app_settings import AppSettings, Setting
from kernel.checks import check_app_settings
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
        (verification_settings, "MAX_ATTEMPTS_PER_DAY", "VERIFICATION_MAX_ATTEMPTS_PER_DAY"),
        (enterprise_settings, "LICENCE_RENDER_TIMEOUT", "ENTERPRISE_LICENCE_RENDER_TIMEOUT"),
        (sandbox_settings, "TIMEOUT", "SANDBOX_PROVIDER_TIMEOUT"),
    ],
)
def test_every_app_reads_its_prefixed_setting(settings, app_settings, attribute, django_setting):
    declared = vars(type(app_settings))[attribute]
    value = 4 if declared.kind is int else 4.0 if declared.kind is float else "/somewhere/else"

    setattr(settings, django_setting, value)

    assert getattr(app_settings, attribute) == value


def test_every_declared_default_has_its_declared_type():
    checked = set()
    for declaration in AppSettings.__subclasses__():
        for setting in declaration.declared():
            setting.validate(setting.default())
        checked.add(declaration.__name__)

    assert checked >= {
        "VerificationSettings",
        "EnterpriseSettings",
        "SandboxSettings",
    }


def test_the_system_checks_report_a_wrong_type(settings):
    settings.VERIFICATION_MAX_ATTEMPTS_PER_DAY = "5"

    messages = check_app_settings(None)

    assert [(m.id, m.msg) for m in messages] == [
        (
            "realname.E001",
            "The VERIFICATION_MAX_ATTEMPTS_PER_DAY setting must be of type int, not str.",
        ),
    ]


def test_the_test_settings_pass_the_settings_check():
    assert check_app_settings in registry.get_checks()
    assert check_app_settings(None) == []
