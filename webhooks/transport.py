"""The HTTP POST of one delivery attempt, with two guarantees httpx alone does not give:

- **Checked addresses only.** The endpoint's host is resolved once, every address is checked
  (``webhooks.addresses``), and the connection goes to a checked address: the URL, the ``Host``
  header, TLS's SNI and certificate check keep the endpoint's name. A name resolving elsewhere
  a moment later (DNS rebinding) reaches nothing new. No proxy from the environment is used (it
  would connect on our behalf, past the check).
- **One deadline for everything.** httpx's time-out is per phase, so a receiver trickling its
  answer a byte at a time could hold the attempt for ever (and outlast its claim). Here each
  socket operation waits at most what is left of ``timeout``, and a watchdog shuts the socket
  down just after the deadline (a TLS handshake trickled byte by byte included).

The answer's body is never read: its status code is all we keep."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from . import addresses

#: The watchdog waits this long past the deadline, so that a socket operation's own time-out
#: (which ends at the deadline) is what normally stops a silent receiver.
WATCHDOG_GRACE = 0.5


class DeadlineExceeded(Exception):
    """The receiver began to answer but had not finished within the attempt's time."""


class Budget:
    """What is left of one attempt's time, and a watchdog on its sockets."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.received = 0
        self._sockets: list[socket.socket] = []
        self._timer: threading.Timer | None = None
        # The watchdog and close() never touch the duplicates at the same time: a descriptor
        # closed mid-shutdown could be reused by another socket of this process.
        self._lock = threading.Lock()
        self._closed = False

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def expired(self) -> bool:
        return self.left() <= 0

    def timeout(self, phase: float | None, error: type[Exception]) -> float:
        """The time-out of one socket operation: the phase's, at most what is left."""
        left = self.left()
        if left <= 0:
            raise error("the attempt's time is up")
        return left if phase is None else min(phase, left)

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down past the deadline, whatever it is doing then. A duplicate of its
        descriptor is kept: TLS detaches the socket object it wraps."""
        with self._lock:
            self._sockets.append(sock.dup())
        if self._timer is None:
            self._timer = threading.Timer(max(self.left(), 0.0) + WATCHDOG_GRACE, self._cut)
            self._timer.daemon = True
            self._timer.start()

    def _cut(self) -> None:
        with self._lock:
            if self._closed:
                return
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._closed = True
            for sock in self._sockets:
                sock.close()


class _BudgetedStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, budget: Budget) -> None:
        self._stream, self._budget = stream, budget

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._stream.read(max_bytes, self._budget.timeout(timeout, httpcore.ReadTimeout))
        self._budget.received += len(data)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._budget.timeout(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        secured = self._stream.start_tls(
            ssl_context, server_hostname, self._budget.timeout(timeout, httpcore.ConnectTimeout)
        )
        return _BudgetedStream(secured, self._budget)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects ``host`` to the checked addresses, in order, and to nothing else."""

    def __init__(self, host: str, checked: list[addresses.IPAddress], budget: Budget) -> None:
        self._host, self._checked, self._budget = host, checked, budget
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        if host != self._host:  # no redirects are followed: only the endpoint's own host
            raise httpcore.ConnectError("not the checked host")
        failure: Exception = httpcore.ConnectError("no address")
        for address in self._checked:
            try:
                stream = self._sockets.connect_tcp(
                    str(address),
                    port,
                    timeout=self._budget.timeout(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            self._budget.watch(stream.get_extra_info("socket"))
            return _BudgetedStream(stream, self._budget)
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks go over TCP only")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _PinnedTransport(httpx.HTTPTransport):
    """httpx's own transport (its request handling and error mapping) over a pool that
    connects through :class:`_PinnedBackend`."""

    def __init__(self, backend: _PinnedBackend, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, max_connections=1, network_backend=backend
        )


def ssl_context() -> ssl.SSLContext:
    """How receivers' certificates are checked: httpx's default (certifi's authorities)."""
    return httpx.create_ssl_context(trust_env=False)


def post(url: str, *, content: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``content`` to ``url`` and return the answer's status code, all within ``timeout``
    seconds. Raises ``addresses.BlockedAddress`` (the host is, or resolves to, a refused
    address), ``addresses.UnresolvableHost``, ``DeadlineExceeded`` (an answer still arriving at
    the deadline) or httpx's ``TransportError`` (time-outs, refused or reset connections)."""
    target = httpx.URL(url)
    host = target.raw_host.decode("ascii")
    port = target.port or (443 if target.scheme == "https" else 80)
    budget = Budget(timeout)
    try:
        checked = addresses.checked_addresses(host, port, timeout=budget.left())
        transport = _PinnedTransport(_PinnedBackend(host, checked, budget), ssl_context())
        with httpx.Client(transport=transport, trust_env=False, follow_redirects=False) as client:
            try:
                with client.stream(
                    "POST", target, content=content, headers=headers, timeout=timeout
                ) as response:
                    return response.status_code
            except httpx.TransportError as exc:
                started_answering = budget.received > 0
                timed_out = isinstance(exc, httpx.TimeoutException)
                if budget.expired() and (started_answering or not timed_out):
                    raise DeadlineExceeded from exc
                raise
    finally:
        budget.close()
