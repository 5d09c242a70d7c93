"""The two commands behind ``./dev.sh``: run the whole service, and run the whole test suite.

``serve``: PostgreSQL (DATABASE_URL, or a private cluster kept under .local/postgres), migrations,
a Celery worker with beat (Redis at REDIS_URL, or a filesystem queue under .local/broker) and the
web server; a worker or sandbox that crashes is started again (with backoff, said on the console);
Ctrl-C, or the web server exiting, stops them all, the database last.

``test``: ruff, mypy, bandit, the migrations check and pytest, against DATABASE_URL/REDIS_URL when set,
otherwise against a private PostgreSQL and Redis made for this run and removed after it."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from accounts.sms import BACKEND_NAMES as SMS_BACKEND_NAMES
from verification.app_settings import VerificationSettings

from .embedded import (
    APP_ROLE,
    OWNER_ROLE,
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedServiceError,
    free_port,
)

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DIR = Path(os.environ.get("REALNAME_LOCAL_DIR", BASE_DIR / ".local"))
PYTHON = sys.executable


def say(message: str) -> None:
    print(f"[realname] {message}", flush=True)


class Stopped(Exception):
    """SIGTERM arrived: shut down as for Ctrl-C."""


def _raise_stopped(signum: int, frame: object) -> None:
    raise Stopped


def _terminate(processes: list[tuple[str, subprocess.Popen]]) -> None:
    for _, process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for name, process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop in time; killing it")
            process.kill()


def _wait_for_health(url: str, web: subprocess.Popen, timeout: float = 90) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and web.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own loopback URL
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    return False


# A crashed worker or sandbox is started again after 1, 2, 4 ... seconds, at most 30; a process
# that ran this long before it exited counts as healthy again and is restarted after 1 s.
RESTART_DELAYS = (1, 2, 4, 8, 16, 30)
HEALTHY_AFTER = 60.0


class Supervised:
    """A process of the stack that is started again when it exits (with backoff, said on the
    console): the worker and the sandbox. Not the web server: its own reloader already survives
    code errors, and when it exits (its port taken, broken settings) another start would fail
    the same way, so the stack stops and says why."""

    def __init__(
        self,
        name: str,
        start: Callable[[], subprocess.Popen],
        process: subprocess.Popen | None = None,
    ) -> None:
        self.name = name
        self._start = start
        self.process = process or start()
        say(f"{name} started (pid {self.process.pid})")
        self._started_at = time.monotonic()
        self._failures = 0
        self._restart_at: float | None = None

    def stop_leftovers(self) -> None:
        """Kill what a crashed process left behind: the worker's pool and embedded beat outlive
        a SIGKILL of the main process, and a second beat would send every schedule twice.
        Each supervised process leads its own process group (``start_new_session``)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def check(self) -> None:
        """Notice an exit and schedule the restart; start the process again when it is time."""
        now = time.monotonic()
        if self._restart_at is None:
            if self.process.poll() is None:
                return
            self.stop_leftovers()
            if now - self._started_at >= HEALTHY_AFTER:
                self._failures = 0
            delay = RESTART_DELAYS[min(self._failures, len(RESTART_DELAYS) - 1)]
            self._failures += 1
            self._restart_at = now + delay
            say(
                f"{self.name} exited with code {self.process.returncode}; "
                f"restarting it in {delay} s (restart {self._failures})"
            )
        elif now >= self._restart_at:
            self._restart_at = None
            self.process = self._start()
            say(f"{self.name} started again (pid {self.process.pid})")
            self._started_at = now


SANDBOX_PROVIDER = "verification.providers.sandbox.SandboxProvider"

# A vendor in VERIFICATION_PROVIDERS whose endpoint variable is unset is played by the local
# sandbox, in that vendor's own protocol (sandbox/vendors/): the adapter is the real one.
VENDOR_ENDPOINTS = {
    "aliyun": "ALIYUN_ENDPOINT",
    "tencent": "TENCENT_ENDPOINT",
    "alipay": "ALIPAY_GATEWAY",
}


def _played_by_sandbox(env: dict[str, str]) -> list[str]:
    providers = [
        name.strip() for name in env.get("VERIFICATION_PROVIDERS", "").split(",") if name.strip()
    ] or VerificationSettings.PROVIDERS.default()
    played = [
        name
        for name in providers
        if name in ("sandbox", SANDBOX_PROVIDER)
        or (name in VENDOR_ENDPOINTS and not env.get(VENDOR_ENDPOINTS[name]))
    ]
    return ["sandbox" if name == SANDBOX_PROVIDER else name for name in played]


