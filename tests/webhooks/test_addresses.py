"""Webhooks go to public internet addresses only (the SSRF guard): a URL whose host is, or
resolves to, a loopback, private, link-local, shared, multicast, unspecified or reserved
address is refused at registration, and again at every delivery, where the host is resolved
once and the connection goes to the checked address (DNS rebinding reaches nothing). Names are
resolved for real (``localhost`` through /etc/hosts, odd literal forms through the system
resolver); only the rebinding tests replace the resolver, to change its answer over time."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Callable, Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.exceptions import ValidationError

from tests.factories import MemberFactory
from tests.helpers import submit_demo
from webhooks import addresses, services, transport
from webhooks.models import Delivery, WebhookEndpoint

from .conftest import Receiver, VerifiedEvent, make_platform, serving
from .test_api import BASE, call

pytestmark = pytest.mark.django_db
Status = Delivery.Status
PUBLIC = "93.184.215.14"  # a public address: nothing is sent to it in these tests


@pytest.fixture
def production_networks(settings) -> None:
    """No network allowed beyond the public internet, as in production."""
    settings.WEBHOOKS_ALLOWED_NETWORKS = []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # the clouds' metadata service
        "100.64.0.1",  # shared address space (CGNAT)
        "0.0.0.0",  # noqa: S104 - an address refused, not one listened on
        "::",
        "224.0.0.1",
        "ff02::1",
        "240.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "192.0.2.1",
        "2001:db8::1",
        "fd00::1",
        "fc00::1",
        "fe80::1",
        "fec0::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",
        "2002:a00:1::",
    ],
)
def test_non_public_addresses_are_refused(address, production_networks):
    assert not addresses.is_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address, production_networks):
    assert addresses.is_allowed(ipaddress.ip_address(address))


def test_allowed_networks_open_only_what_they_name(settings):
    settings.WEBHOOKS_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128", "not a network"]

    assert addresses.is_allowed(ipaddress.ip_address("127.0.0.1"))
    assert addresses.is_allowed(ipaddress.ip_address("::ffff:127.0.0.1"))  # the same address
    assert addresses.is_allowed(ipaddress.ip_address("::1"))
    assert not addresses.is_allowed(ipaddress.ip_address("10.0.0.1"))
    assert not addresses.is_allowed(ipaddress.ip_address("169.254.169.254"))


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/hooks",  # resolved for real: /etc/hosts
        "https://localhost:8443/hooks",
        "https://127.0.0.1/hooks",
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://[::ffff:7f00:1]/hooks",
        "https://[0:0:0:0:0:ffff:127.0.0.1]/hooks",
        "https://10.0.0.1/hooks",
        "https://192.168.0.10:8080/hooks",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.1.2/hooks",
        "https://0.0.0.0/hooks",
        "https://[::]/hooks",
        "https://[fd12:3456::1]/hooks",
        "https://[fe80::1]/hooks",
        "https://224.0.0.1/hooks",
    ],
)
def test_a_url_on_a_non_public_address_is_refused_at_registration(url, production_networks):
    key = _key()

    response = call("post", BASE, key, {"url": url})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_endpoint"
    assert [error["loc"][-1] for error in body["errors"]] == ["url"]
    assert "public internet addresses only" in body["errors"][0]["msg"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:127.0.0.1]/hooks",
        "https://2130706433/hooks",  # 127.0.0.1 as one decimal number
        "https://0x7f.1/hooks",
        "https://0177.0.0.1/hooks",
        "https://127.1/hooks",
    ],
)
def test_odd_literal_forms_are_refused_at_registration(url):
    """Even where this host's loopback is allowed (the test settings): these forms are no
    URL a platform needs, and what they hide is refused at delivery too (below)."""
    response = call("post", BASE, _key(), {"url": url})

    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"][-1] == "url"
    assert not WebhookEndpoint.objects.exists()


def test_a_public_address_and_a_name_that_does_not_resolve_yet_are_accepted(production_networks):
    key = _key()

    assert call("post", BASE, key, {"url": f"https://{PUBLIC}/hooks"}).status_code == 201
    # Not resolvable now (a reserved top-level domain): each delivery checks it.
    assert call("post", BASE, key, {"url": "https://hooks.platform.invalid/x"}).status_code == 201


def test_the_service_refuses_too(production_networks):
    with pytest.raises(ValidationError) as refused:
        services.endpoint_url_validate("https://localhost/hooks")

    assert "url" in refused.value.message_dict


# --- at delivery ---------------------------------------------------------------------------------


def attempt(delivery: Delivery) -> Delivery:
    delivery.refresh_from_db()
    services.delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    return delivery


def _point_at(delivery: Delivery, url: str) -> None:
    """An endpoint whose URL was accepted earlier (before this guard, or under other settings)."""
    WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(url=url)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "2130706433",
        "0x7f.0.0.1",
        "[::ffff:127.0.0.1]",
    ],
)
def test_a_delivery_to_a_refused_address_fails_at_once_and_nothing_is_sent(
    delivery, platform, production_networks, host
):
    port = platform.receiver.url.split(":")[2].split("/")[0]
    _point_at(delivery, f"http://{host}:{port}/realname/webhooks")

    delivery = attempt(delivery)

    assert delivery.status == Status.FAILED
    entry = delivery.log.get()
    assert (entry.status_code, entry.error, entry.will_retry) == (None, "blocked_address", False)
    assert platform.receiver.received == []


def test_the_same_delivery_goes_where_the_network_is_allowed(delivery, platform):
    assert attempt(delivery).status == Status.DELIVERED
    assert [r.outcome for r in platform.receiver.received] == ["handled"]


@pytest.fixture
def fake_dns(monkeypatch) -> Callable[[dict[str, list[str]]], list[str]]:
    """Replace the resolver: ``fake_dns({"name": ["addr", ...]})``; later calls may change the
    answers. Returns the list of names looked up, in order."""
    answers: dict[str, list[str]] = {}
    looked_up: list[str] = []

    def resolve(host: str, port: int) -> list[addresses.IPAddress]:
        looked_up.append(host)
        if host not in answers:
            return real_resolve(host, port)
        return [ipaddress.ip_address(a) for a in answers[host]]

    real_resolve = addresses.resolve
    monkeypatch.setattr(addresses, "resolve", resolve)

    def set_answers(new: dict[str, list[str]]) -> list[str]:
        answers.update(new)
        return looked_up

    return set_answers


def test_dns_rebinding_after_registration_is_refused_at_delivery(
    delivery, platform, production_networks, fake_dns
):
    """The name resolved to a public address when registered; at delivery it resolves to this
    host (an attacker's DNS answering differently): nothing is sent."""
    port = platform.receiver.url.split(":")[2].split("/")[0]
    url = f"https://rebind.platform.test:{port}/realname/webhooks"
    fake_dns({"rebind.platform.test": [PUBLIC]})
    assert services.endpoint_url_validate(url) == url
    _point_at(delivery, url)

    looked_up = fake_dns({"rebind.platform.test": [PUBLIC, "127.0.0.1"]})
    delivery = attempt(delivery)

    assert delivery.log.get().error == "blocked_address"
    assert delivery.status == Status.FAILED
    assert platform.receiver.received == []
    assert looked_up == ["rebind.platform.test", "rebind.platform.test"]


def test_a_delivery_connects_to_the_address_it_checked_and_resolves_once(
    delivery, platform, fake_dns
):
    """The name resolves once per attempt, to the checked address, which is where the request
    goes (this name exists nowhere else); a later answer pointing elsewhere is never used."""
    port = platform.receiver.url.split(":")[2].split("/")[0]
    _point_at(delivery, f"http://pinned.platform.test:{port}/realname/webhooks")
    looked_up = fake_dns({"pinned.platform.test": ["127.0.0.1"]})

    delivery = attempt(delivery)
    fake_dns({"pinned.platform.test": ["169.254.169.254"]})

    assert delivery.status == Status.DELIVERED
    assert looked_up == ["pinned.platform.test"]
    [received] = platform.receiver.received
    assert received.headers["host"] == f"pinned.platform.test:{port}"
    assert received.outcome == "handled"


# --- TLS keeps the endpoint's name --------------------------------------------------------------


def _certificate(name: str) -> tuple[bytes, bytes]:
    """A self-signed certificate for ``name`` and its key, PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


@pytest.fixture
def tls_receiver(
    verified_event: VerifiedEvent, tmp_path, monkeypatch
) -> Iterator[tuple[Receiver, list[str | None]]]:
    """A receiver over TLS with a certificate for ``hooks.platform.test`` (which our side
    trusts), and the names its clients asked for (SNI)."""
    certificate, key = _certificate("hooks.platform.test")
    (tmp_path / "cert.pem").write_bytes(certificate)
    (tmp_path / "key.pem").write_bytes(key)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    names: list[str | None] = []
    server_side.sni_callback = lambda connection, name, context: names.append(name)
    trusting = ssl.create_default_context(cadata=certificate.decode())
    monkeypatch.setattr(transport, "ssl_context", lambda: trusting)
    with serving(Receiver(verified_event=verified_event), tls=server_side) as state:
        yield state, names


@pytest.mark.parametrize("name", ["hooks.platform.test", "other.platform.test"])
def test_over_tls_the_certificate_is_checked_against_the_endpoints_name(
    db, tls_receiver, fake_dns, name
):
    receiver, names = tls_receiver
    port = receiver.url.split(":")[2].split("/")[0]
    receiver.url = f"https://{name}:{port}/realname/webhooks"
    fake_dns({name: ["127.0.0.1"]})
    platform = make_platform(receiver)
    member = MemberFactory.create()
    platform.link(member)
    submit_demo(member)

    delivery = attempt(Delivery.objects.get(endpoint=platform.endpoint))

    assert names == [name]  # SNI: the endpoint's name, not the address connected to
    if name == "hooks.platform.test":
        assert delivery.status == Status.DELIVERED
        assert receiver.received[0].headers["host"] == f"{name}:{port}"
    else:  # the certificate is for another name: refused, though the address is the same
        assert delivery.status == Status.PENDING
        assert delivery.log.get().error == "ConnectError"
        assert receiver.received == []


def _key() -> str:
    from hostapi.models import Scope
    from hostapi.services import api_client_create

    return api_client_create(name="platform", scopes=[Scope.MANAGE_WEBHOOKS])[1].key
