"""Behind the shipped proxy (deploy/nginx, a real nginx process in front of the site), clients
stay distinct: two clients get a limit each, a client cannot pick its address by sending
X-Forwarded-For itself, and the consent record keeps the real client's address. The loopback
range gives each client an address of its own (127.0.0.2, 127.0.0.3, ...)."""

from __future__ import annotations

import datetime
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from accounts.models import ConsentRecord
from devstack.embedded import free_port

BASE_DIR = Path(__file__).resolve().parents[2]
TEMPLATE = BASE_DIR / "deploy" / "nginx" / "templates" / "realname.conf.template"
CONSENTS = {"consent_user-agreement": "on", "consent_privacy-policy": "on"}

pytestmark = pytest.mark.django_db(transaction=True)


def self_signed(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (folder / "fullchain.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def render(template: str, variables: dict[str, str]) -> str:
    """What the nginx image does at start (envsubst over the variables it is given)."""
    rendered = re.sub(r"\$\{(\w+)\}", lambda m: variables.get(m[1], m[0]), template)
    assert "${" not in rendered, "the template uses a variable compose does not give"
    return rendered


@pytest.fixture
def proxy(live_server) -> Iterator[str]:
    """nginx with the shipped server blocks, in front of the live test server; its HTTPS URL."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "install nginx to run this test (apt install nginx-light)"
    folder = Path(tempfile.mkdtemp(prefix="realname-proxy-test-"))
    self_signed(folder)
    https_port = free_port()
    upstream = live_server.url.removeprefix("http://")
    (folder / "realname.conf").write_text(
        render(
            TEMPLATE.read_text(),
            {
                "PROXY_UPSTREAM": upstream,
                "PROXY_HTTP_PORT": f"127.0.0.1:{free_port()}",
                "PROXY_HTTPS_PORT": f"127.0.0.1:{https_port}",
                "PROXY_TLS_DIR": str(folder),
                "PROXY_MAX_BODY_SIZE": "11m",
            },
        )
    )
    temp_paths = (
        "\n".join(
            f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi")
        )
        + f"\nuwsgi_temp_path {folder / 'uwsgi'};\nscgi_temp_path {folder / 'scgi'};"
    )
    (folder / "nginx.conf").write_text(
        f"""
daemon off;
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} notice;
events {{ worker_connections 64; }}
http {{
    access_log {folder / "access.log"};
    {temp_paths}
    include {folder / "realname.conf"};
}}
"""
    )
    process = subprocess.Popen(
        [
            nginx,
            "-p",
            str(folder),
            "-c",
            str(folder / "nginx.conf"),
            "-e",
            str(folder / "error.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"https://localhost:{https_port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not answer"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def client_from(address: str) -> httpx.Client:
    return httpx.Client(
        transport=httpx.HTTPTransport(local_address=address, verify=False),
        headers={"Accept-Language": "en"},
        timeout=30,
    )


def sign_up(client: httpx.Client, url: str, phone: str, **headers: str) -> httpx.Response:
    page = client.get(f"{url}/accounts/signup/", headers=headers)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.status_code
    return client.post(
        f"{url}/accounts/signup/",
        data={"csrfmiddlewaretoken": token[1], "phone": phone, **CONSENTS},
        headers={"Referer": f"{url}/accounts/signup/", **headers},
    )


@pytest.fixture
def behind_one_proxy(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    settings.CSRF_TRUSTED_ORIGINS = ["https://localhost:*"]
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/m/ip"}


def test_two_clients_get_a_limit_each_and_the_header_cannot_change_whose(proxy, behind_one_proxy):
    with client_from("127.0.0.2") as first, client_from("127.0.0.3") as second:
        assert sign_up(first, proxy, "12345").status_code == 200  # wrong number: counted
        assert sign_up(first, proxy, "12345").status_code == 200
        assert sign_up(first, proxy, "12345").status_code == 429

        # The first client now claims other addresses, a new one and the second client's:
        # nginx appends the address it saw, the app reads that one, and the limit holds.
        for claimed in ("198.51.100.7", "127.0.0.3", "198.51.100.7, 127.0.0.9"):
            answer = sign_up(first, proxy, "12345", **{"X-Forwarded-For": claimed})
            assert answer.status_code == 429, claimed
            answer = sign_up(first, proxy, "12345", **{"X-Real-IP": "198.51.100.8"})
            assert answer.status_code == 429

        # The second client has its own limit, untouched by the first one's requests.
        assert sign_up(second, proxy, "12345").status_code == 200


def test_the_consent_record_keeps_the_real_client_address(proxy, behind_one_proxy):
    with client_from("127.0.0.4") as person:
        answer = sign_up(person, proxy, "13800138000", **{"X-Forwarded-For": "203.0.113.50"})
    assert answer.status_code in (200, 302), answer.text[-500:]
    addresses = set(ConsentRecord.objects.values_list("ip_address", flat=True))
    assert addresses == {"127.0.0.4"}


def test_the_proxy_answers_with_hsts_and_refuses_a_body_over_its_limit(proxy, behind_one_proxy):
    with client_from("127.0.0.5") as person:
        page = person.get(f"{proxy}/accounts/signup/")
        assert page.status_code == 200
        assert page.headers.get_list("strict-transport-security") == [
            "max-age=31536000; includeSubDomains; preload"
        ]
        too_large = person.post(f"{proxy}/accounts/signup/", content=b"x" * (12 * 1024 * 1024))
        assert too_large.status_code == 413
        assert "strict-transport-security" in too_large.headers
