"""A threading ``wsgiref`` server for the sandbox, with an access log that cannot leak.

The sandbox stands in for a vendor during tests and demos; the standard library's server is
enough, and one thread per request lets a deliberately hanging request wait without stalling
the others."""

from __future__ import annotations

import logging
import socketserver
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import WSGIApplication

logger = logging.getLogger("sandbox")


class QuietRequestHandler(WSGIRequestHandler):
    """Logs method, path and status only: never a query string, a header or a body."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = urlsplit(getattr(self, "path", "") or "").path
        logger.info(
            "%s %s %s", getattr(self, "command", "") or "-", path, getattr(code, "value", code)
        )

    def log_error(self, format: str, *args: Any) -> None:
        # The base class would quote the raw request line, query string included.
        logger.warning("sandbox: malformed request refused")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    # A vendor takes many calls at once: a worker of 128 threads connects 128 times in a burst,
    # which the default backlog of 5 would answer with dropped connections and retries.
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (a timed-out test client, say) is routine, not a traceback.
        logger.info("sandbox: connection dropped while answering")


def make_sandbox_server(app: WSGIApplication, host: str, port: int) -> ThreadingWSGIServer:
    """Bind ``app`` (the sandbox service; ``port`` 0 picks a free port); the caller runs
    ``serve_forever``."""
    return make_server(
        host, port, app, server_class=ThreadingWSGIServer, handler_class=QuietRequestHandler
    )
