"""Production settings refuse to start without their secrets and pass Django's deploy checks;
the environment sets an app's setting only when it gives one; importing settings has no side
effects. Production logs are JSON lines with personal data masked."""

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
    "VERIFICATION_PROVIDERS": "sandbox",
    "VERIFICATION_ALLOW_SANDBOX": "true",
    "SANDBOX_PROVIDER_SECRET": "a-long-random-shared-secret-for-the-sandbox",
    "TRUSTED_PROXY_COUNT": "1",
    "PUBLIC_URL": "https://realname.example.com",
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
        "SMS_BACKEND",
        "VERIFICATION_PROVIDERS",
        "TRUSTED_PROXY_COUNT",
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


def dev_env(local_dir: Path, **variables: str) -> dict[str, str]:
    """The development settings with nothing configured: no Redis, no app variables."""
    unset = {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", *SECRETS}
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in unset and not k.startswith(("SMS_", "SANDBOX_PROVIDER_", "VERIFICATION_"))
    }
    env.update(DJANGO_SETTINGS_MODULE="realname.settings.dev", REALNAME_LOCAL_DIR=str(local_dir))
    env.update(variables)
    return env


def python(code: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


READ_APP_SETTINGS = """
import json
from django.conf import settings
from accounts.app_settings import app_settings as accounts
from enterprise.app_settings import app_settings as enterprise
from kernel.app_settings import app_settings as kernel
names = ["ACCOUNTS_SMS_SIGNATURE", "ENTERPRISE_PRIVATE_STORAGE_ROOT",
         "REALNAME_HEALTHZ_WORKER_TIMEOUT", "VERIFICATION_MAX_ATTEMPTS_PER_DAY"]
print(json.dumps({
    "set": sorted(name for name in names if hasattr(settings, name)),
    "values": [accounts.SMS_SIGNATURE, enterprise.PRIVATE_STORAGE_ROOT,
               kernel.HEALTHZ_WORKER_TIMEOUT],
}))
"""


def test_an_app_setting_comes_from_the_environment_only_when_given(tmp_path):
    unset = json.loads(python(READ_APP_SETTINGS, dev_env(tmp_path / "local")))
    given = json.loads(
        python(
            READ_APP_SETTINGS,
            dev_env(
                tmp_path / "local",
                SMS_SIGNATURE="acme",
                PRIVATE_STORAGE_ROOT="/srv/private",
                HEALTHZ_WORKER_TIMEOUT="0.25",
                VERIFICATION_MAX_ATTEMPTS_PER_DAY="3",
            ),
        )
    )

    # Unset: the settings package sets nothing, and the app's own default applies.
    assert unset == {
        "set": [],
        "values": ["realname", str(tmp_path / "local" / "private"), 1.5],
    }
    assert given == {
        "set": [
            "ACCOUNTS_SMS_SIGNATURE",
            "ENTERPRISE_PRIVATE_STORAGE_ROOT",
            "REALNAME_HEALTHZ_WORKER_TIMEOUT",
            "VERIFICATION_MAX_ATTEMPTS_PER_DAY",
        ],
        "values": ["acme", "/srv/private", 0.25],
    }


def test_importing_the_settings_makes_no_folder_and_the_broker_makes_its_own(tmp_path):
    """Without Redis the filesystem broker needs its folders: the Celery app makes them when a
    process first uses it, not the settings module when anything imports it."""
    local_dir = tmp_path / "local"
    env = dev_env(local_dir)

    python("from django.conf import settings; print(settings.CELERY_BROKER_URL)", env)

    assert not local_dir.exists()

    python("from realname.celery import app; app.connection_for_write().close()", env)

    assert (local_dir / "broker" / "queue").is_dir()
    assert (local_dir / "broker" / "processed").is_dir()


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


def test_production_refuses_the_sandbox_unless_allowed():
    env = production_env()
    del env["VERIFICATION_ALLOW_SANDBOX"]

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "VERIFICATION_ALLOW_SANDBOX" in result.stderr


def test_routes_from_the_environment_are_read_and_malformed_ones_refused():
    from realname.settings.base import parse_routes

    assert parse_routes("cn_resident_id=aliyun+tencent; tw_travel_permit=alipay") == {
        "cn_resident_id": ["aliyun", "tencent"],
        "tw_travel_permit": ["alipay"],
    }
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="part 2"):
        parse_routes("cn_resident_id=aliyun;alipay")


READ_DATABASE = """
import json
from django.conf import settings
database = settings.DATABASES["default"]
print(json.dumps({"pool": database.get("OPTIONS", {}).get("pool"),
                  "max_age": database["CONN_MAX_AGE"]}))
"""


def test_production_connections_come_from_a_pool_sized_by_the_environment():
    default = json.loads(python(READ_DATABASE, production_env()))
    sized = json.loads(
        python(
            READ_DATABASE,
            production_env(
                DATABASE_POOL_MAX_SIZE="4", DATABASE_POOL_MIN_SIZE="2", DATABASE_POOL_TIMEOUT="3"
            ),
        )
    )
    without = json.loads(python(READ_DATABASE, production_env(DATABASE_POOL_MAX_SIZE="0")))

    # A pool needs CONN_MAX_AGE 0 (closing gives the connection back), Django refuses otherwise.
    assert default == {"pool": {"min_size": 1, "max_size": 8, "timeout": 10.0}, "max_age": 0}
    assert sized == {"pool": {"min_size": 2, "max_size": 4, "timeout": 3.0}, "max_age": 0}
    # No pool: one persistent connection per thread, as before.
    assert without == {"pool": None, "max_age": 60}
