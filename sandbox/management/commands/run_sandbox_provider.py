from __future__ import annotations

import contextlib
import logging
import os
import signal
from dataclasses import replace
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.app_settings import sandbox_settings
from sandbox.faults import Faults, InvalidRequest
from sandbox.registry import CompanyRegistry, Registry, RegistryError
from sandbox.server import make_sandbox_server
from sandbox.service import SandboxConfig, SandboxService
from sandbox.vendors import serve_vendors


def _stop(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Run the sandbox identity provider, the stand-in for an external identity vendor, as "
        "its own HTTP service (in-memory state, no database). The shared secret comes from "
        "--secret or the SANDBOX_PROVIDER_SECRET environment variable."
    )
    # It plays an outside service: our project's checks (database, provider settings) are
    # not its business, and must not stop it from starting.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
        parser.add_argument("--app-id", help="default: SANDBOX_PROVIDER_APP_ID")
        parser.add_argument("--secret", help="shared HMAC secret; default: SANDBOX_PROVIDER_SECRET")
        parser.add_argument(
            "--registry", help="CSV of identities; default: SANDBOX_PROVIDER_REGISTRY or the demo"
        )
        parser.add_argument(
            "--company-registry",
            help="CSV of companies; default: SANDBOX_PROVIDER_COMPANY_REGISTRY or the demo",
        )
        parser.add_argument(
            "--public-url",
            help="how browsers reach the face page; default: SANDBOX_PROVIDER_PUBLIC_URL or "
            "the address it listens on",
        )
        parser.add_argument(
            "--alipay-app-public-key",
            help="PEM file of the app's RSA public key the Alipay protocol verifies requests "
            "with; default: SANDBOX_PROVIDER_ALIPAY_APP_PUBLIC_KEY (PEM text or a path). "
            "Alipay's own key is made at start and served at /_alipay/public-key",
        )
        parser.add_argument(
            "--alipay-key-file",
            help="PEM file of Alipay's own private key: read if it exists, else made and written "
            "there (mode 600), so a restarted sandbox keeps the key our adapter was given; "
            "default: a new key at every start",
        )
        parser.add_argument(
            "--sms-file",
            help="JSON-lines file the SMS carrier protocols append each message to (the file "
            "backend's format); default: SANDBOX_PROVIDER_SMS_FILE, or none",
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        app_id: str | None,
        secret: str | None,
        registry: str | None,
        company_registry: str | None,
        public_url: str | None,
        alipay_app_public_key: str | None,
        alipay_key_file: str | None = None,
        sms_file: str | None = None,
        **options: Any,
    ) -> None:
        secret = secret or _configured("SECRET", sandbox_settings.SECRET)
        if not secret:
            raise CommandError(
                "No shared secret: pass --secret or set SANDBOX_PROVIDER_SECRET. "
                "The sandbox refuses unsigned traffic, so it cannot run without one."
            )
        try:
            people = Registry.from_csv(
                registry or _configured("REGISTRY", sandbox_settings.REGISTRY)
            )
            companies = CompanyRegistry.from_csv(
                company_registry
                or _configured("COMPANY_REGISTRY", sandbox_settings.COMPANY_REGISTRY)
            )
        except RegistryError as exc:
            raise CommandError(str(exc)) from None
        try:
            faults = Faults.from_environ(os.environ)
        except InvalidRequest as exc:
            raise CommandError(
                f"SANDBOX_PROVIDER_{str(exc).upper()} is not a valid value"
            ) from None
        try:
            alipay_key = _pem_text(
                alipay_app_public_key
                or _configured("ALIPAY_APP_PUBLIC_KEY", sandbox_settings.ALIPAY_APP_PUBLIC_KEY)
            )
        except OSError as exc:
            raise CommandError(f"cannot read the Alipay app public key: {exc.strerror}") from None
        try:
            alipay_private = _alipay_private_key(alipay_key_file)
        except OSError as exc:
            raise CommandError(f"cannot keep Alipay's key file: {exc.strerror}") from None
        try:
            service = serve_vendors(
                SandboxService(
                    SandboxConfig(
                        app_id=app_id or _configured("APP_ID", sandbox_settings.APP_ID),
                        secret=secret,
                        public_url="",  # known once the port is
                        registry=people,
                        companies=companies,
                        faults=faults,
                        alipay_app_public_key=alipay_key,
                        alipay_private_key=alipay_private,
                        sms_file=sms_file or _configured("SMS_FILE", sandbox_settings.SMS_FILE),
                    )
                )
            )
        except ValueError:
            raise CommandError("the Alipay app public key is not an RSA public key") from None
        try:
            server = make_sandbox_server(service, host, port)
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        bound_port = server.server_address[1]
        browser_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
        service.config = replace(
            service.config,
            public_url=public_url
            or _configured("PUBLIC_URL", sandbox_settings.PUBLIC_URL)
            or f"http://{browser_host}:{bound_port}",
        )
        logging.getLogger("sandbox").setLevel(logging.INFO)
        # Outside the main thread (a test calling the command) Ctrl-C has to do.
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGTERM, _stop)
        self.stdout.write(f"sandbox provider listening on http://{host}:{bound_port}")
        self.stdout.flush()
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            service.close()
            server.server_close()


def _configured(name: str, from_settings: str) -> str:
    """The environment first (this process plays another company's service and is configured
    like one), then the Django setting of the same name."""
    return os.environ.get(f"SANDBOX_PROVIDER_{name}", "") or from_settings


def _pem_text(value: str) -> str:
    """A key given as PEM text, or as the path of a file holding it."""
    if not value or "-----BEGIN" in value or not os.path.isfile(value):
        return value
    with open(value, encoding="ascii") as handle:
        return handle.read()


def _alipay_private_key(path: str | None) -> str:
    """Alipay's private key from ``path``, made and kept there the first time; empty without a
    path (the protocol then makes one for this run)."""
    if not path:
        return ""
    from pathlib import Path

    from sandbox.vendors.alipay_signing import generate_key_pair

    key_file = Path(path)
    if key_file.exists():
        return key_file.read_text(encoding="ascii")
    private, _public = generate_key_pair()
    key_file.touch(mode=0o600)
    key_file.write_text(private, encoding="ascii")
    return private
