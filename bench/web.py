"""Benchmark 1 (and 5, web worker memory): what a person waiting for a check requests most
(the status page's JSON endpoint, polled every few seconds), the full status page (signed in)
and the submit endpoint, served by gunicorn with the production settings, against a bare view
returning a fixed string on the same server, same workers, same load tool (wrk), at 16 and 64
connections. Requests come as if through the HTTPS proxy (X-Forwarded-Proto), so the
production settings apply unchanged.

``--configs`` runs the whole set once per gunicorn worker setting (``sync``, or
``gthread:N`` for N threads per worker), each against its own bare view: the ratios choose the
setting the Dockerfile and docker-compose run.

    ./dev.sh bench web [--seconds 8] [--workers 2] [--configs sync,gthread:4]
    (needs wrk: apt install wrk)
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
local i = tonumber(os.getenv("BENCH_OFFSET") or "0")
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


BARS = {
    "status JSON (polled)": 0.5,
    "status page (signed in)": 0.3,
    "submit (valid, new account each)": 0.25,
}
P99_BAR_MS = {("status JSON (polled)", 64): 100.0}


def signed_in(user) -> tuple[str, str]:
    """A session (as a log-in makes it, in the configured engine) and a CSRF secret."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.middleware.csrf import _get_new_csrf_string

    session = import_module(settings.SESSION_ENGINE).SessionStore()
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
    errors = re.search(r"Socket errors: .*timeout (\d+)", output)
    return {
        "rate": rate,
        "p50": percentile("50"),
        "p99": percentile("99"),
        "bad": int(bad.group(1)) if bad else 0,
        "timeouts": int(errors.group(1)) if errors else 0,
    }


def milliseconds(figure: str) -> float:
    """wrk's latency figure (``850.00us``, ``12.5ms``, ``1.20s``) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", figure)
    if not match:
        return float("inf")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def gunicorn_options(config: str) -> list[str]:
    """``sync`` or ``gthread:N`` as gunicorn's worker options."""
    kind, _, threads = config.partition(":")
    if kind == "sync":
        return ["--worker-class", "sync"]
    if kind == "gthread" and threads.isdigit():
        return ["--worker-class", "gthread", "--threads", threads]
    raise SystemExit(f"unknown gunicorn setting {config!r}: sync or gthread:N")


def load_average() -> str:
    return " / ".join(Path("/proc/loadavg").read_text().split()[:3])


def start_server(env: dict, port: int, workers: int, config: str) -> subprocess.Popen:
    import httpx

    server = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "realname.wsgi",
            "-w",
            str(workers),
            *gunicorn_options(config),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=env,
    )
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/bench/bare", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    return server


def stop_server(server: subprocess.Popen) -> list[float]:
    """Stop gunicorn; its workers' resident memory (MiB) just before."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    memory = [rss_mib(int(child)) for child in children]
    server.terminate()
    server.wait(30)
    return memory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--users", type=int, default=6000)
    parser.add_argument(
        "--configs",
        default="sync",
        help="gunicorn worker settings to compare, comma-separated: sync, gthread:N",
    )
    options = parser.parse_args()
    configs = [c.strip() for c in options.configs.split(",") if c.strip()]
    for config in configs:
        gunicorn_options(config)  # refuse a typo before the long set-up
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt install wrk")
    setup_django()
    from django.conf import settings

    from devstack.embedded import free_port
    from kernel.app_settings import app_settings as kernel_settings
    from tests.factories import MemberFactory, details, resident_id
    from verification import services
    from verification.models import PersonalVerification, VerificationEvent

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
            "PUBLIC_URL": origin,
            "TRUSTED_PROXY_COUNT": "0",
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
        base = f"http://127.0.0.1:{port}"
        https = ["-H", "X-Forwarded-Proto: https"]
        reader_cookie = ["-H", f"Cookie: sessionid={status_session}"]
        page = f"{base}/verification/personal/{verification.public_id}/"
        targets = {
            "bare view": (f"{base}/bench/bare", https),
            "status JSON (polled)": (f"{page}status.json", [*https, *reader_cookie]),
            "status page (signed in)": (page, [*https, *reader_cookie]),
            "submit (valid, new account each)": (base, ["-s", str(script)]),
        }
        rows = []
        notes = []
        loads = []
        try:
            for config in configs:
                server = start_server(env, port, options.workers, config)
                results: dict[tuple[str, int], dict] = {}
                try:
                    loads.append(f"{config}: {load_average()}")
                    for half, connections in enumerate((16, 64)):
                        # Each run submits for accounts of its own half of the list.
                        run_env = {**env, "BENCH_OFFSET": str(half * options.users // 2)}
                        for label, (url, extra) in targets.items():
                            results[(label, connections)] = wrk(
                                url, connections, options.seconds, extra, run_env
                            )
                finally:
                    memory = stop_server(server)
                created = PersonalVerification.objects.exclude(pk=verification.pk).count()
                # The next setting's submissions start from the same accounts, as new.
                VerificationEvent.objects.exclude(verification_id=verification.pk).delete()
                PersonalVerification.objects.exclude(pk=verification.pk).delete()
                notes.append(
                    f"{config}: web worker memory {', '.join(f'{m:.0f} MiB' for m in memory)}; "
                    f"{created:,} submissions"
                )
                for (label, connections), result in results.items():
                    bare_rate = results[("bare view", connections)]["rate"]
                    ratio = result["rate"] / bare_rate
                    p99_bar = P99_BAR_MS.get((label, connections))
                    if label == "bare view":
                        verdict = "—"
                    else:
                        met = ratio >= BARS[label] and (
                            p99_bar is None or milliseconds(result["p99"]) < p99_bar
                        )
                        verdict = "met" if met else "NOT met"
                    rows.append(
                        [
                            config,
                            label,
                            str(connections),
                            f"{result['rate']:,.0f}/s",
                            f"{ratio:.2f}×",
                            result["p50"],
                            result["p99"],
                            str(result["bad"] + result["timeouts"]),
                            verdict,
                        ]
                    )
            facts = machine()
        finally:
            shutil.rmtree(static_root, ignore_errors=True)
    bars = ", ".join(f"{label} ≥ {bar}×" for label, bar in BARS.items())
    record(
        "Web throughput",
        f"gunicorn, {options.workers} workers per setting, production settings, cached "
        f"database sessions; wrk, 1 thread, {options.seconds} s per figure; ratio against the "
        f"bare view of the same setting at the same connections (bars: {bars}; the JSON "
        "endpoint's p99 < 100 ms at 64 connections). Load average (1/5/15 min) when each "
        f"setting started: {'; '.join(loads)}.",
        rows,
        [
            "gunicorn",
            "endpoint",
            "connections",
            "requests",
            "× bare",
            "p50",
            "p99",
            "errors",
            "bar",
        ],
        " ".join(f"{note}." for note in notes),
        facts=facts,
    )


if __name__ == "__main__":
    main()
