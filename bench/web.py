"""Benchmark 1 (and 5, web worker memory): the page a person hits most (their verification's
status page, signed in) and the submit endpoint, served by gunicorn with the production
settings, against a bare view returning a fixed string on the same server, same workers, same
load tool (wrk), at 16 and 64 connections. Requests come as if through the HTTPS proxy
(X-Forwarded-Proto), so the production settings apply unchanged.

    ./dev.sh bench web [--seconds 8] [--workers 2]      (needs wrk: apt install wrk)
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import bench_database, hold_queue, machine, record, setup_django
from bench.pipeline import database_url, rss_mib

BASE_DIR = Path(__file__).resolve().parent.parent
SUBMIT_LUA = """
local lines = {}
for line in io.lines(os.getenv("BENCH_USERS")) do table.insert(lines, line) end
local i = 0
request = function()
  i = i + 1
  local sid, csrf = lines[((i - 1) % #lines) + 1]:match("(%S+) (%S+)")
  local body = "csrfmiddlewaretoken=" .. csrf ..
    "&name=%E5%BC%A0%E4%B8%89&document_type=cn_resident_id&document_number=" ..
    os.getenv("BENCH_NUMBER")
  return wrk.format("POST", "/verification/personal/", {
    ["Cookie"] = "sessionid=" .. sid .. "; csrftoken=" .. csrf,
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Forwarded-Proto"] = "https",
    ["Referer"] = os.getenv("BENCH_ORIGIN") .. "/verification/personal/",
  }, body)
end
"""


def signed_in(user) -> tuple[str, str]:
    """A session (as a log-in makes it) and a CSRF secret for ``user``."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.middleware.csrf import _get_new_csrf_string

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key or "", _get_new_csrf_string()


def wrk(url: str, connections: int, seconds: int, extra: list[str], env: dict) -> dict:
    output = subprocess.run(  # noqa: S603 - wrk with our arguments
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *extra, url],  # noqa: S607
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]

    def percentile(label: str) -> str:
        match = re.search(rf"^\s+{label}%\s+(\S+)", output, re.MULTILINE)
        return match.group(1) if match else "?"

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rate": rate,
        "p50": percentile("50"),
        "p99": percentile("99"),
        "bad": int(bad.group(1)) if bad else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--users", type=int, default=4000)
    options = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt install wrk")
    setup_django()
    from django.conf import settings

    from accounts.models import User
    from devstack.embedded import free_port
    from kernel.app_settings import app_settings as kernel_settings
    from tests.factories import MemberFactory, details, resident_id
    from verification import services

    hold_queue()  # no worker in this benchmark
    with bench_database("web") as connection:
        reader = MemberFactory.create(face=True)
        verification = services.verification_submit(user=reader, **details())
        status_session, _ = signed_in(reader)
        users_file = Path(tempfile.mkstemp(prefix="bench-users-")[1])
        with users_file.open("w") as out:
            for _ in range(options.users):
                sid, csrf = signed_in(MemberFactory.create())
                out.write(f"{sid} {csrf}\n")
        script = Path(tempfile.mkstemp(prefix="bench-submit-", suffix=".lua")[1])
        script.write_text(SUBMIT_LUA)
        static_root = tempfile.mkdtemp(prefix="bench-static-")
        port = free_port()
        origin = f"https://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "realname.settings.bench_web",
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url(connection.settings_dict),
            "FIELD_ENCRYPTION_KEYS": ",".join(kernel_settings.FIELD_ENCRYPTION_KEYS),
            "BLIND_INDEX_KEY": kernel_settings.BLIND_INDEX_KEY,
            "SMS_BACKEND": "accounts.sms.filebased.SmsBackend",
            "VERIFICATION_PROVIDERS": "sandbox",
            "VERIFICATION_ALLOW_SANDBOX": "true",
            "SANDBOX_PROVIDER_SECRET": secrets.token_urlsafe(32),
            "STATIC_ROOT": static_root,
            "LOG_LEVEL": "WARNING",
            "BENCH_USERS": str(users_file),
            "BENCH_NUMBER": resident_id(),
            "BENCH_ORIGIN": origin,
        }
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=BASE_DIR,
            env=env,
            check=True,
        )
        server = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "realname.wsgi",
                "-w",
                str(options.workers),
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            cwd=BASE_DIR,
            env=env,
        )
        rows = []
        try:
            import httpx

            for _ in range(100):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/bench/bare", timeout=1).raise_for_status()
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            base = f"http://127.0.0.1:{port}"
            https = ["-H", "X-Forwarded-Proto: https"]
            targets = {
                "bare view": (f"{base}/bench/bare", https),
                "status page (signed in)": (
                    f"{base}/verification/personal/{verification.public_id}/",
                    [*https, "-H", f"Cookie: sessionid={status_session}"],
                ),
                "submit (valid, new account each)": (base, ["-s", str(script)]),
            }
            results: dict[tuple[str, int], dict] = {}
            for connections in (16, 64):
                for label, (url, extra) in targets.items():
                    results[(label, connections)] = wrk(
                        url, connections, options.seconds, extra, env
                    )
            for (label, connections), result in results.items():
                bare_rate = results[("bare view", connections)]["rate"]
                ratio = result["rate"] / bare_rate
                rows.append(
                    [
                        label,
                        str(connections),
                        f"{result['rate']:,.0f}/s",
                        f"{ratio:.2f}×",
                        result["p50"],
                        result["p99"],
                        str(result["bad"]),
                        "—" if label == "bare view" else ("met" if ratio >= 0.5 else "NOT met"),
                    ]
                )
            children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
            memory = [rss_mib(int(child)) for child in children]
            created = User.objects.filter(personal_verifications__isnull=False).count() - 1
            facts = machine()
        finally:
            server.terminate()
            server.wait(30)
            shutil.rmtree(static_root, ignore_errors=True)
    record(
        "Web throughput",
        f"gunicorn, {options.workers} sync workers, production settings; wrk, 1 thread, "
        f"{options.seconds} s per figure; ratio against the bare view at the same connections "
        "(bar: ≥ 0.5×).",
        rows,
        ["endpoint", "connections", "requests", "× bare", "p50", "p99", "non-2xx/3xx", "bar"],
        f"Web worker memory after the runs: {', '.join(f'{m:.0f} MiB' for m in memory)}. "
        f"The submit runs created {created:,} verifications (each a new account's first).",
        facts=facts,
    )


if __name__ == "__main__":
    main()
