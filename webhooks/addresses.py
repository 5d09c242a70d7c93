"""Where a webhook may go: public internet addresses only, so that an API client cannot make
our workers POST to our own network (server-side request forgery). A host is resolved once and
every address it resolves to is checked; the delivery then connects to those checked addresses
and no others (``webhooks.transport``), so a name that resolves elsewhere a moment later (DNS
rebinding) changes nothing.

Refused: loopback, private (RFC 1918, fc00::/7), link-local (169.254/16 with the clouds'
metadata service, fe80::/10), shared CGNAT (100.64/10), multicast, unspecified, reserved and
documentation ranges, and IPv4 addresses written as IPv6 (``::ffff:127.0.0.1``), unless a
network of ``WEBHOOKS_ALLOWED_NETWORKS`` holds the address (development and tests)."""

from __future__ import annotations

import ipaddress
import socket
import threading

from .app_settings import app_settings

type IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
type IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedAddress(Exception):
    """The host is, or resolves to, an address webhooks may not reach."""

    def __init__(self, host: str, address: IPAddress) -> None:
        super().__init__(f"{host} resolves to a refused address")
        self.host, self.address = host, address


class UnresolvableHost(Exception):
    """The host's name did not resolve (in time)."""


def allowed_networks() -> list[IPNetwork]:
    """``WEBHOOKS_ALLOWED_NETWORKS`` as networks (an entry that is none is reported by the
    system check webhooks.E001 and ignored here)."""
    networks = []
    for entry in app_settings.ALLOWED_NETWORKS:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            continue
    return networks


def _unwrapped(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) is the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_public(address: IPAddress) -> bool:
    """A global unicast address of the internet, and none of the special ranges."""
    address = _unwrapped(address)
    special = (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )
    return address.is_global and not special


def is_allowed(address: IPAddress, networks: list[IPNetwork] | None = None) -> bool:
    """Public, or in one of the allowed networks."""
    address = _unwrapped(address)
    if networks is None:
        networks = allowed_networks()
    in_allowed = any(address.version == net.version and address in net for net in networks)
    return in_allowed or is_public(address)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address of ``host`` (a literal address is itself), in the resolver's order.
    ``getaddrinfo`` also reads the odd literal forms (``2130706433``, ``0x7f.1``, ``127.1``)
    as the addresses they are, so those are checked like any other."""
    literal = host.removeprefix("[").removesuffix("]")
    try:
        return [ipaddress.ip_address(literal)]
    except ValueError:
        pass
    found: list[IPAddress] = []
    for *_, sockaddr in socket.getaddrinfo(literal, port, proto=socket.IPPROTO_TCP):
        address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if address not in found:
            found.append(address)
    return found


def _resolve_within(host: str, port: int, timeout: float) -> list[IPAddress]:
    """``resolve``, given up after ``timeout`` seconds: the system resolver has no time-out of
    its own we could set, so it runs in a thread we stop waiting for."""
    result: list[IPAddress] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.extend(resolve(host, port))
        except (OSError, UnicodeError, ValueError) as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="webhooks-resolve", daemon=True)
    thread.start()
    thread.join(max(timeout, 0.0))
    if thread.is_alive() or failure or not result:
        raise UnresolvableHost(host)
    return result


def checked_addresses(host: str, port: int, *, timeout: float) -> list[IPAddress]:
    """The addresses ``host`` resolves to now, each of them allowed; else ``BlockedAddress``
    (one refused address refuses the host) or ``UnresolvableHost``."""
    addresses = _resolve_within(host, port, timeout)
    networks = allowed_networks()
    for address in addresses:
        if not is_allowed(address, networks):
            raise BlockedAddress(host, address)
    return addresses
