"""Trouble the sandbox makes on purpose, so tests can watch our timeouts and retries work."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields


class InvalidRequest(Exception):
    """A field of a JSON request is missing or malformed; the message is the field's name."""


@dataclass
class Faults:
    """Trouble the sandbox makes on purpose on ``/api/*`` calls, so tests can see our retries."""

    latency_ms: int = 0
    error_rate: float = 0.0  # share of calls answered 503
    timeout_rate: float = 0.0  # share of calls that hang for hang_seconds before answering
    fail_next: int = 0  # the next N calls answer 503: deterministic, for retry tests
    hang_seconds: float = 30.0
    # Vendor protocols (``sandbox.vendors``): extra copies of each callback they send, and how
    # long after the person decided the query API still answers "not finished" (so a callback
    # arrives before the result is ready).
    callback_duplicates: int = 0
    result_delay_ms: int = 0
    # The next vendor-protocol call answers this vendor code instead of its result, once (each
    # protocol reads it its own way: an Aliyun Code, a Tencent Error.Code or Result, an Alipay
    # sub_code); see each module of ``sandbox.vendors``.
    vendor_code: str = ""
    # The next N vendor-protocol answers carry a signature made with the wrong key (Alipay signs
    # its answers: the adapter must refuse them).
    bad_signatures: int = 0

    def update(self, values: Mapping[str, object]) -> None:
        """Set the given fields; raise InvalidRequest naming the first bad one."""
        checked: dict[str, int | float | str] = {}
        for name, value in values.items():
            if name not in {f.name for f in fields(self)}:
                raise InvalidRequest(name)
            if name == "vendor_code":
                if not isinstance(value, str) or len(value) > 100:
                    raise InvalidRequest(name)
                checked[name] = value  # type: ignore[assignment]
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidRequest(name)
            if value < 0 or (name.endswith("_rate") and value > 1):
                raise InvalidRequest(name)
            if name in (
                "latency_ms",
                "fail_next",
                "callback_duplicates",
                "result_delay_ms",
                "bad_signatures",
            ):
                if value != int(value):
                    raise InvalidRequest(name)
                value = int(value)
            checked[name] = value
        for name, value in checked.items():
            setattr(self, name, value)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Faults:
        """Initial faults from ``SANDBOX_PROVIDER_LATENCY_MS``, ``_ERROR_RATE``, ``_TIMEOUT_RATE``
        and ``_HANG_SECONDS``."""
        faults = cls()
        values: dict[str, object] = {}
        for name in ("latency_ms", "error_rate", "timeout_rate", "hang_seconds"):
            raw = environ.get(f"SANDBOX_PROVIDER_{name.upper()}", "").strip()
            if raw:
                try:
                    values[name] = float(raw)
                except ValueError:
                    raise InvalidRequest(name) from None
        faults.update(values)
        return faults
