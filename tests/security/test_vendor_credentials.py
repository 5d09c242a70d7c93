"""Vendor credentials never reach an error report: Django's error reports (the debug page, the
mails to ADMINS) mask settings by name, and every vendor secret's name must be one it masks."""

from __future__ import annotations

from django.views.debug import SafeExceptionReporterFilter

SECRETS = {
    "ALIYUN_ACCESS_KEY_SECRET": "aliyun-secret-value",
    "TENCENT_SECRET_KEY": "tencent-secret-value",
    "ALIPAY_APP_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----alipay-----END PRIVATE KEY-----",
    "SANDBOX_PROVIDER_SECRET": "sandbox-secret-value",
}


def test_error_reports_mask_every_vendor_secret(settings):
    for name, value in SECRETS.items():
        setattr(settings, name, value)

    safe = SafeExceptionReporterFilter().get_safe_settings()

    for name, value in SECRETS.items():
        assert safe[name] != value, name
        assert value not in repr(safe)
