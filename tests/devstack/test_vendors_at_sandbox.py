"""``VERIFICATION_PROVIDERS=aliyun,tencent,alipay ./dev.sh serve`` with no vendor endpoint set:
the dev stack starts the sandbox, points each real adapter at it (endpoint, credentials, the
Alipay key pairs), and ``manage.py check_provider`` proves all three with a signed call."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack import stack
from tests.sandbox_harness import stop_process

BASE_DIR = Path(__file__).resolve().parents[2]


def test_vendors_without_an_endpoint_are_played_by_the_sandbox():
    assert stack._played_by_sandbox({"VERIFICATION_PROVIDERS": "aliyun, alipay"}) == [
        "aliyun",
        "alipay",
    ]
    assert stack._played_by_sandbox(
        {"VERIFICATION_PROVIDERS": "aliyun,tencent", "ALIYUN_ENDPOINT": "https://x.example"}
    ) == ["tencent"]
    assert stack._played_by_sandbox({}) == ["sandbox"]
    assert (
        stack._played_by_sandbox(
            {"VERIFICATION_PROVIDERS": "aliyun", "ALIYUN_ENDPOINT": "https://x.example"}
        )
        == []
    )


def test_the_dev_stack_wires_every_vendor_to_the_sandbox_and_check_provider_proves_it(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(stack, "LOCAL_DIR", tmp_path)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SANDBOX_PROVIDER_", "ALIYUN_", "TENCENT_", "ALIPAY_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="realname.settings.dev",
        REALNAME_LOCAL_DIR=str(tmp_path),
        VERIFICATION_PROVIDERS="aliyun,tencent,alipay",
    )
    sandbox = stack._sandbox_process(env)
    assert sandbox is not None
    try:
        assert env["ALIYUN_ENDPOINT"] == env["TENCENT_ENDPOINT"] == env["SANDBOX_PROVIDER_URL"]
        assert Path(env["ALIPAY_PUBLIC_KEY"]).read_text().startswith("-----BEGIN PUBLIC KEY")
        assert (tmp_path / "alipay-app-private.pem").stat().st_mode & 0o077 == 0
        checked = subprocess.run(
            [sys.executable, "manage.py", "check_provider", "aliyun", "tencent", "alipay"],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        stop_process(sandbox, timeout=10)
    assert checked.returncode == 0, checked.stderr
    for name in ("aliyun", "tencent", "alipay"):
        assert f"{name}: OK: " in checked.stdout
    # No credential is printed.
    assert env["SANDBOX_PROVIDER_SECRET"] not in checked.stdout + checked.stderr


@pytest.mark.parametrize("variable", ["ALIYUN_ACCESS_KEY_SECRET", "TENCENT_SECRET_KEY"])
def test_check_provider_explains_a_wrong_secret_in_words(tmp_path, monkeypatch, variable):
    monkeypatch.setattr(stack, "LOCAL_DIR", tmp_path)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SANDBOX_PROVIDER_", "ALIYUN_", "TENCENT_", "ALIPAY_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="realname.settings.dev",
        VERIFICATION_PROVIDERS="aliyun,tencent",
    )
    sandbox = stack._sandbox_process(env)
    assert sandbox is not None
    env[variable] = "a-wrong-secret-entirely"
    try:
        checked = subprocess.run(
            [sys.executable, "manage.py", "check_provider", "aliyun", "tencent"],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        stop_process(sandbox, timeout=10)
    assert checked.returncode != 0
    vendor = variable.split("_")[0].lower()
    assert f"{vendor}: REFUSED" in checked.stderr
    assert "what to check:" in checked.stderr
    assert "a-wrong-secret-entirely" not in checked.stderr + checked.stdout