# An SMS carrier in SMS_BACKEND whose endpoint variable is unset is played by the sandbox as
# well, in that carrier's protocol; it appends each text to the SMS file (the file backend's),
# so codes are read where they always are.
CARRIER_ENDPOINTS = {"aliyun": "SMS_ALIYUN_ENDPOINT", "tencent": "SMS_TENCENT_ENDPOINT"}


def _carriers_played_by_sandbox(env: dict[str, str]) -> list[str]:
    short_names = {path: name for name, path in SMS_BACKEND_NAMES.items()}
    named = [name.strip() for name in env.get("SMS_BACKEND", "").split(",") if name.strip()]
    carriers = [short_names.get(name, name) for name in named]
    return [
        name
        for name in carriers
        if name in CARRIER_ENDPOINTS and not env.get(CARRIER_ENDPOINTS[name])
    ]


def _point_carriers_at_sandbox(env: dict[str, str], carriers: list[str]) -> None:
    """Endpoint and credentials of each carrier the sandbox plays; template ids and the SMS
    application id are any value it accepts."""
    if not carriers:
        return
    url, app_id, secret = (
        env["SANDBOX_PROVIDER_URL"],
        env.get("SANDBOX_PROVIDER_APP_ID", "realname-dev"),
        env["SANDBOX_PROVIDER_SECRET"],
    )
    env.setdefault(
        "SANDBOX_PROVIDER_SMS_FILE", env.get("SMS_FILE_PATH") or str(LOCAL_DIR / "sms.jsonl")
    )
    if "aliyun" in carriers:
        env.update(
            SMS_ALIYUN_ENDPOINT=url,
            SMS_ALIYUN_ACCESS_KEY_ID=app_id,
            SMS_ALIYUN_ACCESS_KEY_SECRET=secret,
        )
        env.setdefault("SMS_ALIYUN_TEMPLATE_CODE", "SMS_000000001")
        env.setdefault("SMS_ALIYUN_TEMPLATE_ACCOUNT_EXISTS", "SMS_000000002")
        env.setdefault("SMS_ALIYUN_TEMPLATE_UNKNOWN_ACCOUNT", "SMS_000000003")
    if "tencent" in carriers:
        env.update(
            SMS_TENCENT_ENDPOINT=url, SMS_TENCENT_SECRET_ID=app_id, SMS_TENCENT_SECRET_KEY=secret
        )
        env.setdefault("SMS_TENCENT_SDK_APP_ID", "1400000000")
        env.setdefault("SMS_TENCENT_TEMPLATE_CODE", "1000001")
        env.setdefault("SMS_TENCENT_TEMPLATE_ACCOUNT_EXISTS", "1000002")
        env.setdefault("SMS_TENCENT_TEMPLATE_UNKNOWN_ACCOUNT", "1000003")


