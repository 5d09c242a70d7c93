"""Settings of the accounts app (the kernel's ``AppSettings`` shape).

Read them as ``app_settings.SMS_BACKEND``; the Django setting is the name with the prefix,
``ACCOUNTS_SMS_BACKEND``. The settings package fills it from the ``SMS_BACKEND`` environment
variable, the name deployers already use."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from kernel.app_settings import AppSettings, Setting


class AccountsSettings(AppSettings):
    prefix = "ACCOUNTS_"

    SMS_BACKEND = Setting(
        str,
        "accounts.sms.console.SmsBackend",
        "The SMS backend, as Django's EMAIL_BACKEND: a dotted path or a short name (aliyun, "
        "tencent, file, console, locmem); several separated by commas are tried in that order "
        "when a carrier fails (``aliyun,tencent``).",
        formerly="SMS_BACKEND",
    )
    SMS_FILE_PATH = Setting(
        str,
        lambda: str(Path(settings.LOCAL_DIR) / "sms.jsonl"),
        "Where the file backend appends one JSON object per message.",
        formerly="SMS_FILE_PATH",
    )
    SMS_SIGNATURE = Setting(
        str,
        "realname",
        "The 【signature】 that mainland carriers require at the start of every text.",
        formerly="SMS_SIGNATURE",
    )

    SMS_TIMEOUT = Setting(
        float, 5.0, "Seconds one carrier call may take (connect, then read) before it fails."
    )

    # Aliyun SMS (dysmsapi 2017-05-25), accounts.sms.aliyun.
    SMS_ALIYUN_ACCESS_KEY_ID = Setting(
        str, "", "A RAM user's AccessKey ID allowed to send SMS (AliyunDysmsFullAccess)."
    )
    SMS_ALIYUN_ACCESS_KEY_SECRET = Setting(str, "", "The AccessKey secret that goes with it.")
    SMS_ALIYUN_ENDPOINT = Setting(
        str,
        "https://dysmsapi.aliyuncs.com",
        "Where SendSms is called: scheme and host[:port] (the sandbox's URL in development).",
    )
    SMS_ALIYUN_SIGN_NAME = Setting(
        str, "", "The approved signature's name (SignName); empty: SMS_SIGNATURE."
    )
    SMS_ALIYUN_TEMPLATE_CODE = Setting(
        str, "", "TemplateCode of the verification-code template, with a ${code} variable."
    )
    SMS_ALIYUN_TEMPLATE_ACCOUNT_EXISTS = Setting(
        str,
        "",
        'TemplateCode of "someone tried to sign up with your number" (no variables); empty: '
        "that text is not sent by Aliyun.",
    )
    SMS_ALIYUN_TEMPLATE_UNKNOWN_ACCOUNT = Setting(
        str,
        "",
        'TemplateCode of "someone asked for a log-in code, but no account uses this number" '
        "(no variables); empty: that text is not sent by Aliyun.",
    )

    # Tencent Cloud SMS (sms 2021-01-11), accounts.sms.tencent.
    SMS_TENCENT_SECRET_ID = Setting(str, "", "The API key's SecretId (CAM), allowed to send SMS.")
    SMS_TENCENT_SECRET_KEY = Setting(str, "", "The SecretKey that goes with it.")
    SMS_TENCENT_ENDPOINT = Setting(
        str,
        "https://sms.tencentcloudapi.com",
        "Where SendSms is called: scheme and host[:port] (the sandbox's URL in development).",
    )
    SMS_TENCENT_REGION = Setting(str, "ap-guangzhou", "The X-TC-Region of the SMS application.")
    SMS_TENCENT_SDK_APP_ID = Setting(str, "", "The SMS application's SmsSdkAppId (SMS console).")
    SMS_TENCENT_SIGN_NAME = Setting(
        str, "", "The approved signature's content (SignName); empty: SMS_SIGNATURE."
    )
    SMS_TENCENT_TEMPLATE_CODE = Setting(
        str, "", "TemplateId of the verification-code template, whose {1} is the code."
    )
    SMS_TENCENT_TEMPLATE_ACCOUNT_EXISTS = Setting(
        str,
        "",
        'TemplateId of "someone tried to sign up with your number" (no parameters); empty: '
        "that text is not sent by Tencent.",
    )
    SMS_TENCENT_TEMPLATE_UNKNOWN_ACCOUNT = Setting(
        str,
        "",
        'TemplateId of "someone asked for a log-in code, but no account uses this number" '
        "(no parameters); empty: that text is not sent by Tencent.",
    )
    RECONFIRM_WINDOW = Setting(
        int,
        300,
        "Seconds a fresh SMS code re-confirmation opens the personal values on the Your data "
        "page, the export and account closing.",
    )
    RECONFIRM_CODE_TIMEOUT = Setting(
        int, 300, "Seconds a re-confirmation code texted for Your data stays valid."
    )

    # Not settings: the legal documents each step asks for are part of the product.
    SIGNUP_DOCUMENTS: tuple[str, ...] = ("user-agreement", "privacy-policy")
    """Legal documents accepted with separate checkboxes at sign-up."""
    REALNAME_SERVICE_DOCUMENT = "realname-service"
    """Withdrawing it ends the account's completed verification (``consent_withdraw``)."""
    VERIFICATION_DOCUMENTS: tuple[str, ...] = (*SIGNUP_DOCUMENTS, REALNAME_SERVICE_DOCUMENT)
    """Accepted before verification starts (and so before any guarded action)."""
    FACE_DOCUMENT = "face-rules"
    """Sensitive personal information: its own checkbox, right before any face step."""
    WITHDRAWABLE_DOCUMENTS: tuple[str, ...] = ("face-rules", "realname-service")
    """Consents a person can withdraw and keep the account (the others are the account)."""

    RETENTION_ERASED_DAYS = Setting(
        int,
        3 * 365,
        "Days the minimal record of a closed account (that it was verified, when, with which "
        "document type and provider, and its consent records) is kept after closure, as the law "
        "requires, before it is deleted by the ``accounts.erased`` retention job. Stated in the "
        "privacy policy. Environment: ``ACCOUNTS_RETENTION_ERASED_DAYS``.",
    )


app_settings = AccountsSettings()
