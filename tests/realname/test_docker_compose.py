"""docker-compose.yml describes a production-like deployment. No Docker engine runs here, so the
file is parsed and checked for what a deployment needs."""

import ipaddress
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
    "POSTGRES_OWNER_PASSWORD",
    "POSTGRES_APP_PASSWORD",
    "TLS_CERTIFICATES_DIR",
]
APP_SERVICES = ("web", "worker", "beat", "sandbox")


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
        assert env["TRUSTED_PROXY_COUNT"]
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


def default_of(value: str) -> str:
    """``${NAME:-default}`` as compose reads it when NAME is unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def database_user(url: str) -> str:
    return url.removeprefix("postgres://").split(":", 1)[0]


def test_migrations_run_as_the_owner_and_the_app_as_a_role_that_owns_nothing(compose):
    services = compose["services"]
    postgres = services["postgres"]
    assert "./deploy/postgres/init:/docker-entrypoint-initdb.d:ro" in postgres["volumes"]
    script = COMPOSE.parent / "deploy" / "postgres" / "init" / "10-roles.sh"
    assert script.stat().st_mode & 0o111, "the init script must be executable"
    # The superuser is neither the owner nor the application role.
    assert postgres["environment"]["POSTGRES_USER"] not in ("realname", "realname_app")

    migrate = services["migrate"]
    assert database_user(migrate["environment"]["DATABASE_URL"]) == "realname"
    assert re.search(
        r"manage.py migrate .*&& python manage.py grant_app_role realname_app", command_of(migrate)
    )
    for name in APP_SERVICES:
        assert database_user(services[name]["environment"]["DATABASE_URL"]) == "realname_app"
    assert "POSTGRES_OWNER_PASSWORD" not in str(services["web"]["environment"])


def test_the_database_server_logs_no_details_of_errors(compose):
    from devstack.embedded import PRIVATE_LOG_SETTINGS

    command = compose["services"]["postgres"]["command"]
    options = dict(command[i + 1].split("=", 1) for i, part in enumerate(command) if part == "-c")
    assert options == PRIVATE_LOG_SETTINGS


def test_only_the_proxy_is_published_and_gunicorn_trusts_only_it(compose):
    services = compose["services"]
    published = {
        name: [default_of(str(port)).split(":")[-1] for port in service.get("ports", [])]
        for name, service in services.items()
    }
    assert sorted(published["proxy"]) == ["443", "80"]
    for name, ports in published.items():
        if name != "proxy":
            assert not {"80", "443", "8000"} & set(ports), name
    assert "ports" not in services["web"]

    proxy = services["proxy"]
    address = default_of(proxy["networks"]["default"]["ipv4_address"])
    web = command_of(services["web"])
    assert "--forwarded-allow-ips=*" not in web
    allowed = re.search(r"--forwarded-allow-ips=(\S+)", web)
    assert allowed and default_of(allowed[1]) == address
    subnet = default_of(compose["networks"]["default"]["ipam"]["config"][0]["subnet"])
    assert ipaddress.ip_address(address) in ipaddress.ip_network(subnet)

    assert "./deploy/nginx/templates:/etc/nginx/templates:ro" in proxy["volumes"]
    assert proxy["environment"]["PROXY_UPSTREAM"] == "web:8000"
    for name in ("web", "worker", "beat"):
        assert default_of(services[name]["environment"]["TRUSTED_PROXY_COUNT"]) == "1"


def test_the_proxy_takes_a_licence_of_the_largest_size_the_app_takes(compose):
    from enterprise.app_settings import EnterpriseSettings

    largest = int(
        default_of(compose["services"]["web"]["environment"]["ENTERPRISE_LICENCE_MAX_BYTES"])
    )
    assert largest == EnterpriseSettings.LICENCE_MAX_BYTES.default()
    limit = default_of(compose["services"]["proxy"]["environment"]["PROXY_MAX_BODY_SIZE"])
    assert limit.endswith("m") and int(limit[:-1]) * 1024 * 1024 > largest


def test_no_secret_has_a_default(compose):
    """A variable named like a secret is required (``:?``) or empty unless given (``:-}``)."""
    raw = COMPOSE.read_text()
    for name, default in re.findall(r"\$\{(\w+):-([^}]*)\}", raw):
        if re.search(r"SECRET|PASSWORD|KEY", name):
            assert default == "", f"{name} has a default"


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