def _alipay_app_keys(env: dict[str, str]) -> None:
    """The app's RSA key pair for the Alipay protocol, made once under .local: the sandbox
    verifies our requests with the public half, the adapter signs with the private half."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private_path = LOCAL_DIR / "alipay-app-private.pem"
    public_path = LOCAL_DIR / "alipay-app-public.pem"
    if not private_path.exists() or not public_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        private_path.chmod(0o600)
        public_path.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    env["ALIPAY_APP_PRIVATE_KEY"] = str(private_path)
    env["SANDBOX_PROVIDER_ALIPAY_APP_PUBLIC_KEY"] = str(public_path)


def _point_vendors_at_sandbox(env: dict[str, str], vendors: list[str]) -> None:
    """Endpoints and credentials of each vendor the sandbox plays (its app id and secret are
    every protocol's key id and secret); scene and rule ids are any value the sandbox accepts."""
    url, app_id, secret = (
        env["SANDBOX_PROVIDER_URL"],
        env.get("SANDBOX_PROVIDER_APP_ID", "realname-dev"),
        env["SANDBOX_PROVIDER_SECRET"],
    )
    if "aliyun" in vendors:
        env.update(
            ALIYUN_ENDPOINT=url, ALIYUN_ACCESS_KEY_ID=app_id, ALIYUN_ACCESS_KEY_SECRET=secret
        )
        env.setdefault("ALIYUN_FACE_SCENE_ID", "1000000001")
        env.setdefault("ALIYUN_ENTERPRISE_SCENE_CODE", "realname_dev")
    if "tencent" in vendors:
        env.update(TENCENT_ENDPOINT=url, TENCENT_SECRET_ID=app_id, TENCENT_SECRET_KEY=secret)
        env.setdefault("TENCENT_FACE_RULE_ID", "1")
    if "alipay" in vendors:
        env.update(ALIPAY_GATEWAY=f"{url}/gateway.do", ALIPAY_APP_ID=app_id)
        _alipay_app_keys(env)


def _alipay_public_key(env: dict[str, str], sandbox: subprocess.Popen) -> None:
    """Alipay's public key, as the sandbox made it at start: fetched once it answers."""
    path = LOCAL_DIR / "alipay-sandbox-public.pem"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sandbox.poll() is None:
        try:
            with urllib.request.urlopen(  # noqa: S310 - our own loopback URL
                f"{env['SANDBOX_PROVIDER_URL']}/_alipay/public-key", timeout=5
            ) as response:
                path.write_bytes(response.read())
                env["ALIPAY_PUBLIC_KEY"] = str(path)
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    say("the sandbox did not publish its Alipay public key; Alipay calls will be refused")


def _sandbox_process(env: dict[str, str]) -> subprocess.Popen | None:
    """Start the sandbox unless no configured provider needs it (real vendors only, or an
    external sandbox at SANDBOX_PROVIDER_URL); web and worker get its URL, the shared secret
    and each played vendor's endpoint and credentials through ``env``."""
    vendors = _played_by_sandbox(env)
    carriers = _carriers_played_by_sandbox(env)
    if not vendors:
        say("identity providers: VERIFICATION_PROVIDERS, at their configured endpoints")
    if not vendors and not carriers:
        return None
    if env.get("SANDBOX_PROVIDER_URL"):
        say("identity provider and SMS carriers: the sandbox at SANDBOX_PROVIDER_URL")
        _point_vendors_at_sandbox(env, vendors)
        _point_carriers_at_sandbox(env, carriers)
        return None
    sandbox_port = free_port()
    env["SANDBOX_PROVIDER_URL"] = f"http://127.0.0.1:{sandbox_port}"
    env.setdefault("SANDBOX_PROVIDER_SECRET", secrets.token_urlsafe(32))
    _point_vendors_at_sandbox(env, vendors)
    _point_carriers_at_sandbox(env, carriers)
    registry = env.get("SANDBOX_PROVIDER_REGISTRY") or "the built-in demo registry"
    if vendors:
        say(
            f"identity provider: sandbox on {env['SANDBOX_PROVIDER_URL']} answering from "
            f"{registry} as {', '.join(vendors)} (demo identities: sandbox/README.md)"
        )
    if carriers:
        say(
            f"SMS: the sandbox plays {', '.join(carriers)} and writes each text to "
            f"{env['SANDBOX_PROVIDER_SMS_FILE']}"
        )
    process = _start_sandbox(env, sandbox_port)
    if "alipay" in vendors:
        _alipay_public_key(env, process)
    return process


def _grant_app_role(env: dict[str, str], postgres: EmbeddedPostgres) -> None:
    """As the owner, give the application role its privileges (kernel.dbroles); from here on the
    web server and the worker connect as that role, as they do in docker-compose."""
    subprocess.run(
        [PYTHON, "manage.py", "grant_app_role", APP_ROLE],
        cwd=BASE_DIR,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    env["DATABASE_URL"] = postgres.app_url
    say(f"web and worker connect as {APP_ROLE} (rows only); migrations ran as {OWNER_ROLE}")


def _restart_sandbox(env: dict[str, str]) -> subprocess.Popen:
    """The sandbox again, on its port, with the Alipay key it kept (``--alipay-key-file``)."""
    return _start_sandbox(env, int(env["SANDBOX_PROVIDER_URL"].rsplit(":", 1)[1]))


def _start_sandbox(env: dict[str, str], port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            PYTHON,
            "manage.py",
            "run_sandbox_provider",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            # Alipay's key survives a restart of the sandbox, so web and worker keep trusting it.
            "--alipay-key-file",
            str(LOCAL_DIR / "alipay-sandbox-private.pem"),
        ],
        cwd=BASE_DIR,
        env=env,
        start_new_session=True,  # see Supervised.stop_leftovers; Ctrl-C reaches it through us
    )


def _start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "realname",
            "worker",
            "--loglevel=INFO",
            # As docker-compose: vendor calls wait seconds, so threads, many of them, sharing
            # the database pool (realname.settings.base.database_pool_from_env).
            "--pool=threads",
            f"--concurrency={os.environ.get('WORKER_CONCURRENCY', '128')}",
            "--beat",
            f"--schedule={LOCAL_DIR / 'celerybeat-schedule'}",
        ],
        cwd=BASE_DIR,
        env=env,
        start_new_session=True,  # see Supervised.stop_leftovers; Ctrl-C reaches it through us
    )


