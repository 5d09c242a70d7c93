"""SMS backends: the file backend's format, the console, the locmem outbox, and the swap."""

from __future__ import annotations

import json
import threading

from django.test import override_settings

from accounts.sms import SmsMessage, filebased, get_sms_backend, locmem, send_sms


def test_file_backend_appends_one_json_object_per_message(tmp_path, settings):
    path = tmp_path / "sms.jsonl"
    settings.ACCOUNTS_SMS_BACKEND = "accounts.sms.filebased.SmsBackend"
    settings.ACCOUNTS_SMS_FILE_PATH = str(path)

    send_sms(to="+8613800138000", body="【realname】code 123456", code="123456")
    send_sms(to="+85261234567", body="【realname】hello")

    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["to"] for line in lines] == ["+8613800138000", "+85261234567"]
    assert lines[0]["code"] == "123456"
    assert lines[0]["message"] == "【realname】code 123456"
    assert set(lines[0]) == {"to", "code", "message", "sent_at"}


def test_file_backend_keeps_every_line_under_concurrent_writers(tmp_path):
    backend = filebased.SmsBackend(str(tmp_path / "sms.jsonl"))

    def write(n: int) -> None:
        for i in range(50):
            backend.send(SmsMessage(to="+8613800138000", body=f"{n}-{i}" * 20, code=str(i)))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    lines = (tmp_path / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 200
    assert all(json.loads(line)["to"] == "+8613800138000" for line in lines)


def test_file_backend_failure_is_an_sms_send_error(tmp_path):
    import pytest

    from accounts.sms import SmsSendError

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(SmsSendError):
        filebased.SmsBackend(str(blocker / "sms.jsonl")).send(
            SmsMessage(to="+8613800138000", body="x")
        )


def test_console_backend_prints(capsys):
    with override_settings(ACCOUNTS_SMS_BACKEND="accounts.sms.console.SmsBackend"):
        send_sms(to="+8613800138000", body="hello")

    assert "[sms] to +8613800138000: hello" in capsys.readouterr().out


def test_backend_follows_the_setting():
    locmem.outbox.clear()
    with override_settings(ACCOUNTS_SMS_BACKEND="accounts.sms.console.SmsBackend"):
        assert type(get_sms_backend()).__module__ == "accounts.sms.console"
    assert type(get_sms_backend()).__module__ == "accounts.sms.locmem"
    send_sms(to="+8613800138000", body="x")
    assert locmem.outbox[-1].to == "+8613800138000"
    locmem.outbox.clear()
