"""docker-compose.yml describes a production-like deployment. No Docker engine runs here, so the
file is parsed and checked for what a deployment needs."""

import re
from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
SECRETS = [
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "BLIND_INDEX_KEY",
    "POSTGRES_PASSWORD",
    "SANDBOX_PROVIDER_SECRET",
]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def command_of(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def test_has_the_services_of_a_deployment(compose):
    assert {"postgres", "redis", "migrate", "web", "worker", "beat", "sandbox"} <= set(
        compose["services"]
    )


def test_the_sandbox_provider_runs_as_its_own_service(compose):
    sandbox = compose["services"]["sandbox"]
    assert "run_sandbox_provider" in command_of(sandbox)
    assert sandbox["ports"] and "test" in sandbox["healthcheck"]
    for name in ("web", "worker"):
        env = compose["services"][name]["environment"]
        assert env["SANDBOX_PROVIDER_URL"] == "http://sandbox:8765"
        assert "SANDBOX_PROVIDER_SECRET" in env


def test_long_running_services_have_healthchecks(compose):
    for name in ("postgres", "redis", "web", "worker"):
        assert "test" in compose["services"][name]["healthcheck"], name


def test_app_services_wait_for_healthy_dependencies(compose):
    for name in ("migrate", "web", "worker", "beat"):
        depends = compose["services"][name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
    for name in ("web", "worker", "beat"):
        assert compose["services"][name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_processes_run_what_production_runs(compose):
    services = compose["services"]
    assert "gunicorn" in command_of(services["web"])
    assert "realname.wsgi" in command_of(services["web"])
    assert re.search(r"celery .*worker", command_of(services["worker"]))
    assert re.search(r"celery .*beat", command_of(services["beat"]))
    assert "migrate" in command_of(services["migrate"])


def test_app_services_use_production_settings_and_required_secrets(compose):
    raw = COMPOSE.read_text()
    for secret in SECRETS:
        # ${VAR:?message}: compose refuses to start when the secret is not provided.
        assert re.search(r"\$\{" + secret + r":\?[^}]+\}", raw), secret
        assert not re.search(r"\$\{" + secret + r":-", raw), f"{secret} must have no default"
    for name in ("migrate", "web", "worker", "beat"):
        env = compose["services"][name]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "realname.settings.production"
        for variable in (
            "SECRET_KEY",
            "DATABASE_URL",
            "REDIS_URL",
            "FIELD_ENCRYPTION_KEYS",
            "BLIND_INDEX_KEY",
            "ALLOWED_HOSTS",
        ):
            assert variable in env, (name, variable)


def test_database_and_redis_are_not_published_to_the_host(compose):
    assert "ports" not in compose["services"]["postgres"]
    assert "ports" not in compose["services"]["redis"]
    assert compose["services"]["web"]["ports"]


def test_licences_live_on_a_private_volume(compose):
    for name in ("web", "worker"):
        assert "private-data:/data/private" in compose["services"][name]["volumes"]
        assert compose["services"][name]["environment"]["PRIVATE_STORAGE_ROOT"] == "/data/private"
    assert "private-data" in compose["volumes"]


def test_app_services_get_the_providers_and_every_vendor_credential(compose):
    raw = COMPOSE.read_text()
    assert re.search(r"\$\{VERIFICATION_PROVIDERS:\?[^}]+\}", raw)
    for name in ("web", "worker", "beat"):
        env = compose["services"][name]["environment"]
        for variable in (
            "VERIFICATION_ROUTES",
            "ALIYUN_ACCESS_KEY_ID",
            "ALIYUN_ACCESS_KEY_SECRET",
            "TENCENT_SECRET_ID",
            "TENCENT_SECRET_KEY",
            "ALIPAY_APP_ID",
            "ALIPAY_APP_PRIVATE_KEY",
            "ALIPAY_PUBLIC_KEY",
        ):
            assert variable in env, (name, variable)
        # Opting into the sandbox in production is explicit, and off unless asked for.
        assert env["VERIFICATION_ALLOW_SANDBOX"] == "${VERIFICATION_ALLOW_SANDBOX:-false}"