def serve(host: str, port: int) -> int:
    env = os.environ.copy()
    env.setdefault("DJANGO_SETTINGS_MODULE", "realname.settings.dev")
    env.setdefault("REALNAME_LOCAL_DIR", str(LOCAL_DIR))
    # Vendors' return and notification URLs are built from it (kernel.public), not the request.
    env.setdefault("PUBLIC_URL", f"http://{'[' + host + ']' if ':' in host else host}:{port}")
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _raise_stopped)
    # A shell that starts us in the background ignores SIGINT; Ctrl-C and `kill -INT` must work.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    postgres: EmbeddedPostgres | None = None
    processes: list[tuple[str, subprocess.Popen]] = []
    supervised: list[Supervised] = []
    try:
        if env.get("DATABASE_URL"):
            say("database: DATABASE_URL")
        else:
            postgres = EmbeddedPostgres(LOCAL_DIR / "postgres")
            say(f"database: private PostgreSQL in {postgres.data_dir} ({postgres.bin_dir})")
            postgres.start()
            env["DATABASE_URL"] = postgres.owner_url  # the migrations run as the owner
        if env.get("REDIS_URL"):
            say("broker and cache: REDIS_URL")
        else:
            say(f"broker: filesystem queue in {LOCAL_DIR / 'broker'}; cache: {LOCAL_DIR / 'cache'}")

        sandbox = _sandbox_process(env)
        if sandbox is not None:
            supervised.append(
                Supervised("sandbox provider", lambda: _restart_sandbox(env), process=sandbox)
            )

        if not env.get("SMS_BACKEND"):
            say(f"text messages (SMS codes) are written to {LOCAL_DIR / 'sms.jsonl'}")
        say("applying migrations")
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput"], cwd=BASE_DIR, env=env, check=True
        )
        if postgres:
            _grant_app_role(env, postgres)

        supervised.append(Supervised("worker", lambda: _start_worker(env)))
        web = subprocess.Popen(
            [PYTHON, "manage.py", "runserver", f"{host}:{port}"], cwd=BASE_DIR, env=env
        )
        processes.append(("web", web))
        url = f"http://{host}:{port}/"
        if _wait_for_health(f"{url}healthz", web):
            say(f"realname is running: open {url}  (Ctrl-C stops everything)")
        else:
            say(f"the site did not report healthy yet; see the log above and {url}healthz")
        while web.poll() is None:
            for each in supervised:
                each.check()
            time.sleep(0.5)
        say(f"web exited with code {web.returncode}; stopping the rest")
        return 1
    except (KeyboardInterrupt, Stopped):
        say("stopping")
        return 0
    except EmbeddedServiceError as exc:
        say(str(exc))
        return 1
    except subprocess.CalledProcessError as exc:
        say(f"{' '.join(map(str, exc.cmd[1:3]))} failed with exit code {exc.returncode}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip clean-up
        _terminate([(each.name, each.process) for each in supervised] + processes)
        for each in supervised:
            each.stop_leftovers()
        if postgres:
            postgres.stop()
            say("database stopped")


def run_tests(pytest_args: list[str]) -> int:
    env = os.environ.copy()
    env["DJANGO_SETTINGS_MODULE"] = "realname.settings.test"
    env.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API beside live_server
    run_id = uuid.uuid4().hex[:8]
    env["REALNAME_TEST_RUN_ID"] = run_id
    env["CELERY_TASK_DEFAULT_QUEUE"] = f"realname-test-{run_id}"

    failures: list[str] = []

    def step(name: str, command: list[str]) -> int:
        say(f"{name}: {' '.join(command[2:] if command[0] == PYTHON else command)}")
        code = subprocess.run(command, cwd=BASE_DIR, env=env).returncode
        if code != 0:
            failures.append(f"{name} (exit {code})")
        return code

    step("lint", [PYTHON, "-m", "ruff", "check", "."])
    step("format", [PYTHON, "-m", "ruff", "format", "--check", "."])
    step("types", [PYTHON, "-m", "mypy", "."])
    # Static security checks; medium and low findings were reviewed (see README), high fail.
    step(
        "security",
        [
            PYTHON,
            "-m",
            "bandit",
            "--quiet",
            "--recursive",
            "kernel",
            "accounts",
            "verification",
            "enterprise",
            "support",
            "hostapi",
            "webhooks",
            "realname",
            "sandbox",
            "devstack",
            "--exclude",
            "*/migrations/*",
            "--severity-level",
            "high",
        ],
    )

    try:
        with _services(env, purpose="test", announce=True):
            step("migrations", [PYTHON, "manage.py", "makemigrations", "--check", "--dry-run"])
            code = step("tests", [PYTHON, "-m", "pytest", *pytest_args])
            if code == 5:
                failures.append("tests: pytest collected no tests")
    except EmbeddedServiceError as exc:
        say(str(exc))
        failures.append("services")

    if failures:
        say("FAILED: " + ", ".join(failures))
        return 1
    say("all checks passed")
    return 0


BENCHMARKS = ("queue", "constraints", "pipeline", "web", "profile", "worker_cpu")


@contextlib.contextmanager
def _services(env: dict[str, str], *, purpose: str, announce: bool) -> Iterator[None]:
    """DATABASE_URL and REDIS_URL from the environment, or private PostgreSQL and Redis servers
    made for this run and removed after it; ``announce`` says which."""
    scratch = Path(tempfile.mkdtemp(prefix=f"realname-{purpose}-"))
    scratch.chmod(0o755)  # as root, the private cluster runs as the postgres user
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    try:
        if not env.get("DATABASE_URL"):
            postgres = EmbeddedPostgres(scratch / "postgres", durable=False)
            env["DATABASE_URL"] = postgres.start()
        if announce:
            say(
                f"database: private PostgreSQL ({postgres.bin_dir})"
                if postgres
                else "database: DATABASE_URL"
            )
        if not env.get("REDIS_URL"):
            redis = EmbeddedRedis(scratch / "redis")
            env["REDIS_URL"] = redis.start()
        if announce:
            say(f"redis: private server on {env['REDIS_URL']}" if redis else "redis: REDIS_URL")
        yield
    finally:
        if redis:
            redis.stop()
        if postgres:
            postgres.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def run_bench(name: str, args: list[str]) -> int:
    """``./dev.sh bench NAME``: one benchmark of bench/ on a database of its own (created and
    dropped by the benchmark), appending its figures to bench/results.md."""
    if name not in BENCHMARKS:
        say(f"unknown benchmark {name!r}; choose one of: {', '.join(BENCHMARKS)}")
        return 2
    env = os.environ.copy()
    env["DJANGO_SETTINGS_MODULE"] = "realname.settings.bench"
    run_id = uuid.uuid4().hex[:8]
    env["REALNAME_TEST_RUN_ID"] = f"bench-{run_id}"
    env["CELERY_TASK_DEFAULT_QUEUE"] = f"realname-bench-{run_id}"
    try:
        with _services(env, purpose="bench", announce=False):
            return subprocess.run(
                [PYTHON, "-m", f"bench.{name}", *args], cwd=BASE_DIR, env=env
            ).returncode
    except EmbeddedServiceError as exc:
        say(str(exc))
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dev.sh", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run the whole service")
    serve_parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    commands.add_parser(
        "test", help="lint, type-check and run the full test suite; extra arguments go to pytest"
    )
    argv = sys.argv[1:] if argv is None else argv
    os.chdir(BASE_DIR)
    if argv[:1] == ["bench"]:
        if len(argv) < 2:
            say(f"usage: ./dev.sh bench {{{'|'.join(BENCHMARKS)}}}")
            return 2
        with contextlib.suppress(KeyboardInterrupt):
            return run_bench(argv[1], argv[2:])
        return 130
    if argv[:1] == ["test"]:
        with contextlib.suppress(KeyboardInterrupt):
            return run_tests(argv[1:])
        return 130
    args = parser.parse_args(argv)
    return serve(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
