"""The sandbox answering in each vendor's own wire protocol, beside its own API.

Each module plays one vendor (Aliyun, Tencent, Alipay, and the SMS of Aliyun and Tencent) from the same registries, with the same
face page and faults as the sandbox's own API, and with that vendor's signatures, envelopes,
codes and callback habits, so an adapter pointed at the sandbox works unchanged against the
vendor. Signatures are verified with code written here from the vendors' documentation, never
with a vendor SDK (the adapters may use one: the two sides then check each other).

Credentials: every protocol accepts the sandbox's app id as its key id (AccessKeyId, SecretId,
app_id) and the sandbox's secret as its secret (AccessKeySecret, SecretKey); Alipay's RSA keys
are described in :mod:`sandbox.vendors.alipay`.

A protocol is an object with ``claims(method, path, headers) -> bool`` (is this request mine?)
and ``handle(request: VendorRequest) -> _Response``; :func:`protocols` lists them, first claim
wins."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..service import SandboxService, VendorRequest

#: The vendor modules; each defines ``protocol(service) -> VendorProtocol``. The SMS carriers
#: come first: they share their identity siblings' gateways and claim only their own version.
MODULES = ("aliyun_sms", "tencent_sms", "aliyun", "tencent", "alipay")


class VendorProtocol(Protocol):
    name: str

    def claims(self, method: str, path: str, headers: Mapping[str, str]) -> bool: ...

    def handle(self, request: VendorRequest) -> Any: ...


def serve_vendors(service: SandboxService) -> SandboxService:
    """Plug every vendor protocol into ``service`` (which does not import them: they build on
    it); returns it, for ``SandboxService(...)`` to be wrapped in one expression."""
    for protocol in protocols(service):
        service.add_vendor(protocol)
    return service


def protocols(service: SandboxService) -> list[VendorProtocol]:
    found: list[VendorProtocol] = []
    for module_name in MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{module_name}":
                raise
            continue  # not written yet
        found.append(module.protocol(service))
    return found
