"""``SMS_BACKEND=aliyun,tencent ./dev.sh serve`` with no carrier endpoint set: the dev stack
points both carrier backends at the sandbox, which writes each text to the SMS file the file
backend uses, and ``manage.py check_sms`` proves both with a signed call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from devstack import stack
from tests.sandbox_harness import stop_process

BASE_DIR = Path(__file__).resolve().parents[2]
SEND = (
    "from accounts.sms import send_sms; "
    "print(send_sms(to='+8613800138000', body='x', code='246810'))"
)


def test_carriers_without_an_endpoint_are_played_by_the_sandbox():
    assert stack._carriers_played_by_sandbox({"SMS_BACKEND": "aliyun, tencent"}) == [
        "aliyun",
        "tencent",
    ]
    assert stack._carriers_played_by_sandbox(
        {
            "SMS_BACKEND": "accounts.sms.tencent.SmsBackend,aliyun",
            "SMS_ALIYUN_ENDPOINT": "https://x",
        }
    ) == ["tencent"]
    assert stack._carriers_played_by_sandbox({"SMS_BACKEND": "file"}) == []
    assert stack._carriers_played_by_sandbox({}) == []


def test_the_dev_stack_plays_both_carriers_into_the_sms_file(tmp_path, monkeypatch):
    monkeypatch.setattr(stack, "LOCAL_DIR", tmp_path)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SANDBOX_PROVIDER_", "SMS_", "ALIYUN_", "TENCENT_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="realname.settings.dev",
        REALNAME_LOCAL_DIR=str(tmp_path),
        SMS_BACKEND="aliyun,tencent",
    )
    sandbox = stack._sandbox_process(env)
    assert sandbox is not None
    try:
        assert env["SMS_ALIYUN_ENDPOINT"] == env["SMS_TENCENT_ENDPOINT"]
        assert env["SMS_ALIYUN_ENDPOINT"] == env["SANDBOX_PROVIDER_URL"]
        checked = subprocess.run(
            [sys.executable, "manage.py", "check_sms"],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        sent = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SEND],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        stop_process(sandbox, timeout=10)
    assert checked.returncode == 0, checked.stderr
    assert "aliyun: OK: " in checked.stdout and "tencent: OK: " in checked.stdout
    assert env["SANDBOX_PROVIDER_SECRET"] not in checked.stdout + checked.stderr
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.strip().endswith("aliyun")
    # Where the file backend writes (SMS_FILE_PATH's default), in its format.
    [line] = [json.loads(text) for text in (tmp_path / "sms.jsonl").read_text().splitlines()]
    assert (line["to"], line["code"]) == ("+8613800138000", "246810")
