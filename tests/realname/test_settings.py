"""Production settings refuse to start without their secrets and pass Django's deploy checks;
their logs are JSON lines with personal data masked."""

import json
import logging
import logging.config
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from realname.settings.base import logging_config
from tests.helpers import database_url

BASE_DIR = Path(__file__).resolve().parents[2]
SECRETS = {
    "SECRET_KEY": "k9#Vq2$wLr8@Zp5!Xt3&Nm7*Bc1^Hy6(Jd4)Gf0-Ks2=Qe8+Tu3",
    "ALLOWED_HOSTS": "realname.example.com",
    "FIELD_ENCRYPTION_KEYS": "k1:dGVzdC1rZXktMzItYnl0ZXMtbG9uZy1mb3ItdGVzdHMh",
    "BLIND_INDEX_KEY": "a-long-random-blind-index-key-for-the-check",
    "SMS_BACKEND": "accounts.sms.filebased.SmsBackend",
    "VERIFICATION_PROVIDER": "verification.providers.sandbox.SandboxProvider",
    "SANDBOX_PROVIDER_SECRET": "a-long-random-shared-secret-for-the-sandbox",
}


def production_env(**overrides: str) -> dict[str, str]:
    dropped = {*SECRETS, "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(SECRETS)
    env["DJANGO_SETTINGS_MODULE"] = "realname.settings.production"
    env["DATABASE_URL"] = database_url(settings.DATABASES["default"])
    env["REDIS_URL"] = settings.REDIS_URL
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_reports_no_issues():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    "variable",
    [
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "REDIS_URL",
        "FIELD_ENCRYPTION_KEYS",
        "BLIND_INDEX_KEY",
        "VERIFICATION_PROVIDER",
    ],
)
def test_refuses_to_start_without_a_secret(variable):
    env = production_env()
    del env[variable]

    result = manage("check", env=env)

    assert result.returncode != 0
    assert f"Set the {variable} environment variable" in result.stderr


def test_deploy_check_refuses_a_development_sms_backend():
    env = production_env(SMS_BACKEND="accounts.sms.console.SmsBackend")

    result = manage("check", "--deploy", env=env)

    assert result.returncode != 0
    assert "accounts.E004" in result.stderr


def test_the_sandbox_provider_needs_its_shared_secret():
    env = production_env()
    del env["SANDBOX_PROVIDER_SECRET"]

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "verification.E003" in result.stderr


def test_production_format_is_masked_json_lines(capsys):
    logging.config.dictConfig(logging_config("json", "INFO"))
    try:
        logging.getLogger("realname.test").info("sms sent to %s", "+8613800138000")
    finally:
        logging.config.dictConfig(settings.LOGGING)

    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert record["message"] == "sms sent to [phone]"
    assert record["level"] == "INFO"
    assert record["logger"] == "realname.test"
